/**
 * What the app-registry scale scenario measured (bench/scenarios/app-registry-scale.ts): the shape
 * the run's report (report.ts) carries and app-registry-report.ts renders. Types only, so that
 * neither of those two files needs the other's.
 */
import type { Cores, Latency } from './stats.js';

export interface ListKindResult {
  /** Short name of the query kind, e.g. `team`. */
  kind: string;
  /** What it asks, e.g. `team=<one of 400 teams>`. */
  query: string;
  latency: Latency;
  requests: number;
  seconds: number;
  /** Answers other than 200 (must be none). */
  errors: number;
  /** Items on a page, averaged (limit 50). */
  itemsPerPage: number;
  /** EXPLAIN (ANALYZE, BUFFERS) of one instance of the service's own statement, after the load. */
  plan: { executionMs: number; text: string };
}

export interface AppRegistryResults {
  apps: number;
  /** Rows by state after the seed. */
  byState: Record<string, number>;
  seed: { seconds: number; analyzeSeconds: number };
  list: {
    connections: number;
    maxRequestsPerKind: number;
    maxSecondsPerKind: number;
    kinds: ListKindResult[];
    cores: Cores;
  };
  sweep: {
    /** Transitions the seed made due (the same conditions as the sweep, counted in SQL before it). */
    due: Record<string, number>;
    /** From POST /apps/v1/lifecycle/sweep to the job seen completed (polled every 100 ms). */
    seconds: number;
    /** pg-boss's own started → completed of the job, s. */
    jobSeconds: number;
    /** lifecycle.* rows written to the audit by the sweep, by target state. */
    transitions: Record<string, number>;
    /** Held apps decided again through OPA during the sweep. */
    heldBefore: number;
    heldAfter: number;
    cores: Cores;
    /** The same sweep at once again: nothing due (idempotent), the cost of looking. */
    again: { seconds: number; jobSeconds: number; transitions: number; cores: Cores };
    /** EXPLAIN (ANALYZE) of the idle step's candidate query after the sweep (nothing left due). */
    plan: { executionMs: number; text: string };
  };
  rssPeakBytes: number;
  /** The same, in the list phase and in the sweeps (absent in runs made before it was recorded). */
  rssPeakByPhase?: { list: number; sweep: number };
}
