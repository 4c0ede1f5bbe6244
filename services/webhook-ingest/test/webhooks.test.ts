import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncidentEventEnvelope, incidentIdFor, topicName } from '@micro-oncall/incident-model';
import {
  alertmanagerWebhook,
  opsgenieWebhook,
  pagerDutyIncidentEvent,
  pagerDutyServiceEvent,
} from '@micro-oncall/incident-model/fixtures';
import { createKafka, createLogger, type RunningService } from '@micro-oncall/service-kit';
import { createTestDatabase, freePort, metricSample, uniqueNamespace } from '@micro-oncall/test-kit';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { service } from '../src/service.js';

// kafkajs is service-kit's dependency, reached through createKafka rather than imported here.
type Kafka = ReturnType<typeof createKafka>;
type Admin = ReturnType<Kafka['admin']>;
type Consumer = ReturnType<Kafka['consumer']>;
interface Published {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

const BODY_LIMIT = 16 * 1024;
const secrets = {
  pagerdutyOld: randomBytes(24).toString('hex'),
  pagerduty: randomBytes(24).toString('hex'),
  opsgenie: randomBytes(24).toString('hex'),
  alertmanager: `alertmanager:${randomBytes(24).toString('hex')}`,
};

let secretDir: string;
let databaseUrl: string;
let kafkaBrokers: string;
let namespace: string;
let topic: string;
let ingest: RunningService;
let pool: pg.Pool;
let admin: Admin;
let collector: Consumer;
const published: Published[] = [];

function secretFile(name: string, content: string): string {
  const path = join(secretDir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function baseEnv(): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: namespace,
    // The test's own work runs in the replica's process and can keep its event loop saturated,
    // which no replica's loop shares in production: shedding is off but where it is tested.
    WEBHOOK_SHED_AT_LOOP_UTILISATION: '0',
  };
}

const sign = (body: Buffer | string, secret = secrets.pagerduty) =>
  `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;

interface Answer {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; details?: unknown; requestId: string } } & Record<string, unknown>;
}

async function post(
  provider: string,
  body: Buffer | string | object,
  headers: Record<string, string> = {},
  base = ingest.url,
): Promise<Answer> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(`${base}/v1/webhooks/${provider}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

/** A PagerDuty webhook signed with the current secret. */
function postPagerDuty(payload: object | string | Buffer, headers: Record<string, string> = {}, base = ingest.url) {
  const raw = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  return post('pagerduty', raw, { 'x-pagerduty-signature': sign(raw), ...headers }, base);
}

const basic = (credential: string) => `Basic ${Buffer.from(credential).toString('base64')}`;

/** Everything a webhook could have changed: messages on the topic and rows in both tables. */
async function storedState() {
  const offsets = await admin.fetchTopicOffsets(topic);
  const { rows } = await pool.query<{ received: number; ignored: number }>(
    `select (select count(*)::int from ingest.received_events) as received,
            (select count(*)::int from ingest.ignored_events) as ignored`,
  );
  return { messages: offsets.reduce((sum, p) => sum + Number(p.high), 0), ...rows[0]! };
}

/**
 * Runs `fn` and checks that it changed nothing. A publish resolves only after the broker's
 * acknowledgement, which comes before the answer: the log is final once the answer is in.
 */
async function expectNothingStored(fn: () => Promise<void>) {
  const before = await storedState();
  await fn();
  expect(await storedState()).toEqual(before);
}

async function receivedRow(eventId: string) {
  const { rows } = await pool.query('select provider, incident_id from ingest.received_events where event_id = $1', [
    eventId,
  ]);
  return rows[0] as { provider: string; incident_id: string } | undefined;
}

async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const messageFor = (eventId: string) =>
  eventually(`message ${eventId} on ${topic}`, () =>
    published.find((m) => (JSON.parse(m.value) as { id: string }).id === eventId),
  );

/** A PagerDuty webhook that is answered "ignored", distinct from every other one sent. */
function ignoredPagerDutyEvent(eventType = 'service.updated') {
  const payload = pagerDutyServiceEvent();
  return { event: { ...payload.event, id: randomUUID(), event_type: eventType } };
}

/** The value of the sample `name{labels…}` in a Prometheus text exposition (labels in any order). */
async function metric(base: string, name: string, labels: Record<string, string>): Promise<number> {
  return metricSample(await (await fetch(`${base}/metrics`)).text(), name, labels) ?? 0;
}

beforeAll(async () => {
  const stack = inject('stack');
  kafkaBrokers = stack.kafkaBrokers;
  databaseUrl = await createTestDatabase(stack.databaseUrl, 'ingest');
  namespace = uniqueNamespace('ingest');
  topic = topicName('incident-events', namespace);
  secretDir = mkdtempSync(join(tmpdir(), 'ingest-secrets-'));
  ingest = await service.run(
    service.loadConfig({
      ...baseEnv(),
      // Rotation: the old and the new subscription secret, one per line.
      PAGERDUTY_WEBHOOK_SECRETS_FILE: secretFile('pagerduty', `${secrets.pagerdutyOld}\n${secrets.pagerduty}\n`),
      OPSGENIE_WEBHOOK_TOKEN_FILE: secretFile('opsgenie', `${secrets.opsgenie}\n`),
      ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: secretFile('alertmanager', secrets.alertmanager),
      WEBHOOK_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    }),
  );
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const kafka = createKafka({
    brokers: kafkaBrokers.split(','),
    clientId: 'webhooks-test',
    logger: createLogger({ service: 'webhooks-test', level: 'silent' }),
  });
  admin = kafka.admin();
  await admin.connect();
  collector = kafka.consumer({ groupId: `${namespace}-collector`, maxWaitTimeInMs: 100 });
  await collector.connect();
  await collector.subscribe({ topic, fromBeginning: true });
  await collector.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      published.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', headers });
    },
  });
});

