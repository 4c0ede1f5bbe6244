import type { AppRegistryResults, CostImportResults, DiscoveryResults } from './app-registry-results.js';
import type { BusResult } from './bus.js';
import type { LoadResult } from './load.js';
import type { ProfileSummary } from './profile.js';
import { type Cores, fmtInt, fmtMs, type Latency } from './stats.js';
import type { StatusMapperResults } from './status-mapper-results.js';

export type { Cores };

export interface IngestRun {
  load: LoadResult;
  /** Events webhook-ingest counted as accepted (its own metric), i.e. published and acknowledged. */
  acceptedEvents: number;
  acceptedPerS: number;
  cores: Cores;
}

export interface E2eRun {
  rate: number;
  /** Whether a sample of incidents was also polled through the API during this pass. */
  polling: boolean;
  sent: number;
  answered2xx: number;
  achievedRate: number;
  /** Latency of the webhook POSTs themselves (202 answers). */
  ingestLatency: Latency;
  sse: Latency & { missing: number };
  api: Latency & { missing: number; pollIntervalMs: number; pollRequests: number };
  cores: Cores;
}

export interface ConsumerRun {
  events: number;
  incidents: number;
  prePublish: BusResult;
  startupS: number;
  appliedAtFirstSample: number;
  steadySeconds: number;
  eventsPerS: number;
  totalSeconds: number;
  overallEventsPerS: number;
  applied: number;
  deadLettered: number;
  cores: Cores;
}

export interface BenchResults {
  httpCeiling: { fixed?: LoadResult & { cores: Cores }; saturation?: LoadResult & { cores: Cores } };
  bus: (BusResult & { cores: Cores })[];
  ingest: { fixedLow?: IngestRun; fixed?: IngestRun; saturation?: IngestRun; poolReuse?: number };
  profile?: { throughput: IngestRun; summary: ProfileSummary };
  e2e: E2eRun[];
  consumer?: ConsumerRun;
  consumerProfile?: { eventsPerS: number; summary: ProfileSummary };
  statusMapper?: StatusMapperResults;
  appRegistry?: AppRegistryResults;
  discovery?: DiscoveryResults;
  costImport?: CostImportResults;
  rssPeakBytes: Record<string, number>;
  /** RSS right after each service answered /health/ready, before any load. */
  rssIdleBytes: Record<string, number>;
  /** Peak RSS per service and measured run. */
  rssByRun: Record<string, Record<string, number>>;
  /** The service's V8 heap and external memory at the end of each run (its own /metrics). */
  heapByRun: Record<string, Record<string, { heapTotal: number; heapUsed: number; external: number }>>;
}

export interface Targets {
  ingestVsHttpCeiling: number;
  ingestEventsPerS: number;
  e2eP99MsAt500: number;
  consumerEventsPerS: number;
  rssBytes: number;
  /** status-mapper, one replica polling its pages at the configured cadence. */
  statusMapperCores: number;
  /** Polls per minute achieved ÷ what the configured interval and jitter ask for. */
  statusMapperCadence: number;
  /** app-registry at 250,000 apps: p99 of the slowest list/filter query kind, ms. */
  appRegistryListP99Ms: number;
  /** app-registry: one lifecycle sweep over 250,000 apps, s. */
  appRegistrySweepS: number;
  /** app-registry: one discovery run over 10 million log lines, s. */
  discoveryRunS: number;
  /** app-registry: peak RSS while it runs discovery (bounded memory), bytes. */
  discoveryRssBytes: number;
  /** app-registry: importing 1 million FOCUS rows, s. */
  costImportS: number;
}

export interface Verdict {
  target: string;
  required: string;
  measured: string;
  met: boolean | null;
  gap: string;
}

const MB = 1e6;
const pct = (v: number) => `${Math.round(v * 100)}%`;

export function atLeast(
  target: string,
  value: number | undefined,
  required: number,
  unit: string,
  show = fmtInt,
): Verdict {
  if (value === undefined || !Number.isFinite(value)) {
    return { target, required: `≥ ${show(required)} ${unit}`, measured: 'not measured', met: null, gap: '–' };
  }
  const met = value >= required;
  return {
    target,
    required: `≥ ${show(required)} ${unit}`,
    measured: `${show(value)} ${unit}`,
    met,
    gap: met
      ? `+${show(value - required)} ${unit} of headroom`
      : `short by ${show(required - value)} ${unit} (${pct(value / required)} of target)`,
  };
}

