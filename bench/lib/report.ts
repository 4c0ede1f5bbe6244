import type { AppRegistryResults, CostImportResults, DiscoveryResults } from './app-registry-results.js';
import type { BusResult } from './bus.js';
import type { KafkaClientsResults } from './kafka-clients-results.js';
import { droppedText, generatorLagText, type LoadResult } from './load.js';
import { type OpenIncidentsResults, slowerList } from './open-incidents-report.js';
import type { ProfileSummary } from './profile.js';
import type { LoadRefusals } from './service-metrics.js';
import type { StatementStats } from './statements.js';
import { type Cores, fmtInt, fmtMs, type Latency } from './stats.js';
import type { StatusMapperResults } from './status-mapper-results.js';
import type { TimelineSecond } from './timeline.js';

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
  /** The webhook POSTs' 202 answers by second of due time: a stall at the start against a queue that builds up. */
  webhookBySecond: TimelineSecond[];
  cores: Cores;
  /** PostgreSQL's time by statement over the pass. */
  statements: StatementStats;
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
  /** PostgreSQL's time by statement, from escalation's start until every event was applied. */
  statements: StatementStats;
}

/** webhook-ingest driven above its capacity (open loop), and the accepted events looked up on the topic. */
export interface OverloadRun {
  load: LoadResult;
  /** What ran: `webhook-ingest` (one process) or the pod of worker processes. */
  label: string;
  /** The saturation figure the offered rate was derived from (accepted events/s), if measured. */
  capacityPerS: number | null;
  inFlightBudget: number;
  /** Share of answered requests that were 503. */
  share503: number;
  /** Who answered the 503s for load during the run, from the service's /metrics (see readLoadRefusals). */
  refusedBy?: LoadRefusals;
  /** 503 answers carrying Retry-After ÷ all 503 answers. */
  retryAfterShare: number;
  /** Answer time of the 503s and of the 202s, ms from the intended send time. */
  latency503: Latency | null;
  latency202: Latency | null;
  /** Events of webhooks answered 202, and how many of them were found on the topic within the time allowed. */
  accepted: number;
  foundOnTopic: number;
  lost: number;
  cores: Cores;
}

/** The same measurement with 1 and with 2 replicas (processes) of the service. */
export interface ReplicaRuns {
  /** `workers`: one replica run as two worker processes (WORKER_PROCESSES=2). */
  ingest?: { one?: IngestRun; two?: IngestRun; workers?: IngestRun };
  consumer?: { one?: ConsumerRun; two?: ConsumerRun; partitions: number };
}

/** Figures measured again with PostgreSQL durable (fsync, synchronous_commit, full_page_writes on). */
export interface DurableRuns {
  postgres: Record<string, string>;
  ingest: { fixed?: IngestRun; saturation?: IngestRun };
  consumer?: ConsumerRun;
}

