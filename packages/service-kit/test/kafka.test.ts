import { freePort, uniqueNamespace } from '@micro-oncall/test-kit';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createKafka,
  createLogger,
  createProducer,
  DependencyUnavailableError,
  type EventProducer,
  ensureTopics,
  type IncomingMessage,
  kafkaClusterCheck,
  type Rejected,
  runConsumer,
} from '../src/index.js';

const logger = createLogger({ service: 'service-kit-kafka-test', level: 'silent' });
const dlq = (topic: string) => `${topic}.dlq`;

let kafka: Kafka;
let producer: EventProducer;
let namespace: string;
let topicCount = 0;
const cleanups: (() => Promise<void>)[] = [];

/** A fresh single-partition topic (and its .dlq) so that order within the test is total. */
async function freshTopic(): Promise<string> {
  topicCount += 1;
  const topic = `${namespace}.kit-${topicCount}.v1`;
  await ensureTopics(kafka, [topic, dlq(topic)], { partitions: 1 });
  return topic;
}

/** Reads every message of `topic` from the beginning until `count` arrived. */
async function readTopic(topic: string, count: number): Promise<IncomingMessage[]> {
  const seen: IncomingMessage[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const reader = runConsumer(kafka, {
    id: 'reader',
    groupId: `${namespace}-reader-${Math.random().toString(16).slice(2)}`,
    topics: [topic],
    producer,
    logger,
    deadLetter: dlq,
    handler: async (messages) => {
      seen.push(...messages);
      if (seen.length >= count) done();
      return { rejected: [] };
    },
  });
  await reader.start();
  try {
    await enough;
  } finally {
    await reader.stop();
  }
  return seen;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const text = (m: IncomingMessage) => m.value?.toString('utf8');

beforeAll(async () => {
  const { kafkaBrokers } = inject('stack');
  namespace = uniqueNamespace('kit');
  kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'service-kit-test', logger });
  producer = createProducer(kafka, { logger, sendTimeoutMs: 10_000 });
  await producer.start?.();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await producer?.stop();
});

