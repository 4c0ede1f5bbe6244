import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { topicName } from '@micro-oncall/incident-model';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import type { RunningService } from '@micro-oncall/service-kit';
import { createTestDatabase, testKafka, uniqueNamespace } from '@micro-oncall/test-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service } from '../src/service.js';

/*
 * Bad-input suite: thousands of generated and mutated payloads per provider endpoint, sent
 * with valid credentials so that they reach parsing and validation. Every answer must be a
 * 4xx with a JSON error, or a 202 when a mutation happened to stay valid; never a 5xx, never a
 * hang. Whatever was refused must have stored nothing: at the end the topic holds exactly the
 * events that were answered 202 as new.
 */

const BODY_LIMIT = 32 * 1024;
const RUNS = 250;
const secrets = {
  pagerduty: randomBytes(24).toString('hex'),
  opsgenie: randomBytes(24).toString('hex'),
  alertmanager: randomBytes(24).toString('hex'),
};

type Provider = 'pagerduty' | 'opsgenie' | 'alertmanager';
const FIXTURES: Record<Provider, () => unknown> = {
  pagerduty: () => pagerDutyIncidentEvent(),
  opsgenie: () => opsgenieWebhook(),
  alertmanager: () => alertmanagerWebhook(),
};

let ingest: RunningService;
let pool: pg.Pool;
let topic: string;
let kafkaBrokers: string;
let acceptedNew = 0;
const statuses = new Map<number, number>();

function credentials(provider: Provider, body: Buffer): Record<string, string> {
  if (provider === 'pagerduty')
    return { 'x-pagerduty-signature': `v1=${createHmac('sha256', secrets.pagerduty).update(body).digest('hex')}` };
  return { authorization: `Bearer ${secrets[provider]}` };
}

