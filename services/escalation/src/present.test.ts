import {
  type IncidentEvent,
  incidentEventEnvelope,
  normaliseAlertmanager,
  normalisePagerDuty,
} from '@micro-oncall/incident-model';
import { alertmanagerWebhook, pagerDutyIncidentEvent, pagerDutyNoteEvent } from '@micro-oncall/incident-model/fixtures';
import { describe, expect, it } from 'vitest';
import type { IncidentEventRow } from './db/types.js';
import { presentTimeline } from './present.js';

const ctx = { receivedAt: '2025-11-20T09:30:00.000Z' };

function normalised(result: ReturnType<typeof normalisePagerDuty>): IncidentEvent[] {
  if (result.outcome !== 'events') throw new Error(`fixture did not normalise: ${JSON.stringify(result)}`);
  return result.events;
}

/** A history row as the consumer stores it (the envelope as received). */
function row(
  event: IncidentEvent,
  envelope: unknown = incidentEventEnvelope(event, { source: '/test' }),
): IncidentEventRow {
  return {
    eventId: event.eventId,
    incidentId: event.incidentId,
    kind: event.kind,
    providerEventType: event.providerEventType,
    occurredAt: event.occurredAt,
    actor: event.actor,
    note: event.note,
    drill: event.drill,
    envelope,
    recordedAt: event.occurredAt,
  };
}

const pd = (
  eventType: string,
  occurredAt: string,
  priority: 'P1' | 'P3' | null,
  assignee?: { id: string; name: string },
) => normalised(normalisePagerDuty(pagerDutyIncidentEvent({ eventType, occurredAt, priority, assignee }), ctx))[0]!;

describe(presentTimeline.name, () => {
  it('says from which priority to which, though PagerDuty sends only the new one', () => {
    const history = [
      pd('incident.triggered', '2025-11-20T09:00:00.000Z', 'P3'),
      pd('incident.priority_updated', '2025-11-20T09:05:00.000Z', 'P1'),
      pd('incident.priority_updated', '2025-11-20T09:06:00.000Z', null),
    ].map((e) => row(e));
    expect(presentTimeline(history, 'pagerduty').map((e) => e.change)).toEqual([
      null,
      { priority: { from: 'P3', to: 'P1' } },
      { priority: { from: 'P1', to: null } },
    ]);
  });

  it('says who an escalation went to and along which policy', () => {
    const lin = { id: 'PLEVEL2', name: 'Lin Level-Two' };
    const [shown] = presentTimeline(
      [row(pd('incident.escalated', '2025-11-20T09:00:00.000Z', 'P1', lin))],
      'pagerduty',
    );
    expect(shown).toMatchObject({
      kind: 'escalated',
      change: { assignees: [lin], escalationPolicy: 'Payments — primary' },
    });
  });

  it('reads the priority of events stored before ADR 0008 from their labels', () => {
    const old = (event: IncidentEvent) => {
      const { providerSeverity: _p, assignees: _a, ...snapshot } = event.snapshot!;
      const { change: _c, ...rest } = event;
      return row(
        event,
        incidentEventEnvelope({ ...rest, snapshot: { ...snapshot, severity: 'p2' as never } }, { source: '/test' }),
      );
    };
    const history = [
      old(pd('incident.triggered', '2025-11-20T09:00:00.000Z', 'P3')),
      old(pd('incident.priority_updated', '2025-11-20T09:05:00.000Z', 'P1')),
    ];
    expect(presentTimeline(history, 'pagerduty')[1]?.change).toEqual({ priority: { from: 'P3', to: 'P1' } });
  });

  it('keeps the priority across events without a snapshot (notes)', () => {
    const note = normalised(
      normalisePagerDuty(pagerDutyNoteEvent({ occurredAt: '2025-11-20T09:02:00.000Z' }), ctx),
    )[0]!;
    const history = [
      row(pd('incident.triggered', '2025-11-20T09:00:00.000Z', 'P3')),
      row(note),
      row(pd('incident.priority_updated', '2025-11-20T09:05:00.000Z', 'P1')),
    ];
    expect(presentTimeline(history, 'pagerduty')[2]?.change).toEqual({ priority: { from: 'P3', to: 'P1' } });
  });

  it("says how many alerts Alertmanager left out of the event's notification", () => {
    const payload = { ...alertmanagerWebhook(), truncatedAlerts: 7 };
    const [event] = normalised(normaliseAlertmanager(payload, ctx));
    expect(presentTimeline([row(event!)], 'alertmanager')[0]?.change).toEqual({ truncatedAlerts: 7 });
  });

  it('shows an event whose stored envelope it cannot read, without its detail', () => {
    const event = pd('incident.escalated', '2025-11-20T09:00:00.000Z', 'P1');
    expect(presentTimeline([row(event, { data: 'garbled' })], 'pagerduty')).toEqual([
      {
        eventId: event.eventId,
        kind: 'escalated',
        providerEventType: 'incident.escalated',
        occurredAt: '2025-11-20T09:00:00.000Z',
        actor: event.actor,
        note: null,
        drill: false,
        change: null,
      },
    ]);
  });
});