afterAll(async () => {
  await collector?.disconnect();
  await admin?.disconnect();
  await pool?.end();
  await ingest?.stop();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

describe('POST /v1/webhooks/:provider', () => {
  describe('accepted webhooks', () => {
    it('publishes a signed PagerDuty incident as a CloudEvent keyed by the incident id, then records it', async () => {
      const payload = pagerDutyIncidentEvent({ incidentId: 'PINGEST1', title: 'Checkout down' });
      const res = await postPagerDuty(payload);
      const incidentId = incidentIdFor('pagerduty', 'PINGEST1');
      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        status: 'accepted',
        events: [{ id: expect.any(String), incidentId, kind: 'triggered' }],
        duplicates: 0,
      });
      const eventId = (res.body.events as { id: string }[])[0]!.id;

      const message = await messageFor(eventId);
      expect(message.key).toBe(incidentId);
      expect(message.headers['content-type']).toBe('application/cloudevents+json');
      const envelope = IncidentEventEnvelope.parse(JSON.parse(message.value));
      expect(envelope).toMatchObject({
        specversion: '1.0',
        id: eventId,
        source: '/webhook-ingest/pagerduty',
        type: 'io.microoncall.incident.triggered',
        subject: incidentId,
        data: { eventId, incidentId, provider: 'pagerduty', providerId: 'PINGEST1', kind: 'triggered' },
      });
      expect(envelope.data.snapshot?.title).toBe('Checkout down');
      expect(await receivedRow(eventId)).toEqual({ provider: 'pagerduty', incident_id: incidentId });
    });

    it('accepts a signature made with the older of two configured secrets (rotation)', async () => {
      const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId: 'PINGEST2' }));
      const res = await post('pagerduty', raw, { 'x-pagerduty-signature': sign(raw, secrets.pagerdutyOld) });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('accepted');
    });

    it('accepts Opsgenie with its bearer token', async () => {
      const res = await post('opsgenie', opsgenieWebhook({ alertId: 'og-ingest-1' }), {
        authorization: `Bearer ${secrets.opsgenie}`,
      });
      expect(res.status).toBe(202);
      const [event] = res.body.events as { id: string; incidentId: string }[];
      expect(event?.incidentId).toBe(incidentIdFor('opsgenie', 'og-ingest-1'));
      expect((await messageFor(event!.id)).key).toBe(event!.incidentId);
    });

    it('accepts Alertmanager with basic auth and publishes one event per alert, each under its own key', async () => {
      const payload = alertmanagerWebhook({
        alerts: [
          { labels: { alertname: 'DiskFull', instance: 'search-1' } },
          { labels: { alertname: 'DiskFull', instance: 'search-2' } },
        ],
      });
      const res = await post('alertmanager', payload, { authorization: basic(secrets.alertmanager) });
      expect(res.status).toBe(202);
      const events = res.body.events as { id: string; incidentId: string }[];
      expect(events).toHaveLength(2);
      expect(new Set(events.map((e) => e.incidentId)).size).toBe(2);
      for (const event of events) {
        const message = await messageFor(event.id);
        expect(message.key).toBe(event.incidentId);
        expect(IncidentEventEnvelope.parse(JSON.parse(message.value)).subject).toBe(event.incidentId);
      }
    });

    it('answers a replay 202 with the duplicate counted and publishes nothing new', async () => {
      const payload = pagerDutyIncidentEvent({ incidentId: 'PINGESTREPLAY' });
      const first = await postPagerDuty(payload);
      expect(first.status).toBe(202);
      await expectNothingStored(async () => {
        for (let i = 0; i < 2; i += 1) {
          const again = await postPagerDuty(payload);
          expect(again.status).toBe(202);
          expect(again.body).toEqual({ status: 'accepted', events: [], duplicates: 1 });
        }
      });
    });

    it('publishes an event delivered several times at once exactly once, and answers every delivery 202 (ADR 0021)', async () => {
      const payload = pagerDutyIncidentEvent({ incidentId: 'PINGESTTWINS', title: 'Delivered eight times at once' });
      const before = await storedState();
      const answers = await Promise.all(Array.from({ length: 8 }, () => postPagerDuty(payload)));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
      const published = answers.flatMap((a) => a.body.events as { id: string }[]);
      expect(published).toHaveLength(1);
      expect(answers.reduce((sum, a) => sum + (a.body.duplicates as number), 0)).toBe(7);
      // Every answer came after the broker's acknowledgement and the record: both are final.
      expect(await storedState()).toEqual({ ...before, messages: before.messages + 1, received: before.received + 1 });
      expect(await receivedRow(published[0]!.id)).toEqual({
        provider: 'pagerduty',
        incident_id: incidentIdFor('pagerduty', 'PINGESTTWINS'),
      });
    });

    it('publishes and records every one of many different webhooks sent at once', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `PINGESTCONCURRENT${i}`);
      const before = await storedState();
      const answers = await Promise.all(ids.map((id) => postPagerDuty(pagerDutyIncidentEvent({ incidentId: id }))));
      expect(answers.map((a) => a.status)).toEqual(ids.map(() => 202));
      const events = answers.flatMap((a) => a.body.events as { id: string; incidentId: string }[]);
      expect(events.map((e) => e.incidentId).sort()).toEqual(ids.map((id) => incidentIdFor('pagerduty', id)).sort());
      expect(await storedState()).toEqual({
        ...before,
        messages: before.messages + 40,
        received: before.received + 40,
      });
      // A retry of any of them is a duplicate.
      const retried = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: ids[17]! }));
      expect(retried.body).toEqual({ status: 'accepted', events: [], duplicates: 1 });
    });

    it('answers PagerDuty service.updated 202 "ignored" and keeps it once in ignored_events, whatever X-Webhook-Id it carries', async () => {
      const payload = ignoredPagerDutyEvent();
      const before = await storedState();
      // The signature covers the body, not the headers: a replay under any X-Webhook-Id is still one row.
      for (const webhookId of [randomUUID(), randomUUID(), randomUUID()]) {
        const res = await postPagerDuty(payload, { 'x-webhook-id': webhookId });
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({ status: 'ignored', eventType: 'service.updated' });
      }
      expect(await storedState()).toEqual({ ...before, ignored: before.ignored + 1 });

      const { rows } = await pool.query(
        `select provider, event_type, payload from ingest.ignored_events where payload->'event'->>'id' = $1`,
        [payload.event.id],
      );
      expect(rows).toEqual([{ provider: 'pagerduty', event_type: 'service.updated', payload }]);
    });

    it('keeps an ignored webhook whose JSON holds a \\u0000 escape (PostgreSQL jsonb refuses those)', async () => {
      const payload = ignoredPagerDutyEvent();
      const withNul = {
        event: {
          ...payload.event,
          data: { ...payload.event.data, description: 'a\u0000b', note: 'kept \\u0000 as text' },
        },
      };
      const res = await postPagerDuty(withNul);
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('ignored');
      const { rows } = await pool.query(
        `select payload from ingest.ignored_events where payload->'event'->>'id' = $1`,
        [payload.event.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].payload.event.data).toMatchObject({ description: 'a\ufffdb', note: 'kept \\u0000 as text' });
    });
  });
});