async function send(provider: Provider, body: Buffer, contentType = 'application/json') {
  const res = await fetch(`${ingest.url}/v1/webhooks/${provider}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...credentials(provider, body) },
    body,
  });
  const text = await res.text();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  return { status: res.status, text };
}

const storedRows = async () =>
  Number(
    (
      await pool.query<{ n: string }>(
        'select (select count(*) from ingest.received_events) + (select count(*) from ingest.ignored_events) as n',
      )
    ).rows[0]!.n,
  );

/** Checks one answer: a clear 4xx that stored nothing, or a 202. */
async function expectHandled(provider: Provider, body: Buffer, contentType?: string) {
  const before = await storedRows();
  const { status, text } = await send(provider, body, contentType);
  expect(status, `answer ${status}: ${text.slice(0, 300)}`).toBeLessThan(500);
  if (status === 202) {
    const answer = JSON.parse(text) as { status: string; events?: unknown[] };
    expect(['accepted', 'ignored']).toContain(answer.status);
    acceptedNew += answer.events?.length ?? 0;
    return;
  }
  expect([400, 413, 415]).toContain(status);
  const error = (JSON.parse(text) as { error: { code: string; message: string } }).error;
  expect(error.message.length).toBeGreaterThan(5);
  expect(await storedRows()).toBe(before);
}

/** Replaces, deletes or inflates the value at a random path of a JSON object. */
function mutated(provider: Provider) {
  const hostile = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.string({ minLength: 5_000, maxLength: 40_000 }),
    fc.constantFrom(null, true, -1, 1e308, '', '\u0000', '\uD800', '<script>alert(1)</script>', '../../etc/passwd'),
    fc.integer({ min: 50, max: 1_000 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  );
  return fc
    .tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean(), hostile)
    .map(([steps, remove, value]) => {
      const root = FIXTURES[provider]() as Record<string, unknown>;
      let node: Record<string, unknown> = root;
      for (const [i, step] of steps.entries()) {
        const keys = Object.keys(node);
        if (keys.length === 0) break;
        const key = keys[step % keys.length]!;
        const child = node[key];
        if (i < steps.length - 1 && child && typeof child === 'object') {
          node = child as Record<string, unknown>;
          continue;
        }
        if (remove) delete node[key];
        else node[key] = value;
        break;
      }
      return Buffer.from(JSON.stringify(root));
    });
}

const temporaryDir = temporaryDirectories();

describe('webhook-ingest under hostile input', () => {
  beforeAll(async () => {
    const stack = inject('stack');
    kafkaBrokers = stack.kafkaBrokers;
    const namespace = uniqueNamespace('fuzz');
    topic = topicName('incident-events', namespace);
    const databaseUrl = await createTestDatabase(stack.databaseUrl, 'fuzz');
    const dir = temporaryDir('mo-fuzz-');
    const file = (name: string, value: string) => {
      writeFileSync(join(dir, name), value, { mode: 0o600 });
      return join(dir, name);
    };
    ingest = await service.run(
      service.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: databaseUrl,
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
        WEBHOOK_BODY_LIMIT_BYTES: String(BODY_LIMIT),
        WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000',
        // The generator runs in the replica's process, so its work keeps the replica's event loop
        // saturated, which no replica's own loop shares in production: load shedding would refuse
        // what this suite checks. It has its own test in webhooks.test.ts.
        WEBHOOK_SHED_AT_LOOP_UTILISATION: '0',
        PAGERDUTY_WEBHOOK_SECRETS_FILE: file('pd', secrets.pagerduty),
        OPSGENIE_WEBHOOK_TOKEN_FILE: file('og', secrets.opsgenie),
        ALERTMANAGER_WEBHOOK_TOKEN_FILE: file('am', secrets.alertmanager),
      }),
    );
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  });

  afterAll(async () => {
    await ingest?.stop();
    await pool?.end();
  });

  for (const provider of ['pagerduty', 'opsgenie', 'alertmanager'] as const) {
    describe(provider, () => {
      it('answers mutated provider payloads with 202 or a clear 4xx, never a 5xx', async () => {
        await fc.assert(
          fc.asyncProperty(mutated(provider), (body) => expectHandled(provider, body)),
          { numRuns: RUNS },
        );
      });

      it('answers arbitrary JSON values with a clear 4xx', async () => {
        await fc.assert(
          fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), (value) =>
            expectHandled(provider, Buffer.from(JSON.stringify(value) ?? 'null')),
          ),
          { numRuns: RUNS },
        );
      });

      it('answers arbitrary bytes, invalid UTF-8 and truncated JSON with a clear 4xx', async () => {
        const valid = Buffer.from(JSON.stringify(FIXTURES[provider]()));
        const bodies = fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
          fc.nat({ max: valid.length - 1 }).map((cut) => valid.subarray(0, cut)),
          fc
            .nat({ max: valid.length - 1 })
            .map((at) => Buffer.concat([valid.subarray(0, at), Buffer.from([0xc3, 0x28]), valid.subarray(at)])),
        );
        await fc.assert(
          fc.asyncProperty(bodies, (body) => expectHandled(provider, body)),
          { numRuns: RUNS },
        );
      });

      it('refuses wrong content types with 415 and oversized bodies with 413', async () => {
        const valid = Buffer.from(JSON.stringify(FIXTURES[provider]()));
        for (const type of [
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
        ]) {
          const before = await storedRows();
          expect((await send(provider, valid, type)).status).toBe(415);
          expect(await storedRows()).toBe(before);
        }
        const huge = Buffer.from(
          JSON.stringify({ ...(FIXTURES[provider]() as object), padding: 'x'.repeat(BODY_LIMIT) }),
        );
        expect((await send(provider, huge)).status).toBe(413);
        const deep = Buffer.from(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
        expect((await send(provider, deep)).status).toBe(413);
        // Deep nesting within the size limit must not overflow anything on the way.
        const nested = Buffer.from(`{"event":${'['.repeat(15_000)}${']'.repeat(15_000)}}`);
        await expectHandled(provider, nested);
      });
    });
  }

  it('published exactly the events it answered 202 as new, and nothing else', async () => {
    const messages = await testKafka(kafkaBrokers).read(topic, { count: Number.POSITIVE_INFINITY, timeoutMs: 4_000 });
    expect(messages.length).toBe(acceptedNew);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(3 * 3 * RUNS);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });
});
