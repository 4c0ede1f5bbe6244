import { createTestDatabase, testKafka, uniqueNamespace } from '@micro-oncall/test-kit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  baseConfigSchema,
  createHttpApp,
  defineService,
  type IncomingMessage,
  type RunningService,
  topicsFor,
} from '../src/index.js';

/**
 * A topic of raw messages (log lines other systems write, not event envelopes) read through
 * `ctx.consumeRaw`: the topic is declared by the descriptor and created with the others, the
 * handler gets the messages' bytes, headers and positions, and what it rejects reaches the
 * topic's dead-letter twin.
 */

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const received: IncomingMessage[] = [];

const reader = defineService({
  name: 'kit-raw-reader',
  description: 'Reads a raw topic for the service-kit tests',
  config: baseConfigSchema,
  db: { schema: 'kit_probe', tables: {}, migrations: new URL('./fixtures/kit-probe-migrations', import.meta.url) },
  produces: [],
  consumes: [],
  consumesRaw: ['discovery-lines'],
  publicPaths: [],
  setup(ctx) {
    ctx.consumeRaw('discovery-lines', {
      groupId: `${ctx.config.KAFKA_TOPIC_NAMESPACE}-kit-raw-reader`,
      handler: async (messages) => {
        received.push(...messages);
        // A line the reader can never use (here: one marked so) goes to the dead-letter topic.
        const rejected = messages
          .filter((m) => m.headers.poison === 'yes')
          .map((message) => ({ message, reason: 'marked as poison by the test' }));
        return { rejected };
      },
    });
    return { app: createHttpApp({ logger: ctx.logger, registry: ctx.registry, components: ctx.components }, () => {}) };
  },
});

describe('ctx.consumeRaw', () => {
  let service: RunningService;
  let namespace: string;

  beforeAll(async () => {
    const stack = inject('stack');
    namespace = uniqueNamespace('kitraw');
    service = await reader.run(
      reader.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'kit_probe'),
        KAFKA_BROKERS: stack.kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
      }),
      { onFatal: (error) => console.error(`kit-raw-reader stopped: ${error.message}`) },
    );
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('names the topic like the event topics and reports its consumer in readiness', async () => {
    expect(topicsFor(namespace).name('discovery-lines')).toBe(`${namespace}.discovery-lines.v1`);
    const body = (await (await fetch(`${service.url}/health/ready`)).json()) as { checks: Record<string, unknown> };
    expect(Object.keys(body.checks)).toContain('discovery-lines-consumer');
  });

  it('hands over each message with its bytes unchanged, headers, key and position; rejected ones are dead-lettered', async () => {
    const topic = topicsFor(namespace).name('discovery-lines');
    const notUtf8 = Buffer.from([0x47, 0x45, 0x54, 0x20, 0xff, 0xfe, 0x0a]);
    const kafka = new Kafka({
      clientId: 'raw-test',
      brokers: inject('stack').kafkaBrokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // One key: one partition, so the order is the order sent.
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: 'gateway-eu',
            value: '127.0.0.1 - - "GET / HTTP/1.1" 200',
            headers: { source: 'gateway-eu', format: 'nginx' },
          },
          { key: 'gateway-eu', value: notUtf8, headers: { source: 'gateway-eu' } },
          { key: 'gateway-eu', value: 'not for me', headers: { poison: 'yes' } },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    await until('the three messages to be handled', async () => (received.length >= 3 ? true : undefined));
    const [first, second, third] = received;
    expect(first).toMatchObject({
      topic,
      key: 'gateway-eu',
      headers: { source: 'gateway-eu', format: 'nginx' },
    });
    expect(first!.value!.toString('utf8')).toBe('127.0.0.1 - - "GET / HTTP/1.1" 200');
    expect(second!.value!.equals(notUtf8)).toBe(true);
    expect(second!.partition).toBe(first!.partition);
    expect(BigInt(second!.offset)).toBe(BigInt(first!.offset) + 1n);
    expect(BigInt(third!.offset)).toBe(BigInt(first!.offset) + 2n);

    const dead = await testKafka(inject('stack').kafkaBrokers).read(`${topic}.dlq`, { count: 1, timeoutMs: 30_000 });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      value: 'not for me',
      headers: {
        'x-dlq-reason': 'marked as poison by the test',
        'x-dlq-source': `${topic}/${third!.partition}/${third!.offset}`,
        'x-dlq-consumer': `${namespace}-kit-raw-reader`,
      },
    });
    const metrics = await until('the messages to be counted', async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      return text.includes(`events_dead_lettered_total{topic="${topic}",service="kit-raw-reader"} 1`)
        ? text
        : undefined;
    });
    expect(metrics).toContain(`events_applied_total{topic="${topic}",service="kit-raw-reader"} 2`);
  });

  it('refuses a raw topic its descriptor does not declare', async () => {
    const undeclared = defineService({
      ...reader,
      name: 'kit-raw-undeclared',
      consumesRaw: [],
      setup(ctx) {
        ctx.consumeRaw('discovery-lines', { groupId: 'x', handler: async () => ({ rejected: [] }) });
        return {};
      },
    });
    const config = reader.loadConfig({
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      KAFKA_BROKERS: '127.0.0.1:1',
      LOG_LEVEL: 'silent',
    });
    await expect(undeclared.build(config)).rejects.toThrow(
      'kit-raw-undeclared consumes discovery-lines but its descriptor does not declare it in consumesRaw',
    );
  });
});
