import pg from 'pg';
import PgBoss from 'pg-boss';
import type { z } from 'zod';
import type { Component, HealthStatus } from './component.js';
import { advisoryLockKey, dbErrorCode, SESSION_OPTIONS } from './db.js';
import { InputError } from './errors.js';
import type { Logger } from './logger.js';
import { Counter, Gauge, type Registry } from './metrics.js';
import { withSpan } from './tracing.js';

/*
 * Durable scheduled and delayed jobs on pg-boss (docs/adr/0006-durable-jobs.md). Every due run
 * is a row in the service's own job schema; a replica takes one with FOR UPDATE SKIP LOCKED, so
 * one replica runs it. A run that outlives its timeout (its replica died, hung or was cut off)
 * is failed by whichever replica does the periodic maintenance and retried per its policy, so
 * runs are at least once: a job's effect must be idempotent. Cron ticks are turned into runs by
 * pg-boss's clock, which one replica at a time advances.
 */

export interface JobContext {
  /** The runner's logger with `job` and `jobId` bound. */
  logger: Logger;
  jobId: string;
  /** The job's name. */
  name: string;
  /** 1 for the first run of this job id, 2 for its first retry, … */
  attempt: number;
  /**
   * Aborted when the run exceeds its timeout or the runner stops before it finished: the run
   * has then been handed back to the queue and will be retried, so stop working.
   */
  signal: AbortSignal;
}

export interface JobDefinition<T = unknown> {
  /** [a-z][a-z0-9-]*, unique within the service */
  name: string;
  /**
   * Optional cron expression (UTC, 5 fields, minute granularity): one run per tick across all
   * replicas. A tick runs with `data` undefined.
   */
  cron?: string;
  /** Optional zod schema for the job's data; bad data given to schedule() throws InputError naming the field. */
  data?: z.ZodType<T>;
  run(data: T, ctx: JobContext): Promise<void>;
  /** How long one run may take before it counts as lost and is retried elsewhere (default 300 s). */
  timeoutSeconds?: number;
  /**
   * Retries after a failed or lost run (default: 2 retries, 30 s apart, doubling). `backoff`
   * doubles the delay at each retry, with jitter (default false when `retry` is given).
   */
  retry?: { limit: number; delaySeconds: number; backoff?: boolean };
}

/** Identity helper that lets TypeScript infer a job's data type from its zod schema. */
export function defineJob<T>(definition: JobDefinition<T>): JobDefinition<T> {
  return definition;
}

export interface JobRunner extends Component {
  /** Installs or upgrades pg-boss's tables, creates the queues, registers the cron schedules, starts working. */
  start(): Promise<void>;
  /**
   * A delayed one-off run of a defined job at `at`. With `key`, at most one pending run per
   * (name, key): scheduling again REPLACES the pending one (its time and data become the new
   * ones), so e.g. extending a drill just schedules its expiry again. A run already in progress
   * is not affected. Returns the new run's job id.
   */
  schedule<T>(name: string, data: T, opts: { at: Date; key?: string }): Promise<string>;
  /** Cancels the pending run with this key (waiting for its time or for a retry); a no-op when there is none. */
  cancel(name: string, key: string): Promise<void>;
  /** Runs a defined job now, once (for "run now" buttons and tests); with `key`, replaces a pending run like schedule(). */
  runNow<T>(name: string, data: T, opts?: { key?: string }): Promise<string>;
}

export interface JobRunnerOptions {
  databaseUrl: string;
  /** Postgres schema pg-boss keeps its tables in, owned by this service, e.g. `escalation_jobs`. */
  schema: string;
  jobs: JobDefinition<unknown>[];
  logger: Logger;
  registry: Registry;
  /** Worker poll interval (default 2 s; tests use a small value). */
  pollIntervalSeconds?: number;
  /** false: schedule/enqueue only, run nothing (for a replica that must not work, and for migrate-only). Default true. */
  work?: boolean;
  /**
   * How often one replica (whichever gets there first) fails runs that outlived their lease
   * and archives finished ones (default 60 s). A run whose replica died is retried within its
   * timeout + 5 s + this interval (+ its retry delay).
   */
  maintenanceIntervalSeconds?: number;
  /** How often the cron clock looks for due ticks, 1–45 s (default 30 s; tests use 1). */
  cronCheckIntervalSeconds?: number;
  /** stop() waits this long for runs in progress; runs still going are handed back to the queue (default 8 s). */
  stopTimeoutSeconds?: number;
  /** Connections in the runner's own pool (default 4). */
  maxConnections?: number;
}

