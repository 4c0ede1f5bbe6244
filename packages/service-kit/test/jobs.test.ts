import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, metricSample } from '@micro-oncall/test-kit';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  createJobRunner,
  createLogger,
  createMetricsRegistry,
  defineJob,
  InputError,
  type JobContext,
  type JobDefinition,
  type JobRunner,
  type JobRunnerOptions,
  type Logger,
  type Registry,
} from '../src/index.js';
import { stuckJob } from './fixtures/jobs.js';

const SCHEMA = 'kit_jobs';
const silent = createLogger({ service: 'jobs-test', level: 'silent' });

let serverUrl: string;
beforeAll(() => {
  serverUrl = inject('stack').databaseUrl;
});

const runners: JobRunner[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.allSettled(runners.splice(0).map((r) => r.stop()));
});

function newRunner(
  url: string,
  jobs: JobDefinition<unknown>[],
  extra: Partial<JobRunnerOptions> = {},
): { runner: JobRunner; registry: Registry } {
  const registry = createMetricsRegistry('jobs-test');
  const runner = createJobRunner({
    databaseUrl: url,
    schema: SCHEMA,
    jobs,
    logger: silent,
    registry,
    pollIntervalSeconds: 0.2,
    maintenanceIntervalSeconds: 1,
    cronCheckIntervalSeconds: 1,
    ...extra,
  });
  runners.push(runner);
  return { runner, registry };
}

/** Polls `condition` until it holds; the deadline is generous because the machine is shared. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One sample of `/metrics` text, by metric name and a subset of its labels. */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  return metricSample(await registry.metrics(), name, labels);
}

async function jobStates(url: string, name: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string }>(
      `select state::text from ${SCHEMA}.job where name = $1 order by created_on`,
      [name],
    );
    return rows.map((r) => r.state);
  } finally {
    await client.end();
  }
}

interface Run {
  replica: string;
  data: unknown;
  jobId: string;
  attempt: number;
  at: number;
}

/** A job that records each run it is given, with the replica that ran it. */
function recording<T>(
  replica: string,
  runs: Run[],
  def: Omit<JobDefinition<T>, 'run'>,
  body?: (data: T, ctx: JobContext) => Promise<void>,
): JobDefinition<T> {
  return defineJob<T>({
    ...def,
    async run(data, ctx) {
      runs.push({ replica, data, jobId: ctx.jobId, attempt: ctx.attempt, at: Date.now() });
      await body?.(data, ctx);
    },
  });
}

const drillData = z.object({ drillId: z.string().min(1), note: z.string().optional() });

