import type { DrillTargetKind, Severity } from '@micro-oncall/incident-model';

/** One synthetic alert as a target receives it (from the run's stored alert). */
export interface DrillAlert {
  runId: string;
  /** The scenario's key for the alert. */
  key: string;
  /** `drill:<run id>:<alert key>`: PagerDuty's dedup key, the PagerDuty incident key. */
  dedupKey: string;
  /**
   * The whole label set: the scenario's labels plus `alertname`, `severity`, `service`,
   * `environment`, `drill`, `drill_run_id`, `drill_scenario`. Alertmanager's identity.
   */
  labels: Record<string, string>;
  /** `summary` (with the [DRILL] prefix), `description`, `runbook_url`. */
  annotations: Record<string, string>;
  severity: Severity;
  service: string;
  /** When the run first fired the alert (RFC 3339). */
  startsAt: string;
}

/**
 * Where a drill sends its alerts. Each call is safe to repeat (jobs run at least once): a fire
 * for an alert already open updates it, a resolve for one already resolved changes nothing.
 * Failures throw the kit's errors (UpstreamError: the target refused; DependencyUnavailableError
 * or OutcomeUnknownError: it could not be reached or did not answer), whose messages never
 * carry a credential.
 */
export interface DrillTarget {
  kind: DrillTargetKind;
  /** Opens the alert, or updates it; `previous` is the alert as last fired, when its labels changed. */
  fire(alert: DrillAlert, previous?: DrillAlert): Promise<void>;
  /** Resolves the alert (and `previous`, its label set before a severity change, where labels are its identity). */
  resolve(alert: DrillAlert, previous?: DrillAlert): Promise<void>;
  /** Targets whose firing alerts lapse unless they are sent again (Alertmanager). */
  refresh?(alerts: DrillAlert[]): Promise<void>;
}
