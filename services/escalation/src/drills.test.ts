import type { IncidentEvent } from '@micro-oncall/incident-model';
import { describe, expect, it } from 'vitest';
import { DRILL_CLOCK_SKEW_MS, drillRunIdOfEvent, hasDrillMarker, type KnownDrillRun, verifyDrill } from './drills.js';

const RUN = '0b6f3c1e-9a2d-4c4e-8f51-3a1d2c9e7b10';
const SEEN = '2026-12-01T10:00:00.000Z';

function event(overrides: { labels?: Record<string, string>; dedupKey?: string; drill?: boolean }): IncidentEvent {
  return {
    eventId: 'e1',
    kind: 'triggered',
    providerEventType: 'firing',
    occurredAt: SEEN,
    incidentId: 'inc_000000000000000000000001',
    provider: 'alertmanager',
    providerId: 'f1',
    dedupKey: overrides.dedupKey ?? 'f1',
    actor: null,
    note: null,
    drill: overrides.drill ?? false,
    snapshot: {
      title: 'Database failover',
      service: 'payments-api',
      severity: 'high',
      urgency: 'high',
      labels: overrides.labels ?? {},
      links: [],
      providerUrl: null,
      createdAt: SEEN,
    },
  };
}

const at = (ms: number) => new Date(Date.parse(SEEN) + ms).toISOString();
const run = (fields: Partial<KnownDrillRun>): KnownDrillRun => ({
  runId: RUN,
  state: 'running',
  startedAt: at(-60_000),
  endedAt: null,
  ...fields,
});
const incident = (drillRunId: string | null, drillMarker = true) => ({ drillRunId, drillMarker, firstSeenAt: SEEN });

describe(drillRunIdOfEvent.name, () => {
  it('reads the run id from the Alertmanager label, an Opsgenie tag or the PagerDuty dedup key', () => {
    expect(drillRunIdOfEvent(event({ labels: { drill_run_id: RUN } }))).toBe(RUN);
    expect(drillRunIdOfEvent(event({ labels: { opsgenie_tags: `team:payments, drill_run_id:${RUN}` } }))).toBe(RUN);
    expect(drillRunIdOfEvent(event({ dedupKey: `drill:${RUN}:db-failover` }))).toBe(RUN);
  });

  it('ignores what is not a run id', () => {
    expect(drillRunIdOfEvent(event({ labels: { drill_run_id: 'yes' } }))).toBeNull();
    expect(drillRunIdOfEvent(event({ dedupKey: 'drill:nope:x' }))).toBeNull();
  });

  it('counts a `drill=true` label or a `[drill]` title as a marker', () => {
    expect(hasDrillMarker(event({ drill: true }))).toBe(true);
    expect(hasDrillMarker(event({ labels: { drill_run_id: RUN } }))).toBe(true);
    expect(hasDrillMarker(event({}))).toBe(false);
  });
});

describe(verifyDrill.name, () => {
  it('believes a run id of a run active when the incident arrived', () => {
    expect(verifyDrill(incident(RUN), run({}))).toEqual({ drill: true, unverifiedDrillMarker: null });
  });

  it('leaves an unmarked incident alone', () => {
    expect(verifyDrill(incident(null, false), undefined)).toEqual({ drill: false, unverifiedDrillMarker: null });
  });

  it('treats a marker without a run id as real, flagged', () => {
    expect(verifyDrill(incident(null), undefined)).toEqual({
      drill: false,
      unverifiedDrillMarker: 'marked as a drill but carries no drill run id',
    });
  });

  it('treats an unregistered, not started or ended run as real, flagged with the reason', () => {
    expect(verifyDrill(incident(RUN), undefined).unverifiedDrillMarker).toBe(
      `drill run ${RUN} is not registered by the simulator`,
    );
    expect(verifyDrill(incident(RUN), run({ state: 'awaiting_approval', startedAt: null })).unverifiedDrillMarker).toBe(
      `drill run ${RUN} had not started when the incident arrived (run awaiting_approval)`,
    );
    expect(verifyDrill(incident(RUN), run({ state: 'aborted', endedAt: at(-1) })).unverifiedDrillMarker).toBe(
      `drill run ${RUN} had ended (aborted at ${at(-1)}) when the incident arrived`,
    );
  });

  it('tolerates a small clock difference at the start, none at the end', () => {
    expect(verifyDrill(incident(RUN), run({ startedAt: at(DRILL_CLOCK_SKEW_MS) })).drill).toBe(true);
    expect(verifyDrill(incident(RUN), run({ startedAt: at(DRILL_CLOCK_SKEW_MS + 1) })).drill).toBe(false);
    expect(verifyDrill(incident(RUN), run({ state: 'completed', endedAt: at(1) })).drill).toBe(true);
    expect(verifyDrill(incident(RUN), run({ state: 'completed', endedAt: SEEN })).drill).toBe(false);
  });
});
