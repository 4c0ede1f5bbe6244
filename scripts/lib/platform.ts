import type { DevPlatform, RunningService } from '@micro-oncall/service-kit';
import { freePort } from '@micro-oncall/test-kit';
import { type Gateway, type GatewayRoute, routeConflicts, startGateway } from './gateway.js';
import { listServices } from './services.js';

export interface PlatformOptions {
  databaseUrl: string;
  kafkaBrokers: string;
  namespace: string;
  oidc: DevPlatform['oidc'];
  /**
   * Secret files by name (the services read `*_FILE` as they do in Kubernetes): each service's
   * descriptor (`devEnv`) says which it needs, e.g. `pagerduty-webhook-secrets`, `session-secret`.
   */
  secretFiles: Record<string, string>;
  /**
   * Local endpoints by name (fake provider APIs for actions: `pagerduty-api`, `opsgenie-api`).
   * Every service is added under its own name (`escalation`): ports are chosen before any
   * service starts, so a service can be told where one that starts after it will be.
   */
  urls?: Record<string, string>;
  /** Other files by name (`service-catalogue`). */
  files: Record<string, string>;
  /** Fixed ports by service name; others listen on a free port. */
  ports?: Record<string, number>;
  /**
   * The product's port: a gateway puts every service behind this one host by path, as the
   * Ingress does in a cluster (scripts/lib/gateway.ts). Default: a free port.
   */
  port?: number;
  logLevel?: string;
  nodeEnv?: 'development' | 'test';
  /** Start only these services (default: every service under services/). */
  only?: string[];
  /**
   * Called when a service stopped itself because a part failed for good (default: print it).
   * Tests pass one that fails the running test at once.
   */
  onFatal?: (service: string, error: Error) => void;
}

export interface Platform {
  /** The product's host (http://127.0.0.1:<port>): every service's public paths, one sign-in. */
  url: string;
  /** The running services, in start order. */
  services: ReadonlyMap<string, RunningService>;
  /** One running service by name; throws when it is not part of this platform. */
  service(name: string): RunningService;
  stop(): Promise<void>;
}

/**
 * Starts every service (found by its descriptor) in this process with the same configuration
 * path they use in a container: environment variables and secret files, parsed by each
 * service's own config schema, and the gateway that puts them behind one host by the paths
 * their descriptors declare (`publicPaths`). Used by `npm start`, the end-to-end tests and the
 * fault suites.
 */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const services = (await listServices()).filter(({ name }) => !opts.only || opts.only.includes(name));
  const ports = new Map<string, number>();
  for (const { name } of services) ports.set(name, opts.ports?.[name] ?? (await freePort()));
  const dev: DevPlatform = {
    nodeEnv: opts.nodeEnv ?? 'development',
    namespace: opts.namespace,
    oidc: opts.oidc,
    secretFiles: opts.secretFiles,
    urls: {
      // Every service is reachable by name before it starts (status-mapper asks escalation).
      ...Object.fromEntries([...ports].map(([name, port]) => [name, `http://127.0.0.1:${port}`])),
      ...opts.urls,
    },
    files: opts.files,
  };
  const routes: GatewayRoute[] = services.flatMap(({ name, service }) =>
    service.publicPaths.map((p) => ({ ...p, service: name, target: `http://127.0.0.1:${ports.get(name)}` })),
  );
  const conflicts = routeConflicts(routes);
  if (conflicts.length > 0) throw new Error(`services claim the same public paths: ${conflicts.join('; ')}`);
  const shared = {
    NODE_ENV: dev.nodeEnv,
    LOG_LEVEL: opts.logLevel ?? 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: opts.namespace,
  };
  const running = new Map<string, RunningService>();
  let gateway: Gateway | undefined;
  const stop = async () => {
    // The gateway first: its open streams end, and nothing new reaches a stopping service.
    await gateway?.stop();
    await Promise.allSettled([...running.values()].reverse().map((s) => s.stop()));
  };
  try {
    // Listening before the services start (answering 503 meanwhile), so a taken port fails fast.
    gateway = await startGateway({ port: opts.port ?? 0 });
    for (const { name, service } of services) {
      const env = service.platformEnv(dev, { ...shared, PORT: String(ports.get(name)) });
      running.set(
        name,
        await service.run(service.loadConfig(env), {
          onFatal: (error) =>
            opts.onFatal ? opts.onFatal(name, error) : console.error(`${name} stopped: ${error.message}`),
        }),
      );
    }
    gateway.setRoutes(routes);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: gateway.url,
    services: running,
    service(name) {
      const found = running.get(name);
      if (!found)
        throw new Error(`${name} is not running in this platform (running: ${[...running.keys()].join(', ')})`);
      return found;
    },
    stop,
  };
}
