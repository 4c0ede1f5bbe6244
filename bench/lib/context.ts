/**
 * The state of one `npm run bench` run. scripts/bench.ts creates it once and hands it to every
 * scenario: what is measured (plan, settings, targets), where files go, the infrastructure once
 * it is up, the pre-generated payloads, and the results and failures filled in as scenarios
 * run. Scenario modules keep no state of their own; everything a later scenario or the report
 * needs is on this object.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { createKafka } from '@micro-oncall/service-kit';
import { type LocalIssuer, REPO_ROOT, type Stack } from '@micro-oncall/test-kit';
import { runningLoad } from './load.js';
import { type BusMessage, WebhookPool } from './payloads.js';
import { children, type NodeChild, RssSampler, rssBytes } from './procs.js';
import type { BenchResults, Targets } from './report.js';

/** Durations and rates of one run; `--quick` shortens them (figures then not comparable). */
export interface Plan {
  warmS: number;
  lowRate: number;
  lowS: number;
  fixedRate: number;
  fixedS: number;
  connections: number;
  saturationS: number;
  profileS: number;
  busS: number;
  e2eS: number;
  consumerEvents: number;
  /** status-mapper: whole minutes one replica is measured polling, then seconds two replicas run. */
  statusMinutes: number;
  statusReplicasS: number;
  /** Seconds of the open-loop load above webhook-ingest's capacity. */
  overloadS: number;
}

/** How the measurements are taken, the same in quick and full runs except where noted. */
export interface Settings {
  /** Offered rates of the end-to-end scenario, webhooks per second. */
  e2eRates: number[];
  /** Incidents per second sampled through GET /v1/incidents/:id in the end-to-end polling pass. */
  apiSamplesPerS: number;
  pollIntervalMs: number;
  /** Polling every pollIntervalMs for this long, then backing off (see createPoller). */
  pollFineMs: number;
  eventsPerIncident: number;
  /** Messages per produce request in the bus ceiling. */
  busBatches: number[];
  consumerTimeoutS: number;
  /** Measurements per figure: a disturbed one (background load) is repeated, the least disturbed kept. */
  maxAttempts: number;
  /** status-mapper: fake Statuspage pages, and the interval and jitter of each in its sources file. */
  statusPages: number;
  statusIntervalS: number;
  statusJitterS: number;
}

export type Kafka = ReturnType<typeof createKafka>;

export interface BenchContext {
  readonly quick: boolean;
  /** `--durable`: PostgreSQL runs with fsync, synchronous_commit and full_page_writes on for the whole run. */
  readonly durable: boolean;
  readonly plan: Plan;
  readonly settings: Settings;
  readonly targets: Targets;
  /** Cores of this machine, and the tag every figure on screen carries. */
  readonly cores: number;
  readonly tag: string;
  readonly startedAt: number;
  readonly dirs: { work: string; logs: string; secrets: string; profile: string; results: string };

  /** The webhook signing secret, and the signed webhooks and bus messages generated before measuring. */
  readonly secret: string;
  readonly runTag: string;
  readonly pools: { ceiling: WebhookPool; ingest: WebhookPool; e2e: WebhookPool };
  consumerMessages: BusMessage[];

  /** Infrastructure, set by the set-up scenario (see `running` for scenarios that need it). */
  stack?: Stack;
  issuer?: LocalIssuer;
  kafka?: Kafka;
  /** The database the services under test share (a fresh one created on postgresServerUrl). */
  databaseUrl: string;
  /** The PostgreSQL server scenarios create their databases on: the stack's, or the durable one (see durability.ts). */
  postgresServerUrl: string;
  viewerToken: string;
  pids: { postgres?: number; kafka?: number };
  readonly postgresSettings: Record<string, string>;

  readonly sampler: RssSampler;
  readonly results: BenchResults;
  /** Run in reverse order when the run stops (streams, pollers a scenario opened). */
  readonly cleanups: (() => Promise<void>)[];
  readonly failures: string[];
  /** Seconds left, in all, for waiting until the machine is quiet before a measurement. */
  quietBudgetS: number;
  shuttingDown: boolean;
  /** No selected scenario uses the pre-generated payloads: the set-up skips them. */
  skipPayloads: boolean;
}

