/**
 * Shared set-up of the fault suites: each file starts its own PostgreSQL and Kafka (never the
 * shared pair of the test run, which these suites would otherwise stop under other suites),
 * runs the services against them and reads the outcome straight from the databases.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentEventEnvelope, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { createDatabase, createLogger } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  type LocalIssuer,
  REPO_ROOT,
  type Stack,
  startLocalIssuer,
  startStack,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { type Platform, startPlatform } from '../../scripts/lib/platform.js';
import { assertPlatformRunning, CATALOGUE_FILE, failOnServiceStop, pagerDutySignature } from '../helpers.js';

export { assertPlatformRunning, eventually, pagerDutySignature } from '../helpers.js';

export type PagerDutyWebhook = ReturnType<typeof pagerDutyIncidentEvent>;

/** Starts a PostgreSQL + Kafka pair for this file alone, ignoring DATABASE_URL / KAFKA_BROKERS. */
export async function startFaultStack(label: string): Promise<Stack> {
  const { DATABASE_URL: _db, KAFKA_BROKERS: _kafka, ...env } = process.env;
  return startStack({ mode: 'test', log: (line) => console.log(`[faults/${label}] ${line}`), env });
}

export interface Secrets {
  dir: string;
  pagerduty: string;
  /** Secret files by the names the services' descriptors ask for. */
  files: Record<string, string>;
  remove(): void;
}

/** Webhook credentials in files, as the services read them in Kubernetes (`*_FILE`). */
export function writeSecrets(): Secrets {
  const dir = mkdtempSync(join(tmpdir(), 'mo-faults-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const pagerduty = randomBytes(24).toString('hex');
  return {
    dir,
    pagerduty,
    files: {
      'pagerduty-webhook-secrets': file('pagerduty', `${pagerduty}\n`),
      'opsgenie-webhook-token': file('opsgenie', randomBytes(24).toString('hex')),
      'alertmanager-webhook-basic-auth': file('alertmanager', `alertmanager:${randomBytes(24).toString('hex')}`),
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A pool on the services' database, to read what was stored. */
export function openDatabase(url: string) {
  return createDatabase({
    url,
    schema: {},
    max: 2,
    logger: createLogger({ service: 'fault-suite', level: 'silent' }),
    applicationName: 'fault-suite',
  });
}
export type Db = ReturnType<typeof openDatabase>;

export interface FaultPlatform {
  platform: Platform;
  issuer: LocalIssuer;
  secrets: Secrets;
  namespace: string;
  topic: string;
  databaseUrl: string;
  db: Db;
  stop(): Promise<void>;
}

/** webhook-ingest and escalation in this process against `stack`, each suite on a fresh database and namespace. */
export async function startFaultPlatform(stack: Stack): Promise<FaultPlatform> {
  const databaseUrl = await createTestDatabase(stack.databaseUrl, 'faults');
  const namespace = uniqueNamespace('faults');
  const issuer = await startLocalIssuer();
  const secrets = writeSecrets();
  const platform = await startPlatform({
    databaseUrl,
    kafkaBrokers: stack.kafkaBrokers,
    namespace,
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: secrets.files,
    files: { 'service-catalogue': CATALOGUE_FILE },
    logLevel: process.env.FAULTS_LOG_LEVEL ?? 'silent',
    nodeEnv: 'test',
    // A service that stops itself (a consumer that gave up) fails the test at once.
    onFatal: failOnServiceStop,
  });
  const db = openDatabase(databaseUrl);
  return {
    platform,
    issuer,
    secrets,
    namespace,
    topic: topicName('incident-events', namespace),
    databaseUrl,
    db,
    async stop() {
      await platform.stop();
      await Promise.allSettled([issuer.stop(), db.stop()]);
      secrets.remove();
      assertPlatformRunning();
    },
  };
}

/** What one webhook delivery got: an HTTP answer, or the network error that replaced it. */
export interface Delivery {
  status: number | null;
  retryAfter: string | null;
  error: string | null;
  startedAt: number;
  endedAt: number;
}

/** Posts a signed PagerDuty webhook; never throws (a refused or reset connection is an outcome). */
export async function deliverPagerDuty(baseUrl: string, payload: unknown, secret: string): Promise<Delivery> {
  const body = JSON.stringify(payload);
  const startedAt = Date.now();
  try {
    const res = await fetch(`${baseUrl}/v1/webhooks/pagerduty`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pagerduty-signature': pagerDutySignature(body, secret) },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      error: null,
      startedAt,
      endedAt: Date.now(),
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      status: null,
      retryAfter: null,
      error: cause?.code ?? cause?.message ?? (error as Error).message,
      startedAt,
      endedAt: Date.now(),
    };
  }
}

/** The event id webhook-ingest derives from a PagerDuty webhook (what escalation's history is keyed by). */
export function eventIdOf(payload: PagerDutyWebhook): string {
  const result = normalisePagerDuty(payload, { receivedAt: new Date().toISOString() });
  if (result.outcome !== 'events' || result.events.length !== 1) throw new Error('fixture did not normalise');
  return result.events[0]!.eventId;
}

/** The CloudEvent webhook-ingest would publish for `payload`, for suites that write to the topic directly. */
export function envelopeOf(payload: PagerDutyWebhook) {
  const result = normalisePagerDuty(payload, { receivedAt: new Date().toISOString() });
  if (result.outcome !== 'events' || result.events.length !== 1) throw new Error('fixture did not normalise');
  const event = result.events[0]!;
  return {
    event,
    message: { key: event.incidentId, value: JSON.stringify(incidentEventEnvelope(event, { source: '/fault-suite' })) },
  };
}

/** escalation's history: every row's event id (duplicates kept, so that a count can tell). */
export async function historyEventIds(db: Db): Promise<string[]> {
  const { rows } = await db.pool.query<{ event_id: string }>('select event_id from escalation.incident_events');
  return rows.map((r) => r.event_id);
}

export async function readiness(baseUrl: string): Promise<{ status: number; body: Record<string, unknown> | null }> {
  try {
    const res = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  } catch {
    return { status: 0, body: null };
  }
}

/** The seed of a randomised scenario: FAULTS_SEED replays the one a failure printed. */
export function faultSeed(): number {
  return Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
}

/** Deterministic shuffling and choices, so that a failure can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `task` over `items` with at most `concurrency` at a time; resolves with the results in item order. */
export async function mapConcurrent<T, R>(
  items: T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!, index);
      }
    }),
  );
  return results;
}

