/**
 * webhook-ingest above its capacity: an open-loop load at twice the rate it sustains (its
 * saturation figure from this run, or a short saturation probe) for a bounded time, every request
 * on a socket of its own. Beyond WEBHOOK_MAX_IN_FLIGHT webhooks in flight it must refuse at once
 * with 503 and Retry-After rather than queue, so both the refusals and the webhooks it admits are
 * answered in bounded time; and every event of a webhook answered 202 must be on the Kafka topic
 * afterwards. Measured twice: one process (whose new connections wait in the kernel's accept
 * queue, out of its sight), and one replica of two worker processes, whose primary accepts and
 * refuses what no worker would take in time (WORKER_MAX_WAIT_MS).
 */
import { topicName } from '@micro-oncall/incident-model';
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { type BenchContext, running, type Scenario } from '../lib/context.js';
import { generatorLagText, runFixedRate, runSaturation } from '../lib/load.js';
import { cpuWindow, describeLoad, fmtCores, rssDuring, settle, WEBHOOK_PATH, waitForQuiet } from '../lib/measure.js';
import type { SignedWebhook } from '../lib/payloads.js';
import { type OverloadRun, refusedByText } from '../lib/report.js';
import { type LoadRefusals, readLoadRefusals } from '../lib/service-metrics.js';
import { fmtInt, fmtLatency } from '../lib/stats.js';
import { startIngest } from './ingest.js';

/** webhook-ingest's default in-flight budget per replica, set explicitly so the report names what was measured. */
const IN_FLIGHT_BUDGET = 256;
/** webhook-ingest's default bound on how far its event loop may fall behind on its work (ms). */
const LOOP_DELAY_LIMIT_MS = 500;
/** webhook-ingest's default event-loop utilisation at which a saturated replica sheds a share of webhooks. */
const SHED_AT_UTILISATION = 0.95;
/** Most requests (and sockets) the generator has open at once in the overload run. */
const OPEN_SOCKETS = 4096;
/** How far above the sustained rate the load goes. */
const OVERLOAD_FACTOR = 2;
/** How long the saturation probe runs when this run measured no saturation figure to double (s). */
const PROBE_S = 5;
/** How long to look for the accepted events on the topic before counting the missing ones as lost. */
const TOPIC_TIMEOUT_MS = 60_000;

/** The CloudEvent id webhook-ingest gives the event of a PagerDuty webhook (`pagerduty:<event.id>`). */
function eventIdOf(webhook: SignedWebhook): string {
  const id = (JSON.parse(webhook.body.toString('utf8')) as { event?: { id?: unknown } }).event?.id;
  if (typeof id !== 'string') throw new Error('a bench webhook has no event.id');
  return `pagerduty:${id}`;
}

/**
 * Reads `topic` from the beginning with a fresh consumer group until every id in `expected` was
 * seen or the time is up; returns how many of them were found.
 */
