/**
 * End to end: a fresh webhook-ingest and escalation on their own topic namespace; each webhook
 * creates a new incident, timed from the moment its POST was issued until it shows on
 * escalation's live stream and, for a sample, through GET /v1/incidents/:id.
 */
import { uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import type { BenchContext, Scenario } from '../lib/context.js';
import { createPoller, E2E_LEAD_IN_S, openStream } from '../lib/e2e.js';
import { generatorAgent, runFixedRate } from '../lib/load.js';
import { cpuWindow, fmtCores, metricSum, rssDuring, settle, steady, WEBHOOK_PATH } from '../lib/measure.js';
import type { E2eRun } from '../lib/report.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { statementWindow } from '../lib/statements.js';
import { statementsConsole, timelineLines } from '../lib/statements-report.js';
import { fmtInt, fmtLatency, fmtMs, Samples, summarise } from '../lib/stats.js';

/** Waits (bounded) until escalation applied everything webhook-ingest accepted: each pass starts empty. */
async function drain(ingest: ServiceChild, escalation: ServiceChild): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const [accepted, applied] = await Promise.all([
      metricSum(ingest.url, 'webhook_events_accepted_total'),
      metricSum(escalation.url, 'incident_events_applied_total'),
    ]);
    if (applied >= accepted) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  say.info('escalation did not catch up within 30 s; measuring anyway');
}

