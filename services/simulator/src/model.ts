import { randomUUID } from 'node:crypto';
import {
  DRILL_RUN_ID_LABEL,
  type DrillEventKind,
  type DrillPerson,
  type DrillRunEvent,
  type DrillRunState,
  type DrillStepRef,
  drillDedupKey,
  FINAL_DRILL_RUN_STATES,
  type Severity,
} from '@micro-oncall/incident-model';
import type * as schema from './db/schema.js';
import type { AlertDefinition } from './scenarios/definition.js';
import type { DrillAlert } from './targets/index.js';

export type RunRow = typeof schema.runs.$inferSelect;
export type StepRow = typeof schema.runSteps.$inferSelect;
export type AlertRow = typeof schema.runAlerts.$inferSelect;

export const isFinal = (state: DrillRunState) => FINAL_DRILL_RUN_STATES.includes(state);

const person = (subject: string | null, name: string | null): DrillPerson | null =>
  subject === null ? null : { subject, name };

/** The `drills` event for `run` as it is after the change (`kind`). */
export function drillEvent(
  run: RunRow,
  kind: DrillEventKind,
  opts: { actor?: DrillPerson | null; reason?: string | null; step?: DrillStepRef | null; at?: string } = {},
): DrillRunEvent {
  return {
    eventId: randomUUID(),
    kind,
    occurredAt: opts.at ?? new Date().toISOString(),
    run: {
      id: run.id,
      state: run.state,
      scenario: { id: run.scenarioId, version: run.scenarioVersion, name: run.scenarioName },
      team: run.team,
      environment: run.environment,
      severity: run.severity,
      targets: run.targets,
      requestedBy: { subject: run.requestedBySubject, name: run.requestedByName },
      approvedBy: person(run.approvedBySubject, run.approvedByName),
      expiresAt: iso(run.expiresAt),
      startedAt: run.startedAt === null ? null : iso(run.startedAt),
      endedAt: run.endedAt === null ? null : iso(run.endedAt),
    },
    step: opts.step ?? null,
    actor: opts.actor ?? null,
    reason: opts.reason ? opts.reason.slice(0, 2000) : null,
  };
}

/** The step as the `drills` topic names it. */
export function stepRef(step: StepRow, failure?: { target: DrillStepRef['target']; error: string }): DrillStepRef {
  return {
    index: step.index,
    offsetSeconds: step.offsetSeconds,
    action: step.spec.action,
    alerts: step.alerts,
    target: failure?.target ?? null,
    error: failure ? failure.error.slice(0, 1000) : null,
  };
}

/** Postgres timestamps as RFC 3339 UTC. */
export function iso(value: string): string {
  return new Date(value).toISOString();
}

/**
 * The labels and annotations of a synthetic alert: the scenario's labels, then what the simulator
 * always sets (and a scenario cannot), the run id first among them.
 */
export function alertContent(
  run: Pick<RunRow, 'id' | 'environment' | 'scenarioId'>,
  alert: Pick<AlertDefinition, 'name' | 'summary' | 'description' | 'service' | 'labels'>,
  severity: Severity,
  runbookUrl: string,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: {
      ...alert.labels,
      alertname: alert.name,
      severity,
      service: alert.service,
      environment: run.environment,
      drill: 'true',
      [DRILL_RUN_ID_LABEL]: run.id,
      drill_scenario: run.scenarioId,
    },
    annotations: {
      summary: `[DRILL] ${alert.summary}`,
      ...(alert.description ? { description: alert.description } : {}),
      runbook_url: runbookUrl,
    },
  };
}

export const dedupKeyOf = drillDedupKey;

/** The alert a target gets, from its stored row (`labels` overrides, for the label set before a change). */
export function drillAlert(row: AlertRow, labels = row.labels, severity = row.severity): DrillAlert {
  return {
    runId: row.runId,
    key: row.alertKey,
    dedupKey: row.dedupKey,
    labels,
    annotations: row.annotations,
    severity,
    service: row.service,
    startsAt: iso(row.startsAt),
  };
}
