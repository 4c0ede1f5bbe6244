/**
 * status-mapper polling many Statuspage pages: one replica against 500 fake pages (realistic
 * sizes; ETag/304 or not; some slow; a few failing) at 60 s + jitter, measured over whole
 * minutes once every page has been polled (cores, polls per minute against the configured
 * cadence, poll durations, events only on change, memory); then two replicas started together
 * on one fresh database (every page due at once), where no page may be polled twice within one
 * interval (the poll job's FOR UPDATE SKIP LOCKED claims). Polls are counted and timed at the
 * fakes; durations come from status-mapper's own histogram.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { topicName } from '@micro-oncall/incident-model';
import { createTestDatabase, REPO_ROOT, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { type BenchContext, type Kafka, noteIdleRss, running, type Scenario } from '../lib/context.js';
import { cpuWindow, fmtCores, heapMetrics, metricSum, rssDuring, waitForQuiet } from '../lib/measure.js';
import { cpuSnapshot, type NodeChild, waitHttpOk } from '../lib/procs.js';
import { mainThreadProfile, summariseCpuProfile } from '../lib/profile.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { fmtInt, summarise } from '../lib/stats.js';
import type { StatusMapperResults } from '../lib/status-mapper-results.js';
import { FAILING, type FarmPage, type StatuspageFarm, startStatuspageFarm } from '../lib/statuspage-farm.js';

/** Components changed at the fakes when the measured window starts (each must give one event). */
const FLIPS = 20;
/** A poll less than this before the interval ends counts as polling the page twice (arrivals are sampled every 100 ms). */
const DOUBLE_POLL_SLACK_S = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of the metrics whose name starts with `prefix`, from a service's /metrics. */
async function series(url: string, prefix: string): Promise<Series[]> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

