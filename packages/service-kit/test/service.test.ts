import { randomUUID } from 'node:crypto';
import { type IncidentAction, type IncidentEvent, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { createTestDatabase, testKafka, uniqueNamespace } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  baseConfigSchema,
  createEventMessages,
  createHttpApp,
  createKafka,
  createLogger,
  defineService,
  type RunningService,
  topicsFor,
} from '../src/index.js';

/**
 * The service descriptor end to end: a small service declared in one object runs with the kit's
 * pool, migrations, typed consumer, outbox relay, job runner, readiness and one stop.
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

function incidentEvent(): IncidentEvent {
  const result = normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PKITSVC1' }), {
    receivedAt: '2026-12-01T10:00:00.000Z',
  });
  if (result.outcome !== 'events') throw new Error('fixture did not normalise');
  return result.events[0]!;
}

const seen: IncidentEvent[] = [];
const jobRuns: string[] = [];

/** Answers each incident event with an action, written through the outbox in its transaction. */
const probe = defineService({
  name: 'kit-probe',
  description: 'A service declared for the service-kit tests',
  config: baseConfigSchema,
  db: { schema: 'kit_probe', tables: {}, migrations: new URL('./fixtures/kit-probe-migrations', import.meta.url) },
  produces: ['incident-actions'],
  consumes: ['incident-events'],
  publicPaths: [],
  setup(ctx) {
    ctx.consume('incident-events', {
      groupId: `${ctx.config.KAFKA_TOPIC_NAMESPACE}-kit-probe`,
      handler: async (events) => {
        await ctx.db.transaction(async (tx) => {
          for (const { data } of events) {
            seen.push(data);
            const action: IncidentAction = {
              actionId: randomUUID(),
              incidentId: data.incidentId,
              provider: data.provider,
              providerId: data.providerId,
              action: 'note',
              actor: { type: 'system', id: null, name: 'kit-probe' },
              outcome: 'succeeded',
              detail: `saw ${data.eventId}`,
              requestedAt: data.occurredAt,
              completedAt: data.occurredAt,
            };
            await ctx.outbox.enqueue(tx, 'incident-actions', action, { drill: data.drill });
          }
        });
        return { rejected: [] };
      },
    });
    return {
      app: createHttpApp({ logger: ctx.logger, registry: ctx.registry, components: ctx.components }, (app) => {
        app.post('/run-job', async (_req, res) => {
          res.json({ id: await ctx.jobs.runNow('note-run', { who: 'test' }) });
        });
      }),
      jobs: [
        {
          name: 'note-run',
          async run(data: { who: string }) {
            jobRuns.push(data.who);
          },
        },
      ],
    };
  },
});

describe(defineService.name, () => {
  let service: RunningService;
  let namespace: string;

  beforeAll(async () => {
    const stack = inject('stack');
    namespace = uniqueNamespace('kit');
    service = await probe.run(
      probe.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'kit_probe'),
        KAFKA_BROKERS: stack.kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
      }),
      { onFatal: (error) => console.error(`kit-probe stopped: ${error.message}`) },
    );
  });

  afterAll(async () => {
    await service?.stop();
  });

  it('names the topics it needs, each with its dead-letter topic, and created them at start-up', async () => {
    const names = probe.topicNames(namespace);
    expect(names.sort()).toEqual(
      [
        `${namespace}.incident-actions.v1`,
        `${namespace}.incident-actions.v1.dlq`,
        `${namespace}.incident-events.v1`,
        `${namespace}.incident-events.v1.dlq`,
      ].sort(),
    );
    const admin = createKafka({
      brokers: inject('stack').kafkaBrokers.split(','),
      clientId: 'kit-topics',
      logger: createLogger({ service: 'kit-topics', level: 'silent' }),
    }).admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      expect(names.filter((name) => !existing.has(name))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('is ready only with every part the descriptor implies, each named', async () => {
    const res = await fetch(`${service.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, unknown> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual([
      'incident-events-consumer',
      'jobs',
      'kafka',
      'kafka-producer',
      'outbox-relay',
      'postgres',
    ]);
  });

  it('consumes typed events and relays what it wrote to the outbox to the produced topic', async () => {
    const event = incidentEvent();
    const { message } = createEventMessages({ service: 'test', topics: topicsFor(namespace) }).message(
      'incident-events',
      event,
    );
    await testKafka(inject('stack').kafkaBrokers).publish(topicsFor(namespace).name('incident-events'), [
      { key: message.key, value: String(message.value) },
    ]);
    await until('the event to be consumed', async () => (seen.length > 0 ? true : undefined));
    expect(seen[0]).toEqual(event);
    const actions = await testKafka(inject('stack').kafkaBrokers).read(topicsFor(namespace).name('incident-actions'), {
      count: 1,
      timeoutMs: 30_000,
    });
    expect(actions).toHaveLength(1);
    expect(JSON.parse(actions[0]!.value!)).toMatchObject({
      source: '/kit-probe',
      subject: event.incidentId,
      data: { detail: `saw ${event.eventId}` },
    });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/^incident_events_applied_total\{service="kit-probe"\} 1$/m);
    expect(metrics).toMatch(/^outbox_relayed_total\{service="kit-probe"\} 1$/m);
  });

  it('runs its durable jobs and reports them on /metrics', async () => {
    const res = await fetch(`${service.url}/run-job`, { method: 'POST' });
    expect(res.status).toBe(200);
    await until('the job to run', async () => (jobRuns.includes('test') ? true : undefined));
    const metrics = await until('the run to be counted', async () => {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      return /jobs_runs_total\{job="note-run",outcome="succeeded",service="kit-probe"\} 1/.test(text)
        ? text
        : undefined;
    });
    expect(metrics).toMatch(/jobs_last_outcome\{job="note-run",service="kit-probe"\} 1/);
  });

  it('refuses to consume a topic its descriptor does not declare', async () => {
    const undeclared = defineService({
      ...probe,
      name: 'kit-undeclared',
      consumes: [],
      setup(ctx) {
        ctx.consume('incident-events', { groupId: 'x', handler: async () => ({ rejected: [] }) });
        return {};
      },
    });
    const config = probe.loadConfig({
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      KAFKA_BROKERS: '127.0.0.1:1',
      LOG_LEVEL: 'silent',
    });
    await expect(undeclared.build(config)).rejects.toThrow(
      'kit-undeclared consumes incident-events but its descriptor does not declare it in consumes',
    );
  });

  it('stops once, however often it is asked', async () => {
    const stack = inject('stack');
    const second = await probe.run(
      probe.loadConfig({
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'kit_probe'),
        KAFKA_BROKERS: stack.kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: uniqueNamespace('kit'),
      }),
    );
    await Promise.all([second.stop(), second.stop()]);
    await expect(fetch(`${second.url}/health/live`)).rejects.toThrow();
  });
});