const JOB_NAME = /^[a-z][a-z0-9-]*$/;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
const DEFAULT_TIMEOUT_SECONDS = 300;
const DEFAULT_RETRY = { limit: 2, delaySeconds: 30, backoff: true };
/**
 * pg-boss's own lease (expire_in) is a little longer than the run timeout, so that a live
 * replica times its run out and hands it back itself before maintenance would take it away.
 */
const LEASE_GRACE_SECONDS = 5;
/** pg-boss refuses leases of 24 h or more. */
const MAX_TIMEOUT_SECONDS = 24 * 3600 - LEASE_GRACE_SECONDS - 1;
const MAX_KEY_LENGTH = 200;

class JobTimeoutError extends Error {
  constructor(name: string, seconds: number) {
    super(`job ${name} did not finish within its timeout of ${seconds} s`);
    this.name = 'JobTimeoutError';
  }
}

class RunnerStoppedError extends Error {
  constructor() {
    super('the job runner stopped before the run finished; the run was handed back to the queue');
    this.name = 'RunnerStoppedError';
  }
}

interface Resolved {
  definition: JobDefinition<unknown>;
  timeoutSeconds: number;
  retry: { limit: number; delaySeconds: number; backoff: boolean };
}

function validate(definitions: JobDefinition<unknown>[], schema: string): Map<string, Resolved> {
  if (!SCHEMA_NAME.test(schema) || schema.length > 50) {
    throw new Error(`job schema ${JSON.stringify(schema)} must match ${SCHEMA_NAME} and have at most 50 characters`);
  }
  const byName = new Map<string, Resolved>();
  for (const definition of definitions) {
    const { name } = definition;
    if (!JOB_NAME.test(name)) throw new Error(`job name ${JSON.stringify(name)} must match ${JOB_NAME}`);
    if (byName.has(name)) throw new Error(`job ${name} is defined twice`);
    if (definition.cron !== undefined && definition.cron.trim().split(/\s+/).length !== 5) {
      throw new Error(
        `job ${name}: cron ${JSON.stringify(definition.cron)} must have 5 fields (minute hour day-of-month month day-of-week, UTC)`,
      );
    }
    const timeoutSeconds = definition.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw new Error(`job ${name}: timeoutSeconds must be a whole number from 1 to ${MAX_TIMEOUT_SECONDS}`);
    }
    const retry = definition.retry ? { backoff: false, ...definition.retry } : DEFAULT_RETRY;
    if (
      !Number.isInteger(retry.limit) ||
      retry.limit < 0 ||
      !Number.isInteger(retry.delaySeconds) ||
      retry.delaySeconds < 0
    ) {
      throw new Error(`job ${name}: retry.limit and retry.delaySeconds must be whole numbers >= 0`);
    }
    byName.set(name, { definition, timeoutSeconds, retry: { ...retry, backoff: retry.backoff ?? false } });
  }
  return byName;
}

/** A sleep that stop() and runNow() can cut short. */
function wakeableSleep() {
  let wake: (() => void) | null = null;
  return {
    sleep(ms: number) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    },
    wake() {
      wake?.();
    },
  };
}

interface InFlight {
  name: string;
  jobId: string;
  controller: AbortController;
  done: Promise<void>;
}

