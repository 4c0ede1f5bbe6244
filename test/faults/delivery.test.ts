import { dlqTopicName, incidentIdFor } from '@micro-oncall/incident-model';
import { createKafka, createLogger } from '@micro-oncall/service-kit';
import { type Stack, testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliverPagerDuty,
  envelopeOf,
  eventIdOf,
  eventually,
  type FaultPlatform,
  faultSeed,
  historyEventIds,
  mapConcurrent,
  type PagerDutyWebhook,
  pagerDutyIncidentEvent,
  readiness,
  seededRandom,
  shuffle,
  startFaultPlatform,
  startFaultStack,
} from './harness.js';

type Detail = {
  incident: { id: string; status: string };
  events: { eventId: string; kind: string }[];
};

const STEPS = [
  { eventType: 'incident.triggered', status: 'triggered' },
  { eventType: 'incident.acknowledged', status: 'acknowledged' },
  { eventType: 'incident.resolved', status: 'resolved' },
  { eventType: 'incident.reopened', status: 'triggered' },
] as const;

let stack: Stack;
let p: FaultPlatform;
beforeAll(async () => {
  stack = await startFaultStack('delivery');
  p = await startFaultPlatform(stack);
});
afterAll(async () => {
  await p?.stop();
  await stack?.stop();
});

describe('the same webhook delivered several times, in random order', () => {
  it('keeps one incident each, one history entry per distinct event, and the newest event’s status', {
    timeout: 120_000,
  }, async () => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    const incidents: { id: string; events: PagerDutyWebhook[]; status: string }[] = [];
    for (let i = 0; i < 12; i += 1) {
      const providerId = `PDREPLAY${String(i).padStart(3, '0')}`;
      // The first 1–4 steps of trigger → acknowledge → resolve → reopen, ten minutes apart.
      const steps = STEPS.slice(0, 1 + Math.floor(random() * STEPS.length));
      incidents.push({
        id: incidentIdFor('pagerduty', providerId),
        events: steps.map((step, n) =>
          pagerDutyIncidentEvent({
            incidentId: providerId,
            eventType: step.eventType,
            occurredAt: new Date(Date.UTC(2025, 10, 20, 9, n * 10)).toISOString(),
          }),
        ),
        status: steps[steps.length - 1]!.status,
      });
    }
    // Each event 1–5 times, all shuffled, several in flight at once (as provider retries overlap).
    const deliveries = shuffle(
      incidents.flatMap((incident) =>
        incident.events.flatMap((event) => Array.from({ length: 1 + Math.floor(random() * 5) }, () => event)),
      ),
      random,
    );
    const answers = await mapConcurrent(deliveries, 6, (payload) =>
      deliverPagerDuty(p.platform.service('webhook-ingest').url, payload, p.secrets.pagerduty),
    );
    expect(answers.map((a) => a.status)).toEqual(deliveries.map(() => 202));

    const distinct = new Set(incidents.flatMap((incident) => incident.events.map(eventIdOf)));
    await eventually(
      'every distinct event applied',
      async () => ((await historyEventIds(p.db)).length >= distinct.size ? true : undefined),
      60_000,
    );
    const token = await p.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    for (const incident of incidents) {
      const res = await fetch(`${p.platform.service('escalation').url}/v1/incidents/${incident.id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const detail = (await res.json()) as Detail;
      expect(detail.events.map((e) => e.eventId).sort(), `seed ${seed}`).toEqual(incident.events.map(eventIdOf).sort());
      expect(detail.incident.status, `seed ${seed}`).toBe(incident.status);
    }
    const { rows } = await p.db.pool.query<{ n: string }>(
      `select count(*) as n from escalation.incidents where provider_id like 'PDREPLAY%'`,
    );
    expect(Number(rows[0]!.n)).toBe(incidents.length);
    expect(await historyEventIds(p.db)).toHaveLength(distinct.size);
  });
});

describe('poison messages on the incident topic', () => {
  it('dead-letters a null value, non-JSON bytes and a wrong specversion with their reasons, and keeps consuming', {
    timeout: 120_000,
  }, async () => {
    const good = envelopeOf(pagerDutyIncidentEvent({ incidentId: 'PDAFTERPOISON', title: 'After the poison' }));
    const wrongVersion = envelopeOf(pagerDutyIncidentEvent({ incidentId: 'PDWRONGVERSION' }));
    const key = good.event.incidentId;
    // One key, so one partition: the good event is behind all three poison messages.
    const kafka = createKafka({
      brokers: [stack.kafkaBrokers],
      clientId: 'fault-suite',
      logger: createLogger({ service: 'fault-suite', level: 'silent' }),
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: p.topic,
      acks: -1,
      messages: [
        { key, value: null, headers: { 'x-case': 'null value' } },
        { key, value: Buffer.from('{"specversion": "1.0", "id": '), headers: { 'x-case': 'truncated JSON' } },
        {
          key,
          value: JSON.stringify({ ...JSON.parse(wrongVersion.message.value), specversion: '0.3' }),
          headers: { 'x-case': 'wrong specversion' },
        },
        { key, value: good.message.value, headers: { 'x-case': 'good' } },
      ],
    });
    await producer.disconnect();

    await eventually('the event behind the poison applied', async () =>
      (await historyEventIds(p.db)).includes(good.event.eventId) ? true : undefined,
    );
    const dead = await testKafka(stack.kafkaBrokers).read(dlqTopicName(p.topic), { count: 3, timeoutMs: 20_000 });
    const byCase = new Map(dead.map((m) => [m.headers['x-case'], m]));
    expect([...byCase.keys()].sort()).toEqual(['null value', 'truncated JSON', 'wrong specversion']);
    expect(byCase.get('null value')?.headers['x-dlq-reason']).toMatch(/empty message value/);
    expect(byCase.get('truncated JSON')?.headers['x-dlq-reason']).toMatch(/not JSON/);
    expect(byCase.get('wrong specversion')?.headers['x-dlq-reason']).toMatch(/specversion/);
    for (const m of dead) {
      expect(m.key).toBe(key);
      expect(m.headers['x-dlq-source']).toMatch(new RegExp(`^${p.topic.replaceAll('.', '\\.')}/\\d+/\\d+$`));
    }
    // Nothing of the rejected incident reached the history; the consumer is still healthy.
    expect(await historyEventIds(p.db)).not.toContain(wrongVersion.event.eventId);
    expect((await readiness(p.platform.service('escalation').url)).status).toBe(200);
  });
});