export function createContext(opts: {
  quick: boolean;
  durable: boolean;
  plan: Plan;
  settings: Settings;
  targets: Targets;
  quietBudgetS: number;
}): BenchContext {
  const runId = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const work = join(REPO_ROOT, '.dev', 'bench', `run-${runId}`);
  const dirs = {
    work,
    logs: join(work, 'logs'),
    secrets: join(work, 'secrets'),
    profile: join(work, 'profile'),
    results: join(REPO_ROOT, 'bench', 'results'),
  };
  for (const dir of [dirs.logs, dirs.profile, dirs.results]) mkdirSync(dir, { recursive: true });
  mkdirSync(dirs.secrets, { recursive: true, mode: 0o700 });
  const cores = os.availableParallelism();
  const secret = randomBytes(24).toString('hex');
  const runTag = randomBytes(2).toString('hex').toUpperCase();
  const perIncident = opts.settings.eventsPerIncident;
  return {
    quick: opts.quick,
    durable: opts.durable,
    plan: opts.plan,
    settings: opts.settings,
    targets: opts.targets,
    cores,
    tag: `[${cores} shared cores]`,
    startedAt: Date.now(),
    dirs,
    secret,
    runTag,
    pools: {
      ceiling: new WebhookPool(secret, runTag, 'PH', perIncident),
      ingest: new WebhookPool(secret, runTag, 'PI', perIncident),
      e2e: new WebhookPool(secret, runTag, 'PE', 1),
    },
    consumerMessages: [],
    databaseUrl: '',
    postgresServerUrl: '',
    viewerToken: '',
    pids: {},
    postgresSettings: {},
    sampler: new RssSampler(250),
    results: {
      httpCeiling: {},
      bus: [],
      ingest: {},
      e2e: [],
      rssPeakBytes: {},
      rssIdleBytes: {},
      readyS: {},
      rssByRun: {},
      heapByRun: {},
    },
    cleanups: [],
    failures: [],
    quietBudgetS: opts.quietBudgetS,
    shuttingDown: false,
    skipPayloads: false,
  };
}

/** The infrastructure a measuring scenario needs, or a clear error when the set-up did not get that far. */
export function running(ctx: BenchContext): { stack: Stack; issuer: LocalIssuer; kafka: Kafka } {
  const { stack, issuer, kafka } = ctx;
  if (!stack || !issuer || !kafka) throw new Error('the infrastructure is not running (the set-up step failed)');
  return { stack, issuer, kafka };
}

/** Writes a secret into this run's private secrets folder and returns its path (for `*_FILE` settings). */
export function secretFile(ctx: BenchContext, name: string, value: string): string {
  const path = join(ctx.dirs.secrets, name);
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return path;
}

/** The first idle RSS seen per service (after start-up, before load). */
export function noteIdleRss(ctx: BenchContext, label: string, child: NodeChild): void {
  const rss = rssBytes(child.pid);
  if (rss !== null && ctx.results.rssIdleBytes[label] === undefined) ctx.results.rssIdleBytes[label] = rss;
}

/** Stops exactly what this run started: loads, child processes, cleanups, the issuer, the stack. */
export async function stopEverything(ctx: BenchContext): Promise<void> {
  for (const stop of runningLoad) stop();
  ctx.sampler.stop();
  await Promise.allSettled([...children].map((c) => c.stop(15_000)));
  for (const cleanup of ctx.cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await ctx.issuer?.stop().catch(() => undefined);
  ctx.issuer = undefined;
  await ctx.stack?.stop().catch(() => undefined);
  ctx.stack = undefined;
}

/** One measured step of the run; scripts/bench.ts runs them in order. */
export interface Scenario {
  /** The line shown when the scenario starts (computed then, so it can show set-up results). */
  title(ctx: BenchContext): string;
  run(ctx: BenchContext): Promise<void>;
  /** false: uses none of the pre-generated payloads (webhooks, bus messages). Default true. */
  usesPayloads?: boolean;
}