export function atMost(target: string, value: number | undefined, limit: number, unit: string, show = fmtInt): Verdict {
  if (value === undefined || !Number.isFinite(value)) {
    return { target, required: `≤ ${show(limit)} ${unit}`, measured: 'not measured', met: null, gap: '–' };
  }
  const met = value <= limit;
  return {
    target,
    required: `≤ ${show(limit)} ${unit}`,
    measured: `${show(value)} ${unit}`,
    met,
    gap: met
      ? `${show(limit - value)} ${unit} below the limit`
      : `over by ${show(value - limit)} ${unit} (${pct(value / limit)} of limit)`,
  };
}

export function evaluate(r: BenchResults, t: Targets): Verdict[] {
  const ingest = r.ingest.saturation?.acceptedPerS;
  const http = r.httpCeiling.saturation?.answeredPerS;
  const e2e500 = r.e2e.find((e) => e.rate === 500 && !e.polling);
  const e2e500api = r.e2e.find((e) => e.rate === 500 && e.polling);
  const two = (v: number) => v.toFixed(2);
  const disturbed = (v: Verdict, ...windows: (Cores | undefined)[]): Verdict => {
    const worst = Math.max(0, ...windows.map((c) => c?.other ?? 0));
    return worst > BACKGROUND_LIMIT
      ? { ...v, gap: `${v.gap}; ⚠ measured with ${worst.toFixed(2)} cores busy outside this run` }
      : v;
  };
  const ingestCores = r.ingest.saturation?.cores;
  return [
    disturbed(
      atLeast(
        'ingest ÷ HTTP ceiling (saturation)',
        ingest !== undefined && http ? ingest / http : undefined,
        t.ingestVsHttpCeiling,
        '×',
        two,
      ),
      ingestCores,
      r.httpCeiling.saturation?.cores,
    ),
    disturbed(atLeast('ingest accepted events/s (saturation)', ingest, t.ingestEventsPerS, 'events/s'), ingestCores),
    disturbed(
      atMost('end-to-end p99 at 500/s, live stream', e2e500?.sse.p99, t.e2eP99MsAt500, 'ms', fmtMs),
      e2e500?.cores,
    ),
    disturbed(
      atMost('end-to-end p99 at 500/s, API poll', e2e500api?.api.p99, t.e2eP99MsAt500, 'ms', fmtMs),
      e2e500api?.cores,
    ),
    disturbed(
      atLeast('escalation consumer events/s', r.consumer?.eventsPerS, t.consumerEventsPerS, 'events/s'),
      r.consumer?.cores,
    ),
    atMost('webhook-ingest peak RSS', mb(r.rssPeakBytes['webhook-ingest']), t.rssBytes / MB, 'MB'),
    atMost('escalation peak RSS', mb(r.rssPeakBytes.escalation), t.rssBytes / MB, 'MB'),
  ];
}

const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / MB);
const lat = (l: Latency | undefined) => (l ? `${fmtMs(l.p50)} / ${fmtMs(l.p99)} / ${fmtMs(l.p999)}` : '–');

/** Background load above this (cores busy outside this run's processes) marks a figure as disturbed. */
export const BACKGROUND_LIMIT = 0.25;

const machineNote = (shared: string, c: Cores | undefined) =>
  c?.other !== undefined && c.other > BACKGROUND_LIMIT
    ? `${shared}; ⚠ ${c.other.toFixed(2)} cores busy outside this run`
    : shared;