describe(createJobRunner.name, () => {
  it('runs a delayed job at its time and not before', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const { runner, registry } = newRunner(url, [recording('a', runs, { name: 'expire-drill', data: drillData })]);
    await runner.start();

    const at = new Date(Date.now() + 3000);
    const id = await runner.schedule('expire-drill', { drillId: 'drill-1' }, { at });
    await runner.schedule('expire-drill', { drillId: 'drill-later' }, { at: new Date(Date.now() + 3_600_000) });

    await waitFor('the delayed run', () => runs.length > 0);
    expect(runs).toEqual([
      { replica: 'a', data: { drillId: 'drill-1' }, jobId: id, attempt: 1, at: expect.any(Number) },
    ]);
    expect(runs[0]!.at).toBeGreaterThanOrEqual(at.getTime());
    // Picked up within a few poll intervals of its time (generous: the machine is shared).
    expect(runs[0]!.at - at.getTime()).toBeLessThan(10_000);
    // The one an hour away waits, and /metrics says so.
    expect(await sample(registry, 'jobs_delayed', { job: 'expire-drill' })).toBe(1);
    expect(await sample(registry, 'jobs_queued', { job: 'expire-drill' })).toBe(0);
    await waitFor('the completion to be recorded', async () =>
      (await jobStates(url, 'expire-drill')).includes('completed'),
    );
  });

  it('runs each due job on exactly one of two replicas', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 300));
    const a = newRunner(url, [recording('a', runs, { name: 'poll-status', data: drillData }, slow)]).runner;
    const b = newRunner(url, [recording('b', runs, { name: 'poll-status', data: drillData }, slow)]).runner;
    await Promise.all([a.start(), b.start()]);

    const at = new Date(Date.now() + 1000);
    const ids = await Promise.all(
      Array.from({ length: 12 }, (_, i) => a.schedule('poll-status', { drillId: `d${i}` }, { at })),
    );
    await waitFor('every run to complete', async () =>
      (await jobStates(url, 'poll-status')).every((s) => s === 'completed'),
    );
    // Nothing is pending any more, so no late duplicate can follow.
    expect(runs.map((r) => r.jobId).sort()).toEqual([...ids].sort());
    expect(new Set(runs.map((r) => (r.data as { drillId: string }).drillId)).size).toBe(12);
    // Both replicas took part: the exclusion was tested, not avoided.
    expect(new Set(runs.map((r) => r.replica))).toEqual(new Set(['a', 'b']));
  });

  it('replaces the pending run of a key when scheduled again, and cancels it by key', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const { runner, registry } = newRunner(url, [recording('a', runs, { name: 'expire-drill', data: drillData })]);
    await runner.start();

    // An expiry an hour away, then the drill is shortened: one expiry remains, the new one.
    await runner.schedule(
      'expire-drill',
      { drillId: 'd1', note: 'first' },
      { at: new Date(Date.now() + 3_600_000), key: 'd1' },
    );
    const replaced = await runner.schedule(
      'expire-drill',
      { drillId: 'd1', note: 'second' },
      { at: new Date(Date.now() + 1000), key: 'd1' },
    );
    // Another drill's expiry, cancelled; then a run due after it, as a marker.
    await runner.schedule('expire-drill', { drillId: 'd2' }, { at: new Date(Date.now() + 1000), key: 'd2' });
    await runner.cancel('expire-drill', 'd2');
    await runner.cancel('expire-drill', 'no-such-key');
    await runner.schedule('expire-drill', { drillId: 'marker' }, { at: new Date(Date.now() + 1500) });

    await waitFor('the marker run', () => runs.some((r) => (r.data as { drillId: string }).drillId === 'marker'));
    // d2 was due before the marker (and queued first): had it not been cancelled, it would have run.
    expect(runs.map((r) => r.data)).toEqual([{ drillId: 'd1', note: 'second' }, { drillId: 'marker' }]);
    expect(runs[0]!.jobId).toBe(replaced);
    expect(await sample(registry, 'jobs_delayed', { job: 'expire-drill' })).toBe(0);
  });

  it('keeps a scheduled run across a restart of every replica', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const first = newRunner(url, [recording('first', runs, { name: 'purge-app', data: drillData })]).runner;
    await first.start();
    const at = new Date(Date.now() + 1500);
    const id = await first.schedule('purge-app', { drillId: 'app-1' }, { at });
    await first.stop();

    // While no replica runs, the time passes; nothing is kept in memory anywhere.
    await waitFor('the run to be due', () => Date.now() > at.getTime() + 500);
    expect(runs).toEqual([]);

    const second = newRunner(url, [recording('second', runs, { name: 'purge-app', data: drillData })]).runner;
    await second.start();
    await waitFor('the run after the restart', () => runs.length > 0);
    expect(runs).toMatchObject([{ replica: 'second', jobId: id, data: { drillId: 'app-1' }, attempt: 1 }]);
  });

  it('refuses bad data with an InputError that names the field, and stores nothing', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const { runner, registry } = newRunner(url, [recording('a', runs, { name: 'expire-drill', data: drillData })]);
    await runner.start();
    const at = new Date(Date.now() + 1000);

    const bad = runner.schedule('expire-drill', { drillId: 42 }, { at });
    await expect(bad).rejects.toBeInstanceOf(InputError);
    await expect(bad).rejects.toThrow(/drillId/);
    await expect(runner.runNow('expire-drill', {})).rejects.toThrow(/drillId/);
    await expect(runner.schedule('expire-drill', { drillId: 'd' }, { at: new Date(Number.NaN) })).rejects.toThrow(
      /at: must be a valid date/,
    );
    await expect(runner.schedule('no-such-job', {}, { at })).rejects.toThrow(/unknown job "no-such-job"/);

    expect(await jobStates(url, 'expire-drill')).toEqual([]);
    expect(await sample(registry, 'jobs_queued', { job: 'expire-drill' })).toBe(0);
    expect(await sample(registry, 'jobs_delayed', { job: 'expire-drill' })).toBe(0);
  });

  it('refuses definitions it cannot run', () => {
    const base = { run: async () => undefined };
    const make = (jobs: JobDefinition<unknown>[]) => () => newRunner('postgres://unused', jobs);
    expect(make([{ ...base, name: 'Bad_Name' }])).toThrow(/must match/);
    expect(
      make([
        { ...base, name: 'twice' },
        { ...base, name: 'twice' },
      ]),
    ).toThrow(/defined twice/);
    expect(make([{ ...base, name: 'seconds', cron: '*/10 * * * * *' }])).toThrow(/5 fields/);
    expect(make([{ ...base, name: 'slow', timeoutSeconds: 0 }])).toThrow(/timeoutSeconds/);
  });

  it('retries a failing job per its policy, logs failures without the data, and shows outcomes on /metrics', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const lines: string[] = [];
    const logger: Logger = createLogger({
      service: 'jobs-test',
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const secret = `credential-${Math.random().toString(36).slice(2)}`;
    const runs: Run[] = [];
    const flaky = recording('a', runs, { name: 'flaky', retry: { limit: 2, delaySeconds: 1 } }, async (_d, ctx) => {
      if (ctx.attempt < 3) throw new Error(`provider answered 503 (attempt ${ctx.attempt})`);
    });
    const doomed = recording('a', runs, { name: 'doomed', retry: { limit: 1, delaySeconds: 0 } }, async () => {
      throw new Error('always fails');
    });
    const { runner, registry } = newRunner(url, [flaky, doomed], { logger });
    await runner.start();

    const flakyId = await runner.runNow('flaky', { token: secret });
    const doomedId = await runner.runNow('doomed', { token: secret });
    await waitFor('the flaky job to succeed', async () => (await jobStates(url, 'flaky')).includes('completed'));
    await waitFor('the doomed job to give up', async () => (await jobStates(url, 'doomed')).includes('failed'));

    const flakyRuns = runs.filter((r) => r.jobId === flakyId);
    expect(flakyRuns.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // Retried after its delay, not at once.
    expect(flakyRuns[1]!.at - flakyRuns[0]!.at).toBeGreaterThanOrEqual(900);
    expect(flakyRuns[2]!.at - flakyRuns[1]!.at).toBeGreaterThanOrEqual(900);
    expect(runs.filter((r) => r.jobId === doomedId).map((r) => r.attempt)).toEqual([1, 2]);

    expect(await sample(registry, 'jobs_runs_total', { job: 'flaky', outcome: 'failed' })).toBe(2);
    expect(await sample(registry, 'jobs_runs_total', { job: 'flaky', outcome: 'succeeded' })).toBe(1);
    expect(await sample(registry, 'jobs_last_outcome', { job: 'flaky' })).toBe(1);
    expect(await sample(registry, 'jobs_runs_total', { job: 'doomed', outcome: 'failed' })).toBe(2);
    expect(await sample(registry, 'jobs_runs_total', { job: 'doomed', outcome: 'succeeded' })).toBe(0);
    expect(await sample(registry, 'jobs_last_outcome', { job: 'doomed' })).toBe(0);
    const lastRun = await sample(registry, 'jobs_last_run_timestamp_seconds', { job: 'doomed' });
    expect(Math.abs(Date.now() / 1000 - lastRun!)).toBeLessThan(60);
    expect(await sample(registry, 'jobs_last_duration_seconds', { job: 'doomed' })).toBeGreaterThanOrEqual(0);
    expect(await sample(registry, 'jobs_last_success_timestamp_seconds', { job: 'doomed' })).toBeUndefined();

    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');
    expect(failures).toHaveLength(4);
    expect(failures).toContainEqual(
      expect.objectContaining({ job: 'doomed', jobId: doomedId, attempt: 2, msg: 'jobs: run failed; no retries left' }),
    );
    expect(failures).toContainEqual(
      expect.objectContaining({
        job: 'flaky',
        jobId: flakyId,
        attempt: 1,
        msg: 'jobs: run failed; it will be retried',
      }),
    );
    expect(lines.join('')).not.toContain(secret);
  });

  it('hands a run whose replica died to another replica once its lease has expired', { timeout: 120_000 }, async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const here = dirname(fileURLToPath(import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'job-replica.ts')], {
      env: { ...process.env, DATABASE_URL: url, JOB_SCHEMA: SCHEMA },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += String(chunk);
    });
    await waitFor('the other replica to start', () => output.includes('ready'), 60_000);

    const runs: Run[] = [];
    const stuck = (replica: string) =>
      stuckJob(async (data, ctx) => {
        runs.push({ replica, data, jobId: ctx.jobId, attempt: ctx.attempt, at: Date.now() });
      });
    // This one only enqueues while the other replica is alive.
    const enqueuer = newRunner(url, [stuck('enqueuer')], { work: false }).runner;
    await enqueuer.start();
    const id = await enqueuer.runNow('stuck', { drillId: 'd1' });
    await waitFor('the other replica to take the run', () => output.includes(`started ${id} 1`));
    const takenAt = Date.now();
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await jobStates(url, 'stuck')).toEqual(['active']);

    // A working replica finds the run lost once its lease (3 s timeout + 5 s) has expired.
    const working = newRunner(url, [stuck('working')]).runner;
    await working.start();
    await waitFor('the lost run to be retried', () => runs.length > 0);
    expect(runs).toMatchObject([{ replica: 'working', jobId: id, attempt: 2, data: { drillId: 'd1' } }]);
    expect(runs[0]!.at - takenAt).toBeGreaterThanOrEqual(7000);
    await waitFor('the completion to be recorded', async () => (await jobStates(url, 'stuck')).includes('completed'));
  });

  it('hands runs in progress back at stop, within its bound, and another replica finishes them', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    let abortedWith: unknown;
    const long = (replica: string) =>
      recording(replica, runs, { name: 'long', retry: { limit: 1, delaySeconds: 0 } }, async (_d, ctx) => {
        if (ctx.attempt > 1) return;
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            abortedWith = ctx.signal.reason;
            resolve();
          }),
        );
      });
    const a = newRunner(url, [long('a')], { stopTimeoutSeconds: 1 }).runner;
    await a.start();
    const id = await a.runNow('long', {});
    await waitFor('replica a to take the run', () => runs.length === 1);

    const b = newRunner(url, [long('b')]).runner;
    await b.start();
    const stopStarted = Date.now();
    await a.stop();
    expect(Date.now() - stopStarted).toBeLessThan(5000);
    expect(String(abortedWith)).toMatch(/runner stopped/);

    // Taken over at once, well before the 300 s default timeout would have freed it.
    await waitFor('replica b to finish the run', () => runs.length === 2);
    expect(runs).toMatchObject([
      { replica: 'a', jobId: id, attempt: 1 },
      { replica: 'b', jobId: id, attempt: 2 },
    ]);
    await expect(a.runNow('long', {})).rejects.toThrow(/not running/);
  });

  it('reports healthy only while started', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const { runner } = newRunner(url, [recording('a', [], { name: 'noop' })]);
    await expect(runner.healthcheck()).resolves.toMatchObject({ healthy: false });
    await runner.start();
    await expect(runner.healthcheck()).resolves.toEqual({ healthy: true });
    await runner.stop();
    await expect(runner.healthcheck()).resolves.toMatchObject({ healthy: false });
  });

  /*
   * pg-boss's cron has minute granularity: a tick is due in the minute after its time, and one
   * replica at a time checks for due ticks (every second here, `cronCheckIntervalSeconds`;
   * 30 s by default). So this test spans one minute boundary: one run for the current minute's
   * tick, then one for the next. It starts no later than 40 s into a minute so that the first
   * run surely falls in that minute (up to ~20 s of waiting), and then waits for the boundary:
   * 60-85 s in all.
   */
  it('runs a cron job once per tick across two replicas', { timeout: 120_000 }, async () => {
    const url = await createTestDatabase(serverUrl, 'kit_jobs');
    const runs: Run[] = [];
    const a = newRunner(url, [recording('a', runs, { name: 'tick', cron: '* * * * *' })]).runner;
    const b = newRunner(url, [recording('b', runs, { name: 'tick', cron: '* * * * *' })]).runner;
    await waitFor('a point early enough in the minute', () => new Date().getUTCSeconds() <= 40, 25_000);
    const minute = Math.floor(Date.now() / 60_000);
    await Promise.all([a.start(), b.start()]);

    await waitFor('ticks of two minutes', () => runs.length >= 2, 100_000);
    expect(runs.slice(0, 2).map((r) => Math.floor(r.at / 60_000) - minute)).toEqual([0, 1]);
    expect(runs.every((r) => r.data === undefined)).toBe(true);
  });
});
