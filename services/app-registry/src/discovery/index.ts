import { defineJob, type Logger } from '@micro-oncall/service-kit';
import type { Registry } from '../store.js';
import type { Clock, Db } from '../types.js';
import { createCandidates } from './candidates.js';
import type { IdpSource } from './idp/index.js';
import { readFile } from './readers/index.js';
import { createRunner, type ReadSourceFile, type RunnerDeps } from './run.js';

/*
 * Discovery (issue 13): runs over the sources in DISCOVERY_DIR and the configured identity
 * providers' app inventories (daily at DISCOVERY_CRON, or on demand), the candidates they find,
 * and the flagging of those still unregistered after a day.
 */

export const DISCOVERY_JOB = 'discovery-run';

export function createDiscovery(deps: {
  db: Db;
  registry: Registry;
  clock: Clock;
  logger: Logger;
  dir: string | undefined;
  cron: string;
  /** Hours after a run found a candidate before it is flagged (DISCOVERY_FLAG_AFTER_HOURS). */
  flagAfterHours?: number;
  read?: ReadSourceFile;
  /** The configured identity providers (idpSourcesFromConfig): each is a source of every run. */
  idpSources?: IdpSource[];
  idpClient?: RunnerDeps['idpClient'];
  /** Called once flags wrote their notices (to hand them out at once). */
  noticesWritten?: () => void;
  /** Called with every run that finished (the service's metrics). */
  onRunFinished?: RunnerDeps['onFinished'];
}) {
  let runner: ReturnType<typeof createRunner> | undefined;
  const candidates = createCandidates({
    db: deps.db,
    registry: deps.registry,
    clock: deps.clock,
    flagAfterMs: (deps.flagAfterHours ?? 24) * 3_600_000,
    loadMatcher: () => runner!.loadMatcher(),
    ...(deps.noticesWritten ? { noticesWritten: deps.noticesWritten } : {}),
  });
  runner = createRunner({
    db: deps.db,
    registry: deps.registry,
    clock: deps.clock,
    logger: deps.logger,
    dir: deps.dir,
    read: deps.read ?? readFile,
    flag: () => candidates.flagDue(),
    idpSources: deps.idpSources,
    idpClient: deps.idpClient,
    onFinished: deps.onRunFinished,
  });
  const job = defineJob({
    name: DISCOVERY_JOB,
    cron: deps.cron,
    timeoutSeconds: 3 * 3600,
    // The next day is the retry: a run resumes every file where the last one stopped.
    retry: { limit: 0, delaySeconds: 0 },
    async run(_data, ctx) {
      const run = await runner!.scheduled(ctx.signal);
      if (run) ctx.logger.debug({ runId: run.id, status: run.status, ...run.totals }, 'scheduled discovery run done');
    },
  });
  return { runner, candidates, job };
}

export type Discovery = ReturnType<typeof createDiscovery>;
