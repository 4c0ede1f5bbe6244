import type { DevPlatform, RunningService } from '@micro-oncall/service-kit';
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
  /** Local endpoints by name (fake provider APIs for actions: `pagerduty-api`, `opsgenie-api`). */
  urls?: Record<string, string>;
  /** Other files by name (`service-catalogue`). */
  files: Record<string, string>;
  /** Fixed ports by service name; others listen on a free port. */
  ports?: Record<string, number>;
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
  /** The running services, in start order. */
  services: ReadonlyMap<string, RunningService>;
  /** One running service by name; throws when it is not part of this platform. */
  service(name: string): RunningService;
  stop(): Promise<void>;
}

/**
 * Starts every service (found by its descriptor) in this process with the same configuration
 * path they use in a container: environment variables and secret files, parsed by each
 * service's own config schema. Used by `npm start`, the end-to-end tests and the fault suites.
 */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const dev: DevPlatform = {
    nodeEnv: opts.nodeEnv ?? 'development',
    namespace: opts.namespace,
    oidc: opts.oidc,
    secretFiles: opts.secretFiles,
    urls: opts.urls ?? {},
    files: opts.files,
  };
  const shared = {
    NODE_ENV: dev.nodeEnv,
    LOG_LEVEL: opts.logLevel ?? 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: opts.namespace,
  };
  const running = new Map<string, RunningService>();
  const stop = async () => {
    await Promise.allSettled([...running.values()].reverse().map((s) => s.stop()));
  };
  try {
    for (const { name, service } of await listServices()) {
      if (opts.only && !opts.only.includes(name)) continue;
      const env = service.platformEnv(dev, { ...shared, PORT: String(opts.ports?.[name] ?? 0) });
      running.set(
        name,
        await service.run(service.loadConfig(env), {
          onFatal: (error) =>
            opts.onFatal ? opts.onFatal(name, error) : console.error(`${name} stopped: ${error.message}`),
        }),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
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
