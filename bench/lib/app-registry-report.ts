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
  const measuredBoth = r.list.kinds.every((k) => k.service && k.clientOver100ms !== undefined);
  const kinds = table(
    [
      'query kind',
      'GET /apps/v1/apps?…',
      'requests',
      'p50 / p99 / max (ms)',
      'items/page',
      'EXPLAIN ANALYZE (ms)',
      ...(measuredBoth
        ? [
            'over 100 ms: client / service',
            'service CPU (ms/request)',
            'GC (count, ms, ≥ 10 ms; of them full)',
            'event-loop lag max (ms)',
          ]
        : []),
    ],
    r.list.kinds.map((k) => [
      k.latency.p99 > t.appRegistryListP99Ms ? `**${k.kind}**` : k.kind,
      `\`${k.query}\``,
      `${fmtInt(k.requests)}${k.errors ? ` (${k.errors} not 200)` : ''}`,
      `${fmtMs(k.latency.p50)} / ${fmtMs(k.latency.p99)} / ${fmtMs(k.latency.max)}`,
      k.itemsPerPage.toFixed(0),
      fmtMs(k.plan.executionMs),
      ...(measuredBoth && k.service
        ? [
            `${k.clientOver100ms} / ${k.service.over100ms}`,
            k.service.cpuMsPerRequest.toFixed(2),
            `${k.service.gcCount}, ${k.service.gcMs.toFixed(0)}, ${k.service.gcOver10ms}; ${k.service.gcMajorCount ?? '–'}`,
            k.service.eventLoopLagMaxMs.toFixed(0),
          ]
        : []),
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
    ...(measuredBoth ? ['', tailNote(r.list.kinds), memoryNote(r)] : []),
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

/**
 * Where the requests over 100 ms were spent: the client times a request from issue to its last
 * byte, the service from its first middleware to the response's end; a request slow at the
 * client but not in the service waited outside it (the bench's event loop, the sockets, a core).
 */
export function tailNote(kinds: ListKindResult[]): string {
  const client = kinds.reduce((a, k) => a + (k.clientOver100ms ?? 0), 0);
  const service = kinds.reduce((a, k) => a + (k.service?.over100ms ?? 0), 0);
  const requests = kinds.reduce((a, k) => a + k.requests, 0);
  const gcSlow = kinds.reduce((a, k) => a + (k.service?.gcOver10ms ?? 0), 0);
  const lag = Math.max(...kinds.map((k) => k.service?.eventLoopLagMaxMs ?? 0));
  const cpu = kinds.reduce((a, k) => a + (k.service?.cpuMsPerRequest ?? 0) * k.requests, 0) / Math.max(1, requests);
  const where =
    client === 0
      ? 'no request took over 100 ms at the client'
      : service >= client
        ? 'the tail is inside the service (it timed as many requests over 100 ms as the client saw)'
        : service === 0
          ? 'the tail is outside the service: it answered every request within 100 ms, so the slow ones waited in the measuring process, the sockets or for a core'
          : `${client - service} of the ${client} slow requests were slow outside the service, ${service} inside it`;
  return `Over 100 ms, all kinds: **${client}** of ${fmtInt(requests)} requests at the client, **${service}** in the service's own \`http_request_duration_seconds\` (read from /metrics before and after each kind): ${where}. Service CPU ${cpu.toFixed(2)} ms per request on average; ${gcSlow} garbage collections of 10 ms or more; the event loop's longest delay ${lag.toFixed(0)} ms.`;
}

/** app-registry's memory through the list phase (its /metrics): RSS, and how much of it is V8's heap in use. */
function memoryNote(r: AppRegistryResults): string {
  const mb = (b: number) => fmtInt(b / 1e6);
  const start = r.list.serviceMemoryAtStart;
  const end = r.list.kinds[r.list.kinds.length - 1]?.service;
  const peak = Math.max(...r.list.kinds.map((k) => k.service?.rssBytes ?? 0));
  return `app-registry's memory in the list phase: ${start ? `RSS ${mb(start.rssBytes)} MB (V8 heap in use ${mb(start.heapUsedBytes)} MB) before the first kind, ` : ''}${end ? `${mb(end.rssBytes)} MB (heap ${mb(end.heapUsedBytes)} MB) after the last` : ''}; highest RSS after a kind ${mb(peak)} MB.`;
}

export function appRegistryMethod(r: AppRegistryResults | undefined): string[] {
  if (!r) return [];
  return [
    `app-registry: one process (node --import tsx src/main.ts) on its own fresh database, OPA as a server on the repository's policies (test-kit startOpa), the lifecycle cron set to never tick by itself. ${fmtInt(r.apps)} apps are written straight into app_registry.apps with one INSERT … SELECT over generate_series per 50,000 rows (not through the API: that would take hours), with realistic fields (400 teams, 5,000 owners, names, purposes, tags, hosts, repositories, decisions) and every state; then VACUUM ANALYZE, as autovacuum would have by then. Everything measured goes through the service: the list through GET /apps/v1/apps with a viewer token, the sweep through POST /apps/v1/lifecycle/sweep with an admin token and the durable job.`,
    `List: per query kind 5 warm-up requests, then ${r.list.connections} connections in a closed loop (a new request as soon as one is answered) until ${fmtInt(r.list.maxRequestsPerKind)} requests or ${r.list.maxSecondsPerKind} s; each request varies its team, owner, word or cursor; latency from issue to the last byte at the client (fetch, keep-alive). Deep cursors are made from rows 150,000–240,000 of the order, in the API's cursor format. The service's own metrics are read from its /metrics before and after each kind's measured requests: its http_request_duration_seconds for GET /apps/v1/apps answered 200 (buckets at 100 and 250 ms: requests over 100 ms in the service, from its first middleware to the response's end), process_cpu_seconds_total (CPU per request), nodejs_gc_duration_seconds (collections, their pause, those of 10 ms or more) and nodejs_eventloop_lag_max_seconds (the longest event-loop delay since the previous read). After the load, EXPLAIN (ANALYZE, BUFFERS) of one instance of each kind, built with the service's own query functions (src/query.ts) and drizzle's query builder.`,
    "Sweep: the seed makes about 3% of the apps due (active past their tier's idle days, idle past the disable days, disabled past the grace period, archived past the restore window; a few exempt), as after about three days without a sweep or a first sweep after a bulk import; transitions counted in the audit (lifecycle.*). Wall time from the POST to the job seen completed in app_registry_jobs.job (polled every 100 ms), so it includes the job queue's pick-up.",
  ];
}
