import { randomBytes, randomUUID } from 'node:crypto';
import { EVENT_SCHEMAS, envelopeFor, type IncidentEvent, topicName } from '@micro-oncall/incident-model';
import {
  type FakePagerDutyEvents,
  type LocalIssuer,
  startFakePagerDutyEvents,
  testKafka,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillReport } from '../src/report.js';
import {
  type AuditRow,
  type ErrorBody,
  people,
  type Run,
  routingKey,
  type Simulator,
  startSimulator,
  testStack,
  until,
} from './helpers.js';

type People = Awaited<ReturnType<typeof people>>;
interface ChecklistAnswer {
  items: { item: number; text: string; done: boolean; note: string | null; changedBy: { subject: string } | null }[];
}

const SCENARIO = {
  id: 'report-checkout',
  name: 'Checkout | errors drill',
  description: 'Checkout errors climb, then a related alert on the payment gateway.',
  team: 'storefront',
  runbook: {
    url: 'https://runbooks.example.com/storefront/checkout-errors',
    checklist: ['Acknowledge within 5 minutes', 'Check the payment gateway dashboard', 'Post in #incidents'],
  },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'checkout-errors',
      name: 'CheckoutErrorRateHigh',
      severity: 'medium',
      summary: 'Checkout error rate above 5%',
      service: 'checkout',
    },
    {
      at: '1s',
      action: 'add_related',
      alerts: [
        {
          alert: 'gateway',
          name: 'GatewaySlow',
          severity: 'low',
          summary: 'Gateway p99 above 1 s',
          service: 'gateway',
        },
      ],
    },
    { at: '20m', action: 'resolve', alerts: 'all' },
  ],
};

const at = (base: string, seconds: number) => new Date(Date.parse(base) + seconds * 1000).toISOString();

/**
 * An incident event as webhook-ingest publishes it for a PagerDuty incident of a drill alert
 * (its incident key is the drill dedup key `drill:<run id>:<alert>`; or other `labels`), and as
 * escalation reads it.
 */
function pagerDutyEvent(opts: {
  incidentId: string;
  dedupKey: string;
  kind: IncidentEvent['kind'];
  occurredAt: string;
  by?: string;
  title: string;
  escalationLevel?: number;
  labels?: Record<string, string>;
}): IncidentEvent {
  return {
    eventId: `pd-${randomUUID()}`,
    kind: opts.kind,
    providerEventType: `incident.${opts.kind}`,
    occurredAt: opts.occurredAt,
    incidentId: opts.incidentId,
    provider: 'pagerduty',
    providerId: `P${randomBytes(3).toString('hex').toUpperCase()}`,
    dedupKey: opts.dedupKey,
    actor: opts.by ? { type: 'user', id: null, name: opts.by } : { type: 'system', id: null, name: null },
    note: null,
    drill: true,
    snapshot: {
      title: opts.title,
      service: 'checkout',
      severity: 'medium',
      urgency: 'high',
      labels: opts.labels ?? { incident_key: opts.dedupKey },
      links: [],
      providerUrl: null,
      createdAt: opts.occurredAt,
    },
    ...(opts.escalationLevel ? { change: { escalationLevel: opts.escalationLevel } } : {}),
  };
}

const incidentId = () => `inc_${randomBytes(12).toString('hex')}`;

