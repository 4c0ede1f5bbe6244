import { Writable } from 'node:stream';
import { metricSample } from '@micro-oncall/test-kit';
import express, { type Express, Router } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { requireRole } from './auth.js';
import type { Component, HealthStatus } from './component.js';
import {
  AuthenticationError,
  ConflictError,
  DependencyUnavailableError,
  InputError,
  NotAllowedError,
  NotFoundError,
  OverloadedError,
  PayloadTooLargeError,
  RateLimitedError,
  type ServiceError,
  UnsupportedMediaTypeError,
} from './errors.js';
import { createHttpApp, type RefusalHook, rateLimit } from './http.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

/** A logger whose JSON lines are kept for assertions. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service: 'http-test', level: 'info', destination }), lines };
}

function component(id: string, healthcheck: () => Promise<HealthStatus>): Component {
  return { id, stop: async () => undefined, healthcheck };
}

function testApp(opts: { components?: Component[]; mount?: (app: Express) => void; onRefused?: RefusalHook } = {}) {
  const { logger, lines } = capturingLogger();
  const registry = createMetricsRegistry('http-test');
  const base = { logger, registry, components: () => opts.components ?? [] };
  const app = createHttpApp(opts.onRefused ? { ...base, onRefused: opts.onRefused } : base, (a) => {
    a.get('/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    a.post('/echo', express.json({ limit: 64 }), (req, res) => {
      res.json({ got: req.body });
    });
    opts.mount?.(a);
  });
  return { app, lines, registry };
}

const typedErrors: [string, () => ServiceError, number, string][] = [
  ['InputError', () => new InputError('title is required'), 400, 'invalid_input'],
  ['AuthenticationError', () => new AuthenticationError('who are you'), 401, 'unauthenticated'],
  ['NotAllowedError', () => new NotAllowedError('not yours'), 403, 'forbidden'],
  ['NotFoundError', () => new NotFoundError('no such incident'), 404, 'not_found'],
  ['ConflictError', () => new ConflictError('already resolved'), 409, 'conflict'],
  ['PayloadTooLargeError', () => new PayloadTooLargeError('too big'), 413, 'payload_too_large'],
  ['UnsupportedMediaTypeError', () => new UnsupportedMediaTypeError('send json'), 415, 'unsupported_media_type'],
  ['RateLimitedError', () => new RateLimitedError('slow down', 17), 429, 'rate_limited'],
  [
    'DependencyUnavailableError',
    () => new DependencyUnavailableError('kafka is down', 9),
    503,
    'dependency_unavailable',
  ],
  ['OverloadedError', () => new OverloadedError('at the stream limit', 10), 503, 'overloaded'],
];

describe(createHttpApp.name, () => {
  describe('request ids', () => {
    it('propagates a safe X-Request-Id to the response header and error bodies', async () => {
      const { app } = testApp();
      const ok = await request(app).get('/items/1').set('X-Request-Id', 'req-123.abc:4_5');
      expect(ok.headers['x-request-id']).toBe('req-123.abc:4_5');

      const missing = await request(app).get('/nowhere').set('X-Request-Id', 'req-404');
      expect(missing.headers['x-request-id']).toBe('req-404');
      expect(missing.body.error.requestId).toBe('req-404');
    });

    it('generates a request id when none is sent', async () => {
      const { app } = testApp();
      const first = await request(app).get('/items/1');
      const second = await request(app).get('/items/1');
      expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(second.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    });

    it.each([
      ['spaces and quotes', 'abc def"'],
      ['html', '<script>alert(1)</script>'],
      ['too long', 'a'.repeat(129)],
    ])('replaces an unsafe request id (%s) with a generated one', async (_what, unsafe) => {
      const { app, lines } = testApp();
      const res = await request(app).get('/nowhere').set('X-Request-Id', unsafe);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
      // The access log correlates by the generated id; the client's text never reaches the logs.
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', requestId: res.headers['x-request-id'] }));
      expect(lines.flatMap((line) => Object.values(line))).not.toContain(unsafe);
    });
  });

  describe('errors', () => {
    it.each(typedErrors)('maps %s to %i with a JSON error body', async (_name, make, status, code) => {
      const error = make();
      const { app } = testApp({
        mount: (a) =>
          a.get('/fail', () => {
            throw error;
          }),
      });
      const res = await request(app).get('/fail').set('X-Request-Id', 'req-e');
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: { code, message: error.message, requestId: 'req-e' } });
    });

    it('also maps errors rejected by async handlers', async () => {
      const { app } = testApp({
        mount: (a) =>
          a.get('/fail', async () => {
            await Promise.resolve();
            throw new ConflictError('already acknowledged');
          }),
      });
      const res = await request(app).get('/fail');
      expect(res.status).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'conflict', message: 'already acknowledged' });
    });

    it.each([
      ['RateLimitedError', new RateLimitedError('slow down', 17), '17'],
      ['DependencyUnavailableError', new DependencyUnavailableError('kafka is down', 9), '9'],
      ['OverloadedError', new OverloadedError('at the stream limit', 10), '10'],
    ])('sends Retry-After with %s', async (_name, error, retryAfter) => {
      const { app } = testApp({
        mount: (a) =>
          a.get('/fail', () => {
            throw error;
          }),
      });
      const res = await request(app).get('/fail');
      expect(res.headers['retry-after']).toBe(retryAfter);
    });

    it('sends no Retry-After with client errors', async () => {
      const { app } = testApp();
      const res = await request(app).get('/nowhere');
      expect(res.headers['retry-after']).toBeUndefined();
    });

    it('includes details, such as zod field paths, in the body', async () => {
      const { app } = testApp({
        mount: (a) =>
          a.get('/fail', () => {
            throw new InputError('invalid incident', { issues: [{ path: 'title', message: 'required' }] });
          }),
      });
      const res = await request(app).get('/fail');
      expect(res.body.error.details).toEqual({ issues: [{ path: 'title', message: 'required' }] });
    });

    it('tells onRefused about every 401 and 403, whoever refused, before the refusal is sent', async () => {
      const seen: { requestId: string; path: string; status: number; message: string; auditedFirst: boolean }[] = [];
      let answered = 0;
      const { app } = testApp({
        onRefused: async (req, error) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          seen.push({
            requestId: req.id,
            path: req.path,
            status: error.status,
            message: error.message,
            auditedFirst: answered === seen.length,
          });
        },
        mount: (a) => {
          a.use((req, res, next) => {
            res.on('finish', () => {
              answered += 1;
            });
            if (req.header('x-user')) req.principal = { subject: 'u1', name: null, email: null, roles: ['viewer'] };
            next();
          });
          a.get('/admin', requireRole('admin'), (_req, res) => {
            res.json({ ok: true });
          });
          a.get('/who', () => {
            throw new AuthenticationError('sign in first');
          });
          a.get('/bad', () => {
            throw new InputError('no');
          });
        },
      });

      expect((await request(app).get('/admin').set('x-user', '1').set('X-Request-Id', 'r-403')).status).toBe(403);
      expect((await request(app).get('/admin').set('X-Request-Id', 'r-401')).status).toBe(401);
      expect((await request(app).get('/who').set('X-Request-Id', 'r-who')).status).toBe(401);
      expect((await request(app).get('/bad')).status).toBe(400);
      expect((await request(app).get('/nowhere')).status).toBe(404);

      expect(seen).toEqual([
        {
          requestId: 'r-403',
          path: '/admin',
          status: 403,
          message: 'this action needs the admin role',
          auditedFirst: true,
        },
        { requestId: 'r-401', path: '/admin', status: 401, message: 'authentication required', auditedFirst: true },
        { requestId: 'r-who', path: '/who', status: 401, message: 'sign in first', auditedFirst: true },
      ]);
    });

    it('still refuses, and logs, when onRefused fails', async () => {
      const { app, lines } = testApp({
        onRefused: () => {
          throw new Error('audit table unavailable');
        },
        mount: (a) =>
          a.get('/secret', () => {
            throw new NotAllowedError('not yours');
          }),
      });

      const res = await request(app).get('/secret').set('X-Request-Id', 'r-hook');

      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: 'not yours' });
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 'error', msg: 'recording a refused request failed', requestId: 'r-hook' }),
      );
    });

    it('answers unknown errors with 500 "internal error", never their message, and logs them', async () => {
      const { app, lines } = testApp({
        mount: (a) =>
          a.get('/fail', () => {
            throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
          }),
      });
      const res = await request(app).get('/fail').set('X-Request-Id', 'req-500');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'internal_error', message: 'internal error', requestId: 'req-500' } });
      expect(res.text).not.toContain('hunter2');
      expect(res.text).not.toContain('ECONNREFUSED');
      expect(lines).toContainEqual(expect.objectContaining({ level: 'error', requestId: 'req-500' }));
    });

    it('answers a body over the parser limit with 413', async () => {
      const { app } = testApp();
      const res = await request(app)
        .post('/echo')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ text: 'x'.repeat(200) }));
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('payload_too_large');
    });

    it('answers malformed JSON with 400', async () => {
      const { app } = testApp();
      const res = await request(app).post('/echo').set('content-type', 'application/json').send('{"text": ');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', message: 'request body is not valid JSON' });
    });

    it('answers a path parameter with broken percent-encoding with 400, not 500', async () => {
      const { app } = testApp();
      const res = await request(app).get('/items/%E0%A4%A');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    });

    it('answers an unknown route with a JSON 404', async () => {
      const { app } = testApp();
      const res = await request(app).delete('/items/1');
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', message: 'no route for DELETE /items/1' });
    });

    it('breaks the connection when a handler fails after starting its response', async () => {
      const { app } = testApp({
        mount: (a) =>
          a.get('/partial', async (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.write('first half');
            await Promise.resolve();
            throw new Error('stream source failed');
          }),
      });
      // Without this the client would wait forever for the rest of a response that never comes.
      await expect(request(app).get('/partial').timeout(5000)).rejects.toMatchObject({ code: 'ECONNRESET' });
    });
  });

  describe('health', () => {
    it('answers liveness without asking any component', async () => {
      let asked = 0;
      const { app } = testApp({
        components: [
          component('postgres', async () => {
            asked += 1;
            return { healthy: false, reason: 'down' };
          }),
        ],
      });
      const res = await request(app).get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
      expect(asked).toBe(0);
    });

    it('is ready when every component is healthy', async () => {
      const { app } = testApp({
        components: [
          component('postgres', async () => ({ healthy: true })),
          component('kafka', async () => ({ healthy: true })),
        ],
      });
      const res = await request(app).get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'ready',
        checks: { postgres: { healthy: true }, kafka: { healthy: true } },
      });
    });

    it('answers 503 with every check when one component is unhealthy or throws', async () => {
      const { app } = testApp({
        components: [
          component('postgres', async () => ({ healthy: true })),
          component('kafka', async () => ({ healthy: false, reason: 'no brokers' })),
          component('producer', async () => {
            throw new Error('socket closed');
          }),
        ],
      });
      const res = await request(app).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        status: 'not_ready',
        checks: {
          postgres: { healthy: true },
          kafka: { healthy: false, reason: 'no brokers' },
          producer: { healthy: false, reason: 'socket closed' },
        },
      });
    });

    it('answers 503 when a component does not answer within the check timeout', async () => {
      const { app } = testApp({
        components: [
          component('postgres', async () => ({ healthy: true })),
          component('stuck', () => new Promise<HealthStatus>(() => undefined)),
        ],
      });
      const res = await request(app).get('/health/ready');
      expect(res.status).toBe(503);
      expect(res.body.checks).toEqual({
        postgres: { healthy: true },
        stuck: { healthy: false, reason: 'no answer within 2000 ms' },
      });
    });
  });

  describe('metrics', () => {
    it('exposes request durations labelled by the matched route, not the raw path', async () => {
      const { app } = testApp();
      await request(app).get('/items/abc');
      await request(app).get('/items/def');
      await request(app).get('/nowhere/xyz');
      const res = await request(app).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const count = (route: string, status: string) =>
        metricSample(res.text, 'http_request_duration_seconds_count', { method: 'GET', route, status_code: status });
      expect(count('/items/:id', '200')).toBe(2);
      expect(count('unmatched', '404')).toBe(1);
      expect(res.text).not.toContain('/items/abc');
      expect(res.text).not.toContain('/nowhere/xyz');
    });

    it('labels a route of a mounted router with its full pattern, also when it fails', async () => {
      const router = Router();
      router.get('/incidents/:id', (req, res) => {
        if (req.params.id === 'missing') throw new NotFoundError('no such incident');
        res.json({});
      });
      const { app } = testApp({ mount: (a) => a.use('/v1', router) });
      await request(app).get('/v1/incidents/found');
      await request(app).get('/v1/incidents/missing');
      const res = await request(app).get('/metrics');
      const count = (status: string) =>
        metricSample(res.text, 'http_request_duration_seconds_count', {
          method: 'GET',
          route: '/v1/incidents/:id',
          status_code: status,
        });
      expect(count('200')).toBe(1);
      expect(count('404')).toBe(1);
    });

    it('counts error responses by code', async () => {
      const { app } = testApp();
      await request(app).get('/nowhere');
      await request(app).get('/nowhere');
      const res = await request(app).get('/metrics');
      expect(metricSample(res.text, 'http_errors_total', { code: 'not_found', status_code: '404' })).toBe(2);
    });
  });
});

describe(rateLimit.name, () => {
  it('answers 429 with Retry-After once a bucket is used up, per key', async () => {
    const { app } = testApp({
      mount: (a) =>
        a.post(
          '/hooks/:source',
          rateLimit({ windowMs: 60_000, limit: 2, key: (req) => String(req.params.source) }),
          (_req, res) => {
            res.status(202).json({ ok: true });
          },
        ),
    });
    expect((await request(app).post('/hooks/a')).status).toBe(202);
    expect((await request(app).post('/hooks/a')).status).toBe(202);
    const limited = await request(app).post('/hooks/a');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.body.error.code).toBe('rate_limited');
    // Another bucket is unaffected.
    expect((await request(app).post('/hooks/b')).status).toBe(202);
  });
});
