import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dlqTopicName, topicName } from '@micro-oncall/incident-model';
import {
  Counter,
  createDatabase,
  createJwtVerifier,
  createKafka,
  createLogger,
  createMetricsRegistry,
  createProducer,
  createSessionCodec,
  ensureTopics,
  exitOnStartFailure,
  Gauge,
  kafkaClusterCheck,
  loadConfig,
  type RunningService,
  runConsumer,
  runMigrations,
  startService,
  stopOnSignals,
} from '@micro-oncall/service-kit';
import type { Request } from 'express';
import { createApp } from './app.js';
import { createAuditWriter } from './audit.js';
import { ServiceCatalogue } from './catalogue.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import * as schema from './db/schema.js';
import { type Config, configSchema } from './env.js';
import { createLiveFeed } from './live.js';
import { createNotifications } from './notifications.js';
import { createProviderRegistry } from './providers/index.js';

export const SERVICE = 'escalation';
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

/** Wires config, catalogue, pool, Kafka and HTTP; returns the running service with its stop(). */
export async function startEscalation(
  config: Config,
  opts: { onFatal?: (error: Error) => void } = {},
): Promise<RunningService> {
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const catalogue = ServiceCatalogue.fromFile(config.SERVICE_CATALOGUE_FILE);
  await runMigrations({ url: config.DATABASE_URL, schema: 'escalation', migrationsFolder: MIGRATIONS_FOLDER, logger });
  const eventsTopic = topicName('incident-events', config.KAFKA_TOPIC_NAMESPACE);
  const actionsTopic = topicName('incident-actions', config.KAFKA_TOPIC_NAMESPACE);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  if (config.KAFKA_CREATE_TOPICS) await ensureTopics(kafka, [eventsTopic, dlqTopicName(eventsTopic), actionsTopic]);

  const registry = createMetricsRegistry(SERVICE);
  const applied = new Counter({
    name: 'incident_events_applied_total',
    help: 'Incident events applied (or skipped as already applied)',
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: 'incident_events_dead_lettered_total',
    help: 'Poison incident events sent to the DLQ',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages behind the high watermark after the last batch',
    labelNames: ['topic', 'partition'] as const,
    registers: [registry],
  });

  const notifications = createNotifications({
    slackWebhookUrl: config.SLACK_WEBHOOK_URL,
    publicUrl: config.PUBLIC_URL,
    logger,
  });
  const database = createDatabase({
    url: config.DATABASE_URL,
    schema,
    max: config.DATABASE_POOL_MAX,
    logger,
    applicationName: SERVICE,
  });
  const producer = createProducer(kafka, { logger });
  let crash: ((error: Error) => void) | undefined;
  const consumer = runConsumer(kafka, {
    id: 'incident-events-consumer',
    groupId: config.KAFKA_CONSUMER_GROUP,
    topics: [eventsTopic],
    handler: createIncidentEventsHandler({ db: database.db, onApplied: notifications.onApplied }),
    deadLetter: dlqTopicName,
    producer,
    logger,
    onCrash: (error) => crash?.(error),
    metrics: {
      applied: (n) => applied.inc(n),
      deadLettered: (n) => deadLettered.inc(n),
      lag: (topic, partition, value) => lag.set({ topic, partition: String(partition) }, value),
    },
  });
  const cluster = kafkaClusterCheck(kafka);
  const live = createLiveFeed({ databaseUrl: config.DATABASE_URL, db: database.db, catalogue, logger });
  const components = [database, producer, live, consumer, cluster];
  const verifyToken = createJwtVerifier({
    issuer: config.OIDC_ISSUER,
    audience: config.OIDC_AUDIENCE,
    ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
    rolesClaim: config.OIDC_ROLES_CLAIM,
    roleMap: config.OIDC_ROLE_MAP,
  });
  if (!config.SESSION_SECRET) logger.warn('SESSION_SECRET not set: sessions end when this process restarts');
  const sessions = createSessionCodec({
    secret: config.SESSION_SECRET ?? randomBytes(32).toString('hex'),
    ttlSeconds: config.SESSION_TTL_HOURS * 3600,
    secureCookies: config.NODE_ENV === 'production' || (config.PUBLIC_URL?.startsWith('https://') ?? false),
  });
  const publicUrl =
    config.PUBLIC_URL ?? ((req: Request) => `${req.protocol}://${req.get('host') ?? `127.0.0.1:${config.PORT}`}`);
  const providers = createProviderRegistry({
    ...(config.PAGERDUTY_API_TOKEN
      ? {
          pagerduty: {
            baseUrl: config.PAGERDUTY_API_URL,
            token: config.PAGERDUTY_API_TOKEN,
            fromEmail: config.PAGERDUTY_FROM_EMAIL ?? 'oncall@localhost',
            logger,
            http: { timeoutMs: config.PROVIDER_TIMEOUT_MS },
          },
        }
      : {}),
    ...(config.OPSGENIE_API_KEY
      ? {
          opsgenie: {
            baseUrl: config.OPSGENIE_API_URL,
            apiKey: config.OPSGENIE_API_KEY,
            logger,
            http: { timeoutMs: config.PROVIDER_TIMEOUT_MS },
          },
        }
      : {}),
  });
  const app = createApp({
    logger,
    registry,
    db: database.db,
    catalogue,
    verifyToken,
    sessions,
    oidc: {
      issuer: config.OIDC_ISSUER,
      clientId: config.OIDC_CLIENT_ID,
      clientSecret: config.OIDC_CLIENT_SECRET,
      publicUrl,
      rolesClaim: config.OIDC_ROLES_CLAIM,
      roleMap: config.OIDC_ROLE_MAP,
      allowInsecureIssuer: config.NODE_ENV !== 'production',
    },
    audit: createAuditWriter(database.db),
    providers,
    producer,
    actionsTopic,
    live,
    onEscalated: notifications.onEscalated,
    components: () => components,
  });
  const service = await startService({
    logger,
    components,
    app,
    host: config.HOST,
    port: config.PORT,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  // A consumer that is gone for good must not leave a half-working service behind.
  crash = (error) => {
    logger.fatal({ err: error }, 'incident consumer stopped; shutting down');
    service.stop().finally(() => (opts.onFatal ? opts.onFatal(error) : process.exit(1)));
  };
  return service;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bootLogger = createLogger({ service: SERVICE });
  try {
    const service = await startEscalation(loadConfig(configSchema));
    stopOnSignals(service, bootLogger);
  } catch (error) {
    exitOnStartFailure(bootLogger, error);
  }
}