describe('drill report', () => {
  let sim: Simulator;
  let pagerduty: FakePagerDutyEvents;
  let issuer: LocalIssuer;
  let who: People;
  let kafkaBrokers: string;
  let incidentsTopic: string;
  let run: Run & { startedAt: string };
  let published: IncidentEvent[];
  const checkoutIncident = incidentId();
  const gatewayIncident = incidentId();

  const publish = (events: IncidentEvent[]) =>
    testKafka(kafkaBrokers).publish(
      incidentsTopic,
      events.map((data) => {
        const envelope = envelopeFor('incident-events', data, { source: '/webhook-ingest/pagerduty' });
        EVENT_SCHEMAS['incident-events'].parse(envelope);
        return { key: envelope.subject, value: JSON.stringify(envelope) };
      }),
    );
  const report = async () =>
    (await sim.call<DrillReport & ErrorBody>(`/drills/v1/runs/${run.id}/report`, { token: who.viewer })).body;
  const audit = async (query: string) =>
    (await sim.call<{ items: AuditRow[] }>(`/drills/v1/audit${query}`, { token: who.approver })).body.items;

  beforeAll(async () => {
    const stack = await testStack('sim-report');
    kafkaBrokers = stack.kafkaBrokers;
    issuer = stack.issuer;
    incidentsTopic = topicName('incident-events', stack.namespace);
    who = await people(stack.issuer);
    const key = routingKey();
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [key] });
    sim = await startSimulator({
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: stack.issuer.issuer,
      OIDC_AUDIENCE: stack.issuer.audience,
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: key,
    });
    expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: SCENARIO })).status).toBe(201);
    const proposed = await sim.call<Run>('/drills/v1/runs', { token: who.responder, body: { scenario: SCENARIO.id } });
    expect(proposed.status).toBe(201);
    run = await until('both steps to fire at PagerDuty', async () => {
      const r = (
        await sim.call<Run & { startedAt: string }>(`/drills/v1/runs/${proposed.body.id}`, { token: who.viewer })
      ).body;
      return r.steps.filter((s) => s.state === 'fired').length === 2 ? r : undefined;
    });
  });

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('keeps the timeline of what the run fired, before any responder did anything', async () => {
    const r = await report();
    expect(r.summary).toMatchObject({ steps: 3, stepsFired: 2, incidents: 0, checklistItems: 3, checklistDone: 0 });
    expect(r.timeline.filter((t) => t.source === 'simulator').map((t) => t.what)).toEqual([
      'proposed by ada-responder',
      'started in staging (targets: pagerduty)',
      'step 1 fire (checkout-errors) fired',
      'step 2 add related (gateway) fired',
    ]);
    expect(r.incidents).toEqual([]);
  });

  it('records what responders did from the incident events carrying its run id: time to acknowledge, escalate, resolve', async () => {
    const t0 = at(run.startedAt, 2);
    const checkout = {
      incidentId: checkoutIncident,
      dedupKey: `drill:${run.id}:checkout-errors`,
      title: '[DRILL] Checkout',
    };
    published = [
      pagerDutyEvent({ ...checkout, kind: 'triggered', occurredAt: t0 }),
      pagerDutyEvent({ ...checkout, kind: 'acknowledged', occurredAt: at(t0, 95), by: 'Ada Lovelace' }),
      pagerDutyEvent({ ...checkout, kind: 'escalated', occurredAt: at(t0, 120), escalationLevel: 2 }),
      pagerDutyEvent({ ...checkout, kind: 'resolved', occurredAt: at(t0, 300), by: 'Grace Hopper' }),
      // An Alertmanager incident (through webhook-ingest): its key is a fingerprint, the run id a label.
      {
        ...pagerDutyEvent({
          incidentId: gatewayIncident,
          dedupKey: 'a1b2c3d4e5f60718',
          title: '[DRILL] Gateway',
          kind: 'triggered',
          occurredAt: at(t0, 1),
          labels: { alertname: 'GatewaySlow', drill_run_id: run.id },
        }),
        provider: 'alertmanager',
      },
    ];
    await publish([
      ...published,
      // Not this run's: a run id nobody registered, and a real incident without one.
      pagerDutyEvent({
        ...checkout,
        incidentId: incidentId(),
        dedupKey: `drill:${randomUUID()}:x`,
        kind: 'triggered',
        occurredAt: t0,
      }),
      pagerDutyEvent({
        ...checkout,
        incidentId: incidentId(),
        dedupKey: 'checkout-5xx',
        kind: 'triggered',
        occurredAt: t0,
      }),
    ]);

    const r = await until('the responders to be in the report', async () => {
      const now = await report();
      return now.summary.incidents === 2 && now.summary.resolved === 1 ? now : undefined;
    });
    expect(r.incidents).toEqual([
      expect.objectContaining({
        incidentId: checkoutIncident,
        acknowledgedBy: 'Ada Lovelace',
        timeToAcknowledgeSeconds: 95,
        timeToEscalateSeconds: 120,
        escalationLevel: 2,
        timeToResolveSeconds: 300,
        resolvedBy: 'Grace Hopper',
      }),
      expect.objectContaining({
        incidentId: gatewayIncident,
        acknowledgedAt: null,
        timeToAcknowledgeSeconds: null,
        resolvedAt: null,
      }),
    ]);
    expect(r.summary).toMatchObject({
      incidents: 2,
      acknowledged: 1,
      escalated: 1,
      resolved: 1,
      meanTimeToAcknowledgeSeconds: 95,
      meanTimeToResolveSeconds: 300,
      firstAcknowledgedAfterStartSeconds: 97,
    });
    expect(r.timeline.filter((t) => t.source === 'responders').map((t) => [t.incidentId, t.what])).toEqual([
      [checkoutIncident, 'triggered'],
      [gatewayIncident, 'triggered'],
      [checkoutIncident, 'acknowledged by Ada Lovelace'],
      [checkoutIncident, 'escalated to level 2'],
      [checkoutIncident, 'resolved by Grace Hopper'],
    ]);
  });

  it('does not count an event twice when the topic is replayed', async () => {
    const before = await report();
    const marker = pagerDutyEvent({
      incidentId: checkoutIncident,
      dedupKey: `drill:${run.id}:checkout-errors`,
      title: '[DRILL] Checkout',
      kind: 'note_added',
      occurredAt: at(run.startedAt, 400),
      by: 'Ada Lovelace',
    });
    // The same events again, then one new event on the same incident (same partition, after them).
    await publish([...published, marker]);
    const after = await until('the event after the replay', async () => {
      const now = await report();
      return now.timeline.some((t) => t.what === 'note_added by Ada Lovelace') ? now : undefined;
    });
    expect(after.timeline.length).toBe(before.timeline.length + 1);
    expect(after.incidents).toEqual(before.incidents);
  });

  it('lets a responder tick the runbook checklist, audited, and shows it in the report', async () => {
    const ticked = await sim.call<ChecklistAnswer>(`/drills/v1/runs/${run.id}/checklist/1`, {
      token: who.responder,
      body: { done: true, note: 'Gateway dashboard showed the p99 climb' },
    });
    expect(ticked.status).toBe(200);
    expect(ticked.body.items.map((i) => [i.text, i.done])).toEqual([
      ['Acknowledge within 5 minutes', false],
      ['Check the payment gateway dashboard', true],
      ['Post in #incidents', false],
    ]);
    expect(ticked.body.items[1]).toMatchObject({ changedBy: { subject: 'ada-responder' } });
    expect(await audit(`?runId=${run.id}&outcome=succeeded`)).toContainEqual(
      expect.objectContaining({
        action: 'run_checklist',
        actor: expect.objectContaining({ subject: 'ada-responder' }),
        detail: 'ticked checklist item 2 "Check the payment gateway dashboard": Gateway dashboard showed the p99 climb',
      }),
    );
    expect((await report()).summary).toMatchObject({ checklistDone: 1, checklistItems: 3 });
  });

  it('refuses a viewer (403) and an item the runbook does not have (400), and audits both', async () => {
    const viewer = await sim.call<ErrorBody>(`/drills/v1/runs/${run.id}/checklist/0`, { token: who.viewer, body: {} });
    expect(viewer.status).toBe(403);
    const missing = await sim.call<ErrorBody>(`/drills/v1/runs/${run.id}/checklist/7`, {
      token: who.responder,
      body: {},
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details?.issues).toEqual([{ path: 'path.item', message: 'no checklist item 7' }]);
    const denied = await audit(`?runId=${run.id}&outcome=denied`);
    expect(
      denied
        .filter((d) => d.action === 'run_checklist')
        .map((d) => [d.actor.subject, d.detail.match(/\((\d{3})\)/)?.[1]]),
    ).toEqual(
      expect.arrayContaining([
        ['vic-viewer', '403'],
        ['ada-responder', '400'],
      ]),
    );
    expect((await report()).summary.checklistDone).toBe(1);
  });

  it('exports the report as Markdown (?format=md or Accept: text/markdown)', async () => {
    for (const [query, accept] of [
      ['?format=md', 'application/json'],
      ['', 'text/markdown'],
    ]) {
      const res = await fetch(`${sim.url}/drills/v1/runs/${run.id}/report${query}`, {
        headers: { authorization: `Bearer ${who.viewer}`, accept: accept! },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(res.headers.get('content-disposition')).toContain(`drill-report-${SCENARIO.id}-${run.id}.md`);
      const md = await res.text();
      // A pipe in the scenario's name does not break the tables.
      expect(md).toContain('# Drill report: Checkout \\| errors drill (v1)');
      expect(md).toContain('- Mean time to acknowledge: 1m 35s · to resolve: 5m 0s');
      expect(md).toContain(`| \`${checkoutIncident}\` | [DRILL] Checkout | checkout |`);
      expect(md).toContain('- [x] Check the payment gateway dashboard (ada-responder,');
      expect(md).toContain('- [ ] Acknowledge within 5 minutes');
    }
  });
});
