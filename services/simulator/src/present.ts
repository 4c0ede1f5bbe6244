import { type AlertRow, isFinal, iso, type RunRow, type StepRow } from './model.js';
import type { ScenarioRow } from './scenarios/store.js';

const isoOrNull = (value: string | null) => (value === null ? null : iso(value));
const person = (subject: string | null, name: string | null) => (subject === null ? null : { subject, name });

/** A run as the API shows it: what is firing where, the countdown, the failure, the runbook. */
export function runView(
  run: RunRow,
  steps: StepRow[],
  alerts: AlertRow[],
  scenario: ScenarioRow | undefined,
  now = Date.now(),
) {
  return {
    ...runSummary(run, now),
    runbook: scenario ? scenario.definition.runbook : null,
    steps: steps.map((s) => ({
      index: s.index,
      offsetSeconds: s.offsetSeconds,
      action: s.spec.action,
      alerts: s.alerts,
      state: s.state,
      dueAt: isoOrNull(s.dueAt),
      firedAt: isoOrNull(s.firedAt),
      failedTarget: s.failedTarget,
      error: s.error,
    })),
    alerts: alerts.map((a) => ({
      key: a.alertKey,
      target: a.target,
      dedupKey: a.dedupKey,
      state: a.state,
      severity: a.severity,
      summary: a.summary,
      service: a.service,
      labels: a.labels,
      startsAt: iso(a.startsAt),
      lastSentAt: isoOrNull(a.lastSentAt),
      resolvedAt: isoOrNull(a.resolvedAt),
      lastError: a.lastError,
    })),
  };
}

/** A run in lists: no steps or alerts. */
export function runSummary(run: RunRow, now = Date.now()) {
  const final = isFinal(run.state);
  return {
    id: run.id,
    state: run.state,
    scenario: { id: run.scenarioId, version: run.scenarioVersion, name: run.scenarioName },
    team: run.team,
    environment: run.environment,
    severity: run.severity,
    targets: run.targets,
    requestedBy: person(run.requestedBySubject, run.requestedByName),
    productionReason: run.productionReason,
    approval: {
      required: run.approvalReasons.length > 0,
      reasons: run.approvalReasons,
      approvedBy: person(run.approvedBySubject, run.approvedByName),
      approvedAt: isoOrNull(run.approvedAt),
    },
    maxDurationSeconds: run.maxDurationSeconds,
    createdAt: iso(run.createdAt),
    startedAt: isoOrNull(run.startedAt),
    expiresAt: iso(run.expiresAt),
    /** Countdown to expiry (or to the proposal lapsing); null once the run ended. */
    secondsLeft: final ? null : Math.max(0, Math.round((Date.parse(run.expiresAt) - now) / 1000)),
    endedAt: isoOrNull(run.endedAt),
    endedBy: person(run.endedBySubject, run.endedByName),
    endReason: run.endReason,
    failure: run.failure,
  };
}

export function scenarioView(row: ScenarioRow) {
  return {
    id: row.id,
    version: row.version,
    name: row.name,
    team: row.team,
    environment: row.environment,
    source: row.source,
    createdBy: person(row.createdBySubject, row.createdByName),
    createdAt: iso(row.createdAt),
    definition: row.definition,
  };
}
