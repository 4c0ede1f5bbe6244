/**
 * Starting a service under test as its own process, exactly as its container starts it (its
 * bundle, `node dist/main.mjs`, built once per run from the current sources into this run's own
 * folder, `.dev/bundles/run-<pid>/<name>`, so a test run beside it never replaces it;
 * MO_SERVICE_RUNNER=tsx runs `node --import tsx services/<name>/src/main.ts` instead, to
 * compare), with LOG_LEVEL=warn and secrets from `*_FILE` files in this run's secrets folder.
 * Every scenario starts services through `startServiceChild`; each service's environment comes
 * from its descriptor (`serviceEnv`). As the charts run them, services do not create topics
 * (KAFKA_CREATE_TOPICS=false): the bench creates a namespace's topics before the start, so that a
 * measured start-up is a pod's, without the topic creation (~200 ms) a fresh namespace would add.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type DevPlatform, ensureTopics } from '@micro-oncall/service-kit';
import { freePort, REPO_ROOT } from '@micro-oncall/test-kit';
import {
  bundleOnce,
  chartNodeArgs,
  processBundleDir,
  serviceNodeArgs,
  serviceRunnerFromEnv,
} from '../../scripts/lib/service-command.js';
import { findService } from '../../scripts/lib/services.js';
import { type BenchContext, noteIdleRss, running, secretFile } from './context.js';
import { type NodeChild, spawnNode, waitHttpOk } from './procs.js';

export type ServiceName = 'webhook-ingest' | 'escalation' | (string & {});

export interface ServiceChild {
  child: NodeChild;
  /** http://127.0.0.1:<port> */
  url: string;
}

const catalogueFile = join(REPO_ROOT, 'services', 'escalation', 'config', 'services.example.yml');

// ---------------------------------------------------------------------------------------------
// Per-service environment: what each service's descriptor says it needs on a local platform
// (the same `devEnv` npm start and the tests use), plus the benchmark's own measurement settings.

/** Measurement settings on top of a service's own environment. */
const BENCH_SETTINGS: Record<string, Record<string, string>> = {
  'webhook-ingest': {
    NODE_ENV: 'production',
    // The default per-replica limit (60,000/min) would cap every figure at 1,000/s.
    WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000000',
  },
};

/**
 * The environment `service` starts with in the benchmark, on the run's infrastructure and its
 * own topic namespace: the shared database (ctx.databaseUrl) unless overridden by the caller.
 * HOST and PORT are added by startServiceChild.
 */
export async function serviceEnv(
  service: ServiceName,
  ctx: BenchContext,
  namespace: string,
  files: Record<string, string> = {},
): Promise<Record<string, string>> {
  const { stack, issuer } = running(ctx);
  const { service: descriptor } = await findService(service);
  const secret = (name: string, value: string) => secretFile(ctx, name, value);
  const dev: DevPlatform = {
    // development: the local issuer is http://127.0.0.1, which production mode refuses.
    nodeEnv: 'development',
    namespace,
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: {
      'pagerduty-webhook-secrets': secret('pagerduty-webhook-secrets', ctx.secret),
      'opsgenie-webhook-token': secret('opsgenie-webhook-token', randomBytes(24).toString('hex')),
      'alertmanager-webhook-basic-auth': secret(
        'alertmanager-webhook-basic-auth',
        `alertmanager:${randomBytes(24).toString('hex')}`,
      ),
      'session-secret': secret('session-secret', randomBytes(32).toString('hex')),
    },
    urls: {},
    files: { 'service-catalogue': catalogueFile, ...files },
  };
  return {
    ...descriptor.platformEnv(dev, {
      NODE_ENV: dev.nodeEnv,
      LOG_LEVEL: 'warn',
      DATABASE_URL: ctx.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      // The charts' default: the platform creates the topics (startServiceChild does, before the start).
      KAFKA_CREATE_TOPICS: 'false',
    }),
    ...BENCH_SETTINGS[service],
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Starts the service (see the top of this file) on a free port of 127.0.0.1 and, unless
 * `waitReady: false`, waits for /health/ready. A service started as its chart starts it (no
 * extra node arguments, one process) and waited for has its idle RSS recorded under its service
 * name (the first one seen), and the time from spawning it to its first ready answer added to
 * results.readyS.
 */
export async function startServiceChild(
  ctx: BenchContext,
  opts: {
    service: ServiceName;
    /** Process label: the log file name and the name in error messages. */
    name: string;
    namespace: string;
    /** Set on top of serviceEnv (e.g. another DATABASE_URL). */
    env?: Record<string, string>;
    /** Files the platform provides, by the name the descriptor's devEnv asks for (e.g. `status-sources`). */
    files?: Record<string, string>;
    nodeArgs?: string[];
    /** Samples this process's RSS under this label from the moment it is spawned. */
    watch?: string;
    /** false: return at once after spawning (the caller times the start-up itself). Default true. */
    waitReady?: boolean;
  },
): Promise<ServiceChild> {
  const serviceDir = join(REPO_ROOT, 'services', opts.service);
  // The heap bounds its chart runs it with, then the scenario's own (a profiler, say).
  const nodeArgs = [...chartNodeArgs(serviceDir), ...(opts.nodeArgs ?? [])];
  const port = await freePort();
  const env = {
    ...(await serviceEnv(opts.service, ctx, opts.namespace, opts.files)),
    HOST: '127.0.0.1',
    PORT: String(port),
    ...opts.env,
  };
  const { service: descriptor } = await findService(opts.service);
  await ensureTopics(running(ctx).kafka, descriptor.topicNames(opts.namespace));
  const runner = serviceRunnerFromEnv();
  if (runner === 'bundle') await bundleOnce(serviceDir);
  const spawnedAt = performance.now();
  const child = spawnNode({
    name: opts.name,
    script: join('services', opts.service, 'src', 'main.ts'),
    args: serviceNodeArgs(serviceDir, 'main', runner, processBundleDir(serviceDir)),
    cwd: REPO_ROOT,
    logDir: ctx.dirs.logs,
    nodeArgs,
    env,
  });
  const url = `http://127.0.0.1:${port}`;
  if (opts.watch) ctx.sampler.watch(opts.watch, child.pid);
  if (opts.waitReady ?? true) {
    // Polled every 50 ms: the start-up time is a target (ready within 1 s).
    await waitHttpOk(`${url}/health/ready`, child, 90_000, 50);
    if ((opts.nodeArgs ?? []).length === 0 && (opts.env?.WORKER_PROCESSES ?? '1') === '1') {
      noteIdleRss(ctx, opts.service, child);
      const starts = ctx.results.readyS[opts.service] ?? [];
      starts.push(Math.round(performance.now() - spawnedAt) / 1000);
      ctx.results.readyS[opts.service] = starts;
    }
  }
  return { child, url };
}