describe('rejected webhooks: a clear JSON error, and nothing published or stored', () => {
  const incident = (id: string) => pagerDutyIncidentEvent({ incidentId: id });

  it('400 for a body that is not JSON', async () => {
    await expectNothingStored(async () => {
      const res = await postPagerDuty('{"event": {"id": ');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/not valid JSON/) });
    });
  });

  it('400 for bytes that are not UTF-8', async () => {
    const raw = Buffer.concat([Buffer.from('{"event": {"id": "'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]);
    await expectNothingStored(async () => {
      const res = await postPagerDuty(raw);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', message: 'request body is not valid UTF-8' });
    });
  });

  it('400 for a schema-invalid webhook, naming the field path', async () => {
    const payload = incident('PINGESTBAD');
    const broken = { event: { ...payload.event, occurred_at: 'yesterday' } };
    await expectNothingStored(async () => {
      const res = await postPagerDuty(broken);
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('invalid_input');
      expect(res.body.error?.details).toEqual({
        issues: expect.arrayContaining([expect.objectContaining({ path: 'event.occurred_at' })]),
      });
    });
  });

  it.each([
    ['no signature', {}],
    ['an empty signature', { 'x-pagerduty-signature': '' }],
    ['a signature made with another secret', 'other-secret'],
    ['a v0 signature', 'v0'],
  ])('401 for a PagerDuty webhook with %s', async (_what, signature) => {
    const raw = JSON.stringify(incident('PINGESTFORGED'));
    const headers =
      typeof signature === 'string'
        ? {
            'x-pagerduty-signature':
              signature === 'v0' ? sign(raw).replace('v1=', 'v0=') : sign(raw, randomBytes(24).toString('hex')),
          }
        : signature;
    await expectNothingStored(async () => {
      const res = await post('pagerduty', raw, headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({
        code: 'unauthenticated',
        message: 'X-PagerDuty-Signature is missing or matches no configured secret',
      });
    });
  });

  it('401 for a signature over different bytes than those sent', async () => {
    const raw = JSON.stringify(incident('PINGESTTAMPERED'));
    const tampered = raw.replace('PINGESTTAMPERED', 'PINGESTTAMPERES');
    await expectNothingStored(async () => {
      expect((await post('pagerduty', tampered, { 'x-pagerduty-signature': sign(raw) })).status).toBe(401);
    });
  });

  it.each([
    ['opsgenie', 'no credential', undefined],
    ['opsgenie', 'a wrong token', `Bearer ${randomBytes(24).toString('hex')}`],
    ['opsgenie', 'basic auth where a token is configured', basic(`user:${secrets.opsgenie}`)],
    ['alertmanager', 'no credential', undefined],
    ['alertmanager', 'a wrong password', basic('alertmanager:not-the-password-at-all')],
    ['alertmanager', 'the password as a bearer token', `Bearer ${secrets.alertmanager}`],
  ])('401 for %s with %s', async (provider, _what, authorization) => {
    const payload = provider === 'opsgenie' ? opsgenieWebhook({ alertId: 'og-forged' }) : alertmanagerWebhook();
    await expectNothingStored(async () => {
      const res = await post(provider, payload, authorization ? { authorization } : {});
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({
        code: 'unauthenticated',
        message: 'missing or wrong Authorization credential',
      });
    });
  });

  it('404 for an unknown provider', async () => {
    await expectNothingStored(async () => {
      const res = await post('zendesk', { hello: 'world' });
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', message: "unknown webhook provider 'zendesk'" });
    });
  });

  it('413 for a body over WEBHOOK_BODY_LIMIT_BYTES', async () => {
    const payload = pagerDutyIncidentEvent({ incidentId: 'PINGESTHUGE', title: 'x'.repeat(BODY_LIMIT) });
    await expectNothingStored(async () => {
      const res = await postPagerDuty(payload);
      expect(res.status).toBe(413);
      expect(res.body.error?.code).toBe('payload_too_large');
    });
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/cloudevents+json']])(
    '415 for Content-Type %s',
    async (contentType) => {
      const raw = JSON.stringify(incident('PINGESTTEXT'));
      await expectNothingStored(async () => {
        const res = await post('pagerduty', raw, { 'content-type': contentType, 'x-pagerduty-signature': sign(raw) });
        expect(res.status).toBe(415);
        expect(res.body.error).toMatchObject({
          code: 'unsupported_media_type',
          message: 'send the webhook as Content-Type: application/json',
        });
      });
    },
  );

  it('never echoes a secret in an error body', async () => {
    const res = await post('opsgenie', opsgenieWebhook(), { authorization: `Bearer ${secrets.opsgenie}x` });
    expect(res.status).toBe(401);
    expect(JSON.stringify(res.body)).not.toContain(secrets.opsgenie);
  });
});

describe('a replica with only PagerDuty configured and a small rate limit', () => {
  let limited: RunningService;
  beforeAll(async () => {
    limited = await service.run(
      service.loadConfig({
        ...baseEnv(),
        PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
        WEBHOOK_RATE_LIMIT_PER_MINUTE: '3',
        KAFKA_CREATE_TOPICS: 'false',
      }),
    );
  });
  afterAll(async () => {
    await limited?.stop();
  });

  it('404 for a provider without a configured credential, even with a valid-looking credential', async () => {
    await expectNothingStored(async () => {
      const res = await post(
        'opsgenie',
        opsgenieWebhook(),
        { authorization: `Bearer ${secrets.opsgenie}` },
        limited.url,
      );
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({
        code: 'not_found',
        message: 'the opsgenie webhook is not configured on this server',
      });
    });
  });

  it('429 with Retry-After beyond WEBHOOK_RATE_LIMIT_PER_MINUTE, without publishing the refused webhook', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: `PINGESTRATE${i}` }), {}, limited.url);
      expect(res.status).toBe(202);
    }
    const refused = pagerDutyIncidentEvent({ incidentId: 'PINGESTRATE3' });
    await expectNothingStored(async () => {
      const res = await postPagerDuty(refused, {}, limited.url);
      expect(res.status).toBe(429);
      expect(res.body.error?.code).toBe('rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    });
    expect(
      await metric(limited.url, 'webhook_events_rejected_total', { provider: 'pagerduty', reason: 'rate_limited' }),
    ).toBe(1);
  });
});