export const e2e: Scenario = {
  title: (ctx) => `end to end: webhook POST → incident visible through escalation ${ctx.tag}`,
  async run(ctx: BenchContext) {
    const { plan, settings, results, tag } = ctx;
    const pool = ctx.pools.e2e;
    const namespace = uniqueNamespace('bench-e2e');
    const ingest = await startServiceChild(ctx, { service: 'webhook-ingest', name: 'webhook-ingest-e2e', namespace });
    ctx.sampler.watch('webhook-ingest', ingest.child.pid);
    const escalation = await startServiceChild(ctx, {
      service: 'escalation',
      name: 'escalation',
      namespace,
      watch: 'escalation',
    });
    const sentAt = new Map<string, number>();
    let sse = new Samples();
    const stream = openStream({
      url: escalation.url,
      token: ctx.viewerToken,
      onIncident: (id, at) => {
        const t0 = sentAt.get(id);
        if (t0 === undefined) return;
        sentAt.delete(id);
        sse.push(at - t0);
      },
    });
    ctx.cleanups.push(async () => {
      stream.close();
    });
    await stream.ready;
    const poller = createPoller({
      url: escalation.url,
      token: ctx.viewerToken,
      intervalMs: settings.pollIntervalMs,
      fineForMs: settings.pollFineMs,
      timeoutMs: 20_000,
    });
    ctx.cleanups.push(async () => poller.close());
    const next = () => pool.take();
    const path = WEBHOOK_PATH;
    const firstRate = settings.e2eRates[0]!;
    // Warm both services' code paths (JIT, pools, caches): ramp up to the first measured rate.
    await pool.ensure(250 * plan.warmS + firstRate * plan.warmS);
    await runFixedRate({ url: ingest.url, path, rate: 250, durationS: plan.warmS, next });
    await runFixedRate({ url: ingest.url, path, rate: firstRate, durationS: plan.warmS, next });
    await drain(ingest, escalation);
    for (const rate of settings.e2eRates) {
      const measureE2e = async (polling: boolean): Promise<E2eRun> => {
        await pool.ensure(rate * (plan.e2eS + E2E_LEAD_IN_S));
        await drain(ingest, escalation);
        sentAt.clear();
        sse = new Samples();
        const api = new Samples();
        const polls: Promise<void>[] = [];
        const every = Math.max(1, Math.round(rate / settings.apiSamplesPerS));
        let n = 0;
        let apiMissing = 0;
        // Webhooks that were not accepted are not expected to show up anywhere.
        const failed = new Set<string>();
        const pollsBefore = poller.requests();
        // On connections already open, into a pipeline already at this rate (E2E_LEAD_IN_S).
        const agent = generatorAgent();
        await runFixedRate({ url: ingest.url, path, rate, durationS: E2E_LEAD_IN_S, next, agent });
        const statements = await statementWindow(ctx.databaseUrl);
        const cpu = cpuWindow(ctx, { 'webhook-ingest': ingest.child, escalation: escalation.child });
        const load = await runFixedRate({
          url: ingest.url,
          path,
          rate,
          durationS: plan.e2eS,
          next,
          agent,
          progress: say.info,
          label: `e2e ${rate}/s`,
          onSent: (webhook, at) => {
            sentAt.set(webhook.incidentId, at);
            if (polling && n++ % every === 0) {
              polls.push(
                poller.until(webhook.incidentId, at).then((visible) => {
                  if (visible !== null) api.push(visible - at);
                  else if (!failed.has(webhook.incidentId)) apiMissing += 1;
                }),
              );
            }
          },
          onAnswer: (webhook, status) => {
            if (status === 202) return;
            failed.add(webhook.incidentId);
            sentAt.delete(webhook.incidentId);
          },
        }).finally(() => agent.destroy());
        // Wait for the stream to show every incident (bounded).
        const deadline = performance.now() + 20_000;
        while (sentAt.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await Promise.all(polls);
        const cores = cpu();
        const statementStats = await statements();
        const answered = Object.entries(load.status)
          .filter(([code]) => code.startsWith('2'))
          .reduce((a, [, v]) => a + v, 0);
        return {
          rate,
          polling,
          sent: load.sent,
          answered2xx: answered,
          achievedRate: load.answeredPerS,
          ingestLatency: load.latency,
          sse: { ...summarise(sse.values()), missing: sentAt.size },
          api: {
            ...summarise(api.values()),
            missing: apiMissing,
            pollIntervalMs: settings.pollIntervalMs,
            pollRequests: poller.requests() - pollsBefore,
          },
          webhookBySecond: load.bySecond ?? [],
          cores,
          statements: statementStats,
        };
      };
      // Two passes: the live stream alone (no other reader), then the API polled for a sample
      // (its requests load escalation too, so the stream figure comes from the first pass).
      for (const polling of [false, true]) {
        const pass = polling ? 'API poll' : 'live stream';
        const run = await steady(ctx, `end to end at ${rate}/s (${pass})`, () =>
          rssDuring(ctx, 'webhook-ingest', `e2e ${rate}/s`, ingest.url, () =>
            rssDuring(ctx, 'escalation', `e2e ${rate}/s`, escalation.url, () => measureE2e(polling)),
          ),
        );
        results.e2e.push(run);
        say.info(
          `${rate}/s offered, ${pass} pass: ${fmtInt(run.achievedRate)}/s answered, webhook ${fmtLatency(run.ingestLatency)} ${tag}`,
        );
        say.info(
          `  live stream: p50 ${fmtMs(run.sse.p50)} / p99 ${fmtMs(run.sse.p99)} / p99.9 ${fmtMs(run.sse.p999)} ms over ${fmtInt(run.sse.count)} incidents (${run.sse.missing} missing) ${tag}`,
        );
        if (polling)
          say.info(
            `  API poll: p50 ${fmtMs(run.api.p50)} / p99 ${fmtMs(run.api.p99)} ms over ${fmtInt(run.api.count)} sampled incidents, ${fmtInt(run.api.pollRequests)} polls (${run.api.missing} missing) ${tag}`,
          );
        say.info(`  cores used: ${fmtCores(ctx, run.cores)}`);
        say.info(`  webhook ${timelineLines(run.webhookBySecond).worst}`);
        for (const line of statementsConsole(run.statements)) say.info(`  ${line}`);
      }
    }
    stream.close();
    poller.close();
    await settle();
    await Promise.all([ingest.child.stop(), escalation.child.stop()]);
  },
};
