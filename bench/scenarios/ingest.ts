/**
 * webhook-ingest on its own: signed PagerDuty webhooks at a rate below its capacity, at the
 * agreed fixed rate, then at saturation, each acknowledged by the real Kafka. Accepted events
 * come from the service's own webhook_events_accepted_total.
 */
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { type LoadResult, runFixedRate, runSaturation } from '../lib/load.js';
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
import type { NodeChild } from '../lib/procs.js';
import type { IngestRun } from '../lib/report.js';
import { startServiceChild } from '../lib/services.js';
import { fmtInt } from '../lib/stats.js';

/** Runs a load and counts what webhook-ingest accepted meanwhile (published and acknowledged). */
async function measureAccepted(
  ctx: BenchContext,
  service: { child: NodeChild; url: string },
  run: () => Promise<LoadResult>,
): Promise<IngestRun> {
  const before = await metricSum(service.url, 'webhook_events_accepted_total');
  const cpu = cpuWindow(ctx, { 'webhook-ingest': service.child });
  const load = await run();
  const cores = cpu();
  const acceptedEvents = (await metricSum(service.url, 'webhook_events_accepted_total')) - before;
  await settle();
  return { load, acceptedEvents, acceptedPerS: Math.round(acceptedEvents / load.durationS), cores };
}

export const ingest: Scenario = {
  title: (ctx) => `webhook-ingest: signed PagerDuty webhooks, real Kafka acks ${ctx.tag}`,
  async run(ctx) {
    const { plan, results, sampler, tag } = ctx;
    const pool = ctx.pools.ingest;
    const ceiling = Math.min(results.httpCeiling.saturation?.answeredPerS ?? 10_000, 20_000);
    const reuseBefore = pool.wrapped;
    const service = await startServiceChild(ctx, {
      service: 'webhook-ingest',
      name: 'webhook-ingest',
      namespace: uniqueNamespace('bench-ingest'),
    });
    const { child, url } = service;
    sampler.watch('webhook-ingest', child.pid);
    const first = await sanityCheck(url, pool.take());
    if (!first.includes('"accepted"')) throw new Error(`the first webhook was not accepted: ${first.slice(0, 300)}`);
    const next = () => pool.take();
    const path = WEBHOOK_PATH;
    await pool.ensure(500 * plan.warmS);
    await runFixedRate({ url, path, rate: 500, durationS: plan.warmS, next });
    const fixedRun = (rate: number, durationS: number) =>
      steady(ctx, `webhook-ingest at ${rate}/s`, async () => {
        await pool.ensure(rate * durationS);
        return measureAccepted(ctx, service, () =>
          rssDuring(ctx, 'webhook-ingest', `fixed ${rate}/s`, url, () =>
            runFixedRate({ url, path, rate, durationS, next, progress: say.info, label: `ingest ${rate}/s` }),
          ),
        );
      });
    // Below capacity first (latency when keeping up), then the agreed fixed rate.
    const low = await fixedRun(plan.lowRate, plan.lowS);
    results.ingest.fixedLow = low;
    describeLoad(ctx, `fixed ${plan.lowRate}/s`, low.load);
    say.info(`accepted ${fmtInt(low.acceptedPerS)} events/s ${tag}; cores used: ${fmtCores(ctx, low.cores)}`);
    const fixed = await fixedRun(plan.fixedRate, plan.fixedS);
    results.ingest.fixed = fixed;
    describeLoad(ctx, `fixed ${plan.fixedRate}/s`, fixed.load);
    say.info(`accepted ${fmtInt(fixed.acceptedPerS)} events/s ${tag}; cores used: ${fmtCores(ctx, fixed.cores)}`);
    const saturation = await steady(ctx, 'webhook-ingest at saturation', async () => {
      await pool.ensure(Math.round(ceiling * plan.saturationS * 1.15));
      return measureAccepted(ctx, service, () =>
        rssDuring(ctx, 'webhook-ingest', 'saturation', url, () =>
          runSaturation({
            url,
            path,
            connections: plan.connections,
            durationS: plan.saturationS,
            next,
            progress: say.info,
            label: `ingest ${plan.connections} connections`,
          }),
        ),
      );
    });
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