describe('a replica at its limit of webhooks in flight', () => {
  const BUDGET = 2;
  const BYTES = 16 * 1024;
  let busy: RunningService;
  beforeAll(async () => {
    busy = await service.run(
      service.loadConfig({
        ...baseEnv(),
        PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
        WEBHOOK_MAX_IN_FLIGHT: String(BUDGET),
        WEBHOOK_MAX_IN_FLIGHT_BYTES: String(BYTES),
        KAFKA_CREATE_TOPICS: 'false',
      }),
    );
  });
  afterAll(async () => {
    for (const req of opened) req.destroy();
    await busy?.stop();
  });

  const inFlight = () => metric(busy.url, 'webhook_requests_in_flight', {});
  /** Every held request, so that a failed test does not keep the replica from stopping. */
  const opened: ReturnType<typeof httpRequest>[] = [];

  /**
   * A signed webhook whose headers and first half of the body are sent at once; the rest only
   * when `finish` is called. Until then the server holds it in flight, reading its body.
   */
  function heldWebhook(incidentId: string) {
    const raw = Buffer.from(JSON.stringify(pagerDutyIncidentEvent({ incidentId })));
    const url = new URL('/v1/webhooks/pagerduty', busy.url);
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(raw.length),
        'x-pagerduty-signature': sign(raw),
      },
    });
    opened.push(req);
    const answer = new Promise<{ status: number; body: { status?: string } }>((resolve, reject) => {
      req.once('error', reject);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
      });
    });
    const half = Math.floor(raw.length / 2);
    req.write(raw.subarray(0, half));
    req.flushHeaders();
    return { answer, finish: () => req.end(raw.subarray(half)), abandon: () => req.destroy() };
  }

  it('answers 503 overloaded with Retry-After at once beyond WEBHOOK_MAX_IN_FLIGHT, and accepts again when a place frees', async () => {
    const held = [heldWebhook('PINGESTBUSY0'), heldWebhook('PINGESTBUSY1')];
    await vi.waitFor(async () => expect(await inFlight()).toBe(BUDGET), { timeout: 15_000, interval: 50 });

    await expectNothingStored(async () => {
      const res = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTBUSY2' }), {}, busy.url);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'overloaded' });
      expect(res.headers.get('retry-after')).toBe('1');
    });
    expect(
      await metric(busy.url, 'webhook_events_rejected_total', { provider: 'pagerduty', reason: 'overloaded' }),
    ).toBe(1);

    // The held webhooks were admitted: they complete and are accepted, nothing is lost.
    for (const h of held) h.finish();
    for (const h of held) expect(await h.answer).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await vi.waitFor(async () => expect(await inFlight()).toBe(0), { timeout: 15_000, interval: 50 });

    // The refused one, retried by its sender, is accepted now that there is room.
    const retried = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTBUSY2' }), {}, busy.url);
    expect(retried.status).toBe(202);
  });

  it('answers 503 at once to a webhook whose body would take the bytes in flight over WEBHOOK_MAX_IN_FLIGHT_BYTES, and admits it alone', async () => {
    const held = heldWebhook('PINGESTBYTES0');
    await vi.waitFor(async () => expect(await inFlight()).toBe(1), { timeout: 15_000, interval: 50 });
    // Valid JSON, larger than the whole byte budget (whitespace is allowed after the value).
    const raw = Buffer.from(
      `${JSON.stringify(pagerDutyIncidentEvent({ incidentId: 'PINGESTBYTES1' }))}${' '.repeat(BYTES)}`,
    );
    const post = () =>
      fetch(new URL('/v1/webhooks/pagerduty', busy.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pagerduty-signature': sign(raw) },
        body: raw,
      });
    await expectNothingStored(async () => {
      const res = await post();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({
        code: 'overloaded',
        message: expect.stringContaining('bytes in flight'),
      });
    });
    held.finish();
    expect(await held.answer).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await vi.waitFor(async () => expect(await inFlight()).toBe(0), { timeout: 15_000, interval: 50 });
    // With nothing else in flight a webhook larger than the whole budget is admitted: no size is refused forever.
    expect((await post()).status).toBe(202);
  });

  it('counts a chunked webhook, which declares no size, as the body limit: refused beside another, admitted alone', async () => {
    const held = heldWebhook('PINGESTCHUNK0');
    await vi.waitFor(async () => expect(await inFlight()).toBe(1), { timeout: 15_000, interval: 50 });
    // A few hundred bytes, well within the byte budget had it declared them.
    const raw = Buffer.from(JSON.stringify(pagerDutyIncidentEvent({ incidentId: 'PINGESTCHUNK1' })));
    expect(raw.length).toBeLessThan(BYTES / 4);
    const postChunked = () =>
      new Promise<{ status: number; retryAfter: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(new URL('/v1/webhooks/pagerduty', busy.url), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
            'x-pagerduty-signature': sign(raw),
          },
        });
        req.once('error', reject);
        req.once('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'],
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        });
        req.end(raw);
      });
    await expectNothingStored(async () => {
      const res = await postChunked();
      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('1');
      expect(res.body).toContain('bytes in flight');
    });
    held.finish();
    expect(await held.answer).toMatchObject({ status: 202, body: { status: 'accepted' } });
    await vi.waitFor(async () => expect(await inFlight()).toBe(0), { timeout: 15_000, interval: 50 });
    expect((await postChunked()).status).toBe(202);
  });

  it('frees the place of a sender that goes away in the middle of its body', async () => {
    const gone = heldWebhook('PINGESTBUSY3');
    gone.answer.catch(() => undefined); // the socket error of our own abandon
    await vi.waitFor(async () => expect(await inFlight()).toBe(1), { timeout: 15_000, interval: 50 });
    await expectNothingStored(async () => {
      gone.abandon();
      await vi.waitFor(async () => expect(await inFlight()).toBe(0), { timeout: 15_000, interval: 50 });
    });
  });
});

