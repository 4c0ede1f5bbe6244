/**
 * The app-registry discovery and cost-import figures in the run's report
 * (bench/scenarios/app-registry-discovery.ts and app-registry-cost.ts): verdicts against TARGETS,
 * the Markdown section and the lines of the method.
 */
import type { CostImportResults, DiscoveryResults } from './app-registry-results.js';
import { atMost, BACKGROUND_LIMIT, type Cores, type Targets, type Verdict } from './report.js';
import { fmtInt } from './stats.js';

const disturbed = (v: Verdict, c: Cores | undefined): Verdict =>
  (c?.other ?? 0) > BACKGROUND_LIMIT
    ? { ...v, gap: `${v.gap}; ⚠ measured with ${c!.other!.toFixed(2)} cores busy outside this run` }
    : v;

const lines = (d: DiscoveryResults) => Object.values(d.generated.lines).reduce((a, b) => a + b, 0);
const mb = (bytes: number) => fmtInt(bytes / 1e6);
const coresOf = (c: Cores) =>
  ['app-registry', 'postgres', 'bench', 'other', 'machine']
    .filter((k) => c[k] !== undefined)
    .map((k) => `${k} ${c[k]!.toFixed(2)}`)
    .join(', ');

/**
 * CPU seconds app-registry spent in the measured window (cores × wall time), and what that makes
 * per second of one core: on a machine this contended, the figure that says most about the code.
 */
function perCore(units: number, seconds: number, cores: Cores): { cpuS: number; perCoreS: number } {
  const cpuS = (cores['app-registry'] ?? Number.NaN) * seconds;
  return { cpuS, perCoreS: units / cpuS };
}

export function appRegistryDataVerdicts(
  d: DiscoveryResults | undefined,
  c: CostImportResults | undefined,
  t: Targets,
): Verdict[] {
  const out: Verdict[] = [];
  if (d) {
    const n = lines(d);
    // The target is for 10 million lines; a quick run's million is scaled to it (linearly).
    const scaled = (d.seconds * 10_000_000) / n;
    const time = atMost(
      `app-registry discovery run, 10,000,000 log lines${n === 10_000_000 ? '' : ` (extrapolated from ${fmtInt(n)})`}`,
      scaled,
      t.discoveryRunS,
      's',
      (v) => v.toFixed(0),
    );
    out.push(disturbed(time, d.cores));
    out.push(
      atMost(
        `app-registry peak RSS during the discovery run (${fmtInt(n)} lines)`,
        d.rssPeakBytes / 1e6,
        t.discoveryRssBytes / 1e6,
        'MB',
      ),
    );
  }
  if (c) {
    const scaled = (c.seconds * 1_000_000) / c.generated.rows;
    out.push(
      disturbed(
        atMost(
          `app-registry cost import, 1,000,000 FOCUS rows${c.generated.rows === 1_000_000 ? '' : ` (extrapolated from ${fmtInt(c.generated.rows)})`}`,
          scaled,
          t.costImportS,
          's',
          (v) => v.toFixed(1),
        ),
        c.cores,
      ),
    );
  }
  return out;
}

