/**
 * `npm run bench`: throughput, latency and memory of webhook-ingest and escalation on this
 * machine, next to the ceilings they are judged against (a bare node:http endpoint doing the
 * same signature check and JSON parse, and raw kafkajs producing the same messages), all in
 * one run against a fresh PostgreSQL and Kafka. Writes bench/results/<date>-<commit>.json and
 * .md; the targets live in this file, never in tests (docs/performance.md explains them).
 *
 *   npm run bench            full run (about 5–6 minutes on a quiet machine, longer while it waits)
 *   npm run bench -- --quick short durations, to check the harness itself (figures not comparable)
 *   npm run bench -- --wait-quiet=600   wait up to 600 s in all (default 300) for a quiet machine
 *
 * Every load goes to 127.0.0.1, is bounded in requests and time, and ends by itself. Ctrl-C or
 * an error stops exactly the processes this run started, by their PIDs.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { topicName } from '@micro-oncall/incident-model';
import { createDatabase, createKafka, createLogger, ensureTopics } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  freePort,
  KAFKA_VERSION,
  type LocalIssuer,
  REPO_ROOT,
  type Stack,
  startLocalIssuer,
  startStack,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { produceFlat } from '../bench/lib/bus.js';
import { createPoller, openStream } from '../bench/lib/e2e.js';
import { type LoadResult, runFixedRate, runningLoad, runSaturation } from '../bench/lib/load.js';
import { type BusMessage, incidentEventMessages, WebhookPool } from '../bench/lib/payloads.js';
import {
  children,
  coresUsed,
  cpuSnapshot,
  type NodeChild,
  RssSampler,
  rssBytes,
  spawnNode,
  waitHttpOk,
} from '../bench/lib/procs.js';
import { mainThreadProfile, type ProfileSummary, summariseCpuProfile } from '../bench/lib/profile.js';
import {
  BACKGROUND_LIMIT,
  type BenchResults,
  type ConsumerRun,
  coresTable,
  type E2eRun,
  evaluate,
  figuresTable,
  type IngestRun,
  memoryTable,
  profileTables,
  targetsTable,
} from '../bench/lib/report.js';
import { fmtInt, fmtLatency, fmtMs, Samples, summarise } from '../bench/lib/stats.js';
import { elapsed, say } from './lib/console.js';

// ---------------------------------------------------------------------------------------------
// What is measured, and the targets (2 cores, measured this way).

const quick = process.argv.includes('--quick');
const waitArg = process.argv.find((a) => a.startsWith('--wait-quiet='));
/** How long, in all, to wait for other processes on the machine to calm down before measuring. */
let quietBudgetS = waitArg ? Number(waitArg.split('=')[1]) : 300;
const PLAN = quick
  ? {
      warmS: 2,
      lowRate: 500,
      lowS: 4,
      fixedRate: 2000,
      fixedS: 5,
      connections: 64,
      saturationS: 5,
      profileS: 5,
      busS: 3,
      e2eS: 4,
      consumerEvents: 20_000,
    }
  : {
      warmS: 4,
      lowRate: 500,
      lowS: 15,
      fixedRate: 2000,
      fixedS: 20,
      connections: 64,
      saturationS: 20,
      profileS: 15,
      busS: 10,
      e2eS: 10,
      consumerEvents: 100_000,
    };
const E2E_RATES = [500, 2000];
const API_SAMPLES_PER_S = 20;
const POLL_INTERVAL_MS = 10;
/** Polling every POLL_INTERVAL_MS for this long, then backing off (see createPoller). */
const POLL_FINE_MS = 250;
const EVENTS_PER_INCIDENT = 10;
const BUS_BATCHES = [1000, 64];
const CONSUMER_TIMEOUT_S = quick ? 90 : 240;

const TARGETS = {
  ingestVsHttpCeiling: 0.6,
  ingestEventsPerS: 8000,
  e2eP99MsAt500: 150,
  consumerEventsPerS: 10_000,
  rssBytes: 200e6,
};

const CORES = os.availableParallelism();
const TAG = `[${CORES} shared cores]`;

// ---------------------------------------------------------------------------------------------
// Run folders, state and shutdown.

const runId = `${process.pid}-${randomBytes(3).toString('hex')}`;
const workDir = join(REPO_ROOT, '.dev', 'bench', `run-${runId}`);
const logDir = join(workDir, 'logs');
const secretsDir = join(workDir, 'secrets');
const profileDir = join(workDir, 'profile');
const resultsDir = join(REPO_ROOT, 'bench', 'results');
for (const dir of [logDir, profileDir, resultsDir]) mkdirSync(dir, { recursive: true });
mkdirSync(secretsDir, { recursive: true, mode: 0o700 });

let stack: Stack | undefined;
let issuer: LocalIssuer | undefined;
const sampler = new RssSampler(250);
const cleanups: (() => Promise<void>)[] = [];
const failures: string[] = [];
let shuttingDown = false;

async function stopEverything(): Promise<void> {
  for (const stop of runningLoad) stop();
  sampler.stop();
  await Promise.allSettled([...children].map((c) => c.stop(15_000)));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await issuer?.stop().catch(() => undefined);
  issuer = undefined;
  await stack?.stop().catch(() => undefined);
  stack = undefined;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    say.fail('interrupted: stopping what this run started');
    void stopEverything().finally(() => process.exit(130));
  });
}

function secretFile(name: string, value: string): string {
  const path = join(secretsDir, name);
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return path;
}

async function scenario(name: string, fn: () => Promise<void>): Promise<void> {
  if (shuttingDown) return;
  const start = Date.now();
  say.step(name);
  try {
    await fn();
    say.ok(`${name} (${elapsed(start)})`);
  } catch (error) {
    if (shuttingDown) return;
    failures.push(`${name}: ${(error as Error).message}`);
    say.fail(`${name}: ${(error as Error).message}`);
    // A failed scenario leaves nothing running for the next one.
    await Promise.allSettled([...children].map((c) => c.stop(15_000)));
  }
}

