/**
 * app-registry cost import of 1,000,000 FOCUS 1.2 rows (100,000 with --quick): the issue's
 * target. One month's export is generated (deterministically, streamed) into a temporary file
 * that is removed afterwards; 2,000 registered apps (seeded straight into the table) own part of
 * the resources, by ARN or by an `app-id` tag. The file is sent the way a responder sends it
 * (POST /apps/v1/cost/imports, text/csv, streamed from disk) to app-registry in its own process:
 * wall time from the first byte to the 201, rows/s, and the peak RSS of app-registry.
 */
import { createReadStream } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sqlAs } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { type CostApp, generateFocusFile } from '../lib/app-registry-data.js';
import type { CostImportResults } from '../lib/app-registry-results.js';
import { running, type Scenario } from '../lib/context.js';
import { cpuWindow, fmtCores, quietBriefly } from '../lib/measure.js';
import { rssBytes } from '../lib/procs.js';
import { fmtInt } from '../lib/stats.js';
import { startAppRegistry, tempFolder } from './app-registry-discovery.js';
import { seedApps } from './app-registry-scale.js';

const ROWS = { full: 1_000_000, quick: 100_000 };
const APPS = 2_000;
const QUIET_WAIT_S = 30;
const IMPORT_TIMEOUT_S = { full: 1_800, quick: 600 };

/** POSTs the file as text/csv; the status and the parsed answer. */
function postFile(
  url: string,
  token: string,
  path: string,
  timeoutS: number,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        timeout: timeoutS * 1000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`the import did not answer within ${timeoutS} s`)));
    req.on('error', reject);
    createReadStream(path).on('error', reject).pipe(req);
  });
}

export const appRegistryCost: Scenario = {
  usesPayloads: false,
  title: (ctx) => `app-registry: a cost import of ${fmtInt(ctx.quick ? ROWS.quick : ROWS.full)} FOCUS rows ${ctx.tag}`,
  async run(ctx) {
    const { issuer } = running(ctx);
    const rows = ctx.quick ? ROWS.quick : ROWS.full;
    const label = 'app-registry (cost)';
    const folder = tempFolder(ctx, 'bench-cost-');
    let registry: Awaited<ReturnType<typeof startAppRegistry>> | undefined;
    try {
      registry = await startAppRegistry(ctx, label, {});
      const { svc, databaseUrl } = registry;
      const rssIdleBytes = rssBytes(svc.child.pid) ?? Number.NaN;
      await seedApps(databaseUrl, APPS);
      const apps: CostApp[] = (
        await sqlAs(
          databaseUrl,
          `select id, cloud_resource_ids[1] arn from app_registry.apps where state <> 'purged' order by id`,
        )
      ).rows.map((r: { id: string; arn: string | null }) => ({ id: r.id, functionArn: r.arn }));
      const file = join(folder.path, 'focus-2026-11.csv');
      const generated = await generateFocusFile(file, rows, apps, '2026-11');
      say.info(
        `generated ${fmtInt(rows)} FOCUS rows (${generated.days} days, ${fmtInt(generated.bytes / 1e6)} MB) in ${generated.seconds.toFixed(1)} s`,
      );

      await quietBriefly(ctx, 'the cost import', QUIET_WAIT_S);
      const responder = await issuer.token({ sub: 'bench-responder', roles: ['responder'] }, { expiresIn: '2h' });
      const rssEnd = ctx.sampler.window(label);
      const cpu = cpuWindow(ctx, { 'app-registry': svc.child });
      const t0 = performance.now();
      const answer = await postFile(
        `${svc.url}/apps/v1/cost/imports?file=focus-2026-11.csv`,
        responder,
        file,
        ctx.quick ? IMPORT_TIMEOUT_S.quick : IMPORT_TIMEOUT_S.full,
      );
      const seconds = (performance.now() - t0) / 1000;
      const cores = cpu();
      const rssPeakBytes = rssEnd();
      if (answer.status !== 201) {
        throw new Error(
          `POST /apps/v1/cost/imports answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
        );
      }
      const body = answer.body as CostImportResults['result'];
      if (body.rows !== rows) throw new Error(`the import counted ${body.rows} rows of ${rows}`);
      const expected = (generated.totalCents / 100).toFixed(2);
      if (Number(body.total).toFixed(2) !== expected) {
        throw new Error(`the import's total ${body.total} is not the file's ${expected}`);
      }
      const result: CostImportResults = {
        generated: {
          rows,
          bytes: generated.bytes,
          days: generated.days,
          seconds: generated.seconds,
          totalCents: generated.totalCents,
        },
        registeredApps: APPS,
        seconds,
        rowsPerS: rows / seconds,
        result: {
          rows: body.rows,
          dailyRows: body.dailyRows,
          total: body.total,
          untagged: body.untagged,
          attributed: body.attributed,
        },
        rssPeakBytes,
        rssIdleBytes,
        cores,
      };
      ctx.results.costImport = result;
      say.info(
        `cost import: ${fmtInt(rows)} rows in ${seconds.toFixed(1)} s (${fmtInt(result.rowsPerS)} rows/s) → ${fmtInt(body.dailyRows)} daily rows, total ${body.total} (untagged ${body.untagged}); peak RSS ${fmtInt(rssPeakBytes / 1e6)} MB; cores used ${fmtCores(ctx, cores)}`,
      );
    } finally {
      await registry?.stop();
      folder.remove();
    }
  },
};