export interface BenchResults {
  httpCeiling: { fixed?: LoadResult & { cores: Cores }; saturation?: LoadResult & { cores: Cores } };
  bus: (BusResult & { cores: Cores })[];
  ingest: { fixedLow?: IngestRun; fixed?: IngestRun; saturation?: IngestRun; poolReuse?: number };
  profile?: { throughput: IngestRun; summary: ProfileSummary };
  e2e: E2eRun[];
  consumer?: ConsumerRun;
  overload?: OverloadRun;
  /** The same, one replica of two worker processes whose primary refuses what no worker can take. */
  overloadWorkers?: OverloadRun;
  replicas?: ReplicaRuns;
  durable?: DurableRuns;
  /** Seconds from spawning a service process to its first 200 from /health/ready, every start. */
  readyS: Record<string, number[]>;
  consumerProfile?: { eventsPerS: number; summary: ProfileSummary };
  statusMapper?: StatusMapperResults;
  appRegistry?: AppRegistryResults;
  discovery?: DiscoveryResults;
  costImport?: CostImportResults;
  /** Acknowledge and incident list with 100,000 open incidents (--quick: 10,000). */
  openIncidents?: OpenIncidentsResults;
  /** kafkajs against @platformatic/kafka in one harness (issue 15). */
  kafkaClients?: KafkaClientsResults;
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
  /** webhook-ingest at the plan's fixed rate (2,000/s): p99 of the 202 answers, ms. */
  ingestFixedP99Ms: number;
  /** Above capacity: p99 answer time of the 503 refusals, and of the 202s admitted meanwhile, ms. */
  overload503P99Ms: number;
  overload202P99Ms: number;
  e2eP99MsAt500: number;
  e2eP99MsAt2000: number;
  consumerEventsPerS: number;
  /** Consumer events/s ÷ the bus ceiling (1,000 messages per request). */
  consumerVsBusCeiling: number;
  rssBytes: number;
  /** Median seconds from spawning a service to its first ready answer. */
  readyS: number;
  /** With 100,000 open incidents: acknowledge of one incident p99, and the incident list p99, ms. */
  acknowledgeP99Ms: number;
  incidentListP99Ms: number;
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

/**
 * `cores`: the machine's, to tell a run that saturated it (an overload run whose generator then
 * competed with the pod for the last core).
 */
export function evaluate(r: BenchResults, t: Targets, cores: number): Verdict[] {
  const ingest = r.ingest.saturation?.acceptedPerS;
  const http = r.httpCeiling.saturation?.answeredPerS;
  const busCeiling = r.bus.find((b) => b.batch === 1000) ?? r.bus[0];
  const e2e = (rate: number, polling: boolean) => r.e2e.find((e) => e.rate === rate && e.polling === polling);
  const two = (v: number) => v.toFixed(2);
  const disturbed = (v: Verdict, ...windows: (Cores | undefined)[]): Verdict => {
    const worst = Math.max(0, ...windows.map((c) => c?.other ?? 0));
    return worst > BACKGROUND_LIMIT
      ? { ...v, gap: `${v.gap}; ⚠ measured with ${worst.toFixed(2)} cores busy outside this run` }
      : v;
  };
  const ingestCores = r.ingest.saturation?.cores;
  const fixed = r.ingest.fixed;
  const o = r.overload;
  const e2eVerdicts = [500, 2000].flatMap((rate) => {
    const limit = rate === 500 ? t.e2eP99MsAt500 : t.e2eP99MsAt2000;
    const stream = e2e(rate, false);
    const poll = e2e(rate, true);
    return [
      disturbed(
        atMost(`end-to-end p99 at ${fmtInt(rate)}/s, live stream`, stream?.sse.p99, limit, 'ms', fmtMs),
        stream?.cores,
      ),
      disturbed(
        atMost(`end-to-end p99 at ${fmtInt(rate)}/s, API poll`, poll?.api.p99, limit, 'ms', fmtMs),
        poll?.cores,
      ),
    ];
  });
  const consumer = r.consumer?.eventsPerS;
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
      atMost(
        `ingest p99 at a fixed ${fmtInt(fixed?.load.offeredRate ?? 2000)}/s`,
        fixed?.load.latency.p99,
        t.ingestFixedP99Ms,
        'ms',
        fmtMs,
      ),
      fixed?.cores,
    ),
    ...overloadVerdicts(o, t, 'overload, 1 process', cores),
    ...overloadVerdicts(r.overloadWorkers, t, 'overload, 1 replica of 2 worker processes', cores),
    ...e2eVerdicts,
    disturbed(atLeast('escalation consumer events/s', consumer, t.consumerEventsPerS, 'events/s'), r.consumer?.cores),
    disturbed(
      atLeast(
        `escalation consumer ÷ bus ceiling (${fmtInt(busCeiling?.batch ?? 1000)}/request)`,
        consumer !== undefined && busCeiling ? consumer / busCeiling.eventsPerS : undefined,
        t.consumerVsBusCeiling,
        '×',
        two,
      ),
      r.consumer?.cores,
      busCeiling?.cores,
    ),
    atMost('webhook-ingest peak RSS', mb(r.rssPeakBytes['webhook-ingest']), t.rssBytes / MB, 'MB'),
    atMost('escalation peak RSS', mb(r.rssPeakBytes.escalation), t.rssBytes / MB, 'MB'),
    readyVerdict('webhook-ingest', r.readyS['webhook-ingest'], t.readyS),
    readyVerdict('escalation', r.readyS.escalation, t.readyS),
    // With 100,000 open incidents (--quick: 10,000; the verdict names the size measured).
    disturbed(
      atMost(
        `acknowledge p99 with ${fmtInt(r.openIncidents?.incidents ?? 100_000)} open incidents`,
        r.openIncidents?.acknowledge.latency.p99,
        t.acknowledgeP99Ms,
        'ms',
        fmtMs,
      ),
      r.openIncidents?.acknowledge.cores,
    ),
    disturbed(
      atMost(
        `incident list p99 with ${fmtInt(r.openIncidents?.incidents ?? 100_000)} open incidents${r.openIncidents ? ` (slower page: ${slowerList(r.openIncidents)?.request})` : ''}`,
        slowerList(r.openIncidents)?.latency.p99,
        t.incidentListP99Ms,
        'ms',
        fmtMs,
      ),
      slowerList(r.openIncidents)?.cores,
    ),
  ];
}

/** A machine this busy (share of its cores) had no core left: what ran on it waited for one. */
export const SATURATED_SHARE = 0.95;

/**
 * Why an overload run's answer times are not the pod's alone, or '' when nothing says so: the
 * machine saturated by the run itself, the open-loop generator included (its CPU and lateness
 * named, since every answer time counts from the due time).
 */
