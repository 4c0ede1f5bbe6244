import type { IncidentEvent } from '@micro-oncall/incident-model';
import { type Stack, testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Delivery,
  deliverPagerDuty,
  envelopeOf,
  eventIdOf,
  eventually,
  type FaultPlatform,
  faultSeed,
  historyEventIds,
  pagerDutyIncidentEvent,
  readiness,
  seededRandom,
  shuffle,
  sleep,
  startFaultPlatform,
  startFaultStack,
} from './harness.js';

const INCIDENTS = 150;
const BATCH = 40;
const OUTAGE_MS = 3000;
const CHAIN = [
  { eventType: 'incident.triggered', status: 'triggered' },
  { eventType: 'incident.acknowledged', status: 'acknowledged' },
  { eventType: 'incident.resolved', status: 'resolved' },
  { eventType: 'incident.reopened', status: 'triggered' },
] as const;

describe('escalation while PostgreSQL restarts under consumer load', () => {
  let stack: Stack;
  let p: FaultPlatform;

  beforeAll(async () => {
    stack = await startFaultStack('database-outage');
    p = await startFaultPlatform(stack);
  });
  afterAll(async () => {
    await p?.stop();
    await stack?.stop();
  });

  it('applies every distinct event exactly once and resumes by itself; webhook-ingest answers 503 meanwhile', {
    timeout: 240_000,
  }, async () => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    // Each incident gets the first 1–4 steps of trigger → acknowledge → resolve → reopen.
    const expectedStatus = new Map<string, string>();
    const events: { event: IncidentEvent; message: { key: string; value: string } }[] = [];
    for (let i = 0; i < INCIDENTS; i += 1) {
      const steps = 1 + Math.floor(random() * CHAIN.length);
      for (let step = 0; step < steps; step += 1) {
        const built = envelopeOf(
          pagerDutyIncidentEvent({
            incidentId: `PDDB${String(i).padStart(4, '0')}`,
            eventType: CHAIN[step]!.eventType,
            occurredAt: new Date(Date.UTC(2025, 10, 20, 9, step * 10)).toISOString(),
          }),
        );
        events.push(built);
        expectedStatus.set(built.event.incidentId, CHAIN[step]!.status);
      }
    }
    // Out of order, and a fifth of them twice (a producer's retry after a lost acknowledgement).
    const deliveries = shuffle([...events, ...events.filter(() => random() < 0.2)], random);
    const distinct = new Set(events.map((e) => e.event.eventId));

    const kafka = testKafka(stack.kafkaBrokers);
    const publish = async (messages: typeof deliveries) => {
      for (let i = 0; i < messages.length; i += BATCH) {
        await kafka.publish(
          p.topic,
          messages.slice(i, i + BATCH).map((d) => d.message),
        );
        await sleep(100);
      }
    };
    const third = Math.ceil(deliveries.length / 3);

    // The first third is still being published, and applied, when the database goes away.
    const firstThird = publish(deliveries.slice(0, third));
    await eventually(
      'the consumer applying events',
      async () => ((await historyEventIds(p.db)).length >= BATCH ? true : undefined),
      60_000,
    );
    await stack.stopPostgres();
    const outageStarted = Date.now();
    // While it is down: webhook-ingest refuses (it cannot deduplicate), readiness says why, and
    // the second third arrives on the topic.
    const webhook = pagerDutyIncidentEvent({ incidentId: 'PDDBWEBHOOK', title: 'Sent during the outage' });
    const duringOutage: Delivery = await deliverPagerDuty(
      p.platform.service('webhook-ingest').url,
      webhook,
      p.secrets.pagerduty,
    );
    const ingestReady = await readiness(p.platform.service('webhook-ingest').url);
    const escalationReady = await readiness(p.platform.service('escalation').url);
    await firstThird;
    await publish(deliveries.slice(third, 2 * third));
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    await stack.startPostgres();
    await publish(deliveries.slice(2 * third));

    expect(duringOutage.status).toBe(503);
    expect(duringOutage.retryAfter).toMatch(/^\d+$/);
    expect(ingestReady.status).toBe(503);
    expect(escalationReady.status).toBe(503);
    expect(escalationReady.body).toMatchObject({ checks: { postgres: { healthy: false } } });

    // Every distinct event applied exactly once, none lost, with the service never restarted.
    const history = await eventually(
      'the consumer catching up',
      async () => {
        const rows = await historyEventIds(p.db);
        return rows.length >= distinct.size ? rows : undefined;
      },
      120_000,
    );
    expect(history, `seed ${seed}`).toHaveLength(distinct.size);
    expect(new Set(history)).toEqual(distinct);
    const { rows } = await p.db.pool.query<{ id: string; status: string }>(
      'select id, status from escalation.incidents',
    );
    expect(new Map(rows.map((r) => [r.id, r.status])), `seed ${seed}`).toEqual(expectedStatus);
    await eventually('escalation ready again', async () =>
      (await readiness(p.platform.service('escalation').url)).status === 200 ? true : undefined,
    );

    // The provider's retry of the refused webhook goes through now.
    const retried = await deliverPagerDuty(p.platform.service('webhook-ingest').url, webhook, p.secrets.pagerduty);
    expect(retried.status).toBe(202);
    await eventually('the retried webhook applied', async () =>
      (await historyEventIds(p.db)).includes(eventIdOf(webhook)) ? true : undefined,
    );
    console.log(
      `[faults/database-outage] seed ${seed}: ${deliveries.length} messages (${distinct.size} distinct), a third of them published while PostgreSQL was down`,
    );
  });
});
