/**
 * app-registry discovery over 10 million log lines (1 million with --quick): the issue's scale
 * target. A mix of gzipped NGINX and Envoy access logs and CloudTrail log files is generated
 * (deterministically, streamed) into a temporary folder that is removed afterwards; 300
 * registered apps (seeded straight into the table) receive most of the traffic, some hosts,
 * functions and buckets are nobody's. The service runs as its own process with DISCOVERY_DIR on
 * that folder; the run is started the way an admin starts it (POST /apps/v1/discovery/runs) and
 * followed until it finished: wall time, lines/s, and the peak RSS of app-registry, the process
 * that reads and writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTestDatabase, sqlAs, startOpa, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { generateDiscoverySources, type RegisteredApp } from '../lib/app-registry-data.js';
import type { DiscoveryResults } from '../lib/app-registry-results.js';
import { type BenchContext, running, type Scenario } from '../lib/context.js';
import { cpuWindow, fmtCores, quietBriefly } from '../lib/measure.js';
import { rssBytes } from '../lib/procs.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { fmtInt } from '../lib/stats.js';
import { seedApps } from './app-registry-scale.js';

const LINES = { full: 10_000_000, quick: 1_000_000 };
/** Registered apps seeded (straight into the table); their hosts and functions get the traffic. */
const APPS = 2_000;
/** Of which this many get traffic (a Zipf law over them). */
const APPS_WITH_TRAFFIC = 300;
/** Longest a run may take before the scenario gives up (the target is 10 minutes for 10M lines). */
const RUN_TIMEOUT_S = { full: 3_600, quick: 1_200 };
const QUIET_WAIT_S = 30;
/** Never by itself: only the run this scenario starts. */
const NEVER = '0 0 1 1 *';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A temporary folder under the OS's, removed when the scenario ends (and when the run is stopped). */
export function tempFolder(ctx: BenchContext, prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(os.tmpdir(), prefix));
  const remove = () => rmSync(path, { recursive: true, force: true });
  ctx.cleanups.push(async () => remove());
  return { path, remove };
}

/** app-registry on a fresh database with OPA, no cron of its own; `label` is its RSS label. */
export async function startAppRegistry(
  ctx: BenchContext,
  label: string,
  env: Record<string, string>,
): Promise<{ svc: ServiceChild; databaseUrl: string; stop: () => Promise<void> }> {
  const { stack } = running(ctx);
  const opa = await startOpa({ log: (line) => say.info(`opa: ${line}`) });
  let svc: ServiceChild | undefined;
  try {
    const databaseUrl = await createTestDatabase(stack.databaseUrl, 'bench_registry');
    svc = await startServiceChild(ctx, {
      service: 'app-registry',
      name: label,
      namespace: uniqueNamespace('bench-registry'),
      env: {
        DATABASE_URL: databaseUrl,
        OPA_URL: opa.url,
        LIFECYCLE_CRON: NEVER,
        DISCOVERY_CRON: NEVER,
        COST_REPORT_CRON: NEVER,
        ...env,
      },
      watch: label,
    });
    const child = svc;
    return {
      svc: child,
      databaseUrl,
      async stop() {
        await child.child.stop();
        ctx.sampler.unwatch(label);
        await opa.stop();
      },
    };
  } catch (error) {
    await svc?.child.stop();
    await opa.stop();
    throw error;
  }
}

interface RunView {
  id: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  totals: DiscoveryResults['totals'] | null;
  sources: {
    source: string;
    files: number;
    linesRead: number;
    sightings: number;
    errors: number;
    failed: string | null;
  }[];
}

