/**
 * escalation's consumer alone: the incident events are pre-published to a fresh topic, then
 * escalation starts on an empty database and the rows it applies are counted until all are
 * there. Once more under --cpu-prof to show where its time goes (the figures are unprofiled).
 */
import { topicName } from '@micro-oncall/incident-model';
import { createDatabase, createLogger, ensureTopics } from '@micro-oncall/service-kit';
import { createTestDatabase, REPO_ROOT, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { produceFlat } from '../lib/bus.js';
import { type BenchContext, type Kafka, running, type Scenario } from '../lib/context.js';
import { cpuWindow, fmtCores, heapMetrics, metricSum, rssDuring, steady, waitForQuiet } from '../lib/measure.js';
import { mainThreadProfile, type ProfileSummary, summariseCpuProfile } from '../lib/profile.js';
import type { ConsumerRun } from '../lib/report.js';
import { startServiceChild } from '../lib/services.js';
import { statementWindow } from '../lib/statements.js';
import { statementsConsole } from '../lib/statements-report.js';
import { fmtInt } from '../lib/stats.js';

/**
 * One consumer measurement: the events are pre-published to a fresh topic, then escalation
 * starts on an empty database; every 250 ms the replicas' own count of applied events
 * (`incident_events_applied_total` on /metrics) is read, and once it reaches the total the rows
 * in escalation.incident_events are counted until all are there. (Counting the rows every 250 ms
 * was ~19 % of PostgreSQL's statement time in the run, a load of the bench's own.)
 */
export async function consumerRun(
  ctx: BenchContext,
  opts: { profile?: boolean; replicas?: number; runName?: string } = {},
): Promise<ConsumerRun & { profile?: ProfileSummary; partitions: number }> {
  const replicas = opts.replicas ?? 1;
  const { kafka } = running(ctx);
  const messages = ctx.consumerMessages;
  const timeoutS = ctx.settings.consumerTimeoutS;
  const profileDir = ctx.dirs.profile;
  const namespace = uniqueNamespace('bench-consumer');
  const topic = topicName('incident-events', namespace);
  await ensureTopics(kafka, [topic, `${topic}.dlq`]);
  const partitions = await partitionCount(kafka, topic);
  if (partitions < replicas)
    throw new Error(`${topic} has ${partitions} partitions: too few for ${replicas} consumers`);
  const prePublish = await produceFlat({
    kafka,
    topic,
    messages,
    batch: 1000,
    limit: messages.length,
    progress: say.info,
    label: 'pre-publishing',
  });
  say.info(`pre-published ${fmtInt(prePublish.events)} events in ${prePublish.seconds} s`);
  const dbUrl = await createTestDatabase(ctx.postgresServerUrl, 'bench_consumer');
  const probe = createDatabase({
    url: dbUrl,
    schema: {},
    max: 1,
    logger: createLogger({ service: 'bench', level: 'error' }),
    applicationName: 'bench-probe',
  });
  try {
    const count = async () => {
      try {
        const r = await probe.pool.query<{ n: number }>('select count(*)::int as n from escalation.incident_events');
        return r.rows[0]?.n ?? 0;
      } catch {
        return 0; // not migrated yet
      }
    };
    const total = messages.length;
    /** Events the replicas report applied (a redelivered one counts again): 0 until they listen. */
    const reported = async (replicas: { url: string }[]) => {
      let sum = 0;
      for (const { url } of replicas) sum += await metricSum(url, 'incident_events_applied_total').catch(() => 0);
      return sum;
    };
    await waitForQuiet(ctx, 'the consumer run');
    const t0 = performance.now();
    // Not waited for: their start-up (migrations, group join) is part of what is measured. Two
    // replicas share the consumer group (the same service and namespace), so the partitions.
    const started = [];
    for (let i = 0; i < replicas; i += 1) {
      started.push(
        await startServiceChild(ctx, {
          service: 'escalation',
          name: `${opts.profile ? 'escalation-consumer-profiled' : 'escalation-consumer'}${i > 0 ? `-${i + 1}` : ''}`,
          namespace,
          env: { DATABASE_URL: dbUrl },
          nodeArgs: opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
          ...(opts.profile || i > 0 ? {} : { watch: 'escalation' }),
          waitReady: false,
        }),
      );
    }
    const { child: escalation, url } = started[0]!;
    let result: ConsumerRun | undefined;
    let profiled: ProfileSummary | undefined;
    let window: { fromUs: number; toUs: number } | undefined;
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    try {
      // Every database of the server: only this run's escalation and the probe's count use it meanwhile.
      const statements = await statementWindow(ctx.databaseUrl);
      const cpu = cpuWindow(
        ctx,
        Object.fromEntries(started.map((s, i) => [i === 0 ? 'escalation' : `escalation-${i + 1}`, s.child])),
      );
      let first: { at: number; n: number } | undefined;
      let last = 0;
      let nextReport = t0 + 5000;
      const deadline = t0 + timeoutS * 1000;
      let doneAt: number | undefined;
      while (performance.now() < deadline) {
        for (const { child } of started)
          if (!child.isAlive()) throw new Error(`${child.name} exited; see ${child.log}`);
        // The rows confirm the end: the metric counts a redelivered event again.
        let n = await reported(started);
        if (n >= total) n = await count();
        const now = performance.now();
        if (n > 0 && !first) {
          first = { at: now, n };
          window = { fromUs: nowUs(), toUs: 0 };
        }
        last = n;
        if (n >= total) {
          doneAt = now;
          if (window) window.toUs = nowUs();
          break;
        }
        if (now >= nextReport) {
          say.info(`consumer: ${Math.round((now - t0) / 1000)} s, ${fmtInt(n)} of ${fmtInt(total)} events applied`);
          nextReport += 5000;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      const cores = cpu();
      const statementStats = await statements();
      const end = doneAt ?? performance.now();
      if (!doneAt) say.fail(`only ${fmtInt(last)} of ${fmtInt(total)} events applied within ${timeoutS} s`);
      let deadLettered = 0;
      for (const s of started)
        deadLettered += await metricSum(s.url, 'incident_events_dead_lettered_total').catch(() => Number.NaN);
      const incidents = await probe.pool
        .query<{ n: number }>('select count(*)::int as n from escalation.incidents')
        .then((r) => r.rows[0]?.n ?? 0)
        .catch(() => 0);
      const steadySeconds = first ? (end - first.at) / 1000 : Number.NaN;
      const heap = await heapMetrics(url);
      if (!opts.profile) {
        ctx.results.heapByRun.escalation ??= {};
        ctx.results.heapByRun.escalation[opts.runName ?? 'consumer'] = heap;
      }
      result = {
        events: total,
        incidents,
        prePublish,
        startupS: first ? Math.round((first.at - t0) / 10) / 100 : Number.NaN,
        appliedAtFirstSample: first?.n ?? 0,
        steadySeconds: Math.round(steadySeconds * 100) / 100,
        eventsPerS: first && steadySeconds > 0 ? Math.round((last - first.n) / steadySeconds) : 0,
        totalSeconds: Math.round((end - t0) / 10) / 100,
        overallEventsPerS: Math.round(last / ((end - t0) / 1000)),
        applied: last,
        deadLettered,
        cores,
        statements: statementStats,
      };
    } finally {
      for (const s of started.slice(1)) await s.child.stop();
      const code = await escalation.stop();
      if (!opts.profile) ctx.sampler.unwatch('escalation');
      else if (code === 0 && window) {
        const file = mainThreadProfile(profileDir, escalation.pid);
        if (file) profiled = summariseCpuProfile(file, REPO_ROOT, window.toUs ? window : undefined);
      }
    }
    return { ...result!, partitions, ...(profiled ? { profile: profiled } : {}) };
  } finally {
    await probe.stop();
  }
}

/** Partitions of `topic`, from the broker's metadata. */
async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}

/** The consumer measurement on a quiet machine, with the peak RSS recorded under `runName`. */
export function measureConsumer(ctx: BenchContext, runName: string, replicas = 1) {
  return steady(ctx, `the consumer run (${runName})`, () =>
    rssDuring(ctx, 'escalation', runName, null, () => consumerRun(ctx, { replicas, runName })),
  );
}

export const consumer: Scenario = {
  title: (ctx) => `escalation consumer alone: ${fmtInt(ctx.consumerMessages.length)} pre-published events ${ctx.tag}`,
  async run(ctx) {
    const { results, tag } = ctx;
    const { partitions: _, ...measured } = await measureConsumer(ctx, 'consumer');
    results.consumer = measured;
    say.info(
      `applied ${fmtInt(measured.applied)} events onto ${fmtInt(measured.incidents)} incidents: ${fmtInt(measured.eventsPerS)} events/s once consuming ${tag} (start-up ${measured.startupS} s, ${fmtInt(measured.overallEventsPerS)}/s including it)`,
    );
    say.info(`cores used: ${fmtCores(ctx, measured.cores)}`);
    for (const line of statementsConsole(measured.statements)) say.info(line);
    // Once more under --cpu-prof, to show where escalation's time goes (figures above are unprofiled).
    const profiled = await consumerRun(ctx, { profile: true });
    if (profiled.profile) {
      results.consumerProfile = { eventsPerS: profiled.eventsPerS, summary: profiled.profile };
      say.info(
        `under the profiler: ${fmtInt(profiled.eventsPerS)} events/s ${tag}; main thread busy ${fmtInt(profiled.profile.busyMs)} of ${fmtInt(profiled.profile.wallMs)} ms`,
      );
      for (const c of profiled.profile.byComponent.slice(0, 6))
        say.info(`  ${c.share.toFixed(1).padStart(5)}%  ${c.name}`);
    }
  },
};