export function saturationNote(o: OverloadRun, cores: number): string {
  const busy = o.cores.machine;
  if (busy === undefined || busy < SATURATED_SHARE * cores) return '';
  const generator = o.cores.bench !== undefined ? `; the load generator itself used ${o.cores.bench.toFixed(2)}` : '';
  const late = o.load.generator ? ` and issued requests p99 ${fmtMs(o.load.generator.issuedLateMs.p99)} ms late` : '';
  return `⚠ the machine was saturated (${busy.toFixed(2)} of ${cores} cores busy${generator}${late}): these answer times are the shared machine's as much as the pod's`;
}

/** Who answered an overload run's 503s for load: the worker primary, or the replica's own code. */
export function refusedByText(r: LoadRefusals): string {
  const primary = r.primary === null ? '' : `${fmtInt(r.primary)} by the worker primary (never reached a worker), `;
  return `503s for load: ${primary}${fmtInt(r.replica)} by the service's own code`;
}

/** An overload run's cores with its pod (watched under its own label) in webhook-ingest's column. */
function podCores(o: OverloadRun | undefined): Cores | undefined {
  if (!o) return undefined;
  const renamed = (k: string) => (k === o.label ? 'webhook-ingest' : k === `${o.label}.sys` ? 'webhook-ingest.sys' : k);
  return Object.fromEntries(Object.entries(o.cores).map(([k, v]) => [renamed(k), v]));
}

/** Above capacity: refused with 503 + Retry-After, answered in bounded time, nothing accepted lost. */
export function overloadVerdicts(o: OverloadRun | undefined, t: Targets, what: string, cores: number): Verdict[] {
  const where = o ? ` (offered ${fmtInt(o.load.offeredRate ?? 0)}/s)` : '';
  const saturated = o ? saturationNote(o, cores) : '';
  const answerTime = (v: Verdict): Verdict =>
    saturated && v.met !== null ? { ...v, gap: `${v.gap}; ${saturated}` } : v;
  const verdicts = [
    atLeast(`${what}${where}: share answered 503`, o?.share503, 0.01, 'of answers', pct),
    atLeast(
      `${what}: 503s with Retry-After`,
      o?.load.status['503'] ? o.retryAfterShare : undefined,
      1,
      'of the 503s',
      pct,
    ),
    answerTime(atMost(`${what}: p99 answer time of the 503s`, o?.latency503?.p99, t.overload503P99Ms, 'ms', fmtMs)),
    answerTime(atMost(`${what}: p99 answer time of the 202s`, o?.latency202?.p99, t.overload202P99Ms, 'ms', fmtMs)),
    atMost(`${what}: events answered 202 missing from the topic`, o?.lost, 0, 'events'),
  ];
  return verdicts.map((v) =>
    o && o.cores.other !== undefined && o.cores.other > BACKGROUND_LIMIT
      ? { ...v, gap: `${v.gap}; ⚠ measured with ${o.cores.other.toFixed(2)} cores busy outside this run` }
      : v,
  );
}