/**
 * Re-sends deliveries that did not get a 202 until they do, like a provider's retry schedule
 * (bounded: a webhook that still fails after `attempts` fails the test).
 */
export async function redeliverUntilAccepted(
  baseUrl: string,
  payloads: PagerDutyWebhook[],
  secret: string,
  attempts = 20,
): Promise<void> {
  await mapConcurrent(payloads, 8, async (payload) => {
    let last: Delivery | undefined;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      assertPlatformRunning();
      last = await deliverPagerDuty(baseUrl, payload, secret);
      if (last.status === 202) return;
      await sleep(500);
    }
    throw new Error(
      `webhook ${payload.event.id} still not accepted after ${attempts} attempts: ${JSON.stringify(last)}`,
    );
  });
}

/** A service running as its own Node process, as in a container: `node --import tsx services/<name>/src/main.ts`. */
export interface ChildService {
  name: string;
  pid: number;
  url: string;
  /** Resolves when the process ended, with its exit code (null when a signal killed it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KB of its stdout and stderr, for failure messages. */
  output(): string;
  /** SIGKILL by its own PID if it is still running (clean-up after a failed test). */
  kill(): void;
}

export async function spawnService(
  name: 'webhook-ingest' | 'escalation',
  port: number,
  env: Record<string, string>,
): Promise<ChildService> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'services', name, 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    // Only what the service needs: never the DATABASE_URL / KAFKA_BROKERS of the surrounding test run.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  const pid = child.pid;
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  const service: ChildService = {
    name,
    pid,
    url: `http://127.0.0.1:${port}`,
    exited,
    output: () => output,
    kill: () => {
      if (running) process.kill(pid, 'SIGKILL');
    },
  };
  const deadline = Date.now() + 90_000;
  while ((await readiness(service.url)).status !== 200) {
    if (!running || Date.now() > deadline) {
      service.kill();
      throw new Error(`${name} did not become ready${running ? ' in time' : ' (it exited)'}:\n${output.slice(-4000)}`);
    }
    await sleep(250);
  }
  return service;
}

export { pagerDutyIncidentEvent };
