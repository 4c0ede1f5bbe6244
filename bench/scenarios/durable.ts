/**
 * The ingest and consumer figures again with PostgreSQL durable (fsync, synchronous_commit and
 * full_page_writes on, a second server of the same version): the main figures run on the
 * test-mode server, which flatters every commit. Skipped under `--durable`, where the whole run
 * is durable already.
 */
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { Scenario } from '../lib/context.js';
import { startDurablePostgres, usePostgres } from '../lib/durability.js';
import { runFixedRate } from '../lib/load.js';
import { describeLoad, fmtCores, WEBHOOK_PATH } from '../lib/measure.js';
import { fmtInt } from '../lib/stats.js';
import { measureConsumer } from './consumer.js';
import { ingestFixed, ingestSaturation, startIngest } from './ingest.js';

export const durable: Scenario = {
  title: (ctx) =>
    ctx.durable
      ? 'durable PostgreSQL: the whole run is durable (--durable), nothing more to measure'
      : `ingest and consumer again with a durable PostgreSQL (fsync, synchronous_commit on) ${ctx.tag}`,
  async run(ctx) {
    if (ctx.durable) return;
    const { plan, results, sampler, tag } = ctx;
    const server = await startDurablePostgres(ctx);
    say.info(
      `durable PostgreSQL ${server.settings.server_version}: fsync=${server.settings.fsync}, synchronous_commit=${server.settings.synchronous_commit}, full_page_writes=${server.settings.full_page_writes}`,
    );
    const restore = await usePostgres(ctx, server);
    const runs: NonNullable<typeof results.durable> = { postgres: server.settings, ingest: {} };
    results.durable = runs;
    try {
      const service = await startIngest(ctx, 'webhook-ingest-durable', uniqueNamespace('bench-durable'));
      sampler.watch('webhook-ingest', service.child.pid);
      try {
        const pool = ctx.pools.ingest;
        await pool.ensure(500 * plan.warmS);
        await runFixedRate({
          url: service.url,
          path: WEBHOOK_PATH,
          rate: 500,
          durationS: plan.warmS,
          next: () => pool.take(),
        });
        // The fixed rate (commit latency with fsync) in full runs only: --quick keeps to saturation.
        if (!ctx.quick) {
          const fixed = await ingestFixed(
            ctx,
            service,
            plan.fixedRate,
            plan.fixedS,
            `fixed ${plan.fixedRate}/s, durable`,
          );
          runs.ingest.fixed = fixed;
          describeLoad(ctx, `durable, fixed ${plan.fixedRate}/s`, fixed.load);
        }
        runs.ingest.saturation = await ingestSaturation(ctx, [service], 'saturation, durable');
        describeLoad(ctx, `durable, saturation ${plan.connections} connections`, runs.ingest.saturation.load);
        say.info(
          `durable: ${fmtInt(runs.ingest.saturation.acceptedPerS)} accepted events/s at saturation ${tag} (durability off: ${fmtInt(results.ingest.saturation?.acceptedPerS ?? Number.NaN)}); cores used: ${fmtCores(ctx, runs.ingest.saturation.cores)}`,
        );
      } finally {
        await service.child.stop();
        sampler.unwatch('webhook-ingest');
      }
      const { partitions: _, ...consumer } = await measureConsumer(ctx, 'consumer, durable');
      runs.consumer = consumer;
      say.info(
        `durable: consumer ${fmtInt(consumer.eventsPerS)} events/s ${tag} (durability off: ${fmtInt(results.consumer?.eventsPerS ?? Number.NaN)}); cores used: ${fmtCores(ctx, consumer.cores)}`,
      );
    } finally {
      restore();
    }
  },
};
