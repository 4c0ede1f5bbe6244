/**
 * How every figure of `npm run bench` is taken: on a quiet machine (waiting, then repeating a
 * disturbed measurement), with the cores each process used over the window, and the memory of
 * the services during it. Shared by the scenarios; all state lives on the BenchContext.
 */
import { say } from '../../scripts/lib/console.js';
import type { BenchContext } from './context.js';
import { droppedText, type LoadResult } from './load.js';
import { children, coresUsed, cpuSnapshot, type NodeChild } from './procs.js';
import { BACKGROUND_LIMIT } from './report.js';
import { fmtInt, fmtLatency } from './stats.js';

/** The path every webhook load posts to. */
export const WEBHOOK_PATH = '/v1/webhooks/pagerduty';

/** Lets requests that were in flight when a load stopped finish before a service is stopped. */
export const settle = () => new Promise((r) => setTimeout(r, 1500));

/** The sum of a metric over all its label sets, from a service's /metrics. */
export async function metricSum(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The service's own view of its memory (V8 heap and external memory, from /metrics); NaN where unreadable. */
export async function heapMetrics(url: string): Promise<{ heapTotal: number; heapUsed: number; external: number }> {
  const [heapTotal, heapUsed, external] = await Promise.all(
    ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'].map((m) =>
      metricSum(url, m).catch(() => Number.NaN),
    ),
  );
  return { heapTotal: heapTotal!, heapUsed: heapUsed!, external: external! };
}

/**
 * Records the peak RSS of `label` during `run` under `runName`, and with `url` the service's
 * own view of its memory at the end of the run (V8 heap and external memory, from /metrics).
 */
export async function rssDuring<T>(
  ctx: BenchContext,
  label: string,
  runName: string,
  url: string | null,
  run: () => Promise<T>,
): Promise<T> {
  const { results } = ctx;
  const end = ctx.sampler.window(label);
  try {
    return await run();
  } finally {
    const peak = end();
    if (Number.isFinite(peak)) {
      results.rssByRun[label] ??= {};
      results.rssByRun[label][runName] = Math.max(results.rssByRun[label][runName] ?? 0, peak);
    }
    if (url) {
      const heap = await heapMetrics(url);
      results.heapByRun[label] ??= {};
      results.heapByRun[label][runName] = heap;
    }
  }
}

/** CPU accounting for one measured window: which process used how many of the cores. */
export function cpuWindow(ctx: BenchContext, extra: Record<string, NodeChild | undefined>) {
  const processes: Record<string, { pid: number; tree: boolean }> = { bench: { pid: process.pid, tree: false } };
  if (ctx.pids.postgres) processes.postgres = { pid: ctx.pids.postgres, tree: true };
  if (ctx.pids.kafka) processes.kafka = { pid: ctx.pids.kafka, tree: false };
  for (const [label, child] of Object.entries(extra)) if (child) processes[label] = { pid: child.pid, tree: true };
  const before = cpuSnapshot(processes);
  return () => coresUsed(before, cpuSnapshot(processes), ctx.cores);
}

/**
 * Before each measurement: other processes on the machine (not this run's) must use less than
 * BACKGROUND_LIMIT cores, or the figures say nothing about our code. Waits within a bounded
 * budget for the whole run, then measures anyway; the report marks every disturbed figure.
 */
export async function waitForQuiet(ctx: BenchContext, what: string): Promise<void> {
  for (;;) {
    const cpu = cpuWindow(ctx, Object.fromEntries([...children].map((c) => [c.name, c])));
    await new Promise((r) => setTimeout(r, 2000));
    const other = cpu().other ?? 0;
    if (other <= BACKGROUND_LIMIT) return;
    if (ctx.quietBudgetS <= 0) {
      say.fail(
        `${other.toFixed(2)} cores are busy outside this run; measuring ${what} anyway (the report marks it) ${ctx.tag}`,
      );
      return;
    }
    say.info(
      `waiting for a quiet machine before ${what}: ${other.toFixed(2)} cores busy outside this run (${Math.round(ctx.quietBudgetS)} s of waiting left)`,
    );
    await new Promise((r) => setTimeout(r, 5000));
    ctx.quietBudgetS -= 7;
  }
}

/** waitForQuiet, spending at most `maxS` of the run's waiting budget here. */
export async function quietBriefly(ctx: BenchContext, what: string, maxS: number): Promise<void> {
  const budget = ctx.quietBudgetS;
  ctx.quietBudgetS = Math.min(budget, maxS);
  const before = ctx.quietBudgetS;
  try {
    await waitForQuiet(ctx, what);
  } finally {
    ctx.quietBudgetS = budget - (before - ctx.quietBudgetS);
  }
}

/**
 * Runs a measurement on a quiet machine: waits for quiet first and, when other processes still
 * took more than BACKGROUND_LIMIT cores during it, measures again (at most maxAttempts times,
 * within the waiting budget), keeping the attempt with the least background load. Attempts
 * are chosen by disturbance, never by result.
 */
export async function steady<T extends { cores: Record<string, number> }>(
  ctx: BenchContext,
  what: string,
  run: () => Promise<T>,
): Promise<T> {
  const { maxAttempts } = ctx.settings;
  let best: T | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    await waitForQuiet(ctx, what);
    const result = await run();
    const other = result.cores.other ?? 0;
    if (!best || other < (best.cores.other ?? 0)) best = result;
    if (other <= BACKGROUND_LIMIT || ctx.quietBudgetS <= 0 || attempt === maxAttempts || ctx.shuttingDown) break;
    say.info(
      `${what}: ${other.toFixed(2)} cores were busy outside this run meanwhile; measuring again (attempt ${attempt + 1} of ${maxAttempts})`,
    );
  }
  return best!;
}

/** "webhook-ingest 0.93 (kernel 0.12), kafka 0.40, … (machine busy 1.85 of 2)". */
export function fmtCores(ctx: BenchContext, c: Record<string, number>): string {
  const parts = Object.entries(c)
    .filter(([k]) => k !== 'machine' && !k.endsWith('.sys'))
    .map(([k, v]) => {
      const sys = c[`${k}.sys`];
      return sys !== undefined && sys >= 0.01
        ? `${k} ${v.toFixed(2)} (kernel ${sys.toFixed(2)})`
        : `${k} ${v.toFixed(2)}`;
    });
  return `${parts.join(', ')} (machine busy ${c.machine?.toFixed(2)} of ${ctx.cores})`;
}

export function describeLoad(ctx: BenchContext, label: string, r: LoadResult): void {
  const codes = Object.entries(r.status)
    .map(([code, n]) => `${code}×${fmtInt(n)}`)
    .join(' ');
  say.info(
    `${label}: ${fmtInt(r.answeredPerS)} answered 2xx/s ${ctx.tag}; ${fmtLatency(r.latency)} ${ctx.tag}; statuses ${codes || 'none'}; errors ${r.errors}${r.dropped ? `; ${droppedText(r)}` : ''}`,
  );
}

/** Posts one signed webhook and fails unless it is answered 202; returns the body. */
export async function sanityCheck(url: string, webhook: { body: Buffer; signature: string }): Promise<string> {
  const res = await fetch(`${url}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pagerduty-signature': webhook.signature },
    body: webhook.body,
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`a signed webhook answered ${res.status}: ${text.slice(0, 300)}`);
  return text;
}
