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
import { createApp } from './app.js';
import { ServiceCatalogue } from './catalogue.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import * as schema from './db/schema.js';
import { type Config, configSchema } from './env.js';

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
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID ?? SERVICE, logger });
  if (config.KAFKA_CREATE_TOPICS) await ensureTopics(kafka, [eventsTopic, dlqTopicName(eventsTopic)]);

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
    handler: createIncidentEventsHandler({ db: database.db }),
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
  const components = [database, producer, consumer, cluster];
  const verifyToken = createJwtVerifier({
    issuer: config.OIDC_ISSUER,
    audience: config.OIDC_AUDIENCE,
    ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
    rolesClaim: config.OIDC_ROLES_CLAIM,
    roleMap: config.OIDC_ROLE_MAP,
  });
  const app = createApp({ logger, registry, db: database.db, catalogue, verifyToken, components: () => components });
  const service = await startService({
    logger,
    components: [database, producer, consumer, cluster],
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
