import { type IncidentEvent, incidentIdFor } from '@micro-oncall/incident-model';
import { describe, expect, it } from 'vitest';
import { applyEvent } from './projector.js';

const id = incidentIdFor('pagerduty', 'P1');

function event(kind: IncidentEvent['kind'], occurredAt: string, overrides: Partial<IncidentEvent> = {}): IncidentEvent {
  return {
    eventId: `pagerduty:${kind}:${occurredAt}`,
    kind,
    providerEventType: `incident.${kind}`,
    occurredAt,
    incidentId: id,
    provider: 'pagerduty',
    providerId: 'P1',
    dedupKey: 'P1',
    actor: null,
    note: null,
    drill: false,
    snapshot: {
      title: `title at ${occurredAt}`,
      service: 'payments-api',
      severity: 'high',
      providerSeverity: 'P2',
      assignees: [{ id: 'PTUXL6G', name: 'Grace Hopper' }],
      urgency: 'high',
      labels: {},
      links: [],
      providerUrl: null,
      createdAt: '2025-11-20T09:00:00.000Z',
    },
    ...overrides,
  };
}

function fold(events: IncidentEvent[]) {
  return events.reduce<ReturnType<typeof applyEvent>>((state, e) => applyEvent(state, e) ?? state, null);
}

describe(applyEvent.name, () => {
  it('creates the incident from its first event', () => {
    const state = fold([event('triggered', '2025-11-20T09:00:00.000Z')]);
    expect(state).toMatchObject({
      id,
      status: 'triggered',
      title: 'title at 2025-11-20T09:00:00.000Z',
      acknowledgedAt: null,
    });
  });

  it('follows acknowledge then resolve and records when each happened', () => {
    const state = fold([
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
      event('resolved', '2025-11-20T09:30:00.000Z'),
    ]);
    expect(state).toMatchObject({
      status: 'resolved',
      acknowledgedAt: '2025-11-20T09:05:00.000Z',
      resolvedAt: '2025-11-20T09:30:00.000Z',
      lastEventKind: 'resolved',
    });
  });

  it('does not move the status backwards when an older event arrives late', () => {
    const state = fold([
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('resolved', '2025-11-20T09:30:00.000Z'),
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
    ]);
    expect(state?.status).toBe('resolved');
    expect(state?.title).toBe('title at 2025-11-20T09:30:00.000Z');
    expect(state?.updatedAt).toBe('2025-11-20T09:30:00.000Z');
  });

  it('converges on the same state whatever the delivery order', () => {
    const events = [
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
      event('escalated', '2025-11-20T09:10:00.000Z'),
      event('resolved', '2025-11-20T09:30:00.000Z'),
    ];
    const orders = [events, [...events].reverse(), [events[2]!, events[0]!, events[3]!, events[1]!]];
    const states = orders.map((order) => {
      // When it was recorded and first seen depend on the delivery order by nature.
      const { recordedAt: _ignored, firstSeenAt: _arrival, ...rest } = fold(order)!;
      return rest;
    });
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
    expect(states[0]?.status).toBe('resolved');
  });

  it('reopening clears the acknowledged and resolved times', () => {
    const state = fold([
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('resolved', '2025-11-20T09:30:00.000Z'),
      event('reopened', '2025-11-20T10:00:00.000Z'),
    ]);
    expect(state).toMatchObject({ status: 'triggered', resolvedAt: null, acknowledgedAt: null });
  });

  it('keeps the status on events that do not change it', () => {
    const state = fold([
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('acknowledged', '2025-11-20T09:01:00.000Z'),
      event('escalated', '2025-11-20T09:02:00.000Z'),
    ]);
    expect(state?.status).toBe('acknowledged');
    expect(state?.lastEventKind).toBe('escalated');
  });

  it('ignores a note about an incident it has not seen, and applies it once the incident exists', () => {
    const note = event('note_added', '2025-11-20T09:01:00.000Z', { snapshot: null, note: 'looking' });
    expect(applyEvent(null, note)).toBeNull();
    const state = fold([event('triggered', '2025-11-20T09:00:00.000Z'), note]);
    expect(state?.title).toBe('title at 2025-11-20T09:00:00.000Z');
    expect(state?.lastEventKind).toBe('note_added');
  });

  it("keeps the provider's priority and the assignees of the newest snapshot, whatever the order", () => {
    const base = event('triggered', '2025-11-20T09:00:00.000Z');
    const raised = event('priority_changed', '2025-11-20T09:05:00.000Z', {
      snapshot: { ...base.snapshot!, severity: 'critical', providerSeverity: 'P1' },
    });
    const escalated = event('escalated', '2025-11-20T09:10:00.000Z', {
      snapshot: { ...raised.snapshot!, assignees: [{ id: 'PLEVEL2', name: 'Lin Level-Two' }] },
    });
    for (const order of [
      [base, raised, escalated],
      [escalated, base, raised],
    ]) {
      expect(fold(order)).toMatchObject({
        severity: 'critical',
        providerSeverity: 'P1',
        assignees: [{ id: 'PLEVEL2', name: 'Lin Level-Two' }],
      });
    }
  });

  it('starts with no priority and nobody assigned when the snapshot does not say (events before ADR 0008)', () => {
    const { providerSeverity: _p, assignees: _a, ...old } = event('triggered', '2025-11-20T09:00:00.000Z').snapshot!;
    const state = fold([event('triggered', '2025-11-20T09:00:00.000Z', { snapshot: old })]);
    expect(state).toMatchObject({ providerSeverity: null, assignees: [] });
  });

  it('keeps a drill marker of any of its events, without believing it (the consumer verifies the run)', () => {
    const state = fold([
      event('triggered', '2025-11-20T09:00:00.000Z', { drill: true }),
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
    ]);
    expect(state).toMatchObject({ drill: false, drillMarker: true, drillRunId: null });
  });

  it('keeps the run id a later event carries (PagerDuty dedup key `drill:<run>:<alert>`)', () => {
    const run = '0b6f3c1e-9a2d-4c4e-8f51-3a1d2c9e7b10';
    const state = fold([
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
      event('triggered', '2025-11-20T09:00:00.000Z', { dedupKey: `drill:${run}:db-failover` }),
    ]);
    expect(state).toMatchObject({ drill: false, drillMarker: true, drillRunId: run });
  });
});

describe(`${applyEvent.name} with re-firing alerts`, () => {
  it('treats a trigger after resolution as a new episode, whatever the order', () => {
    const events = [
      event('triggered', '2025-11-20T09:00:00.000Z'),
      event('acknowledged', '2025-11-20T09:05:00.000Z'),
      event('resolved', '2025-11-20T09:30:00.000Z'),
      { ...event('triggered', '2025-11-20T11:00:00.000Z'), eventId: 'refire' },
    ];
    for (const order of [events, [...events].reverse()]) {
      expect(fold(order)).toMatchObject({
        status: 'triggered',
        acknowledgedAt: null,
        resolvedAt: null,
        triggeredAt: '2025-11-20T11:00:00.000Z',
      });
    }
  });
});
