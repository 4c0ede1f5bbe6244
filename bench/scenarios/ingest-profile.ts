/**
 * webhook-ingest once more at saturation, under --cpu-prof, to show where its time goes. The
 * figures of the ingest scenario are unprofiled; this one only explains them.
 */
import { REPO_ROOT, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { Scenario } from '../lib/context.js';
import { runFixedRate, runSaturation } from '../lib/load.js';
import { cpuWindow, metricSum, settle, steady, WEBHOOK_PATH } from '../lib/measure.js';
import { mainThreadProfile, summariseCpuProfile } from '../lib/profile.js';
import { startServiceChild } from '../lib/services.js';
import { fmtInt } from '../lib/stats.js';

export const ingestProfile: Scenario = {
  title: (ctx) => `webhook-ingest under --cpu-prof at saturation (${ctx.plan.profileS} s) ${ctx.tag}`,
  async run(ctx) {
    const { plan, results, tag } = ctx;
    const pool = ctx.pools.ingest;
    const profileDir = ctx.dirs.profile;
    const expected = Math.max(results.ingest.saturation?.acceptedPerS ?? 5000, 2000);
    const { child, url } = await startServiceChild(ctx, {
      service: 'webhook-ingest',
      name: 'webhook-ingest-profiled',
      namespace: uniqueNamespace('bench-prof'),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    const next = () => pool.take();
    const path = WEBHOOK_PATH;
    await pool.ensure(500 * plan.warmS);
    await runFixedRate({ url, path, rate: 500, durationS: plan.warmS, next });
    const run = await steady(ctx, 'the profiled run', async () => {
      await pool.ensure(Math.round(expected * plan.profileS * 1.3));
      const before = await metricSum(url, 'webhook_events_accepted_total');
      const cpu = cpuWindow(ctx, { 'webhook-ingest': child });
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const load = await runSaturation({
        url,
        path,
        connections: plan.connections,
        durationS: plan.profileS,
        next,
        progress: say.info,
        label: 'profiled ingest',
      });
      const toUs = Number(process.hrtime.bigint() / 1000n);
      const cores = cpu();
      const acceptedEvents = (await metricSum(url, 'webhook_events_accepted_total')) - before;
      await settle();
      return { load, acceptedEvents, acceptedPerS: Math.round(acceptedEvents / load.durationS), cores, fromUs, toUs };
    });
    const code = await child.stop();
    if (code !== 0) throw new Error(`the profiled webhook-ingest exited with ${code}; see ${child.log}`);
    const file = mainThreadProfile(profileDir, child.pid);
    if (!file) throw new Error(`no .cpuprofile was written to ${profileDir}`);
    const summary = summariseCpuProfile(file, REPO_ROOT, { fromUs: run.fromUs, toUs: run.toUs });
    const { fromUs: _from, toUs: _to, ...throughput } = run;
    results.profile = { throughput, summary };
    say.info(`under the profiler: ${fmtInt(throughput.acceptedPerS)} accepted events/s ${tag}`);
    say.info(
      `profile ${file}: ${fmtInt(summary.busyMs)} ms busy of ${fmtInt(summary.wallMs)} ms ${summary.windowed ? 'inside the load window' : '(whole process life: the window did not match)'}`,
    );
    for (const f of summary.topFunctions.slice(0, 8)) say.info(`  ${f.share.toFixed(1).padStart(5)}%  ${f.name}`);
  },
};
