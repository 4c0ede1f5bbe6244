import { fileURLToPath } from 'node:url';
import { dlqTopicName, topicName } from '@micro-oncall/incident-model';
import {
  createDatabase,
  createKafka,
  createLogger,
  createMetricsRegistry,
  createProducer,
  ensureTopics,
  exitOnStartFailure,
  kafkaClusterCheck,
  type Logger,
  loadConfig,
  type RunningService,
  runMigrations,
  startService,
  stopOnSignals,
} from '@micro-oncall/service-kit';
import { createApp } from './app.js';
import { type Config, configSchema } from './env.js';
import { createIngestMetrics } from './metrics.js';

export const SERVICE = 'webhook-ingest';
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

/**
 * Builds the service's parts from its config without connecting anything: the pool, the
 * producer, the Kafka readiness check and the HTTP app around them.
 */
export function wireWebhookIngest(config: Config, logger: Logger) {
  const topic = topicName('incident-events', config.KAFKA_TOPIC_NAMESPACE);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  const registry = createMetricsRegistry(SERVICE);
  const database = createDatabase({
    url: config.DATABASE_URL,
    schema: {},
    max: config.DATABASE_POOL_MAX,
    logger,
    applicationName: SERVICE,
  });
  const producer = createProducer(kafka, { logger, sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS });
  const components = [database, producer, kafkaClusterCheck(kafka)];
  const app = createApp({
    config,
    logger,
    registry,
    metrics: createIngestMetrics(registry),
    pool: database.pool,
    producer,
    topic,
    components: () => components,
  });
  return { topic, kafka, database, producer, components, app };
}

/** Migrates, creates topics when asked, starts the parts; returns the service with its single stop(). */
export async function startWebhookIngest(config: Config): Promise<RunningService> {
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  await runMigrations({ url: config.DATABASE_URL, schema: 'ingest', migrationsFolder: MIGRATIONS_FOLDER, logger });
  const { topic, kafka, database, components, app } = wireWebhookIngest(config, logger);
  if (config.KAFKA_CREATE_TOPICS) await ensureTopics(kafka, [topic, dlqTopicName(topic)]);
  const dedupCleanup = setInterval(() => {
    database.pool
      .query(`delete from ingest.received_events where received_at < now() - make_interval(hours => $1)`, [
        config.DEDUP_RETENTION_HOURS,
      ])
      .catch((error: unknown) => logger.warn({ err: error }, 'dedup cleanup failed'));
  }, 3600_000);
  dedupCleanup.unref();
  return startService({
    logger,
    components: [
      ...components,
      {
        id: 'dedup-cleanup',
        stop: async () => clearInterval(dedupCleanup),
        healthcheck: async () => ({ healthy: true }),
      },
    ],
    app,
    host: config.HOST,
    port: config.PORT,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bootLogger = createLogger({ service: SERVICE });
  try {
    const service = await startWebhookIngest(loadConfig(configSchema));
    stopOnSignals(service, bootLogger);
  } catch (error) {
    exitOnStartFailure(bootLogger, error);
  }
}
