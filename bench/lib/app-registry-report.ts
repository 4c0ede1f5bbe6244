/**
 * The app-registry scale figures in the run's report: what the scenario measured
 * (bench/scenarios/app-registry-scale.ts), its verdicts against TARGETS, its section of the
 * Markdown report and its lines of the method.
 */

import type { AppRegistryResults, ListKindResult } from './app-registry-results.js';
import { atMost, BACKGROUND_LIMIT, type Cores, type Targets, table, type Verdict } from './report.js';
import { fmtInt, fmtMs } from './stats.js';

const disturbed = (v: Verdict, c: Cores | undefined): Verdict =>
  (c?.other ?? 0) > BACKGROUND_LIMIT
    ? { ...v, gap: `${v.gap}; ⚠ measured with ${c!.other!.toFixed(2)} cores busy outside this run` }
    : v;

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** The slowest query kind by p99. */
function worst(r: AppRegistryResults): ListKindResult | undefined {
  return [...r.list.kinds].sort((a, b) => b.latency.p99 - a.latency.p99)[0];
}

export function appRegistryVerdicts(r: AppRegistryResults | undefined, t: Targets): Verdict[] {
  const apps = fmtInt(r?.apps ?? 250_000);
  const w = r ? worst(r) : undefined;
  const over = r ? r.list.kinds.filter((k) => k.latency.p99 > t.appRegistryListP99Ms).map((k) => k.kind) : [];
  const list = atMost(
    `app-registry list and filter p99 at ${apps} apps (worst query kind${w ? `: ${w.kind}` : ''})`,
    w?.latency.p99,
    t.appRegistryListP99Ms,
    'ms',
    fmtMs,
  );
  const sweep = atMost(
    `app-registry lifecycle sweep over ${apps} apps${r ? ` (${fmtInt(total(r.sweep.transitions))} transitions)` : ''}`,
    r?.sweep.seconds,
    t.appRegistrySweepS,
    's',
    (v) => v.toFixed(1),
  );
  return [
    disturbed(
      over.length > 1 ? { ...list, gap: `${list.gap}; over the limit: ${over.join(', ')}` } : list,
      r?.list.cores,
    ),
    disturbed(sweep, r?.sweep.cores),
  ];
}

/** The report's section: per query kind, the sweep, and the plans of what missed. */
export function appRegistrySection(r: AppRegistryResults | undefined, shared: string, t: Targets): string[] {
  if (!r) return [];
  const note = (c: Cores) =>
    (c.other ?? 0) > BACKGROUND_LIMIT ? `${shared}; ⚠ ${c.other!.toFixed(2)} cores busy outside this run` : shared;
  const cores = (c: Cores) =>
    ['app-registry', 'postgres', 'kafka', 'opa', 'bench', 'other', 'machine']
      .filter((k) => c[k] !== undefined)
      .map((k) => `${k} ${c[k]!.toFixed(2)}`)
      .join(', ');
  const kinds = table(
    ['query kind', 'GET /apps/v1/apps?…', 'requests', 'p50 / p99 / max (ms)', 'items/page', 'EXPLAIN ANALYZE (ms)'],
    r.list.kinds.map((k) => [
      k.latency.p99 > t.appRegistryListP99Ms ? `**${k.kind}**` : k.kind,
      `\`${k.query}\``,
      `${fmtInt(k.requests)}${k.errors ? ` (${k.errors} not 200)` : ''}`,
      `${fmtMs(k.latency.p50)} / ${fmtMs(k.latency.p99)} / ${fmtMs(k.latency.max)}`,
      k.itemsPerPage.toFixed(0),
      fmtMs(k.plan.executionMs),
    ]),
  );
  const s = r.sweep;
  const slow = r.list.kinds.filter((k) => k.latency.p99 > t.appRegistryListP99Ms);
  return [
    '',
    `## app-registry at ${fmtInt(r.apps)} apps`,
    '',
    `Seeded in ${r.seed.seconds.toFixed(1)} s (bulk INSERT … SELECT generate_series, then VACUUM ANALYZE ${r.seed.analyzeSeconds.toFixed(1)} s); by state: ${Object.entries(
      r.byState,
    )
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ')}.`,
    '',
    `List and filter: ${r.list.connections} connections in a closed loop, per query kind up to ${fmtInt(r.list.maxRequestsPerKind)} requests or ${r.list.maxSecondsPerKind} s, limit 50; cores: ${cores(r.list.cores)} (${note(r.list.cores)}).`,
    '',
    kinds,
    '',
    `Lifecycle sweep (POST /apps/v1/lifecycle/sweep → job completed): **${s.seconds.toFixed(1)} s** (the job itself ${s.jobSeconds.toFixed(1)} s), ${fmtInt(total(s.transitions))} transitions (${Object.entries(
      s.transitions,
    )
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ')}; due before it: ${Object.entries(s.due)
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ')}), held apps ${s.heldBefore} → ${s.heldAfter}; cores: ${cores(s.cores)} (${note(s.cores)}).`,
    `Again at once (nothing due): ${s.again.seconds.toFixed(1)} s (job ${s.again.jobSeconds.toFixed(1)} s), ${s.again.transitions} transitions. Peak RSS of app-registry ${fmtInt(r.rssPeakBytes / 1e6)} MB${r.rssPeakByPhase ? ` (list ${fmtInt(r.rssPeakByPhase.list / 1e6)} MB, sweep ${fmtInt(r.rssPeakByPhase.sweep / 1e6)} MB)` : ''}.`,
    ...slow.flatMap((k) => [
      '',
      `Plan of \`${k.kind}\` (p99 ${fmtMs(k.latency.p99)} ms):`,
      '',
      '```',
      k.plan.text,
      '```',
    ]),
  ];
}

export function appRegistryMethod(r: AppRegistryResults | undefined): string[] {
  if (!r) return [];
  return [
    `app-registry: one process (node --import tsx src/main.ts) on its own fresh database, OPA as a server on the repository's policies (test-kit startOpa), the lifecycle cron set to never tick by itself. ${fmtInt(r.apps)} apps are written straight into app_registry.apps with one INSERT … SELECT over generate_series per 50,000 rows (not through the API: that would take hours), with realistic fields (400 teams, 5,000 owners, names, purposes, tags, hosts, repositories, decisions) and every state; then VACUUM ANALYZE, as autovacuum would have by then. Everything measured goes through the service: the list through GET /apps/v1/apps with a viewer token, the sweep through POST /apps/v1/lifecycle/sweep with an admin token and the durable job.`,
    `List: per query kind 5 warm-up requests, then ${r.list.connections} connections in a closed loop (a new request as soon as one is answered) until ${fmtInt(r.list.maxRequestsPerKind)} requests or ${r.list.maxSecondsPerKind} s; each request varies its team, owner, word or cursor; latency from issue to the last byte at the client (fetch, keep-alive). Deep cursors are made from rows 150,000–240,000 of the order, in the API's cursor format. After the load, EXPLAIN (ANALYZE, BUFFERS) of one instance of each kind, built with the service's own query functions (src/query.ts) and drizzle's query builder.`,
    "Sweep: the seed makes about 3% of the apps due (active past their tier's idle days, idle past the disable days, disabled past the grace period, archived past the restore window; a few exempt), as after about three days without a sweep or a first sweep after a bulk import; transitions counted in the audit (lifecycle.*). Wall time from the POST to the job seen completed in app_registry_jobs.job (polled every 100 ms), so it includes the job queue's pick-up.",
  ];
}