describe('a replica whose event loop is behind on its work', () => {
  const LIMIT_MS = 100;
  let behind: RunningService;
  beforeAll(async () => {
    behind = await service.run(
      service.loadConfig({
        ...baseEnv(),
        PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
        WEBHOOK_MAX_EVENT_LOOP_DELAY_MS: String(LIMIT_MS),
        KAFKA_CREATE_TOPICS: 'false',
      }),
    );
  });
  afterAll(async () => {
    await behind?.stop();
  });

  /**
   * Writes a signed webhook on an open connection, then keeps this process (the replica runs in
   * it) busy for `stallMs` before the replica can read it: the webhook waits through a stall of
   * the replica's event loop, as it would behind a backlog of others. Returns the raw answer.
   */
  async function sentDuringStall(incidentId: string, stallMs: number) {
    const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId }));
    const url = new URL(behind.url);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = once(socket, 'end');
    socket.write(
      `POST /v1/webhooks/pagerduty HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(raw)}\r\nx-pagerduty-signature: ${sign(raw)}\r\nconnection: close\r\n\r\n${raw}`,
    );
    const until = performance.now() + stallMs;
    while (performance.now() < until) {
      // the stall: busy, as a replica working through a backlog is
    }
    await ended;
    const text = Buffer.concat(chunks).toString('utf8');
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return {
      status: Number(head.split(' ')[1]),
      retryAfter: /\r\nretry-after: *(\d+)/i.exec(head)?.[1],
      body: body ? (JSON.parse(body) as { error?: { code: string } }) : {},
    };
  }

  it('answers 503 overloaded with Retry-After to a webhook that waited through the stall, stores nothing, and accepts it again once caught up', async () => {
    await expectNothingStored(async () => {
      const answer = await sentDuringStall('PINGESTLAGGING', 400);
      expect(answer).toMatchObject({ status: 503, retryAfter: '1', body: { error: { code: 'overloaded' } } });
    });
    expect(
      await metric(behind.url, 'webhook_events_rejected_total', { provider: 'pagerduty', reason: 'overloaded' }),
    ).toBe(1);
    // Caught up (the stall is remembered for a quarter of a second): the sender's retry is accepted.
    await vi.waitFor(
      async () => {
        const retried = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTLAGGING' }), {}, behind.url);
        expect(retried.status).toBe(202);
      },
      { timeout: 15_000, interval: 300 },
    );
  });
});

