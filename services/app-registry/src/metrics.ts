import { Counter, Gauge, type Logger, type Registry, registerInfoMetric } from '@micro-oncall/service-kit';
import { and, asc, desc, gt, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import { CUT_OFF_BY_STOP, type RunView } from './discovery/run.js';
import type { Db } from './store.js';

/*
 * `app_registry_app_info{app_id, owner, team, tier, state} 1`: one series per app that is not
 * purged, so that telemetry tagged with an app id joins to its owner and team in dashboards and
 * alerts (`… * on(app_id) group_left(owner, team) app_registry_app_info`). Cardinality: one
 * series per app, its labels change only when the app does (owner, team, tier or state); at the
 * 250,000-app scale that is 250,000 series (about 30 MB of exposition per scrape). The rows are
 * read in pages of APP_INFO_PAGE apps at most every APP_INFO_REFRESH_SECONDS, in the background
 * of the scrape that finds them stale, and the rendered text is kept between scrapes
 * (registerInfoMetric in the service-kit): a scrape costs the writing of the kept text, not a
 * stall of the event loop. Every replica exports the same series:
 * aggregate with max by (app_id, owner, team, tier, state) or scrape one replica for it, and turn
 * it off elsewhere with APP_INFO_METRIC=false (docs/runbooks/app-registry.md).
 * `app_registry_apps{state, tier}` counts apps with bounded labels (8 × 4).
 */
const APP_INFO_PAGE = 5000;

/** The apps the info metric shows, in pages by id (keyset: each page one index range scan). */
async function* appInfoPages(db: Db) {
  let after = '';
  for (;;) {
    const rows = await db
      .select({
        app_id: schema.apps.id,
        owner: sql<string>`coalesce(${schema.apps.ownerContact}, '')`,
        team: schema.apps.teamName,
        tier: sql<string>`coalesce(${schema.apps.tier}::text, 'none')`,
        state: sql<string>`${schema.apps.state}::text`,
      })
      .from(schema.apps)
      .where(and(ne(schema.apps.state, 'purged'), gt(schema.apps.id, after)))
      .orderBy(asc(schema.apps.id))
      .limit(APP_INFO_PAGE);
    yield rows;
    if (rows.length < APP_INFO_PAGE) return;
    after = rows[rows.length - 1]!.app_id;
  }
}

export function registerAppMetrics(opts: {
  db: Db;
  registry: Registry;
  logger: Logger;
  infoEnabled: boolean;
  refreshSeconds: number;
  now?: () => number;
}) {
  if (opts.infoEnabled) {
    registerInfoMetric({
      registry: opts.registry,
      name: 'app_registry_app_info',
      help: 'One series per registered app (purged ones excepted), always 1: join telemetry on app_id to owner, team, tier and state',
      labelNames: ['app_id', 'owner', 'team', 'tier', 'state'] as const,
      refreshSeconds: opts.refreshSeconds,
      logger: opts.logger,
      now: opts.now,
      read: () => appInfoPages(opts.db),
    });
  }
  new Gauge({
    name: 'app_registry_apps',
    help: 'Registered apps by lifecycle state and risk tier (tier none: no decision yet)',
    labelNames: ['state', 'tier'] as const,
    registers: [opts.registry],
    // Read from the shared table: every worker process (WORKER_PROCESSES) reads the same value.
    aggregator: 'first',
    async collect() {
      const rows = await opts.db
        .select({ state: schema.apps.state, tier: schema.apps.tier, n: sql<number>`count(*)::int` })
        .from(schema.apps)
        .groupBy(schema.apps.state, schema.apps.tier)
        .catch(() => null);
      if (!rows) return;
      this.reset();
      for (const r of rows) this.set({ state: r.state, tier: r.tier ?? 'none' }, r.n);
    },
  });
  new Gauge({
    name: 'app_registry_notifications_pending',
    help: 'Owner notices written and not yet delivered',
    registers: [opts.registry],
    aggregator: 'first',
    async collect() {
      const [row] = await opts.db
        .select({ n: sql<number>`count(*)::int` })
        .from(schema.notifications)
        .where(sql`${schema.notifications.sentAt} is null`)
        .catch(() => [undefined]);
      if (row) this.set(row.n);
    },
  });
}

const RUN_STATUSES = ['succeeded', 'partial', 'failed'] as const;

interface LastRun {
  status: string;
  /** Seconds the run took; 0 for a run cut off by a stopped replica (its end is when it was found). */
  durationS: number;
  finishedAt: string;
}

/**
 * The newest finished discovery run, scheduled or asked for (null: none yet; undefined: the
 * database could not be read). The stream's rolling day reports (trigger `stream`) are not runs
 * of the job: their end moves with every batch, and would hide a scheduled run that stopped.
 */
async function newestFinishedRun(db: Db): Promise<LastRun | null | undefined> {
  try {
    const [row] = await db
      .select({
        status: schema.discoveryRuns.status,
        startedAt: schema.discoveryRuns.startedAt,
        finishedAt: schema.discoveryRuns.finishedAt,
        error: schema.discoveryRuns.error,
      })
      .from(schema.discoveryRuns)
      .where(
        and(isNotNull(schema.discoveryRuns.finishedAt), inArray(schema.discoveryRuns.trigger, ['schedule', 'manual'])),
      )
      .orderBy(desc(schema.discoveryRuns.finishedAt))
      .limit(1);
    if (!row?.finishedAt) return null;
    const durationS =
      row.error === CUT_OFF_BY_STOP ? 0 : Math.max(0, (Date.parse(row.finishedAt) - Date.parse(row.startedAt)) / 1000);
    return { status: row.status, durationS, finishedAt: row.finishedAt };
  } catch {
    return undefined;
  }
}

/** How long one read of the last finished run serves the scrapes (its three gauges read it once). */
const LAST_RUN_TTL_MS = 1000;

/*
 * Discovery runs (docs/runbooks/app-registry.md, "Metrics"). Counted by the replica that ran them
 * when a run finishes: per source (a DISCOVERY_DIR folder or an identity provider; bounded by
 * the configuration) the lines read, sightings, read errors, apps matched, new candidates and
 * whole-source failures; per run its status; the candidates flagged (by runs and by the lifecycle
 * sweep). Read from the runs table at each scrape, the same on every replica and worker process:
 * the last finished run's duration, status and end time (alert when no run finished for two
 * days), whichever replica ran it, a run cut off by a stopped replica included (failed).
 */
export function createDiscoveryMetrics(registry: Registry, db: Db) {
  const perSource = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['source'] as const, registers: [registry] });
  const lines = perSource('app_registry_discovery_lines_read_total', 'Log lines (JSON records) read by discovery runs');
  const sightings = perSource(
    'app_registry_discovery_sightings_total',
    'Sightings (traffic, creates, deploys, app registrations) found by discovery runs',
  );
  const errors = perSource(
    'app_registry_discovery_read_errors_total',
    'Lines or files discovery could not read (corrupt gzip, truncated JSON, unknown format or encoding)',
  );
  const matched = perSource(
    'app_registry_discovery_apps_matched_total',
    'Registered apps seen in a source, counted once per run and source (their last activity moved)',
  );
  const fresh = perSource(
    'app_registry_discovery_new_candidates_total',
    'Candidates a discovery run found for the first time',
  );
  const failed = perSource(
    'app_registry_discovery_source_failures_total',
    'Discovery runs in which a source as a whole could not be read (the other sources still ran)',
  );
  const runs = new Counter({
    name: 'app_registry_discovery_runs_total',
    help: 'Discovery runs finished, by status (succeeded, partial: some lines or sources failed, failed)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const flagged = new Counter({
    name: 'app_registry_discovery_candidates_flagged_total',
    help: 'Candidates still unregistered after DISCOVERY_FLAG_AFTER_HOURS, flagged (with an ownership task) by a discovery run or the lifecycle sweep',
    registers: [registry],
  });
  let lastRun: { at: number; settled: boolean; row: Promise<LastRun | null | undefined> } | null = null;
  /**
   * Read once for the three gauges of a scrape, and kept for LAST_RUN_TTL_MS; a read still
   * running is shared, however slow. Unreadable (undefined): the gauges keep their values.
   */
  const readLastRun = () => {
    if (!lastRun || (lastRun.settled && Date.now() - lastRun.at >= LAST_RUN_TTL_MS)) {
      const read = { at: Date.now(), settled: false, row: newestFinishedRun(db) };
      read.row.finally(() => {
        read.settled = true;
        read.at = Date.now();
      });
      lastRun = read;
    }
    return lastRun.row;
  };
  new Gauge({
    name: 'app_registry_discovery_last_run_duration_seconds',
    help: 'Duration of the last discovery run that finished, whichever replica ran it (0: none yet, a run cut off by a stopped replica, or the database unreadable since start)',
    registers: [registry],
    // Read from the shared table: every worker process reads the same value.
    aggregator: 'first',
    async collect() {
      const run = await readLastRun();
      if (run !== undefined) this.set(run?.durationS ?? 0);
    },
  });
  new Gauge({
    name: 'app_registry_discovery_last_run_status',
    help: 'Status of the last discovery run that finished, whichever replica ran it: 1 for its status, 0 for the others (all 0: none yet; no series: the database unreadable since start)',
    labelNames: ['status'] as const,
    registers: [registry],
    aggregator: 'first',
    async collect() {
      const run = await readLastRun();
      if (run !== undefined) for (const st of RUN_STATUSES) this.set({ status: st }, st === run?.status ? 1 : 0);
    },
  });
  new Gauge({
    name: 'app_registry_discovery_last_run_timestamp_seconds',
    help: 'When the last discovery run that finished ended, whichever replica ran it (Unix time; 0: none yet, or the database unreadable since start)',
    registers: [registry],
    aggregator: 'first',
    async collect() {
      const run = await readLastRun();
      if (run !== undefined) this.set(run ? Date.parse(run.finishedAt) / 1000 : 0);
    },
  });
  for (const st of RUN_STATUSES) runs.inc({ status: st }, 0);
  flagged.inc(0);
  return {
    /** Counts a finished run (its view as GET /apps/v1/discovery/runs/:id shows it). */
    runFinished(run: RunView) {
      for (const s of run.sources) {
        const source = { source: s.source };
        lines.inc(source, s.linesRead);
        sightings.inc(source, s.sightings);
        errors.inc(source, s.errors);
        matched.inc(source, s.appsMatched);
        fresh.inc(source, s.newCandidates);
        if (s.failed !== null) failed.inc(source);
      }
      runs.inc({ status: run.status });
      flagged.inc(run.totals.flagged);
    },
    /** Counts candidates the lifecycle sweep flagged (runs count their own in runFinished). */
    candidatesFlagged(n: number) {
      flagged.inc(n);
    },
  };
}

export type DiscoveryMetrics = ReturnType<typeof createDiscoveryMetrics>;