export function appRegistryDataSection(
  d: DiscoveryResults | undefined,
  c: CostImportResults | undefined,
  shared: string,
): string[] {
  const out: string[] = [];
  const note = (x: Cores) =>
    (x.other ?? 0) > BACKGROUND_LIMIT ? `${shared}; ⚠ ${x.other!.toFixed(2)} cores busy outside this run` : shared;
  if (d) {
    out.push(
      '',
      `## app-registry discovery over ${fmtInt(lines(d))} log lines`,
      '',
      `Input: ${Object.entries(d.generated.lines)
        .map(([k, v]) => `${k} ${fmtInt(v)}`)
        .join(
          ', ',
        )} lines (CloudTrail: records) in ${d.generated.files} gzipped files, ${mb(d.generated.bytes)} MB (generated in ${d.generated.seconds.toFixed(1)} s, not measured); ${fmtInt(d.registeredApps)} registered apps.`,
      '',
      `Run (POST /apps/v1/discovery/runs → finished): **${d.seconds.toFixed(1)} s, ${fmtInt(d.linesPerS)} lines/s** (the run's own start → finish ${d.runSeconds.toFixed(1)} s), status ${d.status}; ${fmtInt(d.totals.linesRead)} lines read, ${fmtInt(d.totals.sightings)} sightings, ${fmtInt(d.totals.appsMatched)} apps matched, ${fmtInt(d.totals.newCandidates)} new candidates, ${fmtInt(d.totals.errors)} errors. app-registry used ${perCore(d.totals.linesRead, d.seconds, d.cores).cpuS.toFixed(0)} CPU seconds: **${fmtInt(perCore(d.totals.linesRead, d.seconds, d.cores).perCoreS)} lines per CPU second** (10 million lines would take ${fmtInt(10_000_000 / perCore(d.totals.linesRead, d.seconds, d.cores).perCoreS)} s on one free core). Peak RSS of app-registry **${mb(d.rssPeakBytes)} MB** (${mb(d.rssIdleBytes)} MB after start); cores: ${coresOf(d.cores)} (${note(d.cores)}).`,
      '',
      ...d.sources.map(
        (s) =>
          `- ${s.source}: ${s.files} files, ${fmtInt(s.linesRead)} lines, ${fmtInt(s.sightings)} sightings, ${fmtInt(s.errors)} errors`,
      ),
    );
  }
  if (c) {
    out.push(
      '',
      `## app-registry cost import of ${fmtInt(c.generated.rows)} FOCUS rows`,
      '',
      `Input: one month (${c.generated.days} days) of FOCUS 1.2, ${mb(c.generated.bytes)} MB CSV (generated in ${c.generated.seconds.toFixed(1)} s, not measured); ${fmtInt(c.registeredApps)} registered apps.`,
      '',
      `Import (POST /apps/v1/cost/imports, first byte → 201): **${c.seconds.toFixed(1)} s, ${fmtInt(c.rowsPerS)} rows/s**; ${fmtInt(c.result.dailyRows)} daily rows written, total ${c.result.total} (untagged ${c.result.untagged}; lines by tag ${fmtInt(c.result.attributed.byTag ?? 0)}, by resource ${fmtInt(c.result.attributed.byResource ?? 0)}, untagged ${fmtInt(c.result.attributed.untagged ?? 0)}). app-registry used ${perCore(c.generated.rows, c.seconds, c.cores).cpuS.toFixed(1)} CPU seconds: **${fmtInt(perCore(c.generated.rows, c.seconds, c.cores).perCoreS)} rows per CPU second** (1 million rows would take ${fmtInt(1_000_000 / perCore(c.generated.rows, c.seconds, c.cores).perCoreS)} s on one free core). Peak RSS of app-registry **${mb(c.rssPeakBytes)} MB** (${mb(c.rssIdleBytes)} MB after start); cores: ${coresOf(c.cores)} (${note(c.cores)}).`,
    );
  }
  return out;
}

export function appRegistryDataMethod(d: DiscoveryResults | undefined, c: CostImportResults | undefined): string[] {
  const out: string[] = [];
  if (d) {
    out.push(
      `app-registry discovery: one app-registry process (node --import tsx src/main.ts) on a fresh database, DISCOVERY_DIR on a temporary folder (removed afterwards), crons set never to tick; ${fmtInt(d.registeredApps)} apps seeded into the table as in the scale scenario, 300 of them receive traffic. The input is generated before measuring with a seeded PRNG (bench/lib/app-registry-data.ts): NGINX combined with "$host" appended and Envoy default-format access logs, rotated files of 500,000 lines, gzip level 1, traffic Zipf-distributed over the registered hosts (s = 1.1) with 5% to 40 unregistered hosts, times over the last 24 hours; CloudTrail S3 log files ({"Records": [...]}, 5,000 records each, gzipped) with 97% read-only calls and 3% creates and deploys (Lambda deploys of registered functions, Lambda functions and S3 buckets nobody registered). The run is started with POST /apps/v1/discovery/runs (admin) and followed with GET /apps/v1/discovery/runs/:id every 250 ms; lines/s = lines read ÷ the wall time from the POST to the run seen finished. Peak RSS: VmRSS of the app-registry process sampled every 250 ms during the run. The 10-minute target is for 10 million lines; a run over fewer lines is scaled to 10 million linearly (marked).`,
    );
  }
  if (c) {
    out.push(
      `app-registry cost import: one app-registry process on a fresh database; ${fmtInt(c.registeredApps)} apps seeded into the table. A FOCUS 1.2 CSV of ${fmtInt(c.generated.rows)} rows over one month is generated before measuring (the service's focusFile row builder, seeded PRNG; 60% of the rows for resources of registered apps, by Lambda ARN or an app-id tag, the rest untagged; 8 accounts, 5 services) into a temporary file, then streamed from disk as the body of POST /apps/v1/cost/imports (text/csv, responder token); time from the first byte sent to the 201, whose total is checked against the file's. The 60-second target is for 1 million rows; fewer rows are scaled linearly (marked).`,
    );
  }
  return out;
}