export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const schema = opts.schema;
  const jobs = validate(opts.jobs, schema);
  const names = [...jobs.keys()];
  const work = opts.work ?? true;
  const pollMs = Math.max(50, Math.round((opts.pollIntervalSeconds ?? 2) * 1000));
  const stopTimeoutMs = Math.round((opts.stopTimeoutSeconds ?? 8) * 1000);
  const logger = opts.logger;

  let pool: pg.Pool | undefined;
  let poolClosed = false;
  let boss: PgBoss | undefined;
  let started = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const loops: Promise<void>[] = [];
  const sleepers = new Map(names.map((name) => [name, wakeableSleep()]));
  const inFlight = new Map<string, InFlight>();

  // Metrics. Job names are the only label values, and they come from code: bounded.
  const labelNames = ['job'] as const;
  const runs = new Counter({
    name: 'jobs_runs_total',
    help: 'Job runs finished by this replica, by job and outcome (succeeded, failed; a timed-out run is failed)',
    labelNames: ['job', 'outcome'] as const,
    registers: [opts.registry],
  });
  const lastRun = new Gauge({
    name: 'jobs_last_run_timestamp_seconds',
    help: 'When the last run of the job on this replica finished (Unix time); max() across replicas',
    labelNames,
    registers: [opts.registry],
    // Over the worker processes of one replica (workers.ts), as across replicas.
    aggregator: 'max',
  });
  const lastSuccess = new Gauge({
    name: 'jobs_last_success_timestamp_seconds',
    help: 'When the last successful run of the job on this replica finished (Unix time); max() across replicas',
    labelNames,
    registers: [opts.registry],
    aggregator: 'max',
  });
  const lastOutcome = new Gauge({
    name: 'jobs_last_outcome',
    help: 'Outcome of the last run of the job on this replica: 1 succeeded, 0 failed',
    labelNames,
    registers: [opts.registry],
    // Over worker processes: 0 when any worker's last run failed.
    aggregator: 'min',
  });
  const lastDuration = new Gauge({
    name: 'jobs_last_duration_seconds',
    help: 'Duration of the last run of the job on this replica',
    labelNames,
    registers: [opts.registry],
    aggregator: 'max',
  });
  new Gauge({
    name: 'jobs_running',
    help: 'Runs of the job in progress on this replica',
    labelNames,
    registers: [opts.registry],
    // Each worker process runs its own: the pod's is their sum.
    aggregator: 'sum',
    collect() {
      for (const name of names) this.set({ job: name }, 0);
      for (const f of inFlight.values()) this.inc({ job: f.name });
    },
  });
  // The pending gauges are service-wide (read from the job table): every replica reports the
  // same values. prom-client collects all metrics of a scrape concurrently, so both gauges
  // share one query per scrape.
  let pending: Promise<Map<string, { due: number; later: number }> | null> | null = null;
  const countPending = () => {
    pending ??= (async () => {
      if (!pool || poolClosed || !started) return null;
      try {
        const { rows } = await pool.query<{ name: string; due: number; later: number }>(
          `select name, count(*) filter (where start_after <= now())::int as due,
                  count(*) filter (where start_after > now())::int as later
             from ${schema}.job
            where name = any($1::text[]) and state < 'active'
            group by name`,
          [names],
        );
        return new Map(rows.map((r) => [r.name, r]));
      } catch (error) {
        // The scrape still answers; the values stay at the last ones read.
        logger.debug({ err: error }, 'jobs: could not count pending runs');
        return null;
      }
    })().finally(() => {
      pending = null;
    });
    return pending;
  };
  new Gauge({
    name: 'jobs_queued',
    help: 'Runs of the job that are due and not yet started: the backlog; service-wide',
    labelNames,
    registers: [opts.registry],
    // Service-wide: every worker process reads the same value; summing would count it again.
    aggregator: 'first',
    async collect() {
      const counts = await countPending();
      if (counts) for (const name of names) this.set({ job: name }, counts.get(name)?.due ?? 0);
    },
  });
  new Gauge({
    name: 'jobs_delayed',
    help: 'Runs of the job waiting for their time (delayed runs and retries in back-off); service-wide',
    labelNames,
    registers: [opts.registry],
    aggregator: 'first',
    async collect() {
      const counts = await countPending();
      if (counts) for (const name of names) this.set({ job: name }, counts.get(name)?.later ?? 0);
    },
  });
  for (const name of names) {
    runs.inc({ job: name, outcome: 'succeeded' }, 0);
    runs.inc({ job: name, outcome: 'failed' }, 0);
  }

  const requireBoss = (): PgBoss => {
    if (!boss || !started || stopping) throw new Error('the job runner is not running (start() it first)');
    return boss;
  };

  const resolve = (name: string): Resolved => {
    const job = jobs.get(name);
    if (!job) throw new Error(`unknown job ${JSON.stringify(name)}; defined: ${names.join(', ') || '(none)'}`);
    return job;
  };

  const parseData = (job: Resolved, data: unknown): unknown => {
    const schemaOfData = job.definition.data;
    if (!schemaOfData) return data;
    const parsed = schemaOfData.safeParse(data);
    if (!parsed.success) throw InputError.fromZod(parsed.error, `data for job ${job.definition.name}`);
    return parsed.data;
  };

  const sendOptions = (job: Resolved) => ({
    retryLimit: job.retry.limit,
    retryDelay: job.retry.delaySeconds,
    retryBackoff: job.retry.backoff,
    expireInSeconds: job.timeoutSeconds + LEASE_GRACE_SECONDS,
  });

  /**
   * In one transaction: with a key, take the key's lock and cancel its pending run, then insert
   * the new run. Concurrent schedule() calls for one key thus leave exactly one pending run,
   * the last one's.
   */
  const enqueue = async (name: string, data: unknown, at: Date | undefined, key: string | undefined) => {
    const b = requireBoss();
    const job = resolve(name);
    if (at !== undefined && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
      throw new InputError(`invalid schedule for job ${name}: at: must be a valid date`);
    }
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
      throw new InputError(`invalid schedule for job ${name}: key: must be 1 to ${MAX_KEY_LENGTH} characters`);
    }
    // JSON text, so that pg stores strings and arrays as JSON too (it would send arrays as Postgres arrays).
    const payload = JSON.stringify(parseData(job, data)) ?? null;
    const id = await inTransaction(async (client, db) => {
      if (key !== undefined) await cancelPending(client, db, name, key);
      const stored = await b.send(name, payload as unknown as object, {
        ...sendOptions(job),
        ...(at ? { startAfter: at } : {}),
        ...(key !== undefined ? { singletonKey: key } : {}),
        db,
      });
      if (!stored) throw new Error(`job ${name}: pg-boss did not store the run`);
      return stored;
    });
    if (!at || at.getTime() <= Date.now()) sleepers.get(name)?.wake();
    return id;
  };

  /** Runs `fn` in a transaction on one pooled connection, which pg-boss's calls use too (`db`). */
  const inTransaction = async <R>(fn: (client: pg.PoolClient, db: PgBoss.Db) => Promise<R>): Promise<R> => {
    const client = await pool!.connect();
    const db = { executeSql: (text: string, values: unknown[]) => client.query(text, values) };
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const result = await fn(client, db);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch((e: Error) => {
        broken = e;
      });
      throw error;
    } finally {
      // A connection that could not even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  };

  const cancelPending = async (client: pg.PoolClient, db: PgBoss.Db, name: string, key: string) => {
    await client.query('select pg_advisory_xact_lock($1::bigint)', [advisoryLockKey(schema, 'job-key', name, key)]);
    const { rows } = await client.query<{ id: string }>(
      `select id from ${schema}.job where name = $1 and singleton_key = $2 and state < 'active' for update`,
      [name, key],
    );
    if (rows.length > 0) {
      await requireBoss().cancel(
        name,
        rows.map((r) => r.id),
        { db },
      );
    }
    return rows.length;
  };

  const record = (name: string, outcome: 'succeeded' | 'failed', seconds: number) => {
    const now = Date.now() / 1000;
    runs.inc({ job: name, outcome });
    lastRun.set({ job: name }, now);
    lastOutcome.set({ job: name }, outcome === 'succeeded' ? 1 : 0);
    lastDuration.set({ job: name }, seconds);
    if (outcome === 'succeeded') lastSuccess.set({ job: name }, now);
  };

  /** Runs one fetched job and records its outcome in pg-boss and on /metrics. */
  const execute = async (job: Resolved, fetched: PgBoss.JobWithMetadata<unknown>) => {
    const b = boss!;
    const name = job.definition.name;
    const attempt = (fetched.retryCount ?? 0) + 1;
    const log = logger.child({ job: name, jobId: fetched.id });
    const controller = new AbortController();
    const startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const finish = async (): Promise<void> => {
      try {
        const data = parseData(job, fetched.data ?? undefined);
        const ctx: JobContext = { logger: log, jobId: fetched.id, name, attempt, signal: controller.signal };
        await withSpan(
          `job ${name}`,
          { attributes: { 'job.name': name, 'job.id': fetched.id, 'job.attempt': attempt } },
          async () => {
            const running = Promise.resolve().then(() => job.definition.run(data, ctx));
            const timedOut = new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                const error = new JobTimeoutError(name, job.timeoutSeconds);
                controller.abort(error);
                reject(error);
              }, job.timeoutSeconds * 1000);
            });
            // A run that timed out or was abandoned at stop may still settle later: say so.
            running.then(
              () => controller.signal.aborted && log.warn('jobs: a run handed back earlier finished after all'),
              (error: unknown) =>
                controller.signal.aborted && log.debug({ err: error }, 'jobs: a run handed back earlier ended'),
            );
            const stoppedEarly = new Promise<never>((_, reject) => {
              controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
            });
            await Promise.race([running, timedOut, stoppedEarly]);
          },
        );
        clearTimeout(timer);
        const seconds = (performance.now() - startedAt) / 1000;
        record(name, 'succeeded', seconds);
        const result = await b.complete(name, fetched.id).catch((error: unknown) => {
          log.warn({ err: error }, 'jobs: run succeeded but its completion could not be recorded; it may run again');
          return undefined;
        });
        if (result && (result as { affected?: number }).affected === 0) {
          log.warn('jobs: run succeeded after its lease had expired; it may run again');
        }
        log.info({ attempt, durationMs: Math.round(seconds * 1000) }, 'jobs: run succeeded');
      } catch (error) {
        clearTimeout(timer);
        const seconds = (performance.now() - startedAt) / 1000;
        if (error instanceof RunnerStoppedError) {
          // Not an outcome of the job's code: the run goes back to the queue (counting as an
          // attempt, as with pg-boss's own stop) and another replica takes it.
          log.warn({ attempt }, 'jobs: runner stopping; run handed back to the queue');
        } else {
          record(name, 'failed', seconds);
          const retries = attempt <= job.retry.limit;
          log.error(
            { err: error, attempt, durationMs: Math.round(seconds * 1000) },
            `jobs: run failed${retries ? '; it will be retried' : '; no retries left'}`,
          );
        }
        // Only the message goes to the job table: stacks and causes may carry more than needed.
        await b.fail(name, fetched.id, { message: (error as Error).message ?? String(error) }).catch((e: unknown) => {
          log.warn(
            { err: e },
            'jobs: the failure could not be recorded; the run will be retried after its lease expires',
          );
        });
      }
    };
    const done = finish();
    inFlight.set(fetched.id, { name, jobId: fetched.id, controller, done });
    try {
      await done;
    } finally {
      inFlight.delete(fetched.id);
    }
  };

  const loop = async (job: Resolved) => {
    const sleeper = sleepers.get(job.definition.name)!;
    while (!stopping) {
      let ran = false;
      try {
        const [fetched] = await boss!.fetch<unknown>(job.definition.name, { batchSize: 1, includeMetadata: true });
        if (fetched && !stopping) {
          ran = true;
          await execute(job, fetched);
        } else if (fetched) {
          // Fetched while stopping: hand it straight back.
          await boss!.fail(job.definition.name, fetched.id, { message: new RunnerStoppedError().message });
        }
      } catch (error) {
        logger.warn({ err: error, job: job.definition.name }, 'jobs: polling failed; retrying');
      }
      if (!ran && !stopping) await sleeper.sleep(pollMs);
    }
  };

  const stop = async () => {
    if (!boss) return;
    const b = boss;
    stopping = true;
    for (const s of sleepers.values()) s.wake();
    // Runs in progress get stopTimeout to finish; the rest are aborted and handed back.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...inFlight.values()].map((f) => f.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const abandoned = [...inFlight.values()];
    for (const f of abandoned) f.controller.abort(new RunnerStoppedError());
    await Promise.allSettled(abandoned.map((f) => f.done));
    await Promise.allSettled(loops);
    if (abandoned.length > 0) {
      logger.warn({ runs: abandoned.map((f) => ({ job: f.name, jobId: f.jobId })) }, 'jobs: runs handed back at stop');
    }
    try {
      await b.stop({ graceful: true, wait: true, timeout: 1000 });
    } finally {
      started = false;
      poolClosed = true;
      await pool?.end();
    }
  };

  /** Queues and cron schedules follow the definitions: created, updated, removed. */
  const setUp = async (b: PgBoss) => {
    for (const [name, job] of jobs) {
      const settings = { name, ...sendOptions(job) };
      await b.createQueue(name, settings);
      await b.updateQueue(name, settings);
    }
    for (const [name, job] of jobs) {
      if (job.definition.cron === undefined) continue;
      await b
        .schedule(name, job.definition.cron, undefined, { tz: 'UTC', ...sendOptions(job) })
        .catch((error: unknown) => {
          throw new Error(
            `job ${name}: cannot schedule cron ${JSON.stringify(job.definition.cron)}: ${(error as Error).message}`,
          );
        });
    }
    for (const existing of await b.getSchedules()) {
      if (jobs.get(existing.name)?.definition.cron === undefined) {
        await b.unschedule(existing.name);
        logger.info({ job: existing.name }, 'jobs: cron schedule removed (no longer defined)');
      }
    }
  };

  /**
   * Replicas starting together set up one at a time: pg-boss 10 creates a queue's partition
   * without a lock, and two replicas creating the same queue at once deadlock. The lock's
   * connection is closed afterwards, which releases the lock whatever happened.
   */
  const withSetupLock = async (p: pg.Pool, fn: () => Promise<void>) => {
    const client = await p.connect();
    const key = advisoryLockKey(schema, 'job-setup');
    try {
      await client.query('select pg_advisory_lock($1::bigint)', [key]);
      try {
        await fn();
      } finally {
        await client.query('select pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      }
    } finally {
      client.release(true);
    }
  };

  return {
    id: 'jobs',
    async start() {
      if (boss) throw new Error('the job runner was started already; create a new one');
      pool = new pg.Pool({
        connectionString: opts.databaseUrl,
        max: opts.maxConnections ?? 4,
        connectionTimeoutMillis: 5000,
        idleTimeoutMillis: 30_000,
        application_name: `${schema}-runner`,
        options: SESSION_OPTIONS,
      });
      pool.on('error', (error) => logger.warn({ err: error }, 'jobs: idle connection error'));
      pool.on('connect', (client) => {
        client.on('error', (error) => logger.warn({ err: error }, 'jobs: connection lost while in use'));
      });
      const p = pool;
      boss = new PgBoss({
        // pg-boss runs on our pool; once stopped, its late calls are no-ops rather than errors.
        db: {
          executeSql: async (text: string, values: unknown[]) => (poolClosed ? { rows: [] } : p.query(text, values)),
        },
        schema,
        migrate: true,
        // Only working replicas advance the cron clock and do maintenance.
        schedule: work,
        supervise: work,
        maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds ?? 60,
        cronMonitorIntervalSeconds: opts.cronCheckIntervalSeconds ?? 30,
        cronWorkerIntervalSeconds: Math.min(5, opts.cronCheckIntervalSeconds ?? 5),
      });
      boss.on('error', (error) => logger.warn({ err: error }, `jobs: ${error.message}`));
      try {
        const b = boss;
        await withSetupLock(p, async () => {
          await b.start();
          await setUp(b);
        });
      } catch (error) {
        await boss.stop({ graceful: false }).catch(() => undefined);
        poolClosed = true;
        await p.end().catch(() => undefined);
        if (dbErrorCode(error) === '42501') {
          // pg-boss creates, upgrades and partitions its schema as the role the service runs as.
          throw new Error(
            `jobs: the role the service runs as may not set up the job schema ${schema} (${(error as Error).message}): ` +
              'it must be allowed to create that schema (GRANT CREATE ON DATABASE) and own it (see docs/deploy.md)',
            { cause: error },
          );
        }
        throw error;
      }
      started = true;
      if (work) for (const job of jobs.values()) loops.push(loop(job));
      logger.info({ schema, jobs: names, work }, 'jobs: runner started');
    },
    stop() {
      if (!boss) return Promise.resolve();
      stopped ??= stop();
      return stopped;
    },
    async healthcheck(): Promise<HealthStatus> {
      if (!started || !pool) return { healthy: false, reason: 'job runner not started' };
      try {
        await pool.query(`select 1 from ${schema}.version`);
        return { healthy: true };
      } catch (error) {
        return { healthy: false, reason: `job tables unreachable: ${(error as Error).message}` };
      }
    },
    async schedule(name, data, o) {
      if (!o || !(o.at instanceof Date)) throw new InputError(`invalid schedule for job ${name}: at: must be a date`);
      return enqueue(name, data, o.at, o.key);
    },
    async runNow(name, data, o) {
      return enqueue(name, data, undefined, o?.key);
    },
    async cancel(name, key) {
      requireBoss();
      resolve(name);
      await inTransaction((client, db) => cancelPending(client, db, name, key));
    },
  };
}
