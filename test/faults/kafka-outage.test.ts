import type { Stack } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertPlatformRunning,
  type Delivery,
  deliverPagerDuty,
  eventIdOf,
  eventually,
  type FaultPlatform,
  historyEventIds,
  pagerDutyIncidentEvent,
  readiness,
  redeliverUntilAccepted,
  sleep,
  startFaultPlatform,
  startFaultStack,
} from './harness.js';

type Phase = 'up' | 'stopping' | 'down' | 'starting' | 'recovered';

interface Sent {
  index: number;
  delivery: Delivery;
  /** Broker phase when the request was sent and when its answer came back. */
  sentIn: Phase;
  answeredIn: Phase;
}

const WEBHOOKS = 300;
const PACE_MS = 25;
const MAX_IN_FLIGHT = 40;

describe('webhook intake while the Kafka broker is stopped and restarted', () => {
  let stack: Stack;
  let p: FaultPlatform;

  beforeAll(async () => {
    stack = await startFaultStack('kafka-outage');
    p = await startFaultPlatform(stack);
  });
  afterAll(async () => {
    await p?.stop();
    await stack?.stop();
  });

  it('answers 202 only for stored events, 503 with Retry-After while the broker is down, and loses nothing once providers retry', {
    timeout: 240_000,
  }, async () => {
    const payloads = Array.from({ length: WEBHOOKS }, (_, i) =>
      pagerDutyIncidentEvent({ incidentId: `PDKAFKA${String(i).padStart(4, '0')}`, title: `Kafka outage ${i}` }),
    );
    const ids = payloads.map(eventIdOf);
    const ingest = p.platform.service('webhook-ingest').url;

    let phase: Phase = 'up';
    const sent: Sent[] = [];
    let inFlight = 0;
    const requests: Promise<void>[] = [];
    let senderDone = false;

    // The provider side: distinct webhooks at a steady pace, bounded in count and in concurrency.
    const sender = (async () => {
      for (let index = 0; index < WEBHOOKS; index += 1) {
        while (inFlight >= MAX_IN_FLIGHT) await sleep(5);
        inFlight += 1;
        const sentIn = phase;
        requests.push(
          deliverPagerDuty(ingest, payloads[index], p.secrets.pagerduty).then((delivery) => {
            inFlight -= 1;
            sent.push({ index, delivery, sentIn, answeredIn: phase });
          }),
        );
        await sleep(PACE_MS);
      }
      await Promise.all(requests);
      senderDone = true;
    })();

    // The fault: once intake is demonstrably working, stop the broker; restart it once a number
    // of webhooks were both sent and answered while it was down (or the sender ran out).
    const waitUntil = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!ok() && !senderDone) {
        assertPlatformRunning();
        if (Date.now() > deadline) throw new Error(`fault schedule stuck waiting for ${what}`);
        await sleep(20);
      }
    };
    await waitUntil('accepted webhooks', () => sent.filter((s) => s.delivery.status === 202).length >= 50);
    phase = 'stopping';
    await stack.stopKafka();
    phase = 'down';
    // Readiness tells the load balancer and the on-call engineer what is wrong.
    const readyWhileDown = await eventually('webhook-ingest reporting not ready', async () => {
      const ready = await readiness(ingest);
      return ready.status === 503 ? ready : undefined;
    });
    await waitUntil('answers during the outage', () => sent.filter((s) => s.sentIn === 'down').length >= 30);
    phase = 'starting';
    await stack.startKafka();
    phase = 'recovered';
    await sender;

    expect(sent).toHaveLength(WEBHOOKS);
    expect(readyWhileDown.body).toMatchObject({ checks: { kafka: { healthy: false } } });
    // Every webhook got an HTTP answer, and only ever 202 or 503: no 500, no dropped connection.
    const outcomes = sent.map((s) => s.delivery.status ?? `network error ${s.delivery.error}`);
    expect(outcomes.filter((o) => o !== 202 && o !== 503)).toEqual([]);

    // Sent and answered entirely while the broker was down: 503 with Retry-After, never 202.
    const duringOutage = sent.filter((s) => s.sentIn === 'down' && s.answeredIn === 'down');
    expect(duringOutage.length).toBeGreaterThan(0);
    for (const s of duringOutage) {
      expect(s.delivery.status).toBe(503);
      expect(s.delivery.retryAfter).toMatch(/^\d+$/);
    }
    const refused = sent.filter((s) => s.delivery.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(duringOutage.length);

    // 202 means stored: every accepted webhook reaches escalation's history without any retry.
    const accepted = sent.filter((s) => s.delivery.status === 202).map((s) => ids[s.index]!);
    expect(accepted.length).toBeGreaterThan(0);
    await eventually(
      'every accepted event in the history',
      async () => {
        const stored = new Set(await historyEventIds(p.db));
        const missing = accepted.filter((id) => !stored.has(id));
        if (missing.length === 0) return true;
        // Say what is missing and how escalation sees itself, so a failure here can be diagnosed.
        const ready = await readiness(p.platform.service('escalation').url);
        throw new Error(
          `${missing.length} of ${accepted.length} accepted events not in the history (first: ${missing.slice(0, 3).join(', ')}); escalation readiness ${ready.status} ${JSON.stringify(ready.body)}`,
        );
      },
      120_000,
    );

    // Both services came back by themselves.
    await eventually('webhook-ingest ready', async () => ((await readiness(ingest)).status === 200 ? true : undefined));
    await eventually('escalation ready', async () =>
      (await readiness(p.platform.service('escalation').url)).status === 200 ? true : undefined,
    );

    // Providers retry what was refused; afterwards the store is complete, each event once.
    await redeliverUntilAccepted(
      ingest,
      refused.map((s) => payloads[s.index]!),
      p.secrets.pagerduty,
    );
    const history = await eventually(
      'the complete history',
      async () => {
        const rows = await historyEventIds(p.db);
        return rows.length >= WEBHOOKS ? rows : undefined;
      },
      120_000,
    );
    expect(history).toHaveLength(WEBHOOKS);
    expect(new Set(history)).toEqual(new Set(ids));
    const incidents = await p.db.pool.query<{ n: string }>('select count(*) as n from escalation.incidents');
    expect(Number(incidents.rows[0]!.n)).toBe(WEBHOOKS);
    console.log(
      `[faults/kafka-outage] ${accepted.length} accepted first time, ${refused.length} refused (${duringOutage.length} while the broker was down) and re-sent`,
    );
  });
});
