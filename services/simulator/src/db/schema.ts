import { DrillEnvironment, DrillRunState, DrillTargetKind, SEVERITIES } from '@micro-oncall/incident-model';
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type { ScenarioDefinition, ScenarioStep } from '../scenarios/definition.js';

/** Everything simulator stores lives in its own schema; no other service reads it. */
export const simulator = pgSchema('simulator');

const enumValues = <T extends string>(values: readonly T[]) => values as [T, ...T[]];

// Enums first. New labels go at the end (PostgreSQL appends them).
export const environmentEnum = simulator.enum('environment', enumValues(DrillEnvironment.options));
export const severityEnum = simulator.enum('severity', enumValues(SEVERITIES));
export const runStateEnum = simulator.enum('run_state', enumValues(DrillRunState.options));
export const targetEnum = simulator.enum('target', enumValues(DrillTargetKind.options));
/** A step: waiting for its time; fired at every target; failed at one; skipped (the run ended first). */
export const stepStateEnum = simulator.enum('step_state', ['pending', 'fired', 'failed', 'skipped']);
/**
 * An alert at one target: `sending` (a trigger may be on its way: resolved on cleanup like a
 * firing one), `firing`, `resolved`, `refused` (the target refused the trigger: nothing to resolve).
 */
export const alertStateEnum = simulator.enum('alert_state', ['sending', 'firing', 'resolved', 'refused']);
export const auditOutcomeEnum = simulator.enum('audit_outcome', ['succeeded', 'denied', 'failed']);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/**
 * Scenario versions, append-only: an edit is a new version, and a run keeps the version it ran.
 * Built-ins are synced from services/simulator/scenarios/ at start-up (a changed file is a new
 * version); teams add theirs through the API.
 */
export const scenarios = simulator.table(
  'scenarios',
  {
    id: text('id').notNull(),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    team: text('team').notNull(),
    environment: environmentEnum('environment').notNull(),
    definition: jsonb('definition').$type<ScenarioDefinition>().notNull(),
    /** sha256 of the canonical definition: posting the same content again is not a new version. */
    digest: text('digest').notNull(),
    /** `builtin` (shipped with the service) or `api` (a team's). */
    source: text('source', { enum: ['builtin', 'api'] }).notNull(),
    createdBySubject: text('created_by_subject'),
    createdByName: text('created_by_name'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'scenarios_pkey', columns: [t.id, t.version] }),
    check('scenarios_version_positive', sql`${t.version} >= 1`),
  ],
);