// ---------------------------------------------------------------------------------------------
// Results, filled in as scenarios run.

const results: BenchResults = {
  httpCeiling: {},
  bus: [],
  ingest: {},
  e2e: [],
  rssPeakBytes: {},
  rssIdleBytes: {},
  rssByRun: {},
  heapByRun: {},
};

/**
 * Records the peak RSS of `label` during `run` under `runName`, and with `url` the service's
 * own view of its memory at the end of the run (V8 heap and external memory, from /metrics).
 */
async function rssDuring<T>(label: string, runName: string, url: string | null, run: () => Promise<T>): Promise<T> {
  const end = sampler.window(label);
  try {
    return await run();
  } finally {
    const peak = end();
    if (Number.isFinite(peak)) {
      results.rssByRun[label] ??= {};
      results.rssByRun[label][runName] = Math.max(results.rssByRun[label][runName] ?? 0, peak);
    }
    if (url) {
      const [heapTotal, heapUsed, external] = await Promise.all(
        ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'].map((m) =>
          metricSum(url, m).catch(() => Number.NaN),
        ),
      );
      results.heapByRun[label] ??= {};
      results.heapByRun[label][runName] = { heapTotal: heapTotal!, heapUsed: heapUsed!, external: external! };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers around the services.

const started = Date.now();
const secret = randomBytes(24).toString('hex');
const runTag = randomBytes(2).toString('hex').toUpperCase();
const ceilingPool = new WebhookPool(secret, runTag, 'PH', EVENTS_PER_INCIDENT);
const ingestPool = new WebhookPool(secret, runTag, 'PI', EVENTS_PER_INCIDENT);
const e2ePool = new WebhookPool(secret, runTag, 'PE', 1);
let consumerMessages: BusMessage[] = [];
let databaseUrl = '';
let viewerToken = '';
let pgPid: number | undefined;
const postgresSettings: Record<string, string> = {};
let kafkaPid: number | undefined;
const catalogueFile = join(REPO_ROOT, 'services', 'escalation', 'config', 'services.example.yml');

interface RunningChild {
  child: NodeChild;
  url: string;
}

async function startIngest(name: string, namespace: string, nodeArgs: string[] = []): Promise<RunningChild> {
  const port = await freePort();
  const child = spawnNode({
    name,
    script: join('services', 'webhook-ingest', 'src', 'main.ts'),
    cwd: REPO_ROOT,
    logDir,
    nodeArgs,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: stack!.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      PAGERDUTY_WEBHOOK_SECRETS_FILE: secretFile('pagerduty-webhook-secrets', secret),
      // The default per-replica limit (60,000/min) would cap every figure at 1,000/s.
      WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000000',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpOk(`${url}/health/ready`, child);
  if (nodeArgs.length === 0) noteIdleRss('webhook-ingest', child);
  return { child, url };
}

/** The first idle RSS seen per service (after start-up, before load). */
function noteIdleRss(label: string, child: NodeChild) {
  const rss = rssBytes(child.pid);
  if (rss !== null && results.rssIdleBytes[label] === undefined) results.rssIdleBytes[label] = rss;
}

async function startEscalation(name: string, namespace: string, dbUrl: string): Promise<RunningChild> {
  const port = await freePort();
  const child = spawnNode({
    name,
    script: join('services', 'escalation', 'src', 'main.ts'),
    cwd: REPO_ROOT,
    logDir,
    env: {
      // development: the local issuer is http://127.0.0.1, which production mode refuses.
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: dbUrl,
      KAFKA_BROKERS: stack!.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      KAFKA_CONSUMER_GROUP: `${namespace}-escalation`,
      SERVICE_CATALOGUE_FILE: catalogueFile,
      OIDC_ISSUER: issuer!.issuer,
      OIDC_AUDIENCE: issuer!.audience,
      SESSION_SECRET_FILE: secretFile('escalation-session-secret', randomBytes(32).toString('hex')),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  sampler.watch(name, child.pid);
  await waitHttpOk(`${url}/health/ready`, child);
  noteIdleRss('escalation', child);
  return { child, url };
}

/** Lets requests that were in flight when a load stopped finish before a service is stopped. */
const settle = () => new Promise((r) => setTimeout(r, 1500));

async function metricSum(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** CPU accounting for one measured window: which process used how many of the cores. */
function cpuWindow(extra: Record<string, NodeChild | undefined>) {
  const processes: Record<string, { pid: number; tree: boolean }> = { bench: { pid: process.pid, tree: false } };
  if (pgPid) processes.postgres = { pid: pgPid, tree: true };
  if (kafkaPid) processes.kafka = { pid: kafkaPid, tree: false };
  for (const [label, child] of Object.entries(extra)) if (child) processes[label] = { pid: child.pid, tree: true };
  const before = cpuSnapshot(processes);
  return () => coresUsed(before, cpuSnapshot(processes), CORES);
}

/**
 * Before each measurement: other processes on the machine (not this run's) must use less than
 * BACKGROUND_LIMIT cores, or the figures say nothing about our code. Waits within a bounded
 * budget for the whole run, then measures anyway; the report marks every disturbed figure.
 */
async function waitForQuiet(what: string): Promise<void> {
  for (;;) {
    const cpu = cpuWindow(Object.fromEntries([...children].map((c) => [c.name, c])));
    await new Promise((r) => setTimeout(r, 2000));
    const other = cpu().other ?? 0;
    if (other <= BACKGROUND_LIMIT) return;
    if (quietBudgetS <= 0) {
      say.fail(
        `${other.toFixed(2)} cores are busy outside this run; measuring ${what} anyway (the report marks it) ${TAG}`,
      );
      return;
    }
    say.info(
      `waiting for a quiet machine before ${what}: ${other.toFixed(2)} cores busy outside this run (${Math.round(quietBudgetS)} s of waiting left)`,
    );
    await new Promise((r) => setTimeout(r, 5000));
    quietBudgetS -= 7;
  }
}

const fmtCores = (c: Record<string, number>) => {
  const parts = Object.entries(c)
    .filter(([k]) => k !== 'machine' && !k.endsWith('.sys'))
    .map(([k, v]) => {
      const sys = c[`${k}.sys`];
      return sys !== undefined && sys >= 0.01
        ? `${k} ${v.toFixed(2)} (kernel ${sys.toFixed(2)})`
        : `${k} ${v.toFixed(2)}`;
    });
  return `${parts.join(', ')} (machine busy ${c.machine?.toFixed(2)} of ${CORES})`;
};

function sanityCheck(url: string, webhook: { body: Buffer; signature: string }) {
  return fetch(`${url}/v1/webhooks/pagerduty`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pagerduty-signature': webhook.signature },
    body: webhook.body,
  }).then(async (res) => {
    const text = await res.text();
    if (res.status !== 202) throw new Error(`a signed webhook answered ${res.status}: ${text.slice(0, 300)}`);
    return text;
  });
}

function describeLoad(label: string, r: LoadResult) {
  const codes = Object.entries(r.status)
    .map(([code, n]) => `${code}×${fmtInt(n)}`)
    .join(' ');
  say.info(
    `${label}: ${fmtInt(r.answeredPerS)} answered 2xx/s ${TAG}; ${fmtLatency(r.latency)} ${TAG}; statuses ${codes || 'none'}; errors ${r.errors}`,
  );
}

/** Measurements per figure: a disturbed one (background load) is repeated, the least disturbed kept. */
const MAX_ATTEMPTS = 3;

/**
 * Runs a measurement on a quiet machine: waits for quiet first and, when other processes still
 * took more than BACKGROUND_LIMIT cores during it, measures again (at most MAX_ATTEMPTS times,
 * within the waiting budget), keeping the attempt with the least background load. Attempts
 * are chosen by disturbance, never by result.
 */
async function steady<T extends { cores: Record<string, number> }>(what: string, run: () => Promise<T>): Promise<T> {
  let best: T | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    await waitForQuiet(what);
    const result = await run();
    const other = result.cores.other ?? 0;
    if (!best || other < (best.cores.other ?? 0)) best = result;
    if (other <= BACKGROUND_LIMIT || quietBudgetS <= 0 || attempt === MAX_ATTEMPTS || shuttingDown) break;
    say.info(
      `${what}: ${other.toFixed(2)} cores were busy outside this run meanwhile; measuring again (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`,
    );
  }
  return best!;
}

/**
 * One consumer measurement: the events are pre-published to a fresh topic, then escalation
 * starts on an empty database and the rows in escalation.incident_events are counted every
 * 250 ms until all are there.
 */
async function consumerRun(
  kafka: ReturnType<typeof createKafka>,
  opts: { profile?: boolean } = {},
): Promise<ConsumerRun & { profile?: ProfileSummary }> {
  const namespace = uniqueNamespace('bench-consumer');
  const topic = topicName('incident-events', namespace);
  await ensureTopics(kafka, [topic, `${topic}.dlq`]);
  const prePublish = await produceFlat({
    kafka,
    topic,
    messages: consumerMessages,
    batch: 1000,
    limit: consumerMessages.length,
    progress: say.info,
    label: 'pre-publishing',
  });
  say.info(`pre-published ${fmtInt(prePublish.events)} events in ${prePublish.seconds} s`);
  const dbUrl = await createTestDatabase(stack!.databaseUrl, 'bench_consumer');
  const probe = createDatabase({
    url: dbUrl,
    schema: {},
    max: 1,
    logger: createLogger({ service: 'bench', level: 'error' }),
    applicationName: 'bench-probe',
  });
  try {
    const count = async () => {
      try {
        const r = await probe.pool.query<{ n: number }>('select count(*)::int as n from escalation.incident_events');
        return r.rows[0]?.n ?? 0;
      } catch {
        return 0; // not migrated yet
      }
    };
    const total = consumerMessages.length;
    const port = await freePort();
    await waitForQuiet('the consumer run');
    const t0 = performance.now();
    const escalation = spawnNode({
      name: opts.profile ? 'escalation-consumer-profiled' : 'escalation-consumer',
      script: join('services', 'escalation', 'src', 'main.ts'),
      cwd: REPO_ROOT,
      logDir,
      nodeArgs: opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      env: {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: dbUrl,
        KAFKA_BROKERS: stack!.kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
        KAFKA_CONSUMER_GROUP: `${namespace}-escalation`,
        SERVICE_CATALOGUE_FILE: catalogueFile,
        OIDC_ISSUER: issuer!.issuer,
        OIDC_AUDIENCE: issuer!.audience,
        SESSION_SECRET_FILE: secretFile('escalation-session-secret', randomBytes(32).toString('hex')),
      },
    });
    if (!opts.profile) sampler.watch('escalation', escalation.pid);
    let result: ConsumerRun | undefined;
    let profiled: ProfileSummary | undefined;
    let window: { fromUs: number; toUs: number } | undefined;
    const nowUs = () => Number(process.hrtime.bigint() / 1000n);
    try {
      const cpu = cpuWindow({ escalation });
      let first: { at: number; n: number } | undefined;
      let last = 0;
      let nextReport = t0 + 5000;
      const deadline = t0 + CONSUMER_TIMEOUT_S * 1000;
      let doneAt: number | undefined;
      while (performance.now() < deadline) {
        if (!escalation.isAlive()) throw new Error(`escalation exited; see ${escalation.log}`);
        const n = await count();
        const now = performance.now();
        if (n > 0 && !first) {
          first = { at: now, n };
          window = { fromUs: nowUs(), toUs: 0 };
        }
        last = n;
        if (n >= total) {
          doneAt = now;
          if (window) window.toUs = nowUs();
          break;
        }
        if (now >= nextReport) {
          say.info(`consumer: ${Math.round((now - t0) / 1000)} s, ${fmtInt(n)} of ${fmtInt(total)} events applied`);
          nextReport += 5000;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      const cores = cpu();
      const end = doneAt ?? performance.now();
      if (!doneAt) say.fail(`only ${fmtInt(last)} of ${fmtInt(total)} events applied within ${CONSUMER_TIMEOUT_S} s`);
      const deadLettered = await metricSum(`http://127.0.0.1:${port}`, 'incident_events_dead_lettered_total').catch(
        () => Number.NaN,
      );
      const incidents = await probe.pool
        .query<{ n: number }>('select count(*)::int as n from escalation.incidents')
        .then((r) => r.rows[0]?.n ?? 0)
        .catch(() => 0);
      const steadySeconds = first ? (end - first.at) / 1000 : Number.NaN;
      const heap = await Promise.all(
        ['nodejs_heap_size_total_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_external_memory_bytes'].map((m) =>
          metricSum(`http://127.0.0.1:${port}`, m).catch(() => Number.NaN),
        ),
      );
      if (!opts.profile) {
        results.heapByRun.escalation ??= {};
        results.heapByRun.escalation.consumer = { heapTotal: heap[0]!, heapUsed: heap[1]!, external: heap[2]! };
      }
      result = {
        events: total,
        incidents,
        prePublish,
        startupS: first ? Math.round((first.at - t0) / 10) / 100 : Number.NaN,
        appliedAtFirstSample: first?.n ?? 0,
        steadySeconds: Math.round(steadySeconds * 100) / 100,
        eventsPerS: first && steadySeconds > 0 ? Math.round((last - first.n) / steadySeconds) : 0,
        totalSeconds: Math.round((end - t0) / 10) / 100,
        overallEventsPerS: Math.round(last / ((end - t0) / 1000)),
        applied: last,
        deadLettered,
        cores,
      };
    } finally {
      const code = await escalation.stop();
      if (!opts.profile) sampler.unwatch('escalation');
      else if (code === 0 && window) {
        const file = mainThreadProfile(profileDir, escalation.pid);
        if (file) profiled = summariseCpuProfile(file, REPO_ROOT, window.toUs ? window : undefined);
      }
    }
    return { ...result!, ...(profiled ? { profile: profiled } : {}) };
  } finally {
    await probe.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The run.

try {
  await scenario('start PostgreSQL and Kafka (fresh, test mode) and pre-generate payloads', async () => {
    const generate = async () => {
      const t = Date.now();
      await ceilingPool.ensure(20_000);
      await e2ePool.ensure(Math.round((200 * 2 + E2E_RATES.reduce((a, r) => a + r, 0) * PLAN.e2eS) * 1.05));
      await ingestPool.ensure(PLAN.fixedRate * (PLAN.fixedS + PLAN.warmS) + 20_000);
      consumerMessages = await incidentEventMessages(runTag, PLAN.consumerEvents, EVENTS_PER_INCIDENT);
      say.info(
        `payloads ready in ${elapsed(t)}: ${fmtInt(ceilingPool.size + ingestPool.size + e2ePool.size)} signed webhooks (avg ${fmtInt(ingestPool.averageBodyBytes())} bytes), ${fmtInt(consumerMessages.length)} incident events`,
      );
    };
    const [s] = await Promise.all([startStack({ mode: 'test', log: say.info }), generate()]);
    stack = s;
    pgPid = s.started.find((p) => p.name === 'postgres')?.pid;
    kafkaPid = s.started.find((p) => p.name === 'kafka')?.pid;
    say.info(`PostgreSQL ${s.databaseUrl.replace(/\/\/[^@]*@/, '//')}  Kafka ${s.kafkaBrokers}`);
    databaseUrl = await createTestDatabase(s.databaseUrl, 'bench');
    const admin = createDatabase({
      url: s.databaseUrl,
      schema: {},
      max: 1,
      logger: createLogger({ service: 'bench', level: 'error' }),
      applicationName: 'bench-facts',
    });
    try {
      for (const name of ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers']) {
        const r = await admin.pool.query<Record<string, string>>(`show ${name}`);
        postgresSettings[name] = r.rows[0]?.[name] ?? '?';
      }
    } finally {
      await admin.stop();
    }
    say.info(
      `PostgreSQL ${postgresSettings.server_version}: fsync=${postgresSettings.fsync}, synchronous_commit=${postgresSettings.synchronous_commit}, full_page_writes=${postgresSettings.full_page_writes}`,
    );
    issuer = await startLocalIssuer();
    viewerToken = await issuer.token({ sub: 'bench-viewer', roles: ['viewer'] }, { expiresIn: '2h' });
    sampler.start();
  });
  if (!stack) throw new Error('the infrastructure did not start; nothing to measure');

  const kafka = createKafka({
    brokers: stack.kafkaBrokers.split(','),
    clientId: 'bench',
    logger: createLogger({
      service: 'bench',
      level: 'warn',
      destination: createWriteStream(join(logDir, 'bench-kafka.log')),
    }),
  });

  // 1. HTTP ceiling ------------------------------------------------------------------------
  await scenario(`HTTP ceiling: bare node:http with the same HMAC check and JSON parse ${TAG}`, async () => {
    const port = await freePort();
    const child = spawnNode({
      name: 'http-ceiling',
      script: join('bench', 'http-ceiling-server.ts'),
      cwd: REPO_ROOT,
      logDir,
      env: { PORT: String(port), PAGERDUTY_WEBHOOK_SECRETS_FILE: secretFile('pagerduty-webhook-secrets', secret) },
    });
    sampler.watch('http-ceiling', child.pid);
    const url = `http://127.0.0.1:${port}`;
    await waitHttpOk(`${url}/health/ready`, child);
    noteIdleRss('http-ceiling', child);
    await sanityCheck(url, ceilingPool.take());
    const next = () => ceilingPool.take();
    const path = '/v1/webhooks/pagerduty';
    await runFixedRate({ url, path, rate: 500, durationS: PLAN.warmS, next });
    const fixed = await steady(`the HTTP ceiling at ${PLAN.fixedRate}/s`, async () => {
      const cpu = cpuWindow({ 'http-ceiling': child });
      const load = await runFixedRate({
        url,
        path,
        rate: PLAN.fixedRate,
        durationS: PLAN.fixedS,
        next,
        progress: say.info,
        label: `HTTP ceiling ${PLAN.fixedRate}/s`,
      });
      return { ...load, cores: cpu() };
    });
    results.httpCeiling.fixed = fixed;
    describeLoad(`fixed ${PLAN.fixedRate}/s`, fixed);
    const saturation = await steady('the HTTP ceiling at saturation', async () => {
      const cpu = cpuWindow({ 'http-ceiling': child });
      const load = await runSaturation({
        url,
        path,
        connections: PLAN.connections,
        durationS: PLAN.saturationS,
        next,
        progress: say.info,
        label: `HTTP ceiling ${PLAN.connections} connections`,
      });
      return { ...load, cores: cpu() };
    });
    results.httpCeiling.saturation = saturation;
    describeLoad(`saturation ${PLAN.connections} connections`, saturation);
    say.info(`cores used: ${fmtCores(saturation.cores)}`);
    sampler.unwatch('http-ceiling');
    results.rssPeakBytes['http-ceiling'] = sampler.peak('http-ceiling');
    await settle();
    await child.stop();
  });

  // 2. Bus ceiling -------------------------------------------------------------------------
  await scenario(`bus ceiling: raw kafkajs, idempotent, acks=all, one request in flight ${TAG}`, async () => {
    const topic = topicName('incident-events', uniqueNamespace('bench-bus'));
    await ensureTopics(kafka, [topic]);
    // Warm the connection and the producer id.
    await produceFlat({ kafka, topic, messages: consumerMessages, batch: 100, limit: 2000 });
    for (const batch of BUS_BATCHES) {
      const r = await steady(`the bus ceiling (${batch} per request)`, async () => {
        const cpu = cpuWindow({});
        const flat = await produceFlat({
          kafka,
          topic,
          messages: consumerMessages,
          batch,
          durationS: PLAN.busS,
          progress: say.info,
          label: `bus, ${batch} per request`,
        });
        return { ...flat, cores: cpu() };
      });
      results.bus.push(r);
      say.info(
        `${batch} messages per request: ${fmtInt(r.eventsPerS)} events/s acknowledged ${TAG} (${fmtInt(r.requests)} requests in ${r.seconds} s)`,
      );
    }
  });

  // 3. Ingest ------------------------------------------------------------------------------
  await scenario(`webhook-ingest: signed PagerDuty webhooks, real Kafka acks ${TAG}`, async () => {
    const ceiling = Math.min(results.httpCeiling.saturation?.answeredPerS ?? 10_000, 20_000);
    const reuseBefore = ingestPool.wrapped;
    const { child, url } = await startIngest('webhook-ingest', uniqueNamespace('bench-ingest'));
    sampler.watch('webhook-ingest', child.pid);
    const first = await sanityCheck(url, ingestPool.take());
    if (!first.includes('"accepted"')) throw new Error(`the first webhook was not accepted: ${first.slice(0, 300)}`);
    const next = () => ingestPool.take();
    const path = '/v1/webhooks/pagerduty';
    await ingestPool.ensure(500 * PLAN.warmS);
    await runFixedRate({ url, path, rate: 500, durationS: PLAN.warmS, next });
    const measure = async (run: () => Promise<LoadResult>): Promise<IngestRun> => {
      const before = await metricSum(url, 'webhook_events_accepted_total');
      const cpu = cpuWindow({ 'webhook-ingest': child });
      const load = await run();
      const cores = cpu();
      const acceptedEvents = (await metricSum(url, 'webhook_events_accepted_total')) - before;
      await settle();
      return { load, acceptedEvents, acceptedPerS: Math.round(acceptedEvents / load.durationS), cores };
    };
    const fixedRun = (rate: number, durationS: number) =>
      steady(`webhook-ingest at ${rate}/s`, async () => {
        await ingestPool.ensure(rate * durationS);
        return measure(() =>
          rssDuring('webhook-ingest', `fixed ${rate}/s`, url, () =>
            runFixedRate({ url, path, rate, durationS, next, progress: say.info, label: `ingest ${rate}/s` }),
          ),
        );
      });
    // Below capacity first (latency when keeping up), then the agreed fixed rate.
    const low = await fixedRun(PLAN.lowRate, PLAN.lowS);
    results.ingest.fixedLow = low;
    describeLoad(`fixed ${PLAN.lowRate}/s`, low.load);
    say.info(`accepted ${fmtInt(low.acceptedPerS)} events/s ${TAG}; cores used: ${fmtCores(low.cores)}`);
    const fixed = await fixedRun(PLAN.fixedRate, PLAN.fixedS);
    results.ingest.fixed = fixed;
    describeLoad(`fixed ${PLAN.fixedRate}/s`, fixed.load);
    say.info(`accepted ${fmtInt(fixed.acceptedPerS)} events/s ${TAG}; cores used: ${fmtCores(fixed.cores)}`);
    const saturation = await steady('webhook-ingest at saturation', async () => {
      await ingestPool.ensure(Math.round(ceiling * PLAN.saturationS * 1.15));
      return measure(() =>
        rssDuring('webhook-ingest', 'saturation', url, () =>
          runSaturation({
            url,
            path,
            connections: PLAN.connections,
            durationS: PLAN.saturationS,
            next,
            progress: say.info,
            label: `ingest ${PLAN.connections} connections`,
          }),
        ),
      );
    });
    results.ingest.saturation = saturation;
    results.ingest.poolReuse = ingestPool.wrapped - reuseBefore;
    describeLoad(`saturation ${PLAN.connections} connections`, saturation.load);
    say.info(`accepted ${fmtInt(saturation.acceptedPerS)} events/s ${TAG}; cores used: ${fmtCores(saturation.cores)}`);
    if (results.ingest.poolReuse > 0) say.fail('the webhook pool ran dry and was reused: some requests were replays');
    const http = results.httpCeiling.saturation?.answeredPerS;
    const bus = results.bus[0]?.eventsPerS;
    if (http) say.info(`ingest / HTTP ceiling = ${(saturation.acceptedPerS / http).toFixed(2)} ${TAG}`);
    if (bus) say.info(`ingest / bus ceiling  = ${(saturation.acceptedPerS / bus).toFixed(2)} ${TAG}`);
    await child.stop();
    sampler.unwatch('webhook-ingest');
  });

  // 4. Profile -----------------------------------------------------------------------------
  await scenario(`webhook-ingest under --cpu-prof at saturation (${PLAN.profileS} s) ${TAG}`, async () => {
    const expected = Math.max(results.ingest.saturation?.acceptedPerS ?? 5000, 2000);
    const { child, url } = await startIngest('webhook-ingest-profiled', uniqueNamespace('bench-prof'), [
      '--cpu-prof',
      `--cpu-prof-dir=${profileDir}`,
    ]);
    const next = () => ingestPool.take();
    const path = '/v1/webhooks/pagerduty';
    await ingestPool.ensure(500 * PLAN.warmS);
    await runFixedRate({ url, path, rate: 500, durationS: PLAN.warmS, next });
    const run = await steady('the profiled run', async () => {
      await ingestPool.ensure(Math.round(expected * PLAN.profileS * 1.3));
      const before = await metricSum(url, 'webhook_events_accepted_total');
      const cpu = cpuWindow({ 'webhook-ingest': child });
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      const load = await runSaturation({
        url,
        path,
        connections: PLAN.connections,
        durationS: PLAN.profileS,
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
    say.info(`under the profiler: ${fmtInt(throughput.acceptedPerS)} accepted events/s ${TAG}`);
    say.info(
      `profile ${file}: ${fmtInt(summary.busyMs)} ms busy of ${fmtInt(summary.wallMs)} ms ${summary.windowed ? 'inside the load window' : '(whole process life: the window did not match)'}`,
    );
    for (const f of summary.topFunctions.slice(0, 8)) say.info(`  ${f.share.toFixed(1).padStart(5)}%  ${f.name}`);
  });

  // 5. End to end --------------------------------------------------------------------------
  await scenario(`end to end: webhook POST → incident visible through escalation ${TAG}`, async () => {
    const namespace = uniqueNamespace('bench-e2e');
    const ingest = await startIngest('webhook-ingest-e2e', namespace);
    sampler.watch('webhook-ingest', ingest.child.pid);
    const escalation = await startEscalation('escalation', namespace, databaseUrl);
    const sentAt = new Map<string, number>();
    let sse = new Samples();
    const stream = openStream({
      url: escalation.url,
      token: viewerToken,
      onIncident: (id, at) => {
        const t0 = sentAt.get(id);
        if (t0 === undefined) return;
        sentAt.delete(id);
        sse.push(at - t0);
      },
    });
    cleanups.push(async () => {
      stream.close();
    });
    await stream.ready;
    const poller = createPoller({
      url: escalation.url,
      token: viewerToken,
      intervalMs: POLL_INTERVAL_MS,
      fineForMs: POLL_FINE_MS,
      timeoutMs: 20_000,
    });
    cleanups.push(async () => poller.close());
    const next = () => e2ePool.take();
    const path = '/v1/webhooks/pagerduty';
    /** Waits (bounded) until escalation applied everything webhook-ingest accepted: each pass starts empty. */
    const drain = async () => {
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
    };
    // Warm both services' code paths (JIT, pools, caches): ramp up to the first measured rate.
    await e2ePool.ensure(250 * PLAN.warmS + E2E_RATES[0]! * PLAN.warmS);
    await runFixedRate({ url: ingest.url, path, rate: 250, durationS: PLAN.warmS, next });
    await runFixedRate({ url: ingest.url, path, rate: E2E_RATES[0]!, durationS: PLAN.warmS, next });
    await drain();
    for (const rate of E2E_RATES) {
      const measureE2e = async (polling: boolean): Promise<E2eRun> => {
        await e2ePool.ensure(rate * PLAN.e2eS);
        await drain();
        sentAt.clear();
        sse = new Samples();
        const api = new Samples();
        const polls: Promise<void>[] = [];
        const every = Math.max(1, Math.round(rate / API_SAMPLES_PER_S));
        let n = 0;
        let apiMissing = 0;
        // Webhooks that were not accepted are not expected to show up anywhere.
        const failed = new Set<string>();
        const pollsBefore = poller.requests();
        const cpu = cpuWindow({ 'webhook-ingest': ingest.child, escalation: escalation.child });
        const load = await runFixedRate({
          url: ingest.url,
          path,
          rate,
          durationS: PLAN.e2eS,
          next,
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
        });
        // Wait for the stream to show every incident (bounded).
        const deadline = performance.now() + 20_000;
        while (sentAt.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await Promise.all(polls);
        const cores = cpu();
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
            pollIntervalMs: POLL_INTERVAL_MS,
            pollRequests: poller.requests() - pollsBefore,
          },
          cores,
        };
      };
      // Two passes: the live stream alone (no other reader), then the API polled for a sample
      // (its requests load escalation too, so the stream figure comes from the first pass).
      for (const polling of [false, true]) {
        const pass = polling ? 'API poll' : 'live stream';
        const run = await steady(`end to end at ${rate}/s (${pass})`, () =>
          rssDuring('webhook-ingest', `e2e ${rate}/s`, ingest.url, () =>
            rssDuring('escalation', `e2e ${rate}/s`, escalation.url, () => measureE2e(polling)),
          ),
        );
        results.e2e.push(run);
        say.info(
          `${rate}/s offered, ${pass} pass: ${fmtInt(run.achievedRate)}/s answered, webhook ${fmtLatency(run.ingestLatency)} ${TAG}`,
        );
        say.info(
          `  live stream: p50 ${fmtMs(run.sse.p50)} / p99 ${fmtMs(run.sse.p99)} / p99.9 ${fmtMs(run.sse.p999)} ms over ${fmtInt(run.sse.count)} incidents (${run.sse.missing} missing) ${TAG}`,
        );
        if (polling)
          say.info(
            `  API poll: p50 ${fmtMs(run.api.p50)} / p99 ${fmtMs(run.api.p99)} ms over ${fmtInt(run.api.count)} sampled incidents, ${fmtInt(run.api.pollRequests)} polls (${run.api.missing} missing) ${TAG}`,
          );
        say.info(`  cores used: ${fmtCores(run.cores)}`);
      }
    }
    stream.close();
    poller.close();
    await settle();
    await Promise.all([ingest.child.stop(), escalation.child.stop()]);
  });

  // 6. Escalation consumer alone -----------------------------------------------------------
  await scenario(
    `escalation consumer alone: ${fmtInt(consumerMessages.length)} pre-published events ${TAG}`,
    async () => {
      const consumer = await steady('the consumer run', () =>
        rssDuring('escalation', 'consumer', null, () => consumerRun(kafka)),
      );
      results.consumer = consumer;
      say.info(
        `applied ${fmtInt(consumer.applied)} events onto ${fmtInt(consumer.incidents)} incidents: ${fmtInt(consumer.eventsPerS)} events/s once consuming ${TAG} (start-up ${consumer.startupS} s, ${fmtInt(consumer.overallEventsPerS)}/s including it)`,
      );
      say.info(`cores used: ${fmtCores(consumer.cores)}`);
      // Once more under --cpu-prof, to show where escalation's time goes (figures above are unprofiled).
      const profiled = await consumerRun(kafka, { profile: true });
      if (profiled.profile) {
        results.consumerProfile = { eventsPerS: profiled.eventsPerS, summary: profiled.profile };
        say.info(
          `under the profiler: ${fmtInt(profiled.eventsPerS)} events/s ${TAG}; main thread busy ${fmtInt(profiled.profile.busyMs)} of ${fmtInt(profiled.profile.wallMs)} ms`,
        );
        for (const c of profiled.profile.byComponent.slice(0, 6))
          say.info(`  ${c.share.toFixed(1).padStart(5)}%  ${c.name}`);
      }
    },
  );
} catch (error) {
  failures.push((error as Error).message);
  say.fail((error as Error).message);
} finally {
  for (const label of ['webhook-ingest', 'escalation', 'http-ceiling']) {
    const peak = sampler.peak(label);
    if (Number.isFinite(peak)) results.rssPeakBytes[label] = peak;
  }
  if (!shuttingDown) {
    say.step('stopping what this run started');
    await stopEverything();
  }
}

// ---------------------------------------------------------------------------------------------
// Report: JSON with every figure and the method, a Markdown table next to it, the same on screen.

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function packageVersion(name: string, from: string): string {
  try {
    const dir = join(REPO_ROOT, from, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(dir, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

const commit = git(['rev-parse', '--short', 'HEAD']) || 'nocommit';
const dirty = git(['status', '--porcelain']).length > 0;
const now = new Date();
const date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
const base = join(resultsDir, `${date}-${commit}${quick ? '-quick' : ''}`);
const verdicts = evaluate(results, TARGETS);
const machine = {
  cores: CORES,
  cpuModel: os.cpus()[0]?.model ?? '?',
  memoryBytes: os.totalmem(),
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  sharedBy: 'load generator (this process), webhook-ingest, escalation, PostgreSQL, Kafka',
};
const versions = {
  kafka: KAFKA_VERSION,
  postgres: postgresSettings.server_version ?? '?',
  kafkajs: packageVersion('kafkajs', 'packages/service-kit'),
  autocannon: packageVersion('autocannon', '.'),
  tsx: packageVersion('tsx', '.'),
};
const method = [
  `Everything on one machine with ${CORES} cores, shared by the load generator, the services, PostgreSQL and Kafka; all traffic on 127.0.0.1.`,
  'Infrastructure: startStack({ mode: "test" }) from @micro-oncall/test-kit: a fresh PostgreSQL (fsync=off, synchronous_commit=off, full_page_writes=off) and a single-node Kafka ' +
    `${KAFKA_VERSION} (KRaft, replication factor 1, broker default flush: no fsync per message); topics with 6 partitions as the services create them.`,
  'Services run as separate processes exactly as the container starts them (node --import tsx src/main.ts), LOG_LEVEL=warn, secrets from *_FILE files; webhook-ingest with NODE_ENV=production and WEBHOOK_RATE_LIMIT_PER_MINUTE raised so the per-replica limit does not cap the figures; escalation with NODE_ENV=development because the local OIDC issuer is plain http. Other settings are the defaults (DATABASE_POOL_MAX 10, consumer chunk 500, 3 partitions consumed concurrently).',
  'Webhooks: PagerDuty v3 incident events from the incident-model fixtures (~1.8 KB), each with its own event id (10 per incident for ingest, one new incident each for end to end), signed (HMAC-SHA256) before the load starts.',
  `Fixed rate: an open-loop generator (node:http, keep-alive) issues request i at start + i/rate; latency counts from that due time (no coordinated omission); at most 2,000 requests outstanding, the rest are counted as dropped. webhook-ingest is measured at ${PLAN.lowRate}/s (below its capacity) and at ${PLAN.fixedRate}/s. Saturation: autocannon ${versions.autocannon}, ${PLAN.connections} connections, pipelining 1, ${PLAN.saturationS} s; latency from autocannon's per-response timing.`,
  "Accepted events/s: the increase of webhook-ingest's own webhook_events_accepted_total (published and acknowledged by Kafka) over the run, divided by its duration.",
  "HTTP ceiling: bare node:http in its own process reading the body, verifying the signature with webhook-ingest's verifyPagerDutySignature, decoding and parsing the JSON, answering 202; the same fixed-rate and saturation loads.",
  `Bus ceiling: raw kafkajs in the benchmark process, configured like service-kit createProducer (idempotent, maxInFlightRequests 1, acks -1, no compression), sending batches of ${BUS_BATCHES.join(' and ')} messages back to back to a bench topic for ${PLAN.busS} s each; the messages are the envelopes webhook-ingest would publish.`,
  `End to end: a fresh webhook-ingest and escalation on their own topic namespace; each webhook creates a new incident; times count from the moment the POST was issued. Per rate two passes of ${PLAN.e2eS} s: (1) the live stream alone (GET /v1/stream with a viewer token; the arrival of each incident id is timestamped), (2) the same plus ${API_SAMPLES_PER_S} incidents per second polled with GET /v1/incidents/:id (every ${POLL_INTERVAL_MS} ms for the first ${POLL_FINE_MS} ms, then backing off ×1.25 per poll up to 500 ms, so that a backlog does not multiply the polling load).`,
  `Consumer: ${fmtInt(PLAN.consumerEvents)} events normalised with normalisePagerDuty and wrapped with incidentEventEnvelope (key = incident id), ${EVENTS_PER_INCIDENT} per incident, pre-published to a fresh topic; escalation then starts on an empty database; rate = rows in escalation.incident_events (polled every 250 ms) from the first applied row to the last.`,
  'Peak RSS: VmRSS from /proc/<pid>/status every 250 ms per service process (the profiled run excluded). CPU split: utime+stime per process (and its children) from /proc over each measured window; "other" is machine busy time not accounted to this run (other processes).',
  `Disturbance: before each measurement the run waits (bounded) until processes outside it use less than ${BACKGROUND_LIMIT} cores, and repeats a measurement that was disturbed (at most ${MAX_ATTEMPTS} times), keeping the least disturbed attempt; figures measured with more background load are marked.`,
];
const report = {
  schema: 1,
  date: now.toISOString(),
  commit,
  dirtyWorkingTree: dirty,
  quick,
  machine,
  versions,
  settings: { postgres: postgresSettings, plan: PLAN, e2eRates: E2E_RATES, targets: TARGETS },
  method,
  results,
  targets: verdicts,
  failures,
  durationS: Math.round((Date.now() - started) / 1000),
};
const markdown = [
  `# Benchmark ${date} ${commit}${dirty ? ' (uncommitted changes)' : ''}${quick ? ' — QUICK RUN, not comparable' : ''}`,
  '',
  `${CORES} cores (${machine.cpuModel}), ${fmtInt(machine.memoryBytes / 2 ** 30)} GiB, Node ${process.version}, Kafka ${KAFKA_VERSION}, PostgreSQL ${versions.postgres} (fsync=${postgresSettings.fsync ?? '?'}). **Every figure was measured with the ${CORES} cores shared** by the load generator, both services, PostgreSQL and Kafka.`,
  '',
  '## Figures',
  '',
  figuresTable(results, `${CORES} shared cores`, PLAN),
  '',
  '## Targets',
  '',
  targetsTable(verdicts),
  '',
  '## Memory (MB = 10^6 bytes)',
  '',
  `Idle after start: ${Object.entries(results.rssIdleBytes)
    .map(([k, v]) => `${k} ${fmtInt(v / 1e6)} MB`)
    .join(', ')}.`,
  '',
  memoryTable(results),
  '',
  '## Where the cores went (cores in use, averaged over each run)',
  '',
  coresTable(results, CORES),
  ...(results.profile
    ? [
        '',
        '## webhook-ingest CPU profile at saturation',
        '',
        profileTables(results.profile.summary, 'the saturation window'),
      ]
    : []),
  ...(results.consumerProfile
    ? [
        '',
        `## escalation CPU profile while consuming (${fmtInt(results.consumerProfile.eventsPerS)} events/s under the profiler)`,
        '',
        profileTables(results.consumerProfile.summary, 'the window from the first applied event to the last'),
      ]
    : []),
  ...(failures.length > 0 ? ['', '## Failures', '', ...failures.map((f) => `- ${f}`)] : []),
  '',
].join('\n');

if (!shuttingDown) {
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown);
  process.stdout.write(`\n${markdown}\n`);
  for (const v of verdicts) {
    const mark = v.met === null ? '\u2716' : v.met ? '\u2714' : '\u2716';
    process.stdout.write(
      `${mark} ${v.target}: ${v.measured} (required ${v.required}) ${v.met === null ? 'not measured' : v.met ? 'met' : 'MISSED'}; ${v.gap} ${TAG}\n`,
    );
  }
  process.stdout.write(`\nResults: ${base}.json and ${base}.md\nLogs: ${logDir}\nTotal time ${elapsed(started)}\n`);
  process.exit(failures.length > 0 ? 1 : 0);
}
