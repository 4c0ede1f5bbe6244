/**
 * What the app-registry scale scenario measured (bench/scenarios/app-registry-scale.ts): the shape
 * the run's report (report.ts) carries and app-registry-report.ts renders. Types only, so that
 * neither of those two files needs the other's.
 */
import type { ServiceWindow } from './service-metrics.js';
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
  /** Requests the client saw take over 100 ms (absent in runs made before it was recorded). */
  clientOver100ms?: number;
  /** The service's own metrics over the same requests (service-metrics.ts; absent likewise). */
  service?: ServiceWindow;
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
    /** app-registry's RSS and V8 heap in use before the first kind, from its /metrics (absent in older runs). */
    serviceMemoryAtStart?: { rssBytes: number; heapUsedBytes: number };
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

/** What the discovery scenario measured (bench/scenarios/app-registry-discovery.ts). */
export interface DiscoveryResults {
  /** Lines generated (CloudTrail: records), by source, and the files and their gzipped bytes. */
  generated: { lines: Record<string, number>; files: number; bytes: number; seconds: number };
  registeredApps: number;
  /** From POST /apps/v1/discovery/runs to the run seen finished (polled every 250 ms). */
  seconds: number;
  /** The run's own startedAt → finishedAt. */
  runSeconds: number;
  status: string;
  totals: {
    linesRead: number;
    sightings: number;
    appsMatched: number;
    newCandidates: number;
    flagged: number;
    errors: number;
  };
  /** The run's report per source. */
  sources: { source: string; files: number; linesRead: number; sightings: number; errors: number }[];
  linesPerS: number;
  /** Peak RSS of app-registry (the process that reads) during the run, and right after start. */
  rssPeakBytes: number;
  rssIdleBytes: number;
  cores: Cores;
}

/** What the cost import scenario measured (bench/scenarios/app-registry-cost.ts). */
export interface CostImportResults {
  generated: { rows: number; bytes: number; days: number; seconds: number; totalCents: number };
  registeredApps: number;
  /** From the first byte of POST /apps/v1/cost/imports to its 201. */
  seconds: number;
  rowsPerS: number;
  /** What the service answered. */
  result: { rows: number; dailyRows: number; total: string; untagged: string; attributed: Record<string, number> };
  rssPeakBytes: number;
  rssIdleBytes: number;
  cores: Cores;
}