/** status-mapper's own view of its polls: outcomes, duration histogram, events written. */
interface PollMetrics {
  outcomes: Record<string, number>;
  /** Cumulative bucket counts by upper bound (seconds), summed over outcomes. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
  changes: number;
}

async function pollMetrics(url: string): Promise<PollMetrics> {
  const all = [...(await series(url, 'statuspage_poll')), ...(await series(url, 'provider_status_changes_total'))];
  const m: PollMetrics = { outcomes: {}, buckets: new Map(), sum: 0, count: 0, changes: 0 };
  for (const s of all) {
    if (s.name === 'statuspage_polls_total') m.outcomes[s.labels.outcome ?? '?'] = s.value;
    else if (s.name === 'statuspage_poll_duration_seconds_bucket') {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      m.buckets.set(le, (m.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === 'statuspage_poll_duration_seconds_sum') m.sum += s.value;
    else if (s.name === 'statuspage_poll_duration_seconds_count') m.count += s.value;
    else if (s.name === 'provider_status_changes_total') m.changes += s.value;
  }
  return m;
}

/** Like PromQL histogram_quantile over the difference of two snapshots: linear within a bucket. */
function quantile(before: PollMetrics, after: PollMetrics, q: number): number {
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((le) => (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0));
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i += 1) {
    const le = bounds[i]!;
    const count = cumulative[i]!;
    if (count >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** Messages on a topic (sum of the partitions' high watermarks); NaN when it cannot be read. */
async function topicMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  } catch {
    return Number.NaN;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Waits (bounded) until the outbox relay has put every written event on the topic. */
async function publishedAll(kafka: Kafka, topic: string, written: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = await topicMessages(kafka, topic);
  while (!(seen >= written) && Date.now() < deadline) {
    await sleep(500);
    seen = await topicMessages(kafka, topic);
  }
  return seen;
}

/**
 * Polls of one page that came less than (interval − slack) after its previous poll, for polls
 * in [from, to); the previous poll may be earlier. Also the shortest such time between polls.
 */
function doublePolls(
  farm: StatuspageFarm,
  intervalS: number,
  from: number,
  to: number,
  /** Whether a poll before `from` counts as the previous one (false: another database polled it). */
  withEarlier = true,
): { count: number; examples: string[]; minGapS: number; polls: number; pages: number } {
  farm.sample();
  const limitMs = (intervalS - DOUBLE_POLL_SLACK_S) * 1000;
  let count = 0;
  let minGap = Number.POSITIVE_INFINITY;
  let polls = 0;
  let pages = 0;
  const examples: string[] = [];
  for (const page of farm.pages) {
    const at = page.arrivals;
    let polled = false;
    for (let i = 0; i < at.length; i += 1) {
      if (at[i]! < from || at[i]! >= to) continue;
      polls += 1;
      polled = true;
      if (i === 0 || (!withEarlier && at[i - 1]! < from)) continue;
      const gap = at[i]! - at[i - 1]!;
      minGap = Math.min(minGap, gap);
      if (gap < limitMs) {
        count += 1;
        if (examples.length < 5) examples.push(`${page.id} polled again after ${(gap / 1000).toFixed(1)} s`);
      }
    }
    if (polled) pages += 1;
  }
  return { count, examples, minGapS: minGap / 1000, polls, pages };
}

/** Seconds between consecutive polls of the answering pages, for polls in [from, to). */
function gapsOfHealthyPages(pages: FarmPage[], from: number, to: number) {
  const gaps: number[] = [];
  for (const page of pages) {
    if (FAILING.includes(page.behaviour)) continue;
    const at = page.arrivals;
    for (let i = 1; i < at.length; i += 1) if (at[i]! >= from && at[i]! < to) gaps.push((at[i]! - at[i - 1]!) / 1000);
  }
  const s = summarise(gaps);
  return { p50: s.p50, p90: s.p90, max: s.max, count: s.count };
}

/** CPU seconds a process (and its children) had used at a moment (Date.now()). */
interface CpuSample {
  at: number;
  cpuS: number;
}

const cpuNow = (child: NodeChild): CpuSample => ({
  at: Date.now(),
  cpuS: cpuSnapshot({ p: { pid: child.pid, tree: true } }).byLabel.p?.total ?? Number.NaN,
});

/**
 * Sleeps `ms` in steps of a second, failing early when a process died or the run is stopping;
 * reports progress. Returns the CPU used by `sampled` at each step.
 */
async function hold(
  ctx: BenchContext,
  ms: number,
  children: ServiceChild[],
  progress: (elapsedS: number) => string,
  sampled?: NodeChild,
): Promise<CpuSample[]> {
  const start = Date.now();
  const samples = sampled ? [cpuNow(sampled)] : [];
  let nextReport = start + 30_000;
  while (Date.now() - start < ms) {
    if (ctx.shuttingDown) throw new Error('the run is stopping');
    for (const { child } of children) if (!child.isAlive()) throw new Error(`${child.name} exited; see ${child.log}`);
    await sleep(Math.min(1000, ms - (Date.now() - start)));
    if (sampled) samples.push(cpuNow(sampled));
    if (Date.now() >= nextReport) {
      say.info(progress(Math.round((Date.now() - start) / 1000)));
      nextReport += 30_000;
    }
  }
  return samples;
}

/**
 * The process's cores while it polled nothing: over the seconds of the window with no request
 * arriving at any page from 5 s before to 1 s after (slow pages take up to 4 s to answer).
 */
function idleCores(samples: CpuSample[], farm: StatuspageFarm): { cores: number; seconds: number } {
  farm.sample();
  const arrivals = farm.pages.flatMap((p) => p.arrivals).sort((a, b) => a - b);
  const busy = (from: number, to: number) => {
    let lo = 0;
    let hi = arrivals.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (arrivals[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo < arrivals.length && arrivals[lo]! <= to;
  };
  let cpuS = 0;
  let wallS = 0;
  for (let i = 1; i < samples.length; i += 1) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (busy(a.at - 5000, b.at + 1000)) continue;
    cpuS += b.cpuS - a.cpuS;
    wallS += (b.at - a.at) / 1000;
  }
  return { cores: wallS > 0 ? cpuS / wallS : Number.NaN, seconds: wallS };
}

export const statusMapperPolling: Scenario = {
  title: (ctx) =>
    `status-mapper: ${fmtInt(ctx.settings.statusPages)} Statuspage pages every ${ctx.settings.statusIntervalS} s, one replica for ${ctx.plan.statusMinutes} min, then two replicas ${ctx.tag}`,
  async run(ctx) {
    const { kafka } = running(ctx);
    const { statusPages, statusIntervalS: intervalS, statusJitterS: jitterS } = ctx.settings;
    const { statusMinutes, statusReplicasS } = ctx.plan;
    const t = Date.now();
    const farm = await startStatuspageFarm({ count: statusPages });
    const behaviours: Record<string, number> = {};
    for (const p of farm.pages) behaviours[p.behaviour] = (behaviours[p.behaviour] ?? 0) + 1;
    const sizes = farm.pages.map((p) => p.bodyBytes).sort((a, b) => a - b);
    say.info(
      `${fmtInt(statusPages)} fake pages up in ${((Date.now() - t) / 1000).toFixed(1)} s (${Object.entries(behaviours)
        .map(([k, v]) => `${v} ${k}`)
        .join(
          ', ',
        )}); summary.json median ${fmtInt(sizes[sizes.length >> 1]! / 1000)} KB, largest ${fmtInt(sizes[sizes.length - 1]! / 1000)} KB`,
    );
    const started: ServiceChild[] = [];
    try {
      const sources = join(ctx.dirs.work, 'status-sources.yml');
      writeFileSync(sources, farm.sourcesYaml(intervalS, jitterS));
      const namespace = uniqueNamespace('bench-status');
      const topic = topicName('provider-status', namespace);
      const databaseUrl = await createTestDatabase(ctx.postgresServerUrl, 'bench_status');
      const launch = (name: string, nodeArgs: string[] = [], database = databaseUrl) =>
        startServiceChild(ctx, {
          service: 'status-mapper',
          name,
          namespace,
          env: { DATABASE_URL: database },
          files: { 'status-sources': sources },
          nodeArgs,
          waitReady: false,
        });

      // --- One replica: start-up and the first round (every page once), then whole minutes.
      await waitForQuiet(ctx, 'status-mapper polling');
      const spawnedAt = Date.now();
      const one = await launch('status-mapper');
      started.push(one);
      ctx.sampler.watch('status-mapper', one.child.pid);
      const startCpu = cpuWindow(ctx, { 'status-mapper': one.child });
      await waitHttpOk(`${one.url}/health/ready`, one.child);
      noteIdleRss(ctx, 'status-mapper', one.child);
      const firstDeadline = Date.now() + 300_000;
      for (;;) {
        const polled = await metricSum(one.url, 'statuspage_polls_total');
        if (polled >= statusPages) break;
        if (Date.now() > firstDeadline)
          throw new Error(`only ${polled} of ${statusPages} pages polled 300 s after start; see ${one.child.log}`);
        if (!one.child.isAlive()) throw new Error(`status-mapper exited; see ${one.child.log}`);
        await sleep(250);
      }
      const firstRoundS = (Date.now() - spawnedAt) / 1000;
      const firstCpuS = (startCpu()['status-mapper'] ?? Number.NaN) * firstRoundS;
      say.info(
        `start-up and first round of ${fmtInt(statusPages)} polls: ${firstRoundS.toFixed(1)} s, ${firstCpuS.toFixed(1)} CPU s`,
      );
      await publishedAll(kafka, topic, (await pollMetrics(one.url)).changes);

      const windowMs = statusMinutes * 60_000;
      const runName = `polling ${statusPages} pages`;
      const single = await rssDuring(ctx, 'status-mapper', runName, null, async () => {
        const before = await pollMetrics(one.url);
        const topicBefore = await topicMessages(kafka, topic);
        const flips = farm.flip(FLIPS);
        const from = Date.now();
        const cpu = cpuWindow(ctx, { 'status-mapper': one.child });
        const samples = await hold(
          ctx,
          windowMs,
          [one],
          (s) => `one replica: ${s} s of ${windowMs / 1000}, ${fmtInt(farm.requestsBetween(from, Date.now()))} polls`,
          one.child,
        );
        const cores = cpu();
        const to = Date.now();
        const after = await pollMetrics(one.url);
        const topicAfter = await publishedAll(kafka, topic, after.changes);
        const flipsObservable = flips.filter((f) => farm.observed(f)).length;
        return { before, after, flips, flipsObservable, from, to, cores, topicBefore, topicAfter, samples };
      });
      const { before, after, from, to, cores, samples } = single;
      ctx.results.heapByRun['status-mapper'] ??= {};
      ctx.results.heapByRun['status-mapper'][runName] = await heapMetrics(one.url);
      const seconds = (to - from) / 1000;
      const polls = farm.requestsBetween(from, to);
      const pollsPerMin = (polls * 60) / seconds;
      const healthy = farm.pages.filter((p) => !FAILING.includes(p.behaviour)).length;
      const expectedPerMin = (healthy * 60) / (intervalS + jitterS / 2);
      const smCores = cores['status-mapper'] ?? Number.NaN;
      // Cores at the issue's cadence (every page once a minute): the idle part as measured, plus
      // the CPU of one poll (the rest of the window's CPU, per poll) times pages per minute.
      const idle = idleCores(samples, farm);
      const idleKnown = idle.seconds >= 10;
      const cpuMsPerPoll = ((smCores - (idleKnown ? idle.cores : 0)) * seconds * 1000) / polls;
      const coresAtCadence = idleKnown
        ? idle.cores + (cpuMsPerPoll / 1000) * (statusPages / 60)
        : smCores * Math.max(1, statusPages / pollsPerMin);
      const outcomes: Record<string, number> = {};
      for (const [k, v] of Object.entries(after.outcomes)) outcomes[k] = v - (before.outcomes[k] ?? 0);
      const durationCount = after.count - before.count;
      const singleDouble = doublePolls(farm, intervalS, spawnedAt, to);
      await one.child.stop();
      ctx.sampler.unwatch('status-mapper');
      say.info(
        `one replica: ${fmtInt(pollsPerMin)} polls/min of ${fmtInt(statusPages)} pages (configured cadence ${fmtInt(expectedPerMin)}/min); cores used: ${fmtCores(ctx, cores)}`,
      );

      // --- Two replicas on one fresh database, so that all pages are due at once and both
      // replicas' start-up polls race for them: no page may be polled twice within one interval.
      // The first runs under --cpu-prof, to show where status-mapper's time goes (this phase
      // judges correctness, not cores).
      const pairDatabaseUrl = await createTestDatabase(ctx.postgresServerUrl, 'bench_status');
      const replicasFrom = Date.now();
      const pair = await Promise.all([
        launch('status-mapper-a', ['--cpu-prof', `--cpu-prof-dir=${ctx.dirs.profile}`], pairDatabaseUrl),
        launch('status-mapper-b', [], pairDatabaseUrl),
      ]);
      started.push(...pair);
      const pairCpu = cpuWindow(ctx, { 'status-mapper-a': pair[0].child, 'status-mapper-b': pair[1].child });
      await Promise.all(pair.map((r) => waitHttpOk(`${r.url}/health/ready`, r.child)));
      const nowUs = () => Number(process.hrtime.bigint() / 1000n);
      const profileFromUs = nowUs();
      await hold(
        ctx,
        statusReplicasS * 1000 - (Date.now() - replicasFrom),
        pair,
        (s) => `two replicas: ${s} s, ${fmtInt(farm.requestsBetween(replicasFrom, Date.now()))} polls`,
      );
      const pairCores = pairCpu();
      const replicasTo = Date.now();
      const pollsByReplica = await Promise.all(pair.map((r) => metricSum(r.url, 'statuspage_polls_total')));
      const replicaDouble = doublePolls(farm, intervalS, replicasFrom, replicasTo, false);
      const profileToUs = nowUs();
      const [profiledExit] = await Promise.all(pair.map((r) => r.child.stop()));
      const profileFile = profiledExit === 0 ? mainThreadProfile(ctx.dirs.profile, pair[0].child.pid) : undefined;
      const profile = profileFile
        ? summariseCpuProfile(profileFile, REPO_ROOT, { fromUs: profileFromUs, toUs: profileToUs })
        : undefined;

      const result: StatusMapperResults = {
        pages: statusPages,
        intervalS,
        jitterS,
        behaviours,
        bodyBytes: {
          median: sizes[sizes.length >> 1]!,
          max: sizes[sizes.length - 1]!,
          total: sizes.reduce((a, b) => a + b, 0),
        },
        firstRound: { seconds: firstRoundS, cpuSeconds: firstCpuS },
        single: {
          seconds,
          polls,
          pollsPerMin,
          expectedPerMin,
          gapS: gapsOfHealthyPages(farm.pages, from, to),
          outcomes,
          durationMs: {
            p50: quantile(before, after, 0.5) * 1000,
            p99: quantile(before, after, 0.99) * 1000,
            mean: durationCount > 0 ? ((after.sum - before.sum) / durationCount) * 1000 : Number.NaN,
            count: durationCount,
          },
          eventsWritten: after.changes - before.changes,
          eventsPublished: single.topicAfter - single.topicBefore,
          flips: single.flips.length,
          flipsObservable: single.flipsObservable,
          cores,
          idleCores: idleKnown ? idle.cores : Number.NaN,
          idleSeconds: idle.seconds,
          coresAtCadence,
          cpuMsPerPoll,
          rssPeakBytes: ctx.results.rssByRun['status-mapper']?.[runName] ?? Number.NaN,
          doublePolls: singleDouble.count,
        },
        replicas: {
          processes: pair.length,
          seconds: (replicasTo - replicasFrom) / 1000,
          polls: replicaDouble.polls,
          pagesPolled: replicaDouble.pages,
          pollsByReplica,
          doublePolls: replicaDouble.count,
          examples: replicaDouble.examples,
          minGapS: replicaDouble.minGapS,
          cores: pairCores,
          ...(profile ? { profile } : {}),
        },
      };
      ctx.results.statusMapper = result;
      const s = result.single;
      say.info(
        `one replica: status-mapper ${smCores.toFixed(3)} cores (${s.coresAtCadence.toFixed(3)} at ${fmtInt(statusPages)} polls/min; idle ${s.idleCores.toFixed(3)} over ${Math.round(s.idleSeconds)} s), ${s.cpuMsPerPoll.toFixed(1)} ms CPU per poll ${ctx.tag}; poll p50 ${s.durationMs.p50.toFixed(1)} ms, p99 ${s.durationMs.p99.toFixed(0)} ms; ${s.eventsWritten} events written, ${s.eventsPublished} published, for ${s.flipsObservable} of ${s.flips} changes answered since; time between polls p50 ${s.gapS.p50.toFixed(0)} s`,
      );
      say.info(
        `two replicas: ${fmtInt(result.replicas.polls)} polls of ${fmtInt(result.replicas.pagesPolled)} pages (by replica ${pollsByReplica.map(fmtInt).join(' / ')}), ${result.replicas.doublePolls} polled twice within one interval (one replica alone: ${s.doublePolls}); cores used: ${fmtCores(ctx, pairCores)}`,
      );
    } finally {
      await Promise.allSettled(started.map((s) => s.child.stop()));
      await farm.stop();
    }
  },
};
