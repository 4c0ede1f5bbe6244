import { randomUUID } from 'node:crypto';
import type { IncidentAction } from '@micro-oncall/incident-model';
import { createTestDatabase, freePort, testKafka, uniqueNamespace } from '@micro-oncall/test-kit';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createEventMessages,
  createKafka,
  createLogger,
  createMetricsRegistry,
  createOutbox,
  createOutboxRelay,
  createProducer,
  type EventProducer,
  ensureTopics,
  outboxDdl,
  topicsFor,
} from '../src/index.js';

const logger = createLogger({ service: 'outbox-test', level: 'silent' });
const SCHEMA = 'outbox_test';

let databaseUrl: string;
let pool: pg.Pool;
let producer: EventProducer;
let namespace: string;
const cleanups: (() => Promise<void>)[] = [];

function action(incidentId: string, n: number): IncidentAction {
  return {
    actionId: randomUUID(),
    incidentId,
    provider: 'pagerduty',
    providerId: 'PABC123',
    action: 'note',
    actor: { type: 'user', id: 'u-1', name: 'Ada' },
    outcome: 'succeeded',
    detail: `step ${n}`,
    requestedAt: '2026-12-01T10:00:00.000Z',
    completedAt: '2026-12-01T10:00:01.000Z',
  };
}

const incident = (i: number) => `inc_${i.toString(16).padStart(24, '0')}`;

async function metric(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  const stack = inject('stack');
  databaseUrl = await createTestDatabase(stack.databaseUrl, 'outbox');
  pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  await pool.query(outboxDdl(SCHEMA));
  const kafka = createKafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'outbox-test', logger });
  producer = createProducer(kafka, { logger });
  await producer.start?.();
  namespace = uniqueNamespace('outbox');
  await ensureTopics(kafka, [topicsFor(namespace).name('incident-actions')], { partitions: 1 });
});

// Relays of one test must not lead (and relay) in the next.
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await producer?.stop();
  await pool?.end();
});

function relay(registry = createMetricsRegistry('outbox-test'), relayProducer = producer) {
  const r = createOutboxRelay({
    schema: SCHEMA,
    databaseUrl,
    pool,
    producer: relayProducer,
    logger,
    registry,
    idleMs: 200,
  });
  cleanups.push(() => r.stop());
  return { relay: r, registry };
}

const topics = () => topicsFor(namespace);
const outbox = () =>
  createOutbox({ schema: SCHEMA, messages: createEventMessages({ service: 'test', topics: topics() }) });
const db = () => drizzle(pool);

