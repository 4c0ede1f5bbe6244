import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, type ServiceError } from './errors.js';
import { createLogger } from './logger.js';
import { createHttpClient, type HttpClientOptions, OutcomeUnknownError, UpstreamError } from './outbound.js';

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON, strings as text/plain. */
  body?: unknown;
  /** Waits this long before answering. */
  delayMs?: number;
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A loopback server answering the n-th request (1-based) with `script(n)`. */
async function startServer(script: (n: number) => Reply) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      });
      const reply = script(seen.length);
      setTimeout(() => {
        if (res.destroyed) return;
        const isText = typeof reply.body === 'string';
        res.writeHead(reply.status, {
          ...(reply.body === undefined ? {} : { 'content-type': isText ? 'text/plain' : 'application/json' }),
          ...reply.headers,
        });
        res.end(reply.body === undefined ? undefined : isText ? (reply.body as string) : JSON.stringify(reply.body));
      }, reply.delayMs ?? 0);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ service: 'outbound-test', level: 'debug', destination }), lines, raw };
}

function client(url: string, overrides: Partial<HttpClientOptions> = {}) {
  const captured = capturingLogger();
  const http = createHttpClient({
    name: 'PagerDuty',
    baseUrl: url,
    timeoutMs: 1000,
    retries: 3,
    backoff: { initialMs: 1, maxMs: 20 },
    logger: captured.logger,
    ...overrides,
  });
  return { http, ...captured };
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the request to fail');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(createHttpClient.name, () => {
  it('sends method, path, query, JSON body and headers, and returns the parsed JSON answer', async () => {
    const server = await startServer(() => ({ status: 200, body: { incident: { id: 'Q1' } } }));
    const { http } = client(`${server.url}/api/`, { defaultHeaders: () => ({ accept: 'application/x-test' }) });

    const res = await http.request<{ incident: { id: string } }>({
      method: 'PUT',
      path: '/incidents/Q1',
      query: { identifierType: 'id' },
      body: { incident: { status: 'acknowledged' } },
      headers: { from: 'a@example.com' },
    });

    expect(res.status).toBe(200);
    expect(res.body.incident.id).toBe('Q1');
    expect(server.seen).toHaveLength(1);
    const [req] = server.seen;
    expect(req).toMatchObject({ method: 'PUT', url: '/api/incidents/Q1?identifierType=id' });
    expect(req!.headers).toMatchObject({
      accept: 'application/x-test',
      from: 'a@example.com',
      'content-type': 'application/json',
    });
    expect(JSON.parse(req!.body)).toEqual({ incident: { status: 'acknowledged' } });
  });

  it('returns text bodies as text', async () => {
    const server = await startServer(() => ({ status: 200, body: 'ok' }));
    const { http } = client(server.url);
    const res = await http.request({ method: 'POST', path: '', body: { text: 'hi' } });
    expect(res.body).toBe('ok');
  });

  it('fails with 503 after the retries when every attempt times out', async () => {
    const server = await startServer(() => ({ status: 200, body: {}, delayMs: 1000 }));
    const { http, lines } = client(server.url, { timeoutMs: 50, retries: 2 });

    const error = await rejection(http.request({ method: 'GET', path: '/incidents/Q1' }));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.status).toBe(503);
    expect(error.message).toBe('PagerDuty did not answer within 50 ms (3 attempts)');
    expect(server.seen).toHaveLength(3);
    expect(lines.filter((l) => l.msg === 'PagerDuty request failed; retrying')).toHaveLength(2);
  });

  it('fails with 503 when the provider cannot be reached', async () => {
    const server = await startServer(() => ({ status: 200 }));
    const url = server.url;
    server.server.close();
    const { http } = client(url, { retries: 1 });

    const error = await rejection(http.request({ method: 'GET', path: '/x' }));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toMatch(/^PagerDuty could not be reached \(ECONNREFUSED\)/);
  });

  it('retries a 429 after the Retry-After seconds and then succeeds', async () => {
    const server = await startServer((n) =>
      n === 1
        ? {
            status: 429,
            headers: { 'retry-after': '1' },
            body: { error: { message: 'Rate Limit Exceeded', code: 2020 } },
          }
        : { status: 200, body: { ok: true } },
    );
    const { http, lines } = client(server.url, { backoff: { initialMs: 1, maxMs: 5000 } });

    const res = await http.request({ method: 'GET', path: '/incidents' });

    expect(res.body).toEqual({ ok: true });
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(900);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        provider: 'PagerDuty',
        method: 'GET',
        path: '/incidents',
        status: 429,
        attempt: 1,
        delayMs: 1000,
      }),
    );
  });

  it('waits for ratelimit-reset when there is no Retry-After, capped at backoff.maxMs', async () => {
    const server = await startServer((n) =>
      n === 1 ? { status: 429, headers: { 'ratelimit-reset': '60' } } : { status: 200, body: { ok: true } },
    );
    const { http, lines } = client(server.url, { backoff: { initialMs: 1, maxMs: 150 } });

    await http.request({ method: 'GET', path: '/incidents' });

    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(120);
    expect(lines).toContainEqual(expect.objectContaining({ status: 429, attempt: 1, delayMs: 150 }));
  });

  it("waits for Okta's X-Rate-Limit-Reset (epoch seconds) on a 429, but not on a 5xx", async () => {
    const inTwoSeconds = String(Math.floor(Date.now() / 1000) + 2);
    const server = await startServer((n) =>
      n === 1
        ? { status: 429, headers: { 'x-rate-limit-reset': inTwoSeconds } }
        : n === 2
          ? { status: 500, headers: { 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 3600) } }
          : { status: 200, body: { ok: true } },
    );
    const { http, lines } = client(server.url, { backoff: { initialMs: 1, maxMs: 60_000 } });

    await http.request({ method: 'GET', path: '/api/v1/apps' });

    expect(server.seen).toHaveLength(3);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(900);
    const waits = lines.filter((l) => l.delayMs !== undefined);
    expect(waits.map((l) => l.status)).toEqual([429, 500]);
    expect(waits[0]!.delayMs).toBeGreaterThan(900);
    expect(waits[1]!.delayMs).toBeLessThanOrEqual(1);
  });

  it('understands Retry-After given as an HTTP date', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
    const server = await startServer((n) =>
      n === 1 ? { status: 503, headers: { 'retry-after': inAnHour } } : { status: 200, body: {} },
    );
    const { http, lines } = client(server.url, { backoff: { initialMs: 1, maxMs: 100 } });

    await http.request({ method: 'GET', path: '/incidents' });

    expect(lines).toContainEqual(expect.objectContaining({ status: 503, delayMs: 100 }));
  });

  it('fails with UpstreamError 502 quoting the provider after retrying 5xx answers', async () => {
    const server = await startServer(() => ({ status: 500, body: { error: { message: 'Internal failure' } } }));
    const { http } = client(server.url, { retries: 2 });

    const error = await rejection(http.request({ method: 'PUT', path: '/incidents/Q1', body: {} }));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('provider_error');
    expect(error.message).toBe('PagerDuty answered 500: Internal failure');
    expect(error.details).toEqual({ provider: 'PagerDuty', status: 500 });
    expect(server.seen).toHaveLength(3);
  });

  it('does not retry a 400 and quotes the provider error and its details', async () => {
    const server = await startServer(() => ({
      status: 400,
      body: { error: { message: 'Invalid Input Provided', code: 2001, errors: ['Requester User Not Found'] } },
    }));
    const { http, lines } = client(server.url);

    const error = await rejection(http.request({ method: 'PUT', path: '/incidents/Q1', body: {} }));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe('PagerDuty answered 400: Invalid Input Provided: Requester User Not Found');
    expect((error as UpstreamError).upstreamStatus).toBe(400);
    expect(server.seen).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(0);
  });

  it('truncates a long provider message to 300 characters', async () => {
    const server = await startServer(() => ({ status: 404, body: 'x'.repeat(5000) }));
    const { http } = client(server.url);

    const error = await rejection(http.request({ method: 'GET', path: '/incidents/Q1' }));

    expect(error.message.startsWith('PagerDuty answered 404: xxx')).toBe(true);
    expect(error.message.length).toBe('PagerDuty answered 404: '.length + 300);
  });

  it('opens the circuit after the threshold and then fails fast without a request', async () => {
    const server = await startServer(() => ({ status: 500 }));
    const { http, lines } = client(server.url, { retries: 1, breaker: { failureThreshold: 2, resetMs: 60_000 } });

    await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(http.state()).toBe('closed');
    await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(http.state()).toBe('open');
    expect(server.seen).toHaveLength(4);

    const error = await rejection(http.request({ method: 'GET', path: '/a' }));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toBe('PagerDuty is unavailable (circuit open after 2 failures); retry in 60 s');
    expect((error as DependencyUnavailableError).retryAfterSeconds).toBe(60);
    expect(server.seen).toHaveLength(4);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'PagerDuty circuit opened', failures: 2 }));
  });

  it('does not count 4xx answers towards the breaker', async () => {
    const server = await startServer((n) => (n % 2 === 1 ? { status: 500 } : { status: 404 }));
    const { http } = client(server.url, { retries: 0, breaker: { failureThreshold: 2, resetMs: 60_000 } });

    for (let i = 0; i < 4; i += 1) await rejection(http.request({ method: 'GET', path: '/a' }));

    expect(http.state()).toBe('closed');
    expect(server.seen).toHaveLength(4);
  });

  it('lets one trial through when half-open and closes the circuit when it succeeds', async () => {
    let healthy = false;
    const server = await startServer(() => (healthy ? { status: 200, body: { ok: true } } : { status: 503 }));
    const { http } = client(server.url, { retries: 0, breaker: { failureThreshold: 1, resetMs: 100 } });

    await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(http.state()).toBe('open');
    await sleep(150);
    expect(http.state()).toBe('half-open');
    healthy = true;

    const res = await http.request({ method: 'GET', path: '/a' });

    expect(res.body).toEqual({ ok: true });
    expect(http.state()).toBe('closed');
    expect(server.seen).toHaveLength(2);
  });

  it('re-opens the circuit when the half-open trial fails, with a single attempt', async () => {
    const server = await startServer(() => ({ status: 503 }));
    const { http } = client(server.url, { retries: 3, breaker: { failureThreshold: 1, resetMs: 100 } });

    await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(server.seen).toHaveLength(4);
    await sleep(150);

    const trial = await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(trial).toBeInstanceOf(UpstreamError);
    expect(server.seen).toHaveLength(5);
    expect(http.state()).toBe('open');

    const next = await rejection(http.request({ method: 'GET', path: '/a' }));
    expect(next.message).toMatch(/circuit open/);
    expect(server.seen).toHaveLength(5);
  });

  it('fails fast while the half-open trial is in flight', async () => {
    let healthy = false;
    const server = await startServer(() => (healthy ? { status: 200, body: {}, delayMs: 100 } : { status: 500 }));
    const { http } = client(server.url, { retries: 0, breaker: { failureThreshold: 1, resetMs: 50 } });
    await rejection(http.request({ method: 'GET', path: '/a' }));
    await sleep(80);
    healthy = true;

    const trial = http.request({ method: 'GET', path: '/a' });
    const second = await rejection(http.request({ method: 'GET', path: '/a' }));

    expect(second).toBeInstanceOf(DependencyUnavailableError);
    await expect(trial).resolves.toMatchObject({ status: 200 });
    expect(server.seen).toHaveLength(2);
    expect(http.state()).toBe('closed');
  });

  describe('requests that are not idempotent', () => {
    it('sends a POST that timed out only once and says that its outcome is unknown', async () => {
      const server = await startServer(() => ({ status: 201, body: { note: { id: 'N1' } }, delayMs: 200 }));
      const { http, lines } = client(server.url, { timeoutMs: 50, retries: 3 });

      const error = await rejection(
        http.request({ method: 'POST', path: '/incidents/Q1/notes', body: { note: { content: 'x' } } }),
      );
      await sleep(300); // time for a repeat to arrive, if one were sent

      expect(server.seen).toHaveLength(1);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error.status).toBe(503);
      expect(error.message).toBe('PagerDuty did not answer within 50 ms');
      expect((error as OutcomeUnknownError).provider).toBe('PagerDuty');
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          method: 'POST',
          failure: 'timeout',
          msg: 'PagerDuty request failed after it may have reached PagerDuty; a POST is not repeated',
        }),
      );
    });

    it('does not repeat a POST answered with 5xx, and reports the answer as a failure', async () => {
      const server = await startServer(() => ({ status: 503, body: { error: { message: 'try later' } } }));
      const { http } = client(server.url, { retries: 3 });

      const error = await rejection(http.request({ method: 'POST', path: '/incidents/Q1/notes', body: {} }));

      expect(server.seen).toHaveLength(1);
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error.message).toBe('PagerDuty answered 503: try later');
    });

    it('repeats a POST the provider refused with 429, which it did not carry out', async () => {
      const server = await startServer((n) =>
        n === 1 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 201, body: { ok: true } },
      );
      const { http } = client(server.url);

      const res = await http.request({ method: 'POST', path: '/incidents/Q1/notes', body: {} });

      expect(res.status).toBe(201);
      expect(server.seen).toHaveLength(2);
    });

    it('repeats a POST whose connection was refused, and reports a plain unavailability', async () => {
      const server = await startServer(() => ({ status: 200 }));
      server.server.close();
      const { http, lines } = client(server.url, { retries: 2 });

      const error = await rejection(http.request({ method: 'POST', path: '/incidents/Q1/notes', body: {} }));

      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(error).not.toBeInstanceOf(OutcomeUnknownError);
      expect(error.message).toBe('PagerDuty could not be reached (ECONNREFUSED) (3 attempts)');
      expect(lines.filter((l) => l.msg === 'PagerDuty request failed; retrying')).toHaveLength(2);
    });

    it('repeats a POST marked idempotent like any idempotent request', async () => {
      const server = await startServer((n) => (n === 1 ? { status: 500 } : { status: 200, body: { ok: true } }));
      const { http } = client(server.url);

      const res = await http.request({ method: 'POST', path: '', body: { text: 'hi' }, idempotent: true });

      expect(res.body).toEqual({ ok: true });
      expect(server.seen).toHaveLength(2);
    });
  });

  describe('idempotent requests that change state', () => {
    it('repeats a PUT after timeouts and, when none was answered, says that its outcome is unknown', async () => {
      const server = await startServer(() => ({ status: 200, body: {}, delayMs: 300 }));
      const { http } = client(server.url, { timeoutMs: 50, retries: 2 });

      const error = await rejection(http.request({ method: 'PUT', path: '/incidents/Q1', body: {} }));

      expect(server.seen).toHaveLength(3);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error.message).toBe('PagerDuty did not answer within 50 ms (3 attempts)');
    });

    it('says the outcome is unknown when a PUT ends in 5xx after an attempt that got no answer', async () => {
      const server = await startServer((n) => (n === 1 ? { status: 200, body: {}, delayMs: 300 } : { status: 500 }));
      const { http } = client(server.url, { timeoutMs: 50, retries: 1 });

      const error = await rejection(http.request({ method: 'PUT', path: '/incidents/Q1', body: {} }));

      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error.message).toBe('PagerDuty answered 500 after an earlier attempt got no answer');
      expect((error as OutcomeUnknownError).upstreamStatus).toBe(500);
    });

    it('reports a PUT answered 5xx every time as a failure, not as unknown', async () => {
      const server = await startServer(() => ({ status: 502 }));
      const { http } = client(server.url, { retries: 1 });

      const error = await rejection(http.request({ method: 'PUT', path: '/incidents/Q1', body: {} }));

      expect(server.seen).toHaveLength(2);
      expect(error).toBeInstanceOf(UpstreamError);
    });

    it('never calls a GET that timed out "outcome unknown": a read changes nothing', async () => {
      const server = await startServer(() => ({ status: 200, body: {}, delayMs: 300 }));
      const { http } = client(server.url, { timeoutMs: 50, retries: 0 });

      const error = await rejection(http.request({ method: 'GET', path: '/incidents/Q1' }));

      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    });
  });

  it('keeps header values, query, body and base URL out of error messages and log lines', async () => {
    const secret = `sekrit-${randomBytes(8).toString('hex')}`;
    const server = await startServer(() => ({ status: 500, body: { error: { message: 'try later' } } }));
    const { http, raw } = client(`${server.url}/hooks/${secret}-path`, {
      retries: 1,
      breaker: { failureThreshold: 1, resetMs: 60_000 },
      defaultHeaders: () => ({ authorization: `Token token=${secret}` }),
    });
    const messages: string[] = [];
    const req = {
      method: 'POST' as const,
      path: '/incidents/Q1/notes',
      query: { key: secret },
      body: { note: { content: secret } },
      headers: { 'x-api-key': secret },
    };

    messages.push((await rejection(http.request(req))).message); // 500 twice: retried, logged, circuit opens
    messages.push((await rejection(http.request(req))).message); // open circuit
    const closed = await startServer(() => ({ status: 200 }));
    closed.server.close();
    const unreachable = client(`${closed.url}/${secret}`, {
      retries: 1,
      defaultHeaders: () => ({ authorization: secret }),
    });
    messages.push((await rejection(unreachable.http.request(req))).message);
    const slow = await startServer(() => ({ status: 200, delayMs: 500 }));
    const timingOut = client(`${slow.url}/${secret}`, { timeoutMs: 50, retries: 1 });
    messages.push((await rejection(timingOut.http.request(req))).message);

    const logged = [...raw, ...unreachable.raw, ...timingOut.raw];
    expect(messages).toHaveLength(4);
    expect(logged.length).toBeGreaterThanOrEqual(4);
    expect(server.seen[0]!.headers.authorization).toBe(`Token token=${secret}`);
    for (const text of [...messages, ...logged]) expect(text).not.toContain(secret);
  });
});