describe('a replica whose event loop is saturated without ever stalling', () => {
  let saturated: RunningService;
  beforeAll(async () => {
    saturated = await service.run(
      service.loadConfig({
        ...baseEnv(),
        PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
        // Only the utilisation signal: the loop below is never late, as under a flood of connections.
        WEBHOOK_MAX_EVENT_LOOP_DELAY_MS: '0',
        WEBHOOK_SHED_AT_LOOP_UTILISATION: '0.95',
        // Shedding needs more connections open than this (a queue), besides the busy loop.
        WEBHOOK_MAX_IN_FLIGHT: '4',
        KAFKA_CREATE_TOPICS: 'false',
      }),
    );
  });
  afterAll(async () => {
    await saturated?.stop();
  });

  it('refuses a share of webhooks with 503 overloaded and Retry-After, stores none of them, and accepts their retries once the load is gone', async () => {
    // A queue: more connections open on the replica than it admits webhooks at once (4), their
    // requests not yet read.
    const url = new URL(saturated.url);
    const waiting = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const socket = connect(Number(url.port), url.hostname);
        await once(socket, 'connect');
        socket.on('error', () => undefined);
        return socket;
      }),
    );
    // Work in 5 ms slices, one per turn of the loop: never late, never idle (this process is the replica).
    let saturating = true;
    const slice = () => {
      const until = performance.now() + 5;
      while (performance.now() < until) {
        // busy, as a replica reading one ready socket after another
      }
      if (saturating) setImmediate(slice);
    };
    slice();
    const answers: { status: number; retryAfter: string | null; code?: string; raw: string }[] = [];
    try {
      await vi.waitFor(
        async () => expect(await metric(saturated.url, 'webhook_shed_share', {})).toBeGreaterThanOrEqual(0.5),
        {
          timeout: 30_000,
          interval: 100,
        },
      );
      for (let i = 0; i < 20; i += 1) {
        const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId: `PSATURATED${i}` }));
        const res = await postPagerDuty(raw, {}, saturated.url);
        answers.push({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          code: res.body.error?.code,
          raw,
        });
      }
    } finally {
      saturating = false;
      for (const socket of waiting) socket.destroy();
    }
    const refused = answers.filter((a) => a.status === 503);
    // At a share of at least a half, 20 webhooks all admitted would be a 1-in-a-million draw.
    expect(refused.length).toBeGreaterThan(0);
    for (const a of answers) expect([202, 503]).toContain(a.status);
    for (const a of refused) expect(a).toMatchObject({ retryAfter: '1', code: 'overloaded' });
    const eventId = (raw: string) => `pagerduty:${(JSON.parse(raw) as { event: { id: string } }).event.id}`;
    for (const a of refused) expect(await receivedRow(eventId(a.raw))).toBeUndefined();
    expect(
      await metric(saturated.url, 'webhook_events_rejected_total', { provider: 'pagerduty', reason: 'overloaded' }),
    ).toBe(refused.length);

    // The load is gone: the share falls to 0 and every retry is accepted.
    await vi.waitFor(async () => expect(await metric(saturated.url, 'webhook_shed_share', {})).toBe(0), {
      timeout: 30_000,
      interval: 100,
    });
    for (const a of refused) {
      const retried = await postPagerDuty(a.raw, {}, saturated.url);
      expect(retried.status).toBe(202);
      expect(await receivedRow(eventId(a.raw))).toBeDefined();
    }
  });
});

