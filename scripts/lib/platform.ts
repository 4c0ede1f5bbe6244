import { loadConfig, type RunningService } from '@micro-oncall/service-kit';
import { configSchema as escalationConfig } from '../../services/escalation/src/env.js';
import { startEscalation } from '../../services/escalation/src/main.js';
import { configSchema as ingestConfig } from '../../services/webhook-ingest/src/env.js';
import { startWebhookIngest } from '../../services/webhook-ingest/src/main.js';

export interface PlatformOptions {
  databaseUrl: string;
  kafkaBrokers: string;
  namespace: string;
  oidc: { issuer: string; audience: string; jwksUrl?: string };
  /** Paths of secret files (the services read `*_FILE` like they do in Kubernetes). */
  secretFiles: { pagerduty: string; opsgenie: string; alertmanagerBasic: string };
  catalogueFile: string;
  /** Provider APIs for actions (fakes in development and tests); absent: actions answer 409. */
  providers?: {
    pagerduty?: { url: string; tokenFile: string; fromEmail: string };
    opsgenie?: { url: string; apiKeyFile: string };
    slackWebhookUrlFile?: string;
  };
  ports?: { ingest?: number; escalation?: number };
  logLevel?: string;
  nodeEnv?: 'development' | 'test';
}

export interface Platform {
  ingest: RunningService;
  escalation: RunningService;
  stop(): Promise<void>;
}

/**
 * Starts every service in this process with the same configuration path they use in a
 * container (environment variables and secret files through each service's own config
 * schema). Used by `npm start`, the end-to-end tests and the benchmarks.
 */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const common = {
    NODE_ENV: opts.nodeEnv ?? 'development',
    LOG_LEVEL: opts.logLevel ?? 'warn',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    KAFKA_BROKERS: opts.kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: opts.namespace,
  };
  const ingest = await startWebhookIngest(
    loadConfig(ingestConfig, {
      ...common,
      PORT: String(opts.ports?.ingest ?? 0),
      PAGERDUTY_WEBHOOK_SECRETS_FILE: opts.secretFiles.pagerduty,
      OPSGENIE_WEBHOOK_TOKEN_FILE: opts.secretFiles.opsgenie,
      ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: opts.secretFiles.alertmanagerBasic,
    }),
  );
  let escalation: RunningService;
  try {
    escalation = await startEscalation(
      loadConfig(escalationConfig, {
        ...common,
        PORT: String(opts.ports?.escalation ?? 0),
        SERVICE_CATALOGUE_FILE: opts.catalogueFile,
        OIDC_ISSUER: opts.oidc.issuer,
        OIDC_AUDIENCE: opts.oidc.audience,
        ...(opts.oidc.jwksUrl ? { OIDC_JWKS_URL: opts.oidc.jwksUrl } : {}),
        KAFKA_CONSUMER_GROUP: `${opts.namespace}-escalation`,
        ...(opts.providers?.pagerduty
          ? {
              PAGERDUTY_API_URL: opts.providers.pagerduty.url,
              PAGERDUTY_API_TOKEN_FILE: opts.providers.pagerduty.tokenFile,
              PAGERDUTY_FROM_EMAIL: opts.providers.pagerduty.fromEmail,
            }
          : {}),
        ...(opts.providers?.opsgenie
          ? { OPSGENIE_API_URL: opts.providers.opsgenie.url, OPSGENIE_API_KEY_FILE: opts.providers.opsgenie.apiKeyFile }
          : {}),
        ...(opts.providers?.slackWebhookUrlFile ? { SLACK_WEBHOOK_URL_FILE: opts.providers.slackWebhookUrlFile } : {}),
      }),
      { onFatal: (error) => console.error(`escalation stopped: ${error.message}`) },
    );
  } catch (error) {
    await ingest.stop();
    throw error;
  }
  return {
    ingest,
    escalation,
    async stop() {
      await Promise.allSettled([ingest.stop(), escalation.stop()]);
    },
  };
}
