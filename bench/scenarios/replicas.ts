/**
 * 1 → 2 replicas: webhook-ingest as two processes on two ports with the saturation load's
 * connections spread over both, then as one replica of two worker processes (WORKER_PROCESSES=2:
 * one port, its primary handing the connections out), and escalation's consumer as two processes
 * in one consumer group sharing the topic's partitions. The 1-replica figures are this run's
 * ingest and consumer figures, measured here when those scenarios did not run.
 */
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { Scenario } from '../lib/context.js';
import { describeLoad, fmtCores } from '../lib/measure.js';
import { fmtInt } from '../lib/stats.js';
import { measureConsumer } from './consumer.js';
import { ingestSaturation, startIngest } from './ingest.js';

export const replicas: Scenario = {
  title: (ctx) => `1 → 2 replicas: webhook-ingest at saturation, escalation's consumer in one group ${ctx.tag}`,
  async run(ctx) {
    const { results, sampler, tag } = ctx;
    const runs: NonNullable<typeof results.replicas> = {};
    results.replicas = runs;
    const namespace = uniqueNamespace('bench-replicas');
    const one = await startIngest(ctx, 'webhook-ingest-replica-1', namespace);
    sampler.watch('webhook-ingest', one.child.pid);
    try {
      const single = results.ingest.saturation ?? (await ingestSaturation(ctx, [one], 'saturation, 1 replica'));
      const two = await startIngest(ctx, 'webhook-ingest-replica-2', namespace);
      try {
        const both = await ingestSaturation(ctx, [one, two], 'saturation, 2 replicas');
        runs.ingest = { one: single, two: both };
        describeLoad(ctx, 'two replicas at saturation', both.load);
        say.info(
          `webhook-ingest: 1 replica ${fmtInt(single.acceptedPerS)}, 2 replicas ${fmtInt(both.acceptedPerS)} accepted events/s ${tag}; cores used: ${fmtCores(ctx, both.cores)}`,
        );
      } finally {
        await two.child.stop();
      }
    } finally {
      await one.child.stop();
      sampler.unwatch('webhook-ingest');
    }
    // The same two processes' worth of webhook-ingest in one pod. Its CPU and RSS are the
    // primary's with its workers' (children), under a label of their own: a pod of three
    // processes is not the service's one-process figure. The load waits for a quiet machine,
    // i.e. for both workers to have started (with --wait-quiet=0 it may begin before the second
    // listens: nothing outside the pod tells how many of its workers do).
    const podLabel = 'webhook-ingest, 2 worker processes';
    const pod = await startIngest(ctx, 'webhook-ingest-workers-2', namespace, { WORKER_PROCESSES: '2' });
    sampler.watch(podLabel, pod.child.pid);
    try {
      const workers = await ingestSaturation(ctx, [pod], 'saturation', podLabel);
      runs.ingest = { ...runs.ingest, workers };
      describeLoad(ctx, 'two worker processes at saturation', workers.load);
      say.info(
        `webhook-ingest: 1 replica of 2 worker processes ${fmtInt(workers.acceptedPerS)} accepted events/s ${tag}; cores used: ${fmtCores(ctx, workers.cores)}`,
      );
    } finally {
      await pod.child.stop();
      sampler.unwatch(podLabel);
    }
    const single = results.consumer ?? (await measureConsumer(ctx, 'consumer, 1 replica'));
    const { partitions, ...both } = await measureConsumer(ctx, 'consumer, 2 replicas', 2);
    runs.consumer = { one: single, two: both, partitions };
    say.info(
      `escalation consumer: 1 replica ${fmtInt(single.eventsPerS)}, 2 replicas ${fmtInt(both.eventsPerS)} events/s on ${partitions} partitions ${tag}; cores used: ${fmtCores(ctx, both.cores)}`,
    );
  },
};
