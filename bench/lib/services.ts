/**
 * Starting a service under test as its own process, exactly as its container starts it
 * (`node --import tsx services/<name>/src/main.ts`), with LOG_LEVEL=warn and secrets from
 * `*_FILE` files in this run's secrets folder. Every scenario starts services through
 * `startServiceChild`; what each service needs in its environment is in `serviceEnv` alone.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '@micro-oncall/test-kit';
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
// Per-service environment. To be replaced by the environment each service's descriptor
// produces; until then this is the only place that knows what a service needs to start.

/**
 * The environment `service` starts with in the benchmark, on the run's infrastructure and its
 * own topic namespace: the shared database (ctx.databaseUrl) unless overridden by the caller.
 * HOST and PORT are added by startServiceChild.
 */
export function serviceEnv(service: ServiceName, ctx: BenchContext, namespace: string): Record<string, string> {
  const { stack, issuer } = running(ctx);
  const common = {
    LOG_LEVEL: 'warn',
    DATABASE_URL: ctx.databaseUrl,
    KAFKA_BROKERS: stack.kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: namespace,
  };
  switch (service) {
    case 'webhook-ingest':
      return {
        NODE_ENV: 'production',
        ...common,
        PAGERDUTY_WEBHOOK_SECRETS_FILE: secretFile(ctx, 'pagerduty-webhook-secrets', ctx.secret),
        // The default per-replica limit (60,000/min) would cap every figure at 1,000/s.
        WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000000',
      };
    case 'escalation':
      return {
        // development: the local issuer is http://127.0.0.1, which production mode refuses.
        NODE_ENV: 'development',
        ...common,
        KAFKA_CONSUMER_GROUP: `${namespace}-escalation`,
        SERVICE_CATALOGUE_FILE: catalogueFile,
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: issuer.audience,
        SESSION_SECRET_FILE: secretFile(ctx, 'escalation-session-secret', randomBytes(32).toString('hex')),
      };
    default:
      return { NODE_ENV: 'production', ...common };
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Starts `services/<service>/src/main.ts` on a free port of 127.0.0.1 and, unless
 * `waitReady: false`, waits for /health/ready. A service started without extra node arguments
 * and waited for has its idle RSS recorded under its service name (the first one seen).
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
    nodeArgs?: string[];
    /** Samples this process's RSS under this label from the moment it is spawned. */
    watch?: string;
    /** false: return at once after spawning (the caller times the start-up itself). Default true. */
    waitReady?: boolean;
  },
): Promise<ServiceChild> {
  const nodeArgs = opts.nodeArgs ?? [];
  const port = await freePort();
  const child = spawnNode({
    name: opts.name,
    script: join('services', opts.service, 'src', 'main.ts'),
    cwd: REPO_ROOT,
    logDir: ctx.dirs.logs,
    nodeArgs,
    env: {
      ...serviceEnv(opts.service, ctx, opts.namespace),
      HOST: '127.0.0.1',
      PORT: String(port),
      ...opts.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  if (opts.watch) ctx.sampler.watch(opts.watch, child.pid);
  if (opts.waitReady ?? true) {
    await waitHttpOk(`${url}/health/ready`, child);
    if (nodeArgs.length === 0) noteIdleRss(ctx, opts.service, child);
  }
  return { child, url };
}