async function findOnTopic(ctx: BenchContext, topic: string, expected: Set<string>): Promise<number> {
  const { kafka } = running(ctx);
  const missing = new Set(expected);
  const consumer = kafka.consumer({ groupId: `bench-overload-check-${ctx.runTag}-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          if (!message.value) continue;
          const id = (JSON.parse(message.value.toString('utf8')) as { id?: string }).id;
          if (id) missing.delete(id);
        }
        if (missing.size === 0) resolveDone();
      },
    });
    if (missing.size > 0) {
      await Promise.race([done, new Promise((r) => setTimeout(r, TOPIC_TIMEOUT_MS))]);
    }
  } finally {
    await consumer.disconnect();
  }
  return expected.size - missing.size;
}

/**
 * The refusal counters from the service's /metrics (three tries a second apart), or undefined
 * with a warning: who refused is a detail of the report, not worth the run.
 */
async function refusals(url: string, when: string): Promise<LoadRefusals | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await readLoadRefusals(url);
    } catch (error) {
      if (attempt >= 3) {
        say.fail(`could not read the refusal counters ${when} the overload run: ${(error as Error).message}`);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** The pod of the second run: one replica of two worker processes, its primary the acceptor. */
const WORKERS = 2;
const WORKERS_LABEL = `webhook-ingest, ${WORKERS} worker processes`;

export const overload: Scenario = {
  title: (ctx) =>
    `webhook-ingest above capacity, as 1 process and as 1 replica of ${WORKERS} worker processes: open loop at ${OVERLOAD_FACTOR}× its saturation rate, in-flight budget ${IN_FLIGHT_BUDGET}, event-loop delay limit ${LOOP_DELAY_LIMIT_MS} ms, shedding at loop utilisation ${SHED_AT_UTILISATION} ${ctx.tag}`,
  async run(ctx) {
    const { results } = ctx;
    results.overload = await overloadRun(ctx, {
      label: 'webhook-ingest',
      name: 'webhook-ingest-overload',
      capacity: results.ingest.saturation?.acceptedPerS ?? null,
    });
    results.overloadWorkers = await overloadRun(ctx, {
      label: WORKERS_LABEL,
      name: `webhook-ingest-overload-workers-${WORKERS}`,
      capacity: results.replicas?.ingest?.workers?.acceptedPerS ?? null,
      env: { WORKER_PROCESSES: String(WORKERS) },
    });
  },
};

/**
 * One replica (`env` may make it several worker processes, watched under `label`) at twice
 * `capacity` (a short saturation probe when null), then every event answered 202 looked for on
 * the topic.
 */
async function overloadRun(
  ctx: BenchContext,
  opts: { label: string; name: string; capacity: number | null; env?: Record<string, string> },
): Promise<OverloadRun> {
  const { plan, sampler, tag } = ctx;
  const pool = ctx.pools.ingest;
  const namespace = uniqueNamespace('bench-overload');
  const topic = topicName('incident-events', namespace);
  const service = await startIngest(ctx, opts.name, namespace, {
    WEBHOOK_MAX_IN_FLIGHT: String(IN_FLIGHT_BUDGET),
    WEBHOOK_MAX_EVENT_LOOP_DELAY_MS: String(LOOP_DELAY_LIMIT_MS),
    WEBHOOK_SHED_AT_LOOP_UTILISATION: String(SHED_AT_UTILISATION),
    ...opts.env,
  });
  const { child, url } = service;
  sampler.watch(opts.label, child.pid);
  try {
    let capacity = opts.capacity;
    if (capacity === null) {
      // Not measured earlier in this run: a short saturation probe gives the rate to double (not
      // reported), after the ingest scenario's warm-up (a cold replica measures at half its rate).
      await pool.ensure(500 * plan.warmS + 50_000);
      await runFixedRate({ url, path: WEBHOOK_PATH, rate: 500, durationS: plan.warmS, next: () => pool.take() });
      await waitForQuiet(ctx, `the saturation probe (${opts.label})`);
      const probe = await runSaturation({
        url,
        path: WEBHOOK_PATH,
        connections: plan.connections,
        durationS: PROBE_S,
        next: () => pool.take(),
      });
      capacity = probe.answeredPerS;
      say.info(`saturation probe (${opts.label}): ${fmtInt(capacity)} webhooks/s answered 2xx ${tag}`);
      await settle();
    }
    const rate = Math.max(500, Math.round(capacity * OVERLOAD_FACTOR));
    const durationS = plan.overloadS;
    await pool.ensure(rate * durationS);
    const answered202: SignedWebhook[] = [];
    await waitForQuiet(ctx, `the overload run (${opts.label})`);
    const refusedBefore = await refusals(url, 'before');
    const cpu = cpuWindow(ctx, { [opts.label]: child });
    const load = await rssDuring(ctx, opts.label, 'overload', url, () =>
      runFixedRate({
        url,
        path: WEBHOOK_PATH,
        rate,
        durationS,
        next: () => pool.take(),
        onAnswer: (webhook, status) => {
          if (status === 202) answered202.push(webhook);
        },
        byStatus: true,
        // Every request as soon as it is due, on a new socket unless a kept-alive one is free
        // (one answered 202 by a worker): the backlog is then the server's to refuse, not queued
        // in the generator. Requests due while all OPEN_SOCKETS wait are dropped and reported.
        maxInFlight: OPEN_SOCKETS,
        maxSockets: OPEN_SOCKETS,
        progress: say.info,
        label: `overload ${fmtInt(rate)}/s (${opts.label})`,
      }),
    );
    const cores = cpu();
    // After the load has stopped and the replica caught up: its primary may still refuse at first.
    await settle();
    const refusedAfter = await refusals(url, 'after');
    const refusedBy =
      refusedBefore && refusedAfter
        ? {
            primary:
              refusedAfter.primary === null || refusedBefore.primary === null
                ? null
                : refusedAfter.primary - refusedBefore.primary,
            replica: refusedAfter.replica - refusedBefore.replica,
          }
        : undefined;
    // Parsed after the load, not in the generator's hot path.
    const accepted = new Set(answered202.map(eventIdOf));
    describeLoad(ctx, `overload ${fmtInt(rate)}/s (${opts.label})`, load);
    const answered = Object.values(load.status).reduce((a, n) => a + n, 0);
    const refused = load.status['503'] ?? 0;
    const latency503 = load.latencyByStatus?.['503'] ?? null;
    const latency202 = load.latencyByStatus?.['202'] ?? null;
    say.info(`looking for the ${fmtInt(accepted.size)} accepted events on ${topic}`);
    const foundOnTopic = await findOnTopic(ctx, topic, accepted);
    const run: OverloadRun = {
      label: opts.label,
      load,
      capacityPerS: capacity,
      inFlightBudget: IN_FLIGHT_BUDGET,
      share503: answered ? refused / answered : 0,
      refusedBy,
      retryAfterShare: refused ? (load.retryAfter?.['503'] ?? 0) / refused : 0,
      latency503,
      latency202,
      accepted: accepted.size,
      foundOnTopic,
      lost: accepted.size - foundOnTopic,
      cores,
    };
    say.info(
      `${opts.label}: ${Math.round(run.share503 * 100)}% answered 503 (${Math.round(run.retryAfterShare * 100)}% with Retry-After) ${tag}; 503s ${latency503 ? fmtLatency(latency503) : 'none'}; 202s ${latency202 ? fmtLatency(latency202) : 'none'}`,
    );
    say.info(
      `${fmtInt(foundOnTopic)} of ${fmtInt(accepted.size)} accepted events found on the topic; cores used: ${fmtCores(ctx, cores)}`,
    );
    if (refusedBy) say.info(`${opts.label}: ${refusedByText(refusedBy)}`);
    if (load.generator)
      say.info(`answer times include the generator's own lateness: ${generatorLagText(load.generator)}`);
    if (run.lost > 0) say.fail(`${opts.label}: ${fmtInt(run.lost)} events answered 202 are not on the topic`);
    return run;
  } finally {
    await child.stop();
    sampler.unwatch(opts.label);
  }
}
