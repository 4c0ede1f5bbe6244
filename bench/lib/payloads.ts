import { createHmac, randomUUID } from 'node:crypto';
import { incidentEventEnvelope, incidentIdFor, normalisePagerDuty } from '@micro-oncall/incident-model';
import {
  type PagerDutyIncidentEventType,
  pagerDutyIncidentEvent,
  pagerDutyNoteEvent,
} from '@micro-oncall/incident-model/fixtures';

/** One signed PagerDuty v3 webhook, ready to send: the load generator does no HMAC work. */
export interface SignedWebhook {
  body: Buffer;
  signature: string;
  /** The incident id escalation will use (inc_ + 24 hex), for end-to-end sampling. */
  incidentId: string;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const LIFECYCLE: PagerDutyIncidentEventType[] = [
  'incident.triggered',
  'incident.priority_updated',
  'incident.acknowledged',
  'incident.escalated',
  'incident.reassigned',
  'incident.unacknowledged',
  'incident.acknowledged',
  'incident.resolved',
  'incident.reopened',
  'incident.resolved',
];

const BASE_TIME = Date.parse('2025-11-20T09:14:05.118Z');
const SERVICES = ['payments-api', 'checkout', 'search', 'ledger', 'notifications', 'identity', 'unlisted-service'];

/**
 * A realistic PagerDuty `incident.*` webhook body (~1.9 KB) for incident number `n` of this run:
 * `eventsPerIncident` consecutive bodies belong to the same incident and walk its lifecycle.
 */
function webhookBody(runTag: string, prefix: string, n: number, eventsPerIncident: number) {
  const incident = Math.floor(n / eventsPerIncident);
  const step = n % eventsPerIncident;
  const providerId = `${prefix}${runTag}${incident.toString(36).toUpperCase().padStart(7, '0')}`;
  const occurredAt = new Date(BASE_TIME + incident * 1000 + step * 60_000).toISOString();
  const body = pagerDutyIncidentEvent({
    eventType: LIFECYCLE[step % LIFECYCLE.length],
    incidentId: providerId,
    // PagerDuty event ids are opaque and unique per delivery.
    eventId: randomUUID(),
    occurredAt,
    createdAt: new Date(BASE_TIME + incident * 1000).toISOString(),
    serviceName: SERVICES[incident % SERVICES.length],
    incidentNumber: 10_000 + incident,
    priority: (['P1', 'P2', 'P3', 'P4'] as const)[incident % 4],
  });
  return { body, providerId };
}

/**
 * A growing pool of signed webhooks with distinct event ids (so webhook-ingest never sees a
 * replay). `take()` hands out each entry once; when the pool runs dry it wraps around and
 * counts the reuse, which the report shows (a reused id is a cheaper duplicate path).
 */
export class WebhookPool {
  private readonly items: SignedWebhook[] = [];
  private cursor = 0;
  wrapped = 0;
  constructor(
    private readonly secret: string,
    private readonly runTag: string,
    private readonly prefix: string,
    private readonly eventsPerIncident: number,
  ) {}

  get size() {
    return this.items.length;
  }
  get remaining() {
    return this.items.length - this.cursor;
  }

  /** Makes sure at least `count` unused entries exist (generated in chunks, yielding to the loop). */
  async ensure(count: number): Promise<void> {
    while (this.remaining < count) {
      const end = Math.min(this.items.length + 2000, this.cursor + count);
      for (let n = this.items.length; n < end; n += 1) {
        const { body, providerId } = webhookBody(this.runTag, this.prefix, n, this.eventsPerIncident);
        const raw = Buffer.from(JSON.stringify(body));
        this.items.push({
          body: raw,
          signature: `v1=${createHmac('sha256', this.secret).update(raw).digest('hex')}`,
          incidentId: incidentIdFor('pagerduty', providerId),
        });
      }
      await yieldToLoop();
    }
  }

  take(): SignedWebhook {
    if (this.cursor >= this.items.length) {
      this.cursor = 0;
      this.wrapped += 1;
    }
    return this.items[this.cursor++]!;
  }

  /** Entries handed out so far, reuse included. */
  get used() {
    return this.cursor + this.wrapped * this.items.length;
  }

  averageBodyBytes(): number {
    let total = 0;
    for (const item of this.items) total += item.body.length;
    return this.items.length ? total / this.items.length : 0;
  }
}

/** A Kafka message exactly as webhook-ingest publishes it. */
export interface BusMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * `count` valid incident events, `eventsPerIncident` per incident in lifecycle order (the last
 * of every ten a note), produced the way webhook-ingest does: fixture → normalisePagerDuty →
 * CloudEvent envelope, key = incident id.
 */
export async function incidentEventMessages(
  runTag: string,
  count: number,
  eventsPerIncident: number,
): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  const receivedAt = new Date().toISOString();
  for (let n = 0; n < count; n += 1) {
    let payload: unknown;
    if (n % 10 === 9) {
      const incident = Math.floor(n / eventsPerIncident);
      payload = pagerDutyNoteEvent({
        incidentId: `PC${runTag}${incident.toString(36).toUpperCase().padStart(7, '0')}`,
        eventId: randomUUID(),
        occurredAt: new Date(BASE_TIME + incident * 1000 + (n % eventsPerIncident) * 60_000).toISOString(),
        content: `Bench note ${n}: rolled back the last deploy; watching error rates.`,
      });
    } else {
      payload = webhookBody(runTag, 'PC', n, eventsPerIncident).body;
    }
    // Through JSON, as the service sees it.
    const result = normalisePagerDuty(JSON.parse(JSON.stringify(payload)), { receivedAt });
    if (result.outcome !== 'events') throw new Error(`fixture ${n} did not normalise: ${JSON.stringify(result)}`);
    for (const event of result.events) {
      out.push({
        key: event.incidentId,
        value: JSON.stringify(incidentEventEnvelope(event, { source: '/webhook-ingest/pagerduty' })),
        headers: { 'content-type': 'application/cloudevents+json' },
      });
    }
    if (n % 2000 === 1999) await yieldToLoop();
  }
  return out;
}
