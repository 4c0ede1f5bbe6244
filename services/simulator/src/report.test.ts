import { describe, expect, it } from 'vitest';
import type * as schema from './db/schema.js';
import { incidentFigures } from './report.js';

type EventRow = typeof schema.runIncidentEvents.$inferSelect;

const T0 = Date.parse('2026-12-01T10:00:00Z');
let n = 0;
const event = (incidentId: string, kind: string, seconds: number, actorName: string | null = null): EventRow => ({
  eventId: `e${++n}`,
  runId: '00000000-0000-4000-8000-000000000001',
  incidentId,
  kind,
  providerEventType: kind,
  provider: 'pagerduty',
  dedupKey: 'drill:00000000-0000-4000-8000-000000000001:errors',
  occurredAt: new Date(T0 + seconds * 1000).toISOString(),
  actorType: actorName ? 'user' : 'system',
  actorName,
  title: 'Checkout errors',
  service: 'checkout',
  severity: 'high',
  note: null,
  escalationLevel: kind === 'escalated' ? 2 : null,
  receivedAt: new Date(T0).toISOString(),
});

describe(incidentFigures.name, () => {
  it('measures from the trigger to the first acknowledgement and escalation, and to the last resolve', () => {
    const [figures] = incidentFigures([
      // Out of order, as partitions and redeliveries may leave them.
      event('inc_a', 'resolved', 600, 'Grace'),
      event('inc_a', 'triggered', 0),
      event('inc_a', 'acknowledged', 90, 'Ada'),
      event('inc_a', 'resolved', 300, 'Ada'),
      event('inc_a', 'reopened', 400),
      event('inc_a', 'acknowledged', 450, 'Grace'),
      event('inc_a', 'escalated', 120),
    ]);
    expect(figures).toMatchObject({
      incidentId: 'inc_a',
      acknowledgedBy: 'Ada',
      timeToAcknowledgeSeconds: 90,
      timeToEscalateSeconds: 120,
      escalationLevel: 2,
      // Reopened and resolved again: resolved when it was resolved for good.
      timeToResolveSeconds: 600,
      resolvedBy: 'Grace',
    });
  });

  it('starts from the first event when the trigger never arrived, and says "not yet" as null', () => {
    expect(incidentFigures([event('inc_b', 'acknowledged', 30, 'Ada'), event('inc_b', 'note_added', 10)])).toEqual([
      expect.objectContaining({
        triggeredAt: new Date(T0 + 10_000).toISOString(),
        timeToAcknowledgeSeconds: 20,
        timeToResolveSeconds: null,
        resolvedAt: null,
      }),
    ]);
  });

  it('is not resolved while reopened', () => {
    const [figures] = incidentFigures([
      event('inc_c', 'triggered', 0),
      event('inc_c', 'resolved', 60, 'Ada'),
      event('inc_c', 'reopened', 90),
    ]);
    expect(figures).toMatchObject({ resolvedAt: null, timeToResolveSeconds: null });
  });

  it('lists incidents in the order they were triggered', () => {
    const ids = incidentFigures([event('inc_late', 'triggered', 50), event('inc_early', 'triggered', 5)]).map(
      (f) => f.incidentId,
    );
    expect(ids).toEqual(['inc_early', 'inc_late']);
  });
});
