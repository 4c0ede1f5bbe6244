import { type BaseConfig, baseConfigSchema, loadConfig } from './config.js';
import { exitOnStartFailure, type RunningService, runAsProcesses } from './lifecycle.js';
import { createLogger } from './logger.js';

/*
 * A service's container entry point (src/main.ts), imported as `@micro-oncall/service-kit/entry`
 * so that it carries only what a process needs before it knows whether it runs the service:
 *
 *   await runEntry('webhook-ingest', () => import('./service.js'));
 *
 * With WORKER_PROCESSES > 1 the primary accepts connections and supervises the workers
 * (workers.ts) and never runs the service, so it never loads it: the bundle puts the service
 * module behind the dynamic import into a chunk of its own (scripts/lib/bundle.ts splits), and
 * the primary stays a small process (express, kafkajs, pg, drizzle and the service's own code
 * are not in it). The primary checks the settings every service shares (the kit's
 * baseConfigSchema: a bad PORT or WORKER_PROCESSES fails it at once); each worker, like a
 * single-process replica, checks the service's whole configuration before it starts, and a
 * worker that fails to start takes the pod down with its error in the log.
 */

/** What the entry needs of a service descriptor (defineService's). */
export interface EntryService<C> {
  name: string;
  loadConfig(env?: NodeJS.ProcessEnv): C;
  run(config: C): Promise<Pick<RunningService, 'stop'>>;
}

/**
 * Runs the service `load` imports, from the environment: in this process, or as WORKER_PROCESSES
 * workers behind a primary that does not load it. Stops on SIGTERM/SIGINT; a start-up failure
 * (a bad setting included) is printed plainly and ends the process with status 1.
 */
export async function runEntry<C>(name: string, load: () => Promise<{ service: EntryService<C> }>): Promise<void> {
  const bootLogger = createLogger({ service: name });
  let config: BaseConfig;
  try {
    config = loadConfig(baseConfigSchema);
  } catch (error) {
    exitOnStartFailure(bootLogger, error);
  }
  await runAsProcesses({
    workers: config.WORKER_PROCESSES,
    service: name,
    host: config.HOST,
    port: config.PORT,
    maxWaitMs: config.WORKER_MAX_WAIT_MS,
    logger: bootLogger,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    start: async () => {
      const { service } = await load();
      if (service.name !== name) {
        throw new Error(`the entry point runs ${JSON.stringify(name)} but loaded ${JSON.stringify(service.name)}`);
      }
      return service.run(service.loadConfig());
    },
  });
}
