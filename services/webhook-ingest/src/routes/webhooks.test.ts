import { createHmac, randomBytes } from 'node:crypto';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  createDirectPublisher,
  createEventMessages,
  createLogger,
  createMetricsRegistry,
  type EventProducer,
  topicsFor,
} from '@micro-oncall/service-kit';
import { metricSample, metricSamples } from '@micro-oncall/test-kit';
import type pg from 'pg';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../app.js';
import { configSchema } from '../env.js';
import { EventLoopDelayGuard } from '../limits.js';
import { createIngestMetrics } from '../metrics.js';

/** Made per run: no secret-shaped literal in the repository. */
const SECRET = randomBytes(24).toString('hex');

/**
 * The app with a pool and a producer that record what reaches them, so that a refused webhook
 * can be shown to have stored and published nothing (no PostgreSQL or Kafka needed).
 */
function testApp() {
  const config = configSchema.parse({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://unit@127.0.0.1:1/unit',
    KAFKA_BROKERS: '127.0.0.1:1',
    PAGERDUTY_WEBHOOK_SECRETS: SECRET,
  });
  const registry = createMetricsRegistry('webhook-ingest');
  const stored: unknown[] = [];
  const pool = {
    query: async (...args: unknown[]) => {
      stored.push(args);
      return { rows: [], rowCount: 0 };
    },
  } as unknown as pg.Pool;
  const producer = {
    id: 'producer',
    start: async () => undefined,
    stop: async () => undefined,
    healthcheck: async () => ({ healthy: true }),
    send: async (...args: unknown[]) => {
      stored.push(args);
    },
  } as EventProducer;
  const app = createApp({
    config,
    logger: createLogger({ service: 'webhook-ingest', level: 'silent' }),
    registry,
    metrics: createIngestMetrics(registry),
    pool,
    events: createDirectPublisher(
      createEventMessages({ service: 'webhook-ingest', topics: topicsFor('unit') }),
      producer,
    ),
    loopDelay: new EventLoopDelayGuard({ limitMs: 0 }),
    components: () => [],
  });
  return { app, registry, stored };
}

/** Every `name` sample's labels. */
const labelSets = (text: string, name: string) => metricSamples(text, name).map((s) => s.labels);

describe('POST /v1/webhooks/:provider (router edges)', () => {
  it('accepts a signed PagerDuty webhook under the route label /v1/webhooks/:provider', async () => {
    const { app, registry } = testApp();
    const body = JSON.stringify(pagerDutyIncidentEvent({ incidentId: 'PUNITLEAN1' }));
    const res = await request(app)
      .post('/v1/webhooks/pagerduty')
      .set('content-type', 'application/json')
      .set('x-pagerduty-signature', `v1=${createHmac('sha256', SECRET).update(body).digest('hex')}`)
      .set('x-request-id', 'req-unit-1')
      .send(body);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('accepted');
    expect(res.headers['x-request-id']).toBe('req-unit-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers.ratelimit).toMatch(/^limit=\d+, remaining=\d+, reset=\d+$/);
    const text = await registry.metrics();
    expect(
      metricSample(text, 'http_request_duration_seconds_count', {
        route: '/v1/webhooks/:provider',
        status_code: '202',
      }),
    ).toBe(1);
    expect(metricSample(text, 'webhook_events_accepted_total', { provider: 'pagerduty' })).toBe(1);
  });

  it.each([
    ['the prefix alone', '/v1/webhooks'],
    ['a path below a provider', '/v1/webhooks/pagerduty/extra'],
  ])('answers a POST to %s with the JSON 404 of an unknown route', async (_what, path) => {
    const { app, stored } = testApp();
    const res = await request(app).post(path).set('content-type', 'application/json').send('{}');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', message: `no route for POST ${path}` });
    expect(stored).toEqual([]);
  });

  it('answers other methods on a webhook path with the JSON 404 of an unknown route', async () => {
    const { app } = testApp();
    const res = await request(app).get('/v1/webhooks/pagerduty');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe('no route for GET /v1/webhooks/pagerduty');
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'answers a provider named like an Object property (%s) as an unknown provider',
    async (name) => {
      const { app, registry } = testApp();
      const res = await request(app).post(`/v1/webhooks/${name}`).set('content-type', 'application/json').send('{}');
      expect(res.status).toBe(404);
      expect(res.body.error.message).toBe(`unknown webhook provider '${name}'`);
      // Not a provider: no rejection is counted under a made-up provider label.
      expect(labelSets(await registry.metrics(), 'webhook_events_rejected_total')).toEqual([]);
    },
  );

  it('answers a provider with broken percent-encoding 400, not 500', async () => {
    const { app } = testApp();
    const res = await request(app).post('/v1/webhooks/%E0%A4%A').set('content-type', 'application/json').send('{}');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
  });

  it('refuses a configured provider without its credential 401, before parsing, and counts it', async () => {
    const { app, registry, stored } = testApp();
    const res = await request(app).post('/v1/webhooks/pagerduty').set('content-type', 'application/json').send('{');
    expect(res.status).toBe(401);
    expect(stored).toEqual([]);
    const text = await registry.metrics();
    expect(
      metricSample(text, 'webhook_events_rejected_total', { provider: 'pagerduty', reason: 'unauthenticated' }),
    ).toBe(1);
  });
});