/** The figures table: one row per measured number, each marked with the shared-cores condition. */
export function figuresTable(
  r: BenchResults,
  shared: string,
  plan: { fixedRate: number; connections: number },
): string {
  const rows: string[][] = [];
  const add = (what: string, result: string, latency: string, c?: Cores) =>
    rows.push([what, result, latency, machineNote(shared, c)]);
  const hc = r.httpCeiling;
  if (hc.fixed)
    add(
      `HTTP ceiling, fixed ${fmtInt(plan.fixedRate)}/s`,
      `${fmtInt(hc.fixed.answeredPerS)} answered/s`,
      lat(hc.fixed.latency),
      hc.fixed.cores,
    );
  if (hc.saturation)
    add(
      `HTTP ceiling, saturation (${plan.connections} connections)`,
      `**${fmtInt(hc.saturation.answeredPerS)} answered/s**`,
      lat(hc.saturation.latency),
      hc.saturation.cores,
    );
  for (const b of r.bus)
    add(`bus ceiling, ${b.batch} messages per request`, `${fmtInt(b.eventsPerS)} events/s`, '–', b.cores);
  const ing = r.ingest;
  if (ing.fixedLow)
    add(
      `webhook-ingest, fixed ${fmtInt(ing.fixedLow.load.offeredRate ?? 0)}/s`,
      `${fmtInt(ing.fixedLow.acceptedPerS)} accepted events/s`,
      lat(ing.fixedLow.load.latency),
      ing.fixedLow.cores,
    );
  if (ing.fixed)
    add(
      `webhook-ingest, fixed ${fmtInt(plan.fixedRate)}/s`,
      `${fmtInt(ing.fixed.acceptedPerS)} accepted events/s`,
      lat(ing.fixed.load.latency),
      ing.fixed.cores,
    );
  if (ing.saturation) {
    add(
      `webhook-ingest, saturation (${plan.connections} connections)`,
      `**${fmtInt(ing.saturation.acceptedPerS)} accepted events/s**`,
      lat(ing.saturation.load.latency),
      ing.saturation.cores,
    );
    const http = hc.saturation?.answeredPerS;
    const bus = r.bus[0];
    if (http)
      add('ingest ÷ HTTP ceiling', `${(ing.saturation.acceptedPerS / http).toFixed(2)}`, '–', ing.saturation.cores);
    if (bus)
      add(
        `ingest ÷ bus ceiling (${bus.batch}/request)`,
        `${(ing.saturation.acceptedPerS / bus.eventsPerS).toFixed(2)}`,
        '–',
        ing.saturation.cores,
      );
  }
  if (r.profile)
    add(
      'webhook-ingest under --cpu-prof (saturation)',
      `${fmtInt(r.profile.throughput.acceptedPerS)} accepted events/s`,
      lat(r.profile.throughput.load.latency),
      r.profile.throughput.cores,
    );
  for (const e of r.e2e) {
    const answered = `${fmtInt(e.achievedRate)}/s answered (POST p99 ${fmtMs(e.ingestLatency.p99)} ms)`;
    if (!e.polling)
      add(
        `end to end at ${fmtInt(e.rate)}/s, live stream (${fmtInt(e.sse.count)} incidents)`,
        `${answered}, ${e.sse.missing} missing`,
        lat(e.sse),
        e.cores,
      );
    else
      add(
        `end to end at ${fmtInt(e.rate)}/s, API poll (${fmtInt(e.api.count)} sampled; ${e.api.pollIntervalMs} ms resolution below 250 ms)`,
        `${answered}, ${fmtInt(e.api.pollRequests)} polls, ${e.api.missing} missing; live stream meanwhile p99 ${fmtMs(e.sse.p99)} ms`,
        lat(e.api),
        e.cores,
      );
  }
  if (r.consumer)
    add(
      `escalation consumer, ${fmtInt(r.consumer.events)} events on ${fmtInt(r.consumer.incidents)} incidents`,
      `**${fmtInt(r.consumer.eventsPerS)} events/s** (start-up ${r.consumer.startupS} s, ${fmtInt(r.consumer.overallEventsPerS)}/s with it)`,
      '–',
      r.consumer.cores,
    );
  for (const [label, bytes] of Object.entries(r.rssPeakBytes)) {
    const idle = r.rssIdleBytes[label];
    const runs = Object.entries(r.rssByRun[label] ?? {})
      .map(([run, b]) => `${run} ${fmtInt(b / MB)}`)
      .join(', ');
    add(
      `peak RSS, ${label}`,
      `${fmtInt(bytes / MB)} MB${idle ? `; idle after start ${fmtInt(idle / MB)} MB` : ''}${runs ? `; by run (MB): ${runs}` : ''}`,
      '–',
    );
  }
  return table(['measurement', 'result', 'latency p50 / p99 / p99.9 (ms)', 'machine'], rows);
}

export function targetsTable(verdicts: Verdict[]): string {
  return table(
    ['target', 'required', 'measured', 'verdict', 'gap'],
    verdicts.map((v) => [
      v.target,
      v.required,
      v.measured,
      v.met === null ? 'not measured' : v.met ? 'met' : '**missed**',
      v.gap,
    ]),
  );
}

