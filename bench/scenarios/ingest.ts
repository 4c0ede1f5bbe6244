/**
 * webhook-ingest on its own: signed PagerDuty webhooks at a rate below its capacity, at the
 * agreed fixed rate, then at saturation, each acknowledged by the real Kafka. Accepted events
 * come from the service's own webhook_events_accepted_total.
 */
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { type LoadResult, runFixedRate, runSaturationSpread } from '../lib/load.js';
import {
  cpuWindow,
  describeLoad,
  fmtCores,
  metricSum,
  rssDuring,
  sanityCheck,
  settle,
  steady,
  WEBHOOK_PATH,
} from '../lib/measure.js';
import type { IngestRun } from '../lib/report.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { fmtInt } from '../lib/stats.js';

/** Runs a load and counts what the webhook-ingest replicas accepted meanwhile (published and acknowledged). */
async function measureAccepted(
  ctx: BenchContext,
  services: ServiceChild[],
  run: () => Promise<LoadResult>,
): Promise<IngestRun> {
  const accepted = async () => {
    let sum = 0;
    for (const s of services) sum += await metricSum(s.url, 'webhook_events_accepted_total');
    return sum;
  };
  const before = await accepted();
  // The second replica's share is reported as `webhook-ingest-2` (the report adds it to the column).
  const cpu = cpuWindow(
    ctx,
    Object.fromEntries(services.map((s, i) => [i === 0 ? 'webhook-ingest' : `webhook-ingest-${i + 1}`, s.child])),
  );
  const load = await run();
  const cores = cpu();
  const acceptedEvents = (await accepted()) - before;
  await settle();
  return { load, acceptedEvents, acceptedPerS: Math.round(acceptedEvents / load.durationS), cores };
}

/** Starts one webhook-ingest replica on `namespace` and checks that a signed webhook is accepted. */
export async function startIngest(
  ctx: BenchContext,
  name: string,
  namespace: string,
  env?: Record<string, string>,
): Promise<ServiceChild> {
  const service = await startServiceChild(ctx, { service: 'webhook-ingest', name, namespace, env });
  const first = await sanityCheck(service.url, ctx.pools.ingest.take());
  if (!first.includes('"accepted"')) throw new Error(`the first webhook was not accepted: ${first.slice(0, 300)}`);
  return service;
}

/** webhook-ingest at a fixed rate (open loop), on a quiet machine, peak RSS recorded under `runName`. */
export function ingestFixed(
  ctx: BenchContext,
  service: ServiceChild,
  rate: number,
  durationS: number,
  runName: string,
) {
  const pool = ctx.pools.ingest;
  const { url } = service;
  return steady(ctx, `webhook-ingest at ${rate}/s (${runName})`, async () => {
    await pool.ensure(rate * durationS);
    return measureAccepted(ctx, [service], () =>
      rssDuring(ctx, 'webhook-ingest', runName, url, () =>
        runFixedRate({
          url,
          path: WEBHOOK_PATH,
          rate,
          durationS,
          next: () => pool.take(),
          progress: say.info,
          label: `ingest ${rate}/s`,
        }),
      ),
    );
  });
}

/** webhook-ingest at saturation (closed loop, the plan's connections spread over the replicas given). */
/** `rssLabel`: the sampler's label the services' peak RSS is recorded under (a pod of worker processes has its own). */
export function ingestSaturation(
  ctx: BenchContext,
  services: ServiceChild[],
  runName: string,
  rssLabel = 'webhook-ingest',
) {
  const { plan } = ctx;
  const pool = ctx.pools.ingest;
  const ceiling = Math.min(ctx.results.httpCeiling.saturation?.answeredPerS ?? 10_000, 20_000);
  return steady(ctx, `webhook-ingest at saturation (${runName})`, async () => {
    await pool.ensure(Math.round(ceiling * plan.saturationS * 1.15));
    return measureAccepted(ctx, services, () =>
      rssDuring(ctx, rssLabel, runName, services[0]!.url, () =>
        runSaturationSpread({
          urls: services.map((s) => s.url),
          path: WEBHOOK_PATH,
          connections: plan.connections,
          durationS: plan.saturationS,
          next: () => pool.take(),
          progress: say.info,
          label: `ingest ${plan.connections} connections`,
        }),
      ),
    );
  });
}

export const ingest: Scenario = {
  title: (ctx) => `webhook-ingest: signed PagerDuty webhooks, real Kafka acks ${ctx.tag}`,
  async run(ctx) {
    const { plan, results, sampler, tag } = ctx;
    const pool = ctx.pools.ingest;
    const reuseBefore = pool.wrapped;
    const service = await startIngest(ctx, 'webhook-ingest', uniqueNamespace('bench-ingest'));
    const { child, url } = service;
    sampler.watch('webhook-ingest', child.pid);
    await pool.ensure(500 * plan.warmS);
    await runFixedRate({ url, path: WEBHOOK_PATH, rate: 500, durationS: plan.warmS, next: () => pool.take() });
    // Below capacity first (latency when keeping up), then the agreed fixed rate.
    const low = await ingestFixed(ctx, service, plan.lowRate, plan.lowS, `fixed ${plan.lowRate}/s`);
    results.ingest.fixedLow = low;
    describeLoad(ctx, `fixed ${plan.lowRate}/s`, low.load);
    say.info(`accepted ${fmtInt(low.acceptedPerS)} events/s ${tag}; cores used: ${fmtCores(ctx, low.cores)}`);
    const fixed = await ingestFixed(ctx, service, plan.fixedRate, plan.fixedS, `fixed ${plan.fixedRate}/s`);
    results.ingest.fixed = fixed;
    describeLoad(ctx, `fixed ${plan.fixedRate}/s`, fixed.load);
    say.info(`accepted ${fmtInt(fixed.acceptedPerS)} events/s ${tag}; cores used: ${fmtCores(ctx, fixed.cores)}`);
    const saturation = await ingestSaturation(ctx, [service], 'saturation');
    results.ingest.saturation = saturation;
    results.ingest.poolReuse = pool.wrapped - reuseBefore;
    describeLoad(ctx, `saturation ${plan.connections} connections`, saturation.load);
    say.info(
      `accepted ${fmtInt(saturation.acceptedPerS)} events/s ${tag}; cores used: ${fmtCores(ctx, saturation.cores)}`,
    );
    if (results.ingest.poolReuse > 0) say.fail('the webhook pool ran dry and was reused: some requests were replays');
    const http = results.httpCeiling.saturation?.answeredPerS;
    const bus = results.bus[0]?.eventsPerS;
    if (http) say.info(`ingest / HTTP ceiling = ${(saturation.acceptedPerS / http).toFixed(2)} ${tag}`);
    if (bus) say.info(`ingest / bus ceiling  = ${(saturation.acceptedPerS / bus).toFixed(2)} ${tag}`);
    await child.stop();
    sampler.unwatch('webhook-ingest');
  },
};
