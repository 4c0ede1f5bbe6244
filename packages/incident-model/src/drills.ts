import { z } from 'zod';
import type { IncidentSnapshot } from './incident.js';
import { Severity } from './severity.js';
import { IsoDateTime } from './time.js';

/*
 * Payload of `drills`: one change in the life of a drill run (simulator). Every run is
 * registered here from its proposal to its end, keyed by the run id, so that a consumer can tell
 * whether a run id that a synthetic alert carries belongs to a run that is active right now
 * ("drills are verified, not declared"): a run is active from `started` until `completed`,
 * `aborted`, `expired` or `failed`.
 */

/**
 * Where every synthetic alert carries its run id: the Alertmanager label and the PagerDuty Events
 * v2 `payload.custom_details` key.
 */
export const DRILL_RUN_ID_LABEL = 'drill_run_id';

/**
 * The dedup key of a synthetic alert (PagerDuty `dedup_key`, which becomes the incident's
 * `incident_key`): `drill:<run id>:<alert key>`, so the run id survives a trip through a provider
 * that keeps nothing else of the event.
 */
export function drillDedupKey(runId: string, alertKey: string): string {
  return `drill:${runId}:${alertKey}`;
}

const DEDUP_KEY = /^drill:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):[a-z0-9][a-z0-9-]*$/;

/** The run id of a drill dedup key (see drillDedupKey), or null when the key is not one. */
export function drillRunIdOf(dedupKey: string | null | undefined): string | null {
  return (dedupKey && DEDUP_KEY.exec(dedupKey)?.[1]) || null;
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The run id an incident event's alert carries, or null: the `drill_run_id` label (Alertmanager,
 * our ingest), an Opsgenie tag `drill_run_id:<run id>`, or the dedup key `drill:<run id>:<alert>`
 * (PagerDuty keeps it as the incident key). Whether the run is real and active is the reader's
 * question: a run id is a claim, not proof.
 */
export function drillRunIdOfEvent(event: {
  dedupKey: string;
  snapshot: Pick<IncidentSnapshot, 'labels'> | null;
}): string | null {
  const labels = event.snapshot?.labels ?? {};
  const label = labels[DRILL_RUN_ID_LABEL]?.trim().toLowerCase();
  if (label && RUN_ID.test(label)) return label;
  for (const tag of (labels.opsgenie_tags ?? '').split(',')) {
    const [key, value] = tag.trim().toLowerCase().split(':', 2);
    if (key === DRILL_RUN_ID_LABEL && value && RUN_ID.test(value)) return value;
  }
  return drillRunIdOf(event.dedupKey) ?? drillRunIdOf(labels.incident_key);
}

export const DrillEnvironment = z.enum(['staging', 'production']);
export type DrillEnvironment = z.infer<typeof DrillEnvironment>;

/** The state a run is in after an event (the simulator's run state machine). */
export const DrillRunState = z.enum([
  /** Proposed; needs an approver's approval before anything is fired. */
  'awaiting_approval',
  /** An approver refused it; nothing was fired. */
  'rejected',
  /** Its steps are being fired (active). */
  'running',
  /** Its timeline ended and everything it fired is resolved. */
  'completed',
  /** Stopped by a person (one run) or by the kill switch (every run); everything fired is resolved. */
  'aborted',
  /** Reached its maximum duration (or its proposal lapsed unapproved); everything fired is resolved. */
  'expired',
  /** A target refused or could not be reached; everything fired is resolved. */
  'failed',
]);
export type DrillRunState = z.infer<typeof DrillRunState>;

/** States in which a run may fire alerts: a run id is a verified drill only while its run is in one. */
export const ACTIVE_DRILL_RUN_STATES: readonly DrillRunState[] = ['running'];
/** States a run never leaves. */
export const FINAL_DRILL_RUN_STATES: readonly DrillRunState[] = [
  'rejected',
  'completed',
  'aborted',
  'expired',
  'failed',
];

export const DrillEventKind = z.enum([
  'proposed',
  'approved',
  'rejected',
  'started',
  'step_fired',
  'step_failed',
  'aborted',
  'expired',
  'completed',
  'failed',
]);
export type DrillEventKind = z.infer<typeof DrillEventKind>;

export const DrillTargetKind = z.enum(['pagerduty', 'alertmanager', 'ingest']);
export type DrillTargetKind = z.infer<typeof DrillTargetKind>;

const Text = (max: number) => z.string().min(1).max(max);

/** A person as the identity provider named them (`sub`, display name). */
export const DrillPerson = z.object({
  subject: Text(256),
  name: z.string().max(256).nullable(),
});
export type DrillPerson = z.infer<typeof DrillPerson>;

/** A step of the run's timeline, as far as the event is about one. */
export const DrillStepRef = z.object({
  /** Position in the scenario's timeline (0-based). */
  index: z.number().int().min(0).max(1000),
  /** Seconds after the run started. */
  offsetSeconds: z.number().int().min(0),
  /** `degrade` turns on a fault-injection flag (served to flagd) until the run ends; it touches no alert. */
  action: z.enum(['fire', 'change_severity', 'add_related', 'resolve', 'degrade']),
  /** The scenario's alert keys the step touched. */
  alerts: z.array(Text(128)).max(100),
  /** The target that failed (`step_failed`). */
  target: DrillTargetKind.nullable(),
  /** Why it failed (`step_failed`); never a credential. */
  error: z.string().max(1000).nullable(),
});
export type DrillStepRef = z.infer<typeof DrillStepRef>;

export const DrillRunEvent = z.object({
  /** Unique per event: the consumers' idempotency key. */
  eventId: z.uuid(),
  kind: DrillEventKind,
  occurredAt: IsoDateTime,
  run: z.object({
    /** The run id every synthetic alert carries (see DRILL_RUN_ID_LABEL): the event subject and Kafka key. */
    id: z.uuid(),
    state: DrillRunState,
    scenario: z.object({ id: Text(64), version: z.number().int().min(1), name: Text(200) }),
    /** The owning team of the scenario. */
    team: Text(100),
    environment: DrillEnvironment,
    /** The highest severity the run fires. */
    severity: Severity,
    targets: z.array(DrillTargetKind).min(1),
    requestedBy: DrillPerson,
    approvedBy: DrillPerson.nullable(),
    /** The run ends at the latest at this time (before approval: when the proposal lapses). */
    expiresAt: IsoDateTime,
    startedAt: IsoDateTime.nullable(),
    endedAt: IsoDateTime.nullable(),
  }),
  /** The step this event is about (`step_fired`, `step_failed`, and `failed` for the step that failed). */
  step: DrillStepRef.nullable(),
  /** Who caused the event (null: the simulator itself — a due step, the expiry). */
  actor: DrillPerson.nullable(),
  /** Why, in words: the production reason, an abort's reason, the kill switch, a failure. */
  reason: z.string().max(2000).nullable(),
});
export type DrillRunEvent = z.infer<typeof DrillRunEvent>;

export const DRILL_EVENT_TYPE_PREFIX = 'io.microoncall.drill.';