export const appRegistryDiscovery: Scenario = {
  usesPayloads: false,
  title: (ctx) =>
    `app-registry: a discovery run over ${fmtInt(ctx.quick ? LINES.quick : LINES.full)} log lines ${ctx.tag}`,
  async run(ctx) {
    const { issuer } = running(ctx);
    const lines = ctx.quick ? LINES.quick : LINES.full;
    const label = 'app-registry (discovery)';
    const folder = tempFolder(ctx, 'bench-discovery-');
    let registry: Awaited<ReturnType<typeof startAppRegistry>> | undefined;
    try {
      registry = await startAppRegistry(ctx, label, { DISCOVERY_DIR: folder.path });
      const { svc, databaseUrl } = registry;
      const rssIdleBytes = rssBytes(svc.child.pid) ?? Number.NaN;
      await seedApps(databaseUrl, APPS);
      const apps: RegisteredApp[] = (
        await sqlAs(
          databaseUrl,
          `select endpoints->0->>'host' host, cloud_resource_ids[1] arn from app_registry.apps
           where state not in ('purged', 'refused', 'pending_approval') and jsonb_array_length(endpoints) > 0
           order by id limit $1`,
          [APPS_WITH_TRAFFIC],
        )
      ).rows.map((r: { host: string; arn: string | null }) => ({ host: r.host, functionArn: r.arn }));

      const generated = await generateDiscoverySources(folder.path, lines, apps, new Date());
      say.info(
        `generated ${fmtInt(lines)} lines (NGINX ${fmtInt(generated.lines.nginx)}, Envoy ${fmtInt(generated.lines.envoy)}, CloudTrail records ${fmtInt(generated.lines.cloudtrail)}) in ${generated.files} gzipped files, ${fmtInt(generated.bytes / 1e6)} MB, ${generated.seconds.toFixed(1)} s`,
      );

      await quietBriefly(ctx, 'the discovery run', QUIET_WAIT_S);
      const admin = await issuer.token({ sub: 'bench-admin', roles: ['admin'] }, { expiresIn: '2h' });
      const viewer = await issuer.token({ sub: 'bench-viewer', roles: ['viewer'] }, { expiresIn: '2h' });
      const rssEnd = ctx.sampler.window(label);
      const cpu = cpuWindow(ctx, { 'app-registry': svc.child });
      const t0 = performance.now();
      const res = await fetch(`${svc.url}/apps/v1/discovery/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}` },
      });
      const started = (await res.json()) as RunView;
      if (res.status !== 202) throw new Error(`POST /apps/v1/discovery/runs answered ${res.status}`);
      const timeoutS = ctx.quick ? RUN_TIMEOUT_S.quick : RUN_TIMEOUT_S.full;
      let run: RunView = started;
      let nextReport = Date.now() + 15_000;
      while (run.status === 'running') {
        if (ctx.shuttingDown) throw new Error('the run is stopping');
        if (!svc.child.isAlive()) throw new Error(`app-registry exited; see ${svc.child.log}`);
        if (performance.now() - t0 > timeoutS * 1000) {
          throw new Error(`the discovery run did not finish within ${timeoutS} s`);
        }
        await sleep(250);
        const got = await fetch(`${svc.url}/apps/v1/discovery/runs/${started.id}`, {
          headers: { authorization: `Bearer ${viewer}` },
        });
        if (got.status !== 200) throw new Error(`GET /apps/v1/discovery/runs/${started.id} answered ${got.status}`);
        run = (await got.json()) as RunView;
        if (Date.now() >= nextReport) {
          const read = run.sources.reduce((n, s) => n + s.linesRead, 0);
          say.info(
            `discovery running for ${Math.round((performance.now() - t0) / 1000)} s; sources done: ${run.sources.length} (${fmtInt(read)} lines)`,
          );
          nextReport += 15_000;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const cores = cpu();
      const rssPeakBytes = rssEnd();
      const failed = run.sources.filter((s) => s.failed);
      if (failed.length > 0 || !run.totals) {
        throw new Error(
          `the run ended ${run.status}: ${failed.map((s) => `${s.source}: ${s.failed}`).join('; ') || 'no totals'}`,
        );
      }
      const runSeconds = (Date.parse(run.finishedAt ?? '') - Date.parse(run.startedAt)) / 1000;
      const result: DiscoveryResults = {
        generated: {
          lines: generated.lines,
          files: generated.files,
          bytes: generated.bytes,
          seconds: generated.seconds,
        },
        registeredApps: APPS,
        seconds,
        runSeconds,
        status: run.status,
        totals: run.totals,
        sources: run.sources.map(({ source, files, linesRead, sightings, errors }) => ({
          source,
          files,
          linesRead,
          sightings,
          errors,
        })),
        linesPerS: run.totals.linesRead / seconds,
        rssPeakBytes,
        rssIdleBytes,
        cores,
      };
      ctx.results.discovery = result;
      say.info(
        `discovery: ${run.status}, ${fmtInt(run.totals.linesRead)} lines in ${seconds.toFixed(1)} s (${fmtInt(result.linesPerS)} lines/s), ${fmtInt(run.totals.sightings)} sightings, ${fmtInt(run.totals.appsMatched)} apps matched, ${fmtInt(run.totals.newCandidates)} new candidates, ${fmtInt(run.totals.errors)} errors; peak RSS ${fmtInt(rssPeakBytes / 1e6)} MB; cores used ${fmtCores(ctx, cores)}`,
      );
    } finally {
      await registry?.stop();
      folder.remove();
    }
  },
};
