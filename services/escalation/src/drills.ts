import { drillRunIdOfEvent, type IncidentEvent } from '@micro-oncall/incident-model';
import type { IncidentRow } from './db/types.js';

/*
 * Drills are verified, not declared (issue 10): an incident is a drill only when the run id its
 * alerts carry matches a run the simulator registered on `drills` and that run was active
 * (started, not ended) when the incident's first event arrived (the envelope's time, set by
 * webhook-ingest on receipt: ours, not the sender's, and the same on a replay). A drill marker that matches
 * nothing — a `[drill]` title, a `drill=true` label or tag, an unknown or finished run id — makes
 * a real incident, notified and counted, flagged with the reason.
 */

/** The run id an event's alert carries, or null (shared with the simulator's drill reports). */
export { drillRunIdOfEvent };

/** Tolerated difference between the simulator's clock (run start) and webhook-ingest's (first event received). */
export const DRILL_CLOCK_SKEW_MS = 10_000;

/** Whether an event says "drill" in any way (a marker, believed or not). */
export function hasDrillMarker(event: IncidentEvent): boolean {
  return event.drill || drillRunIdOfEvent(event) !== null;
}

/** What escalation knows of a run (escalation.drill_runs). */
export interface KnownDrillRun {
  runId: string;
  state: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface DrillVerdict {
  /** A verified drill. */
  drill: boolean;
  /** Why a marker was not believed; null when there is none or it was verified. */
  unverifiedDrillMarker: string | null;
}

/**
 * The verdict on an incident's drill marker, given the run its run id names (undefined: no such
 * run registered). The run must have been active when the incident was first seen.
 */
export function verifyDrill(
  incident: Pick<IncidentRow, 'drillMarker' | 'drillRunId' | 'firstSeenAt'>,
  run: KnownDrillRun | undefined,
): DrillVerdict {
  if (!incident.drillMarker && !incident.drillRunId) return { drill: false, unverifiedDrillMarker: null };
  const unverified = (reason: string): DrillVerdict => ({ drill: false, unverifiedDrillMarker: reason });
  if (!incident.drillRunId) return unverified('marked as a drill but carries no drill run id');
  const id = incident.drillRunId;
  if (!run) return unverified(`drill run ${id} is not registered by the simulator`);
  const seen = Date.parse(incident.firstSeenAt);
  if (run.startedAt === null || Date.parse(run.startedAt) > seen + DRILL_CLOCK_SKEW_MS) {
    return unverified(`drill run ${id} had not started when the incident arrived (run ${run.state})`);
  }
  if (run.endedAt !== null && Date.parse(run.endedAt) <= seen) {
    return unverified(
      `drill run ${id} had ended (${run.state} at ${new Date(run.endedAt).toISOString()}) when the incident arrived`,
    );
  }
  return { drill: true, unverifiedDrillMarker: null };
}