/** One drill run: its request, approval, state and outcome. Runs are never deleted. */
export const runs = simulator.table(
  'runs',
  {
    id: uuid('id').primaryKey(),
    scenarioId: text('scenario_id').notNull(),
    scenarioVersion: integer('scenario_version').notNull(),
    scenarioName: text('scenario_name').notNull(),
    team: text('team').notNull(),
    environment: environmentEnum('environment').notNull(),
    state: runStateEnum('state').notNull(),
    /** The highest severity the run fires. */
    severity: severityEnum('severity').notNull(),
    targets: jsonb('targets').$type<DrillTargetKind[]>().notNull(),
    requestedBySubject: text('requested_by_subject').notNull(),
    requestedByName: text('requested_by_name'),
    /** Production runs: the requester's reason (required). */
    productionReason: text('production_reason'),
    /** Why the run needs an approver (empty: it started at once). */
    approvalReasons: jsonb('approval_reasons').$type<string[]>().notNull(),
    approvedBySubject: text('approved_by_subject'),
    approvedByName: text('approved_by_name'),
    approvedAt: at('approved_at'),
    maxDurationSeconds: integer('max_duration_seconds').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    startedAt: at('started_at'),
    /** Before approval: when the proposal lapses; once started: when the run expires. */
    expiresAt: at('expires_at').notNull(),
    endedAt: at('ended_at'),
    /** Who ended it (abort, kill switch, rejection); null when the simulator did. */
    endedBySubject: text('ended_by_subject'),
    endedByName: text('ended_by_name'),
    endReason: text('end_reason'),
    /** The step that failed, at which target, and why (state `failed`). */
    failure: jsonb('failure').$type<{ step: number; target: DrillTargetKind; error: string }>(),
    updatedAt: at('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date().toISOString()),
  },
  (t) => [
    foreignKey({
      name: 'runs_scenario_fkey',
      columns: [t.scenarioId, t.scenarioVersion],
      foreignColumns: [scenarios.id, scenarios.version],
    }).onDelete('restrict'),
    index('runs_state_idx').on(t.state, t.expiresAt),
    index('runs_created_idx').on(t.createdAt),
    check('runs_max_duration', sql`${t.maxDurationSeconds} between 60 and 14400`),
  ],
);

/** A run's timeline: one row per scenario step, with what happened to it. */
export const runSteps = simulator.table(
  'run_steps',
  {
    runId: uuid('run_id').notNull(),
    index: integer('index').notNull(),
    offsetSeconds: integer('offset_seconds').notNull(),
    spec: jsonb('spec').$type<ScenarioStep>().notNull(),
    state: stepStateEnum('state').notNull().default('pending'),
    dueAt: at('due_at'),
    firedAt: at('fired_at'),
    /** The scenario alert keys the step touched (resolve `all`: those firing when it ran). */
    alerts: jsonb('alerts').$type<string[]>().notNull(),
    failedTarget: targetEnum('failed_target'),
    error: text('error'),
  },
  (t) => [
    primaryKey({ name: 'run_steps_pkey', columns: [t.runId, t.index] }),
    foreignKey({ name: 'run_steps_run_fkey', columns: [t.runId], foreignColumns: [runs.id] }).onDelete('cascade'),
  ],
);

/** Every alert a run fired, per target, with its current labels (Alertmanager's identity) and state. */
export const runAlerts = simulator.table(
  'run_alerts',
  {
    runId: uuid('run_id').notNull(),
    alertKey: text('alert_key').notNull(),
    target: targetEnum('target').notNull(),
    /** `drill:<run id>:<alert key>` (PagerDuty dedup key / incident key). */
    dedupKey: text('dedup_key').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    /** The label set last fired before a severity change (Alertmanager resolves it: its identity changed). */
    previousLabels: jsonb('previous_labels').$type<Record<string, string>>(),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull(),
    severity: severityEnum('severity').notNull(),
    summary: text('summary').notNull(),
    service: text('service').notNull(),
    startsAt: at('starts_at').notNull(),
    state: alertStateEnum('state').notNull(),
    lastSentAt: at('last_sent_at'),
    resolvedAt: at('resolved_at'),
    lastError: text('last_error'),
    updatedAt: at('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date().toISOString()),
  },
  (t) => [
    primaryKey({ name: 'run_alerts_pkey', columns: [t.runId, t.alertKey, t.target] }),
    foreignKey({ name: 'run_alerts_run_fkey', columns: [t.runId], foreignColumns: [runs.id] }).onDelete('cascade'),
    index('run_alerts_open_idx').on(t.runId).where(sql`${t.state} in ('sending', 'firing')`),
  ],
);

/**
 * What responders did about a run's incidents: the `incident-events` whose alerts carry the run id
 * (label `drill_run_id` or the dedup key `drill:<run id>:<alert>`), one row per event id, so a
 * redelivery or a replay of the topic adds nothing. The drill report reads its responder timeline
 * (time to acknowledge, escalate, resolve) from here.
 */
export const runIncidentEvents = simulator.table(
  'run_incident_events',
  {
    /** The event's own id (`incident-events` eventId): the idempotency key. */
    eventId: text('event_id').primaryKey(),
    runId: uuid('run_id').notNull(),
    incidentId: text('incident_id').notNull(),
    /** `triggered`, `acknowledged`, `escalated`, `resolved`, … (IncidentEventKind). */
    kind: text('kind').notNull(),
    providerEventType: text('provider_event_type').notNull(),
    provider: text('provider').notNull(),
    dedupKey: text('dedup_key').notNull(),
    occurredAt: at('occurred_at').notNull(),
    /** Who did it, as the provider says (`user`, `system`, `integration`); null when it does not. */
    actorType: text('actor_type'),
    actorName: text('actor_name'),
    title: text('title'),
    service: text('service'),
    severity: text('severity'),
    note: text('note'),
    /** The escalation level reached (escalated events), when the provider says. */
    escalationLevel: integer('escalation_level'),
    receivedAt: at('received_at').notNull().defaultNow(),
  },
  (t) => [
    foreignKey({ name: 'run_incident_events_run_fkey', columns: [t.runId], foreignColumns: [runs.id] }).onDelete(
      'cascade',
    ),
    index('run_incident_events_run_idx').on(t.runId, t.occurredAt),
  ],
);

/** The runbook checklist of a run, as responders ticked it: one row per checklist item touched. */
export const runChecklist = simulator.table(
  'run_checklist',
  {
    runId: uuid('run_id').notNull(),
    /** The item's position in the scenario version's `runbook.checklist` (from 0). */
    item: integer('item').notNull(),
    done: boolean('done').notNull(),
    note: text('note'),
    changedAt: at('changed_at').notNull().defaultNow(),
    changedBySubject: text('changed_by_subject').notNull(),
    changedByName: text('changed_by_name'),
  },
  (t) => [
    primaryKey({ name: 'run_checklist_pkey', columns: [t.runId, t.item] }),
    foreignKey({ name: 'run_checklist_run_fkey', columns: [t.runId], foreignColumns: [runs.id] }).onDelete('cascade'),
    check('run_checklist_item', sql`${t.item} >= 0`),
  ],
);

/**
 * The global kill switch: one row. Engaged, it has stopped every running drill and refuses new
 * runs until an approver re-arms it. In the database, so it holds across replicas and restarts.
 */
export const killSwitch = simulator.table(
  'kill_switch',
  {
    id: smallint('id').primaryKey().default(1),
    engaged: boolean('engaged').notNull().default(false),
    changedAt: at('changed_at'),
    changedBySubject: text('changed_by_subject'),
    changedByName: text('changed_by_name'),
    reason: text('reason'),
  },
  (t) => [check('kill_switch_single_row', sql`${t.id} = 1`)],
);

/**
 * What was done and what was refused, by whom: append-only (a trigger refuses UPDATE, DELETE and
 * TRUNCATE; the runtime role may only select and insert).
 */
export const auditLog = simulator.table(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    at: at('at').notNull().defaultNow(),
    actorSubject: text('actor_subject').notNull(),
    actorName: text('actor_name'),
    action: text('action').notNull(),
    outcome: auditOutcomeEnum('outcome').notNull(),
    runId: uuid('run_id'),
    scenarioId: text('scenario_id'),
    detail: text('detail').notNull(),
    requestId: text('request_id').notNull(),
    /** What was asked for, as validated (never credentials). */
    request: jsonb('request'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_run_idx').on(t.runId, t.at),
    index('audit_log_actor_idx').on(t.actorSubject, t.at),
  ],
);

/** A game day: waiting for an approver, running on its schedule, or paused. */
export const gameDayStateEnum = simulator.enum('game_day_state', ['awaiting_approval', 'active', 'paused']);
/** An occurrence of a game day: its run started, or it was skipped (the reason says why). */
export const occurrenceOutcomeEnum = simulator.enum('occurrence_outcome', ['started', 'skipped']);

/**
 * Recurring game days: a scenario version run on a cron schedule. Approved once (by the rules of
 * a run), each occurrence starts a run without a new approval; the kill switch still refuses it.
 */
export const gameDays = simulator.table(
  'game_days',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    scenarioId: text('scenario_id').notNull(),
    /** Pinned at creation: the approval is for this content, not for later versions. */
    scenarioVersion: integer('scenario_version').notNull(),
    environment: environmentEnum('environment').notNull(),
    /** null: every target configured for the environment when an occurrence runs. */
    targets: jsonb('targets').$type<DrillTargetKind[]>(),
    productionReason: text('production_reason'),
    maxDurationMinutes: integer('max_duration_minutes').notNull(),
    /** 5 fields (minute hour day-of-month month day-of-week), in `timezone`. */
    cron: text('cron').notNull(),
    /** IANA time zone the cron expression is read in. */
    timezone: text('timezone').notNull(),
    state: gameDayStateEnum('state').notNull(),
    severity: severityEnum('severity').notNull(),
    approvalReasons: jsonb('approval_reasons').$type<string[]>().notNull(),
    requestedBySubject: text('requested_by_subject').notNull(),
    requestedByName: text('requested_by_name'),
    approvedBySubject: text('approved_by_subject'),
    approvedByName: text('approved_by_name'),
    approvedAt: at('approved_at'),
    /** The occurrence the job runner holds a job for (null while awaiting approval or paused). */
    nextOccurrenceAt: at('next_occurrence_at'),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date().toISOString()),
  },
  (t) => [
    foreignKey({
      name: 'game_days_scenario_fkey',
      columns: [t.scenarioId, t.scenarioVersion],
      foreignColumns: [scenarios.id, scenarios.version],
    }).onDelete('restrict'),
    index('game_days_next_idx').on(t.state, t.nextOccurrenceAt),
    check('game_days_max_duration', sql`${t.maxDurationMinutes} between 1 and 240`),
  ],
);

/** Each occurrence of a game day, once (retries of its job find it here): the run, or why it was skipped. */
export const gameDayOccurrences = simulator.table(
  'game_day_occurrences',
  {
    gameDayId: uuid('game_day_id').notNull(),
    scheduledAt: at('scheduled_at').notNull(),
    /** Chosen before the run is proposed, so a retried occurrence finds the run it started. */
    runId: uuid('run_id').notNull(),
    outcome: occurrenceOutcomeEnum('outcome'),
    reason: text('reason'),
    recordedAt: at('recorded_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'game_day_occurrences_pkey', columns: [t.gameDayId, t.scheduledAt] }),
    foreignKey({
      name: 'game_day_occurrences_game_day_fkey',
      columns: [t.gameDayId],
      foreignColumns: [gameDays.id],
    }).onDelete('cascade'),
  ],
);