export function coresTable(r: BenchResults, cores: number): string {
  const rows: [string, Cores | undefined][] = [
    ['HTTP ceiling, saturation', r.httpCeiling.saturation?.cores],
    ...r.bus.map((b): [string, Cores] => [`bus ceiling, ${b.batch}/request`, b.cores]),
    [`webhook-ingest, fixed ${r.ingest.fixedLow?.load.offeredRate ?? ''}/s`, r.ingest.fixedLow?.cores],
    [`webhook-ingest, fixed ${r.ingest.fixed?.load.offeredRate ?? ''}/s`, r.ingest.fixed?.cores],
    ['webhook-ingest, saturation', r.ingest.saturation?.cores],
    ...r.e2e.map((e): [string, Cores] => [
      `end to end, ${e.rate}/s, ${e.polling ? 'API poll' : 'live stream'}`,
      e.cores,
    ]),
    ['escalation consumer', r.consumer?.cores],
  ];
  const labels = ['bench', 'http-ceiling', 'webhook-ingest', 'escalation', 'postgres', 'kafka', 'other', 'machine'];
  const show = (c: Cores | undefined, k: string) => {
    if (!c || c[k] === undefined) return '–';
    const sys = c[`${k}.sys`];
    return sys !== undefined && sys >= 0.01 ? `${c[k]!.toFixed(2)} (${sys.toFixed(2)} kernel)` : c[k]!.toFixed(2);
  };
  return table(
    [
      'run',
      'load generator (bench)',
      'HTTP ceiling',
      'webhook-ingest',
      'escalation',
      'PostgreSQL',
      'Kafka',
      'other',
      `machine busy (of ${cores})`,
    ],
    rows.filter(([, c]) => c).map(([name, c]) => [name, ...labels.map((k) => show(c, k))]),
  );
}

export function profileTables(p: ProfileSummary, window = 'the load window'): string {
  const fn = table(
    ['self time', 'share of busy', 'function'],
    p.topFunctions.map((f) => [`${fmtInt(f.ms)} ms`, `${f.share.toFixed(1)}%`, `\`${f.name}\``]),
  );
  const origin = table(
    ['self time', 'share of busy', 'where'],
    p.byOrigin.map((f) => [`${fmtInt(f.ms)} ms`, `${f.share.toFixed(1)}%`, f.name]),
  );
  const inclusive = table(
    ['on the stack', 'share of busy', 'workspace function'],
    p.inclusiveApp.map((f) => [`${fmtInt(f.ms)} ms`, `${f.share.toFixed(1)}%`, `\`${f.name}\``]),
  );
  const components = table(
    ['time', 'share of busy', 'component (innermost library or workspace code on the stack)'],
    p.byComponent.map((f) => [`${fmtInt(f.ms)} ms`, `${f.share.toFixed(1)}%`, f.name]),
  );
  const scope = p.windowed ? `inside ${window}` : 'over the whole process life (start-up included)';
  return [
    `Main thread busy ${fmtInt(p.busyMs)} ms of ${fmtInt(p.wallMs)} ms sampled ${scope}; shares are of the busy time.`,
    '',
    'Where the busy time went, by component:',
    '',
    components,
    '',
    'Top self time by function (TypeScript files show no line: tsx puts them on very few lines):',
    '',
    fn,
    '',
    'Self time by origin:',
    '',
    origin,
    '',
    'Workspace functions by time on the stack (their own work plus the synchronous calls they make):',
    '',
    inclusive,
  ].join('\n');
}

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Peak RSS next to what V8 reports at the end of the same run: how much of the RSS is JS heap. */
export function memoryTable(r: BenchResults): string {
  const rows: string[][] = [];
  for (const [label, runs] of Object.entries(r.rssByRun)) {
    for (const [run, peak] of Object.entries(runs)) {
      const heap = r.heapByRun[label]?.[run];
      const mbOrDash = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? fmtInt(v / MB) : '–');
      rows.push([
        label,
        run,
        fmtInt(peak / MB),
        mbOrDash(heap?.heapTotal),
        mbOrDash(heap?.heapUsed),
        mbOrDash(heap?.external),
      ]);
    }
  }
  return table(
    ['service', 'run', 'peak RSS (MB)', 'V8 heap total at end (MB)', 'heap used at end (MB)', 'external (MB)'],
    rows,
  );
}