describe('a replica under a flood of unauthenticated junk', () => {
  // Behind the Ingress the client address is the one X-Forwarded-For reports (one trusted hop).
  const attacker = { 'x-forwarded-for': '203.0.113.7' };
  const provider = { 'x-forwarded-for': '198.51.100.20' };
  const FAILURES = 5;
  const RATE = 4;
  let guarded: RunningService;
  beforeAll(async () => {
    guarded = await service.run(
      service.loadConfig({
        ...baseEnv(),
        PAGERDUTY_WEBHOOK_SECRETS: `${secrets.pagerdutyOld},${secrets.pagerduty}`,
        OPSGENIE_WEBHOOK_TOKEN: secrets.opsgenie,
        ALERTMANAGER_WEBHOOK_BASIC_AUTH: secrets.alertmanager,
        WEBHOOK_RATE_LIMIT_PER_MINUTE: String(RATE),
        WEBHOOK_AUTH_FAILURES_PER_MINUTE: String(FAILURES),
        KAFKA_CREATE_TOPICS: 'false',
      }),
    );
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  const rejected = async (reason: string) => {
    let sum = 0;
    for (const p of ['pagerduty', 'opsgenie', 'alertmanager']) {
      sum += await metric(guarded.url, 'webhook_events_rejected_total', { provider: p, reason });
    }
    return sum;
  };

  it('keeps answering genuine PagerDuty, Opsgenie and Alertmanager deliveries 202 while another address floods them', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i += 1) {
      const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId: `PINGESTJUNK${i}` }));
      const forged = sign(raw, randomBytes(24).toString('hex'));
      answers.push(await post('pagerduty', raw, { ...attacker, 'x-pagerduty-signature': forged }, guarded.url));
      const wrongToken = `Bearer ${randomBytes(24).toString('hex')}`;
      answers.push(await post('opsgenie', opsgenieWebhook(), { ...attacker, authorization: wrongToken }, guarded.url));
      const wrongBasic = basic(`alertmanager:${randomBytes(24).toString('hex')}`);
      answers.push(
        await post('alertmanager', alertmanagerWebhook(), { ...attacker, authorization: wrongBasic }, guarded.url),
      );
    }
    // The address's own budget of failures, then 429 for that address alone, before its body is read.
    expect(answers.map((a) => a.status)).toEqual([
      ...Array<number>(FAILURES).fill(401),
      ...Array<number>(24 - FAILURES).fill(429),
    ]);
    const refused = answers.at(-1)!;
    expect(refused.body.error).toMatchObject({
      code: 'rate_limited',
      message: 'too many unauthenticated webhooks from this address: check the credential, then retry later',
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await rejected('address_rate_limited')).toBe(24 - FAILURES);

    const genuine = [
      await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTGENUINE1' }), provider, guarded.url),
      await post(
        'opsgenie',
        opsgenieWebhook({ alertId: 'og-ingest-genuine' }),
        {
          ...provider,
          authorization: `Bearer ${secrets.opsgenie}`,
        },
        guarded.url,
      ),
      await post(
        'alertmanager',
        alertmanagerWebhook(),
        { ...provider, authorization: basic(secrets.alertmanager) },
        guarded.url,
      ),
    ];
    expect(genuine.map((a) => [a.status, a.body.status])).toEqual([
      [202, 'accepted'],
      [202, 'accepted'],
      [202, 'accepted'],
    ]);
  });

  it('answers a genuine flood 429 beyond WEBHOOK_RATE_LIMIT_PER_MINUTE for its own credential only', async () => {
    const signedWithOld = (incidentId: string) => {
      const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId }));
      return post(
        'pagerduty',
        raw,
        { ...provider, 'x-pagerduty-signature': sign(raw, secrets.pagerdutyOld) },
        guarded.url,
      );
    };
    for (let i = 0; i < RATE; i += 1) expect((await signedWithOld(`PINGESTFLOOD${i}`)).status).toBe(202);
    const before = await rejected('rate_limited');
    await expectNothingStored(async () => {
      const over = await signedWithOld(`PINGESTFLOOD${RATE}`);
      expect(over.status).toBe(429);
      expect(over.body.error?.code).toBe('rate_limited');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    });
    expect(await rejected('rate_limited')).toBe(before + 1);

    // The other PagerDuty secret and the other providers' credentials have their own buckets,
    // and a refused genuine delivery is no failure of its address.
    const other = await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTFLOODNEW' }), provider, guarded.url);
    expect(other.status).toBe(202);
    const opsgenie = await post(
      'opsgenie',
      opsgenieWebhook({ alertId: 'og-ingest-flood' }),
      {
        ...provider,
        authorization: `Bearer ${secrets.opsgenie}`,
      },
      guarded.url,
    );
    expect(opsgenie.status).toBe(202);
  });
});

describe('when Kafka is unreachable', () => {
  it('answers 503 with Retry-After and records no event', async () => {
    const config = service.loadConfig({
      ...baseEnv(),
      KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
      KAFKA_CREATE_TOPICS: 'false',
      KAFKA_SEND_TIMEOUT_MS: '300',
      PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
    });
    // A replica connects the producer before it listens, so it cannot *start* without Kafka;
    // this builds the same app around a producer whose broker is gone (as after a broker loss).
    const {
      parts: { app },
      context: { database, producer },
    } = await service.build(config, { logger: createLogger({ service: 'webhook-ingest', level: 'silent' }) });
    if (!app) throw new Error('webhook-ingest builds no HTTP app');
    try {
      const payload = pagerDutyIncidentEvent({ incidentId: 'PINGESTNOKAFKA' });
      const raw = JSON.stringify(payload);
      const before = await storedState();
      const res = await request(app)
        .post('/v1/webhooks/pagerduty')
        .set('content-type', 'application/json')
        .set('x-pagerduty-signature', sign(raw))
        .send(raw);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('dependency_unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(await storedState()).toEqual(before);
      const metricsText = (await request(app).get('/metrics')).text;
      expect(metricsText).toMatch(/webhook_events_rejected_total\{[^}]*reason="dependency_unavailable"/);

      const ready = await request(app).get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.checks['kafka-producer']).toEqual({ healthy: false, reason: 'producer not connected' });
    } finally {
      await producer.stop().catch(() => undefined);
      await database.stop();
    }
  });
});

describe('when PostgreSQL is unreachable', () => {
  it('answers every webhook of a batch 503 with Retry-After and publishes none of them', async () => {
    const config = service.loadConfig({
      ...baseEnv(),
      DATABASE_URL: `postgres://ingest@127.0.0.1:${await freePort()}/ingest`,
      PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
    });
    // Built around a pool whose server is gone (as during a database restart).
    const {
      parts: { app },
      context: { database },
    } = await service.build(config, { logger: createLogger({ service: 'webhook-ingest', level: 'silent' }) });
    if (!app) throw new Error('webhook-ingest builds no HTTP app');
    try {
      await expectNothingStored(async () => {
        const answers = await Promise.all(
          Array.from({ length: 5 }, (_, i) => {
            const raw = JSON.stringify(pagerDutyIncidentEvent({ incidentId: `PINGESTNODB${i}` }));
            return request(app)
              .post('/v1/webhooks/pagerduty')
              .set('content-type', 'application/json')
              .set('x-pagerduty-signature', sign(raw))
              .send(raw);
          }),
        );
        for (const res of answers) {
          expect(res.status).toBe(503);
          expect(res.body.error).toMatchObject({
            code: 'dependency_unavailable',
            message: 'the ingest database is unavailable; retry later',
          });
          expect(res.headers['retry-after']).toBe('5');
        }
      });
    } finally {
      await database.stop();
    }
  });
});

