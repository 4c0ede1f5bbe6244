/**
 * HTTP ceiling: bare node:http in its own process (bench/http-ceiling-server.ts) doing the same
 * signature check and JSON parse as webhook-ingest, under the same fixed-rate and saturation
 * loads. What webhook-ingest reaches is judged against it.
 */
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { noteIdleRss, type Scenario, secretFile } from '../lib/context.js';
import { runFixedRate, runSaturation } from '../lib/load.js';
import { cpuWindow, describeLoad, fmtCores, sanityCheck, settle, steady, WEBHOOK_PATH } from '../lib/measure.js';
import { spawnNode, waitHttpOk } from '../lib/procs.js';

export const httpCeiling: Scenario = {
  title: (ctx) => `HTTP ceiling: bare node:http with the same HMAC check and JSON parse ${ctx.tag}`,
  async run(ctx) {
    const { plan, results, sampler } = ctx;
    const pool = ctx.pools.ceiling;
    const port = await freePort();
    const child = spawnNode({
      name: 'http-ceiling',
      script: join('bench', 'http-ceiling-server.ts'),
      cwd: REPO_ROOT,
      logDir: ctx.dirs.logs,
      env: {
        PORT: String(port),
        PAGERDUTY_WEBHOOK_SECRETS_FILE: secretFile(ctx, 'pagerduty-webhook-secrets', ctx.secret),
      },
    });
    sampler.watch('http-ceiling', child.pid);
    const url = `http://127.0.0.1:${port}`;
    await waitHttpOk(`${url}/health/ready`, child);
    noteIdleRss(ctx, 'http-ceiling', child);
    await sanityCheck(url, pool.take());
    const next = () => pool.take();
    const path = WEBHOOK_PATH;
    await runFixedRate({ url, path, rate: 500, durationS: plan.warmS, next });
    const fixed = await steady(ctx, `the HTTP ceiling at ${plan.fixedRate}/s`, async () => {
      const cpu = cpuWindow(ctx, { 'http-ceiling': child });
      const load = await runFixedRate({
        url,
        path,
        rate: plan.fixedRate,
        durationS: plan.fixedS,
        next,
        progress: say.info,
        label: `HTTP ceiling ${plan.fixedRate}/s`,
      });
      return { ...load, cores: cpu() };
    });
    results.httpCeiling.fixed = fixed;
    describeLoad(ctx, `fixed ${plan.fixedRate}/s`, fixed);
    const saturation = await steady(ctx, 'the HTTP ceiling at saturation', async () => {
      const cpu = cpuWindow(ctx, { 'http-ceiling': child });
      const load = await runSaturation({
        url,
        path,
        connections: plan.connections,
        durationS: plan.saturationS,
        next,
        progress: say.info,
        label: `HTTP ceiling ${plan.connections} connections`,
      });
      return { ...load, cores: cpu() };
    });
    results.httpCeiling.saturation = saturation;
    describeLoad(ctx, `saturation ${plan.connections} connections`, saturation);
    say.info(`cores used: ${fmtCores(ctx, saturation.cores)}`);
    sampler.unwatch('http-ceiling');
    results.rssPeakBytes['http-ceiling'] = sampler.peak('http-ceiling');
    await settle();
    await child.stop();
  },
};
