import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDatabase, createLogger, createMetricsRegistry } from '@micro-oncall/service-kit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as schema from '../src/db/schema.js';
import { CUT_OFF_BY_STOP } from '../src/discovery/run.js';
import { createDiscoveryMetrics } from '../src/metrics.js';
import { runDiscovery } from './discovery-support.js';
import { type Harness, startHarness } from './helpers.js';

/*
 * The last discovery run on /metrics is read from the runs table: every replica and worker
 * process shows the same run, whichever of them ran it, so an alert on it (no run finished for
 * two days, the last run failed) does not depend on which replica was scraped.
 */

type Exposition = () => Promise<string>;

/** The value of one series (`name` or `name{label="…"`) in an exposition text. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${series}{`) || l.startsWith(`${series} `) || l.startsWith(series.replace(/}$/, ',')));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The last run as a scrape shows it. */
async function lastRun(metrics: Exposition) {
  const text = await metrics();
  const status = (s: string) => seriesValue(text, `app_registry_discovery_last_run_status{status="${s}"`);
  return {
    durationS: seriesValue(text, 'app_registry_discovery_last_run_duration_seconds'),
    endedAt: seriesValue(text, 'app_registry_discovery_last_run_timestamp_seconds'),
    succeeded: status('succeeded'),
    partial: status('partial'),
    failed: status('failed'),
  };
}

describe('app-registry discovery: the last run on /metrics', () => {
  let h: Harness;
  let dir: string;
  let database: ReturnType<typeof createDatabase<typeof schema>>;
  /** The service's own /metrics. */
  let service: Exposition;
  /** Another replica on the same database that runs no discovery. */
  let otherReplica: Exposition;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'discovery-metrics-'));
    h = await startHarness({ opa: 'none', env: { DISCOVERY_DIR: dir } });
    database = createDatabase({
      url: h.databaseUrl,
      schema,
      max: 2,
      logger: createLogger({ service: 'discovery-metrics-test', level: 'silent' }),
      applicationName: 'discovery-metrics-test',
    });
    const registry = createMetricsRegistry('app-registry');
    createDiscoveryMetrics(registry, database.db);
    service = async () => (await fetch(`${h.url}/metrics`)).text();
    otherReplica = () => registry.metrics();
  });
  afterAll(async () => {
    await database?.stop();
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('before any run: ended at 0 (an alert on its age fires) and every status 0', async () => {
    for (const metrics of [service, otherReplica]) {
      expect(await lastRun(metrics)).toEqual({ durationS: 0, endedAt: 0, succeeded: 0, partial: 0, failed: 0 });
    }
  });

  it('a run one replica finished shows on a replica that ran none, with its status, duration and end', async () => {
    const run = await runDiscovery(h);
    expect(run.status).toBe('succeeded');
    const expected = {
      durationS: (Date.parse(run.finishedAt!) - Date.parse(run.startedAt)) / 1000,
      endedAt: Date.parse(run.finishedAt!) / 1000,
      succeeded: 1,
      partial: 0,
      failed: 0,
    };
    // A scrape's read is kept for a second: wait for the next one.
    await vi.waitFor(async () => expect(await lastRun(otherReplica)).toEqual(expected), {
      timeout: 10_000,
      interval: 200,
    });
    await vi.waitFor(async () => expect(await lastRun(service)).toEqual(expected), { timeout: 10_000, interval: 200 });
  });

  /** Inserts a finished run as another replica (or the stream) would have written it. */
  const insertRun = (run: { trigger: string; started: Date; ended: Date; status: string; error?: string }) =>
    h.sql(
      `insert into app_registry.discovery_runs (id, trigger, requested_by, started_at, finished_at, status, error)
       values ($1, $2, 'discovery-schedule', $3, $4, $5, $6)`,
      [randomUUID(), run.trigger, run.started.toISOString(), run.ended.toISOString(), run.status, run.error ?? null],
    );
  const newestEnd = async () => {
    const [row] = await h.sql<{ finished_at: string }>(
      `select max(finished_at)::text as finished_at from app_registry.discovery_runs`,
    );
    return Date.parse(row!.finished_at);
  };

  it('a newer run that failed, written by another replica, turns the status to failed on every replica', async () => {
    const started = new Date((await newestEnd()) + 60_000);
    const ended = new Date(started.getTime() + 5_000);
    await insertRun({ trigger: 'schedule', started, ended, status: 'failed' });
    const expected = { durationS: 5, endedAt: ended.getTime() / 1000, succeeded: 0, partial: 0, failed: 1 };
    for (const metrics of [otherReplica, service]) {
      await vi.waitFor(async () => expect(await lastRun(metrics)).toEqual(expected), {
        timeout: 10_000,
        interval: 200,
      });
    }
  });

  it('a run cut off by a stopped replica is failed with no duration: its end was recorded only when the next run began', async () => {
    const started = new Date((await newestEnd()) + 60_000);
    // Found still running six hours later, when the next run started.
    const ended = new Date(started.getTime() + 6 * 3_600_000);
    await insertRun({ trigger: 'manual', started, ended, status: 'failed', error: CUT_OFF_BY_STOP });
    const expected = { durationS: 0, endedAt: ended.getTime() / 1000, succeeded: 0, partial: 0, failed: 1 };
    await vi.waitFor(async () => expect(await lastRun(otherReplica)).toEqual(expected), {
      timeout: 10_000,
      interval: 200,
    });
  });

  it('the stream’s rolling day report is not a run: a newer one changes nothing', async () => {
    const before = await lastRun(otherReplica);
    const started = new Date((await newestEnd()) + 60_000);
    await insertRun({ trigger: 'stream', started, ended: new Date(started.getTime() + 1_000), status: 'succeeded' });
    // Past the one-second memo, two scrapes later: still the run before.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await lastRun(otherReplica);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await lastRun(otherReplica)).toEqual(before);
    expect(await lastRun(service)).toEqual(before);
  });
});