async function pending(): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ${SCHEMA}.outbox`);
  return Number(rows[0]?.n);
}

describe(createOutbox.name, () => {
  it('relays what a committed transaction wrote, in order per key, and nothing of a rolled-back one', async () => {
    const { relay: r } = relay();
    await r.start();
    const box = outbox();
    // Two incidents, each written by many concurrent transactions; a third one rolls back.
    const writes = [incident(1), incident(2)].flatMap((id) =>
      Array.from({ length: 20 }, (_, n) =>
        db().transaction(async (tx) => {
          await box.enqueue(tx, 'incident-actions', action(id, n), { drill: false });
        }),
      ),
    );
    const rolledBack = db()
      .transaction(async (tx) => {
        await box.enqueue(tx, 'incident-actions', action(incident(3), 0), { drill: false });
        throw new Error('the state change failed');
      })
      .catch((error: Error) => error.message);
    await Promise.all(writes);
    expect(await rolledBack).toBe('the state change failed');

    const seen = await testKafka(inject('stack').kafkaBrokers).read(topics().name('incident-actions'), {
      count: 40,
      timeoutMs: 30_000,
    });
    expect(seen).toHaveLength(40);
    expect(seen.map((m) => m.key)).not.toContain(incident(3));
    expect(seen[0]?.headers['content-type']).toBe('application/cloudevents+json');
    for (const id of [incident(1), incident(2)]) {
      const steps = seen
        .filter((m) => m.key === id)
        .map((m) => (JSON.parse(m.value ?? '{}') as { data: IncidentAction }).data.detail);
      expect(new Set(steps).size).toBe(20);
    }
    await until('the outbox to be empty', async () => ((await pending()) === 0 ? true : undefined));
  });

  it('relays in the order of the ids, also across a power of ten (998, 999, 1000 — not by their text)', async () => {
    await pool.query(`select setval(pg_get_serial_sequence('${SCHEMA}.outbox', 'id'), 995)`);
    const box = outbox();
    const key = incident(10);
    // Written one after the other before the relay starts: one batch holds ids 996 to 1007.
    for (let n = 0; n < 12; n += 1) {
      await db().transaction(async (tx) => {
        await box.enqueue(tx, 'incident-actions', action(key, n), { drill: false });
      });
    }
    const { relay: r } = relay();
    await r.start();
    await until('the outbox to be empty', async () => ((await pending()) === 0 ? true : undefined));
    // Everything on the topic (earlier tests' messages too), read to its end.
    const admin = createKafka({
      brokers: inject('stack').kafkaBrokers.split(','),
      clientId: 'outbox-order',
      logger,
    }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topics().name('incident-actions'));
    await admin.disconnect();
    const seen = await testKafka(inject('stack').kafkaBrokers).read(topics().name('incident-actions'), {
      count: offsets.reduce((n, o) => n + Number(o.high), 0),
      timeoutMs: 30_000,
    });
    expect(
      seen
        .filter((m) => m.key === key)
        .map((m) => (JSON.parse(m.value ?? '{}') as { data: IncidentAction }).data.detail),
    ).toEqual(Array.from({ length: 12 }, (_, n) => `step ${n}`));
  });

  it('orders one key by commit: a writer of the same key waits for the open transaction, others do not', async () => {
    const { relay: r } = relay();
    await r.start();
    const box = outbox();
    let releaseFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstWritten!: () => void;
    const written = new Promise<void>((resolve) => {
      firstWritten = resolve;
    });
    const first = db().transaction(async (tx) => {
      await box.enqueue(tx, 'incident-actions', action(incident(7), 1), { drill: false });
      firstWritten();
      await firstMayCommit;
    });
    await written;
    let secondDone = false;
    const second = db()
      .transaction(async (tx) => {
        await box.enqueue(tx, 'incident-actions', action(incident(7), 2), { drill: false });
      })
      .then(() => {
        secondDone = true;
      });
    // Another key is not held up by the open transaction.
    await db().transaction(async (tx) => {
      await box.enqueue(tx, 'incident-actions', action(incident(8), 1), { drill: false });
    });
    expect(secondDone).toBe(false);
    releaseFirst();
    await Promise.all([first, second]);
    const seen = await testKafka(inject('stack').kafkaBrokers).read(topics().name('incident-actions'), {
      count: Number.POSITIVE_INFINITY,
      timeoutMs: 3000,
    });
    const steps = seen
      .filter((m) => m.key === incident(7))
      .map((m) => (JSON.parse(m.value ?? '{}') as { data: IncidentAction }).data.detail);
    expect(steps).toEqual(['step 1', 'step 2']);
  });

  it('keeps events while Kafka does not acknowledge, shows the lag, and relays them when it does', async () => {
    const deadKafka = createKafka({ brokers: [`127.0.0.1:${await freePort()}`], clientId: 'dead', logger });
    const deadProducer = createProducer(deadKafka, { logger, sendTimeoutMs: 300 });
    const stuck = relay(createMetricsRegistry('outbox-test'), deadProducer);
    await stuck.relay.start();
    await db().transaction(async (tx) => {
      await outbox().enqueue(tx, 'incident-actions', action(incident(4), 0), { drill: true });
    });
    await until('a failed relay round', async () =>
      (await metric(stuck.registry, 'outbox_relay_failures_total')) > 0 ? true : undefined,
    );
    expect(await pending()).toBe(1);
    expect(await metric(stuck.registry, 'outbox_pending')).toBe(1);
    expect(await stuck.relay.healthcheck()).toMatchObject({ healthy: false });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await metric(stuck.registry, 'outbox_lag_seconds')).toBeGreaterThanOrEqual(1);
    await stuck.relay.stop();
    await deadProducer.stop().catch(() => undefined);

    // Kafka is back (a healthy relay takes over): the event that waited is delivered.
    const { relay: healthy, registry } = relay();
    await healthy.start();
    await until('the waiting event to be relayed', async () => ((await pending()) === 0 ? true : undefined));
    expect(await metric(registry, 'outbox_relayed_total')).toBeGreaterThanOrEqual(1);
    const seen = await testKafka(inject('stack').kafkaBrokers).read(topics().name('incident-actions'), {
      count: Number.POSITIVE_INFINITY,
      timeoutMs: 3000,
    });
    const drill = seen.filter((m) => m.key === incident(4));
    expect(drill).toHaveLength(1);
    expect(JSON.parse(drill[0]?.value ?? '{}')).toMatchObject({ drill: true, subject: incident(4) });
  });

  it('has one relay across replicas, and another takes over when it stops', async () => {
    const a = relay();
    const b = relay();
    await a.relay.start();
    await b.relay.start();
    const leaders = async () =>
      (await metric(a.registry, 'outbox_relay_leader')) + (await metric(b.registry, 'outbox_relay_leader'));
    await until('one leader', async () => ((await leaders()) === 1 ? true : undefined));
    const [leader, follower] = (await metric(a.registry, 'outbox_relay_leader')) === 1 ? [a, b] : [b, a];
    await leader.relay.stop();
    await until('the other replica to lead', async () =>
      (await metric(follower.registry, 'outbox_relay_leader')) === 1 ? true : undefined,
    );
    await db().transaction(async (tx) => {
      await outbox().enqueue(tx, 'incident-actions', action(incident(5), 0), { drill: false });
    });
    await until('the new leader to relay', async () => ((await pending()) === 0 ? true : undefined));
  });

  it('refuses an event that breaks its topic contract before anything is written', async () => {
    const bad = { ...action(incident(6), 0), incidentId: 'not-an-incident' };
    await expect(
      db().transaction(async (tx) => {
        await outbox().enqueue(tx, 'incident-actions', bad, { drill: false });
      }),
    ).rejects.toThrow(/refusing to publish an invalid incident-actions event: .*incidentId/);
    expect(await pending()).toBe(0);
  });
});