describe('observability', () => {
  it('counts accepted webhooks by provider and rejected ones by reason on /metrics', async () => {
    const counters = async () => ({
      accepted: await metric(ingest.url, 'webhook_events_accepted_total', { provider: 'pagerduty' }),
      unauthenticated: await metric(ingest.url, 'webhook_events_rejected_total', {
        provider: 'pagerduty',
        reason: 'unauthenticated',
      }),
      invalid: await metric(ingest.url, 'webhook_events_rejected_total', {
        provider: 'pagerduty',
        reason: 'invalid_input',
      }),
      tooLarge: await metric(ingest.url, 'webhook_events_rejected_total', {
        provider: 'pagerduty',
        reason: 'payload_too_large',
      }),
      mediaType: await metric(ingest.url, 'webhook_events_rejected_total', {
        provider: 'pagerduty',
        reason: 'unsupported_media_type',
      }),
    });
    const before = await counters();
    expect((await postPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PINGESTMETRIC' }))).status).toBe(202);
    expect((await post('pagerduty', pagerDutyIncidentEvent())).status).toBe(401);
    expect((await post('pagerduty', pagerDutyIncidentEvent(), { 'x-pagerduty-signature': 'v1=00' })).status).toBe(401);
    expect((await postPagerDuty('not json')).status).toBe(400);
    expect((await postPagerDuty(pagerDutyIncidentEvent({ title: 'x'.repeat(BODY_LIMIT) }))).status).toBe(413);
    expect((await post('pagerduty', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect(await counters()).toEqual({
      accepted: before.accepted + 1,
      unauthenticated: before.unauthenticated + 2,
      invalid: before.invalid + 1,
      tooLarge: before.tooLarge + 1,
      mediaType: before.mediaType + 1,
    });
    // Unknown providers are not labels: a scanner must not create series at will.
    await post('wp-admin', {});
    expect(await (await fetch(`${ingest.url}/metrics`)).text()).not.toContain('wp-admin');
  });

  it('counts ignored webhooks under documented event types only: a made-up type counts as other', async () => {
    const madeUp = `x.${randomUUID()}`;
    const before = await metric(ingest.url, 'webhook_events_ignored_total', {
      provider: 'pagerduty',
      event_type: 'other',
    });
    const res = await postPagerDuty(ignoredPagerDutyEvent(madeUp));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'ignored', eventType: madeUp });
    expect(
      await metric(ingest.url, 'webhook_events_ignored_total', { provider: 'pagerduty', event_type: 'other' }),
    ).toBe(before + 1);
    expect(await (await fetch(`${ingest.url}/metrics`)).text()).not.toContain(madeUp);
  });

  it('is ready with PostgreSQL, Kafka and the job runner reachable', async () => {
    const res = await fetch(`${ingest.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      checks: {
        postgres: { healthy: true },
        'kafka-producer': { healthy: true },
        kafka: { healthy: true },
        jobs: { healthy: true },
        // Shedding load never takes a replica out of service.
        'event-loop-delay-guard': { healthy: true },
      },
    });
  });
});

describe('ignored-events-cleanup', () => {
  it('deletes ignored webhooks older than IGNORED_EVENTS_RETENTION_HOURS and keeps the newer ones', async () => {
    const config = service.loadConfig({
      ...baseEnv(),
      PAGERDUTY_WEBHOOK_SECRETS: secrets.pagerduty,
      IGNORED_EVENTS_RETENTION_HOURS: '24',
    });
    const logger = createLogger({ service: 'webhook-ingest', level: 'silent' });
    const {
      parts: { jobs },
      context: { database },
    } = await service.build(config, { logger });
    const cleanup = jobs?.find((job) => job.name === 'ignored-events-cleanup');
    if (!cleanup) throw new Error('webhook-ingest defines no ignored-events-cleanup job');
    try {
      const kept = ignoredPagerDutyEvent();
      expect((await postPagerDuty(kept)).status).toBe(202);
      const old = randomUUID();
      await pool.query(
        `insert into ingest.ignored_events (id, provider, event_type, reason, payload, received_at)
         values ($1, 'pagerduty', 'service.updated', 'test', $2::jsonb, now() - interval '25 hours')`,
        [`pagerduty:${old}`, JSON.stringify({ event: { id: old } })],
      );
      await cleanup.run(undefined, {
        logger,
        jobId: randomUUID(),
        name: cleanup.name,
        attempt: 1,
        signal: new AbortController().signal,
      });
      const { rows } = await pool.query<{ id: string }>(
        `select payload->'event'->>'id' as id from ingest.ignored_events where payload->'event'->>'id' = any($1::text[])`,
        [[old, kept.event.id]],
      );
      expect(rows.map((r) => r.id)).toEqual([kept.event.id]);
    } finally {
      await database.stop();
    }
  });
});