describe(createProducer.name, () => {
  it('resolves send() only once the messages are in the log, readable with key and headers', async () => {
    const topic = await freshTopic();
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());

    await producer.send(topic, [
      { key: 'inc_1', value: '{"n":1}', headers: { 'content-type': 'application/json' } },
      { key: 'inc_1', value: '{"n":2}' },
    ]);
    // Acknowledged by the broker (acks = all) means already in the log: no waiting needed.
    const [partition] = await admin.fetchTopicOffsets(topic);
    expect(partition?.high).toBe('2');

    const messages = await readTopic(topic, 2);
    expect(messages.map((m) => [m.key, text(m)])).toEqual([
      ['inc_1', '{"n":1}'],
      ['inc_1', '{"n":2}'],
    ]);
    expect(messages[0]?.headers).toEqual({ 'content-type': 'application/json' });
  });

  it('answers concurrent senders each once their own messages are acknowledged', async () => {
    const topic = await freshTopic();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => producer.send(topic, [{ key: `k${i % 3}`, value: String(i) }])),
    );
    const messages = await readTopic(topic, 20);
    expect(messages.map(text).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  });

  it('rejects with DependencyUnavailableError within its send timeout when no broker answers', async () => {
    const closedPort = await freePort();
    const unreachable = createProducer(
      createKafka({ brokers: [`127.0.0.1:${closedPort}`], clientId: 'unreachable', logger }),
      { logger, sendTimeoutMs: 300 },
    );
    cleanups.push(() => unreachable.stop());
    const error = await unreachable.send('anything', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    await expect(unreachable.healthcheck()).resolves.toEqual({ healthy: false, reason: 'producer not connected' });
  }, 5000);

  it('refuses sends at once while the broker is known to be down, instead of queueing them', async () => {
    const closedPort = await freePort();
    const down = createProducer(createKafka({ brokers: [`127.0.0.1:${closedPort}`], clientId: 'down', logger }), {
      logger,
      sendTimeoutMs: 20_000,
      failFastMs: 60_000,
    });
    cleanups.push(() => down.stop());
    // The first send finds out: it waits until the client gives up connecting.
    const first = await down.send('anything', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DependencyUnavailableError);

    const askedAt = Date.now();
    const second = await down.send('anything', [{ key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DependencyUnavailableError);
    expect((second as Error).message).toMatch(/^Kafka is unavailable \(.*ECONNREFUSED.*\); retry later$/);
    // Answered without waiting for the send timeout (20 s): a webhook sender gets its 503 now.
    expect(Date.now() - askedAt).toBeLessThan(5000);
  }, 30_000);

  it('refuses to send once stopping', async () => {
    const own = createProducer(kafka, { logger });
    await own.start?.();
    await expect(own.healthcheck()).resolves.toEqual({ healthy: true });
    await own.stop();
    await expect(own.send('anything', [{ key: 'k', value: 'v' }])).rejects.toThrow(DependencyUnavailableError);
  });
});

describe(kafkaClusterCheck.name, () => {
  it('is healthy against the broker and unhealthy against a closed port', async () => {
    const check = kafkaClusterCheck(kafka);
    cleanups.push(() => check.stop());
    await expect(check.healthcheck()).resolves.toEqual({ healthy: true });

    const closed = kafkaClusterCheck(
      createKafka({ brokers: [`127.0.0.1:${await freePort()}`], clientId: 'closed', logger }),
    );
    cleanups.push(() => closed.stop());
    await expect(closed.healthcheck()).resolves.toMatchObject({ healthy: false });
  }, 30_000);
});

describe(runConsumer.name, () => {
  it('retries a failing chunk, applies each message once, and commits so a restart redelivers nothing', async () => {
    const topic = await freshTopic();
    const groupId = `${namespace}-retry`;
    await producer.send(topic, [
      { key: 'a', value: 'one' },
      { key: 'a', value: 'two' },
      { key: 'a', value: 'three' },
    ]);

    const applied: string[] = [];
    let calls = 0;
    const allApplied = deferred();
    const first = runConsumer(kafka, {
      id: 'retrying',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      handler: async (messages) => {
        calls += 1;
        if (calls <= 2) throw new Error('database unavailable');
        applied.push(...messages.map((m) => text(m)!));
        if (applied.length >= 3) allApplied.resolve();
        return { rejected: [] };
      },
    });
    await first.start();
    await allApplied.promise;
    await expect(first.healthcheck()).resolves.toEqual({ healthy: true });
    await first.stop();
    expect(applied).toEqual(['one', 'two', 'three']);
    expect(calls).toBeGreaterThanOrEqual(3);

    // Same group again: only what was produced since arrives.
    await producer.send(topic, [{ key: 'a', value: 'four' }]);
    const afterRestart: string[] = [];
    const fourSeen = deferred();
    const second = runConsumer(kafka, {
      id: 'restarted',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      handler: async (messages) => {
        afterRestart.push(...messages.map((m) => text(m)!));
        if (afterRestart.includes('four')) fourSeen.resolve();
        return { rejected: [] };
      },
    });
    await second.start();
    await fourSeen.promise;
    await second.stop();
    expect(afterRestart).toEqual(['four']);
  });

  it('does not commit past a chunk that never succeeded: the next member of the group gets it', async () => {
    const topic = await freshTopic();
    const groupId = `${namespace}-outage`;
    await producer.send(topic, [{ key: 'a', value: 'stuck' }]);

    const attempted = deferred();
    const failing = runConsumer(kafka, {
      id: 'failing',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      handler: async () => {
        attempted.resolve();
        throw new Error('database unavailable');
      },
    });
    await failing.start();
    await attempted.promise;
    await failing.stop();

    const received: string[] = [];
    const got = deferred();
    const recovered = runConsumer(kafka, {
      id: 'recovered',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      handler: async (messages) => {
        received.push(...messages.map((m) => text(m)!));
        got.resolve();
        return { rejected: [] };
      },
    });
    await recovered.start();
    await got.promise;
    await recovered.stop();
    expect(received).toEqual(['stuck']);
  });

  it('does not start on a topic that does not exist, and says what to do', async () => {
    const missing = `${namespace}.never-created.v1`;
    const consumer = runConsumer(kafka, {
      id: 'misconfigured',
      groupId: `${namespace}-misconfigured`,
      topics: [missing],
      producer,
      logger,
      deadLetter: dlq,
      handler: async () => ({ rejected: [] }),
    });
    cleanups.push(() => consumer.stop());
    await expect(consumer.start()).rejects.toThrow(
      new RegExp(
        `misconfigured: cannot subscribe to ${missing.replaceAll('.', '\\.')}: .*topic auto-creation is off: create the topic`,
      ),
    );
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/^consumer stopped: misconfigured: cannot subscribe/),
    });
  });

  it('sends a rejected poison message to <topic>.dlq with its reason and moves on', async () => {
    const topic = await freshTopic();
    const groupId = `${namespace}-poison`;
    await producer.send(topic, [
      { key: 'inc_a', value: 'good-1' },
      {
        key: 'inc_b',
        value: 'poison',
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
      { key: 'inc_a', value: 'good-2' },
    ]);

    const applied: string[] = [];
    const deadLettered: number[] = [];
    const done = deferred();
    const consumer = runConsumer(kafka, {
      id: 'poisoned',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      metrics: {
        applied: () => undefined,
        deadLettered: (count) => deadLettered.push(count),
      },
      handler: async (messages) => {
        const rejected: Rejected[] = [];
        for (const m of messages) {
          if (text(m) === 'poison') rejected.push({ message: m, reason: 'data.kind: invalid enum value' });
          else applied.push(text(m)!);
        }
        if (applied.includes('good-2')) done.resolve();
        return { rejected };
      },
    });
    await consumer.start();
    await done.promise;
    await consumer.stop();
    expect(applied).toEqual(['good-1', 'good-2']);
    expect(deadLettered).toEqual([1]);

    const [dead] = await readTopic(dlq(topic), 1);
    expect(dead).toMatchObject({ key: 'inc_b' });
    expect(text(dead!)).toBe('poison');
    expect(dead!.headers).toMatchObject({
      'x-dlq-reason': 'data.kind: invalid enum value',
      'x-dlq-source': `${topic}/0/1`,
      'x-dlq-consumer': groupId,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });

    // Its offset was committed with the rest: a restart of the group sees only new messages.
    await producer.send(topic, [{ key: 'inc_a', value: 'good-3' }]);
    const later: string[] = [];
    const got = deferred();
    const restarted = runConsumer(kafka, {
      id: 'poisoned-restart',
      groupId,
      topics: [topic],
      producer,
      logger,
      deadLetter: dlq,
      handler: async (messages) => {
        later.push(...messages.map((m) => text(m)!));
        if (later.includes('good-3')) got.resolve();
        return { rejected: [] };
      },
    });
    await restarted.start();
    await got.promise;
    await restarted.stop();
    expect(later).toEqual(['good-3']);
  });
});
