import type { DrillEnvironment, DrillTargetKind } from '@micro-oncall/incident-model';
import type { Logger } from '@micro-oncall/service-kit';
import type { Config } from '../env.js';
import { createAlertmanagerTarget } from './alertmanager.js';
import { createIngestTarget } from './ingest.js';
import { createPagerDutyTarget } from './pagerduty.js';
import type { DrillTarget } from './types.js';

export type { DrillAlert, DrillTarget } from './types.js';

/** The targets a run may use, per environment. */
export interface Targets {
  /** The target of `kind` for `environment`; undefined when it is not configured there. */
  get(environment: DrillEnvironment, kind: DrillTargetKind): DrillTarget | undefined;
  /** What is configured, per environment (production only when production drills are allowed). */
  available(): Record<DrillEnvironment, DrillTargetKind[]>;
}

/** Builds the targets from configuration; tests may pass their own map. */
export function createTargets(config: Config, logger: Logger): Targets {
  const common = { timeoutMs: config.TARGET_TIMEOUT_MS, retries: config.TARGET_RETRIES, logger };
  const byEnvironment: Record<DrillEnvironment, Map<DrillTargetKind, DrillTarget>> = {
    staging: new Map(),
    production: new Map(),
  };
  const add = (environment: DrillEnvironment, target: DrillTarget) =>
    byEnvironment[environment].set(target.kind, target);
  const alertmanagerAuth = {
    ...(config.ALERTMANAGER_BASIC_AUTH ? { basicAuth: config.ALERTMANAGER_BASIC_AUTH } : {}),
    ...(config.ALERTMANAGER_BEARER_TOKEN ? { bearerToken: config.ALERTMANAGER_BEARER_TOKEN } : {}),
  };
  const production = config.PRODUCTION_DRILLS_ALLOWED;

  if (config.PAGERDUTY_ROUTING_KEY) {
    add(
      'staging',
      createPagerDutyTarget({ ...common, url: config.PAGERDUTY_EVENTS_URL, routingKey: config.PAGERDUTY_ROUTING_KEY }),
    );
  }
  if (production && config.PAGERDUTY_PRODUCTION_ROUTING_KEY) {
    add(
      'production',
      createPagerDutyTarget({
        ...common,
        url: config.PAGERDUTY_EVENTS_URL,
        routingKey: config.PAGERDUTY_PRODUCTION_ROUTING_KEY,
      }),
    );
  }
  const resendSeconds = config.ALERTMANAGER_RESEND_SECONDS;
  if (config.ALERTMANAGER_URL) {
    add(
      'staging',
      createAlertmanagerTarget({ ...common, ...alertmanagerAuth, url: config.ALERTMANAGER_URL, resendSeconds }),
    );
  }
  if (production && config.ALERTMANAGER_PRODUCTION_URL) {
    add(
      'production',
      createAlertmanagerTarget({
        ...common,
        ...alertmanagerAuth,
        url: config.ALERTMANAGER_PRODUCTION_URL,
        resendSeconds,
      }),
    );
  }
  if (config.INGEST_URL) {
    // Our own pipeline serves both environments: the alerts carry `environment` and the run id.
    const ingest =
      config.INGEST_FORMAT === 'pagerduty'
        ? createIngestTarget({
            ...common,
            url: config.INGEST_URL,
            format: 'pagerduty',
            secret: config.INGEST_PAGERDUTY_SECRET ?? '',
          })
        : createIngestTarget({
            ...common,
            url: config.INGEST_URL,
            format: 'alertmanager',
            ...(config.INGEST_ALERTMANAGER_BASIC_AUTH ? { basicAuth: config.INGEST_ALERTMANAGER_BASIC_AUTH } : {}),
            ...(config.INGEST_ALERTMANAGER_TOKEN ? { token: config.INGEST_ALERTMANAGER_TOKEN } : {}),
          });
    add('staging', ingest);
    if (production) add('production', ingest);
  }
  return targetsFrom(byEnvironment);
}

export function targetsFrom(byEnvironment: Record<DrillEnvironment, Map<DrillTargetKind, DrillTarget>>): Targets {
  return {
    get: (environment, kind) => byEnvironment[environment].get(kind),
    available: () => ({
      staging: [...byEnvironment.staging.keys()],
      production: [...byEnvironment.production.keys()],
    }),
  };
}