function readyVerdict(service: string, starts: number[] | undefined, limit: number): Verdict {
  const sorted = [...(starts ?? [])].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
  const v = atMost(`${service} ready after start (median)`, median, limit, 's', (x) => x.toFixed(2));
  return sorted.length
    ? {
        ...v,
        measured: `${v.measured} (${sorted.length} starts, ${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)} s)`,
      }
    : v;
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
  cores: number,
): string {
  const rows: string[][] = [];
  const add = (what: string, result: string, latency: string, c?: Cores, note = '') =>
    rows.push([what, result, latency, note ? `${machineNote(shared, c)}; ${note}` : machineNote(shared, c)]);
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
  for (const o of [r.overload, r.overloadWorkers]) {
    if (!o) continue;
    const codes = Object.entries(o.load.status)
      .map(([code, n]) => `${code}×${fmtInt(n)}`)
      .join(' ');
    add(
      `${o.label === 'webhook-ingest' ? 'webhook-ingest' : `webhook-ingest as 1 replica of ${o.label.replace('webhook-ingest, ', '')}`} above capacity: open loop at ${fmtInt(o.load.offeredRate ?? 0)}/s for ${o.load.durationS} s (in-flight budget ${o.inFlightBudget})`,
      `${pct(o.share503)} answered 503 (${pct(o.retryAfterShare)} of them with Retry-After; 503 p50/p99 ${fmtMs(o.latency503?.p50 ?? Number.NaN)} / ${fmtMs(o.latency503?.p99 ?? Number.NaN)} ms); ${codes}; ${o.load.errors} unanswered${o.refusedBy ? `; ${refusedByText(o.refusedBy)}` : ''}${o.load.dropped ? `; ${droppedText(o.load)}` : ''}; ${fmtInt(o.foundOnTopic)} of ${fmtInt(o.accepted)} accepted events on the topic, **${fmtInt(o.lost)} lost**${o.load.generator ? `; ${generatorLagText(o.load.generator)}` : ''}`,
      `202s: ${lat(o.latency202 ?? undefined)}`,
      o.cores,
      saturationNote(o, cores),
    );
  }
  const rep = r.replicas;
  for (const [n, run] of [
    [1, rep?.ingest?.one],
    [2, rep?.ingest?.two],
  ] as const) {
    if (run)
      add(
        `webhook-ingest, ${n} replica${n > 1 ? 's' : ''} at saturation (${run.load.connections} connections${n > 1 ? ' spread over both' : ''})`,
        `**${fmtInt(run.acceptedPerS)} accepted events/s**`,
        lat(run.load.latency),
        run.cores,
      );
  }
  if (rep?.ingest?.workers)
    add(
      `webhook-ingest, 1 replica of 2 worker processes at saturation (${rep.ingest.workers.load.connections} connections, handed out by its primary)`,
      `**${fmtInt(rep.ingest.workers.acceptedPerS)} accepted events/s**`,
      lat(rep.ingest.workers.load.latency),
      rep.ingest.workers.cores,
    );
  for (const [n, run] of [
    [1, rep?.consumer?.one],
    [2, rep?.consumer?.two],
  ] as const) {
    if (run)
      add(
        `escalation consumer, ${n} replica${n > 1 ? 's in one group' : ''} (${rep?.consumer?.partitions} partitions, ${fmtInt(run.events)} events)`,
        `**${fmtInt(run.eventsPerS)} events/s** (start-up ${run.startupS} s)`,
        '–',
        run.cores,
      );
  }
  const d = r.durable;
  if (d) {
    const mode = `durable PostgreSQL (fsync=${d.postgres.fsync}, synchronous_commit=${d.postgres.synchronous_commit})`;
    if (d.ingest.fixed)
      add(
        `webhook-ingest, fixed ${fmtInt(d.ingest.fixed.load.offeredRate ?? 0)}/s, ${mode}`,
        `${fmtInt(d.ingest.fixed.acceptedPerS)} accepted events/s`,
        lat(d.ingest.fixed.load.latency),
        d.ingest.fixed.cores,
      );
    if (d.ingest.saturation)
      add(
        `webhook-ingest, saturation, ${mode}`,
        `**${fmtInt(d.ingest.saturation.acceptedPerS)} accepted events/s** (durability off: ${fmtInt(r.ingest.saturation?.acceptedPerS ?? Number.NaN)})`,
        lat(d.ingest.saturation.load.latency),
        d.ingest.saturation.cores,
      );
    if (d.consumer)
      add(
        `escalation consumer, ${mode}`,
        `**${fmtInt(d.consumer.eventsPerS)} events/s** (durability off: ${fmtInt(r.consumer?.eventsPerS ?? Number.NaN)})`,
        '–',
        d.consumer.cores,
      );
  }
  for (const [service, starts] of Object.entries(r.readyS)) {
    if (starts.length) add(`${service} ready after start`, starts.map((v) => `${v.toFixed(2)} s`).join(', '), '–');
  }
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
    ['webhook-ingest above capacity', r.overload?.cores],
    ['webhook-ingest, 2 worker processes, above capacity', podCores(r.overloadWorkers)],
    ['webhook-ingest, 2 replicas, saturation', r.replicas?.ingest?.two?.cores],
    ['webhook-ingest, 2 worker processes, saturation', r.replicas?.ingest?.workers?.cores],
    ['escalation consumer, 2 replicas', r.replicas?.consumer?.two?.cores],
    ['webhook-ingest, saturation, durable PostgreSQL', r.durable?.ingest.saturation?.cores],
    ['escalation consumer, durable PostgreSQL', r.durable?.consumer?.cores],
  ];
  const labels = ['bench', 'http-ceiling', 'webhook-ingest', 'escalation', 'postgres', 'kafka', 'other', 'machine'];
  // A second replica is measured as `<label>-2`: its share is added to the service's column.
  const show = (c: Cores | undefined, k: string) => {
    if (!c || c[k] === undefined) return '–';
    const used = c[k]! + (c[`${k}-2`] ?? 0);
    const sys = (c[`${k}.sys`] ?? 0) + (c[`${k}-2.sys`] ?? 0);
    const both = c[`${k}-2`] !== undefined ? ' (2 replicas)' : '';
    return sys >= 0.01 ? `${used.toFixed(2)} (${sys.toFixed(2)} kernel)${both}` : `${used.toFixed(2)}${both}`;
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
