import { fileURLToPath } from 'node:url';
import { dlqTopicName, type EventKind, type RawTopicKind } from '@micro-oncall/incident-model';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Express } from 'express';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import type { z } from 'zod';
import type { Component } from './component.js';
import { type BaseConfig, ConfigError, loadConfig, migrationConfigSchema } from './config.js';
import {
  createDatabase,
  type Database,
  migrationSettings,
  runMigrations,
  type TablePrivilege,
  warnIfRunningAsOwner,
} from './db.js';
import {
  consumeEvents,
  consumeRawMessages,
  createDirectPublisher,
  createEventMessages,
  type DirectPublisher,
  type EventMessages,
  type RawHandler,
  type Topics,
  type TypedHandler,
  topicsFor,
} from './events.js';
import { createJobRunner, type JobDefinition, type JobRunner } from './jobs.js';
import { createKafka, createProducer, type EventProducer, ensureTopics, kafkaClusterCheck } from './kafka.js';
import { createHttpConnections, type HttpConnections, type RunningService, startService } from './lifecycle.js';
import { createLogger, type Logger } from './logger.js';
import { createMetricsRegistry, type Registry } from './metrics.js';
import { createOutbox, createOutboxRelay, type Outbox, outboxDdl } from './outbox.js';

/*
 * The service descriptor: what a service is (name, config, the schema it owns, the topics it
 * produces and consumes, its HTTP app, consumers and jobs) declared in one object. The kit owns
 * everything every service does the same way: logger, config parse, pool, migrations under the
 * advisory lock, the metrics registry, topics, producer, typed consumers, the outbox relay, the
 * job runner, readiness from every component, the crash stop and the single bounded stop.
 */

/** A configuration schema every service's extends (`baseConfigSchema.extend({...})`). */
export type ServiceConfigSchema = z.ZodType<BaseConfig & Record<string, unknown>>;

/** What a service's `setup` gets: every shared part, built and not yet started. */
export interface ServiceContext<C extends BaseConfig, T extends Record<string, unknown>> {
  name: string;
  config: C;
  logger: Logger;
  registry: Registry;
  database: Database<T>;
  db: NodePgDatabase<T>;
  pool: pg.Pool;
  kafka: Kafka;
  producer: EventProducer;
  topics: Topics;
  /** Typed messages (envelope, validation, trace context) and direct, acknowledged publishing. */
  events: EventMessages & DirectPublisher;
  /** State change and event in one transaction (see outbox.ts). */
  outbox: Outbox;
  /** Durable delayed jobs of this service (usable once the service has started). */
  jobs: Pick<JobRunner, 'schedule' | 'cancel' | 'runNow'>;
  /** A consumer group on `kind`'s topic with shared decoding, dead-lettering and metrics; started by the kit. */
  consume<K extends EventKind>(kind: K, opts: { groupId: string; handler: TypedHandler<K>; chunkSize?: number }): void;
  /**
   * A consumer group on a topic of raw messages (`consumesRaw`: log lines other systems write):
   * the handler gets each chunk's messages with topic, partition, offset, headers and value
   * bytes; offsets are committed after it resolved. Started by the kit.
   */
  consumeRaw(kind: RawTopicKind, opts: { groupId: string; handler: RawHandler; chunkSize?: number }): void;
  /** Every component of the service, for readiness (`createHttpApp({ components })`). */
  components(): readonly Component[];
  /** The HTTP server's open connections (0 until it listens): a queue the handlers cannot see. */
  http: HttpConnections;
}

/** What `setup` returns: the HTTP app (never listening) and the service's own parts. */
export interface ServiceParts {
  app?: Express;
  /** Own long-lived parts (a live feed, a cache), started after the kit's and stopped before them. */
  components?: Component[];
  /** Durable jobs (`defineJob`): cron ticks run once across replicas, delayed runs survive restarts. */
  // biome-ignore lint/suspicious/noExplicitAny: each job has its own data type
  jobs?: JobDefinition<any>[];
}

/**
 * How a local platform (`npm start`, the integration tests, the benchmarks) configures the
 * service: named secret files, URLs and files it made, and the identity provider.
 */
export interface DevPlatform {
  nodeEnv: 'development' | 'test' | 'production';
  namespace: string;
  oidc: { issuer: string; audience: string; jwksUrl?: string };
  /** Secret files by name (`pagerduty-webhook-secrets`, `session-secret`, …). */
  secretFiles: Record<string, string>;
  /** Local fakes and other endpoints by name (`pagerduty-api`, …). */
  urls: Record<string, string>;
  /** Other files by name (`service-catalogue`, …). */
  files: Record<string, string>;
}

/**
 * A path the product's host routes to the service (the chart's Ingress and, in development, the
 * gateway of the local platform). `prefix` matches the path and everything below it, element by
 * element (`/v1` matches `/v1` and `/v1/x`, not `/v1x`); `exact` only the path itself. Of several
 * services' paths, the longest that matches wins (`/v1/webhooks` over `/v1`), as with Ingress.
 */
export interface PublicPath {
  path: string;
  match: 'prefix' | 'exact';
}

export interface ServiceDefinition<S extends ServiceConfigSchema, T extends Record<string, unknown>> {
  /** Lowercase, dashes: the folder, chart, image, metrics label and Kafka client id. */
  name: string;
  description: string;
  config: S;
  db: {
    /** The PostgreSQL schema the service owns; its migrations create it. */
    schema: string;
    /** The drizzle tables (`import * as schema from './db/schema.js'`). */
    tables: T;
    /** Folder of drizzle-kit's generated SQL (`new URL('../drizzle', import.meta.url)`). */
    migrations: URL | string;
    /**
     * Tables the runtime role may use only in the ways listed, e.g. `{ audit_log: ['select',
     * 'insert'] }` for an append-only table; every other table: select, insert, update, delete.
     * Applies when a separate role migrates (DATABASE_MIGRATION_URL, the chart's Job).
     */
    runtimePrivileges?: Readonly<Record<string, readonly TablePrivilege[]>>;
  };
  produces: readonly EventKind[];
  consumes: readonly EventKind[];
  /** Topics of raw messages the service reads (`ctx.consumeRaw`), e.g. `discovery-lines`; created with the others. */
  consumesRaw?: readonly RawTopicKind[];
  /**
   * How events leave: `outbox` (default: written with the state change, relayed after commit)
   * or `direct` (published before answering, for edge services that acknowledge only what
   * Kafka acknowledged, like webhook-ingest).
   */
  publishing?: 'outbox' | 'direct';
  /** OpenAPI document of the HTTP API (served at /openapi.json and written to docs/api/). */
  openApi?: () => unknown;
  /**
   * What the product's one host routes to this service: its API, pages and webhooks, never
   * /metrics, /health or /openapi.json. The chart's `ingressPaths` must list the same (the
   * chart checks compare them), and the local platform's gateway routes by them.
   */
  publicPaths: readonly PublicPath[];
  setup(ctx: ServiceContext<z.output<S>, T>): ServiceParts | Promise<ServiceParts>;
  /** The service's own environment on a local platform (the kit adds the shared keys). */
  devEnv?(platform: DevPlatform): Record<string, string>;
}

export interface RunOptions {
  /** Called after the service stopped itself because a part failed for good (default: exit 1). */
  onFatal?: (error: Error) => void;
  logger?: Logger;
}

export interface BuiltService<C extends BaseConfig, T extends Record<string, unknown>> {
  context: ServiceContext<C, T>;
  parts: ServiceParts;
  /** In start order: pool, producer, outbox relay, consumers, job runner, the service's own. */
  components: Component[];
  /** What the HTTP server keeps count of once it listens (`context.http`). */
  connections: ReturnType<typeof createHttpConnections>;
}

export interface ServiceDescriptor<S extends ServiceConfigSchema, T extends Record<string, unknown>>
  extends ServiceDefinition<S, T> {
  readonly migrationsFolder: string;
  /** Builds every part without connecting anything (tests drive the app with supertest). */
  build(config: z.output<S>, opts?: RunOptions): Promise<BuiltService<z.output<S>, T>>;
  /** Migrates (MIGRATE_ON_START) and creates topics when configured to, starts every part; one idempotent stop(). */
  run(config: z.output<S>, opts?: RunOptions): Promise<RunningService>;
  /** Parses the environment (or `env`) with the service's schema. */
  loadConfig(env?: NodeJS.ProcessEnv): z.output<S>;
  /**
   * Every topic the service produces to or consumes from in `namespace`, with their dead-letter
   * topics: what it creates at start-up with KAFKA_CREATE_TOPICS, and what the platform must
   * create where it does not (the charts).
   */
  topicNames(namespace: string): string[];
  /**
   * The migration Job's entry point: migrations only, as DATABASE_MIGRATION_URL's role (or
   * DATABASE_URL's), granting DATABASE_RUNTIME_ROLE its privileges. Exit code 1 on failure.
   */
  migrate(env?: NodeJS.ProcessEnv): Promise<void>;
  /** The whole environment on a local platform: shared keys, then the service's own. */
  platformEnv(platform: DevPlatform, shared: Record<string, string>): Record<string, string>;
}

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const SCHEMA = /^[a-z_][a-z0-9_]*$/;
/** `/` or segments of URL-safe characters, no trailing slash, no `.`/`..` segments. */
const PUBLIC_PATH = /^\/$|^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~-]+)+$/;
/** Never routed from outside: they stay inside the cluster (policy MO-K8S-013). */
const INTERNAL_PATHS = ['/metrics', '/health', '/openapi.json'];

/** Problems with a descriptor's public paths (empty when they are fine). */
export function publicPathProblems(service: string, paths: readonly PublicPath[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const { path, match } of paths) {
    if (!PUBLIC_PATH.test(path)) {
      problems.push(`${service}: public path ${JSON.stringify(path)} must start with / and have no trailing slash`);
    }
    if (match !== 'prefix' && match !== 'exact') {
      problems.push(`${service}: public path ${path} must match 'prefix' or 'exact'`);
    }
    if (match === 'prefix' && path === '/') {
      problems.push(`${service}: a prefix of / would route everything (/metrics, /health included) to it`);
    }
    const internal = INTERNAL_PATHS.find((p) => p === path || (match === 'prefix' && p.startsWith(`${path}/`)));
    if (internal)
      problems.push(`${service}: public path ${path} would expose ${internal}, which stays inside the cluster`);
    if (seen.has(path)) problems.push(`${service}: public path ${path} is listed twice`);
    seen.add(path);
  }
  return problems;
}

/** Declares a service. See docs/adr/0007-service-descriptor.md. */
export function defineService<S extends ServiceConfigSchema, T extends Record<string, unknown>>(
  definition: ServiceDefinition<S, T>,
): ServiceDescriptor<S, T> {
  if (!NAME.test(definition.name)) throw new Error(`service name ${JSON.stringify(definition.name)}: use a-z, 0-9, -`);
  if (!SCHEMA.test(definition.db.schema)) throw new Error(`${definition.name}: invalid schema name`);
  const pathProblems = publicPathProblems(definition.name, definition.publicPaths);
  if (pathProblems.length > 0) throw new Error(pathProblems.join('; '));
  const migrationsFolder =
    definition.db.migrations instanceof URL ? fileURLToPath(definition.db.migrations) : definition.db.migrations;
  const publishing = definition.publishing ?? 'outbox';

  const migrateAll = (settings: { url: string; runtimeRole?: string }, logger: Logger) =>
    runMigrations({
      url: settings.url,
      schema: definition.db.schema,
      migrationsFolder,
      logger,
      kitDdl: publishing === 'outbox' && definition.produces.length > 0 ? [outboxDdl(definition.db.schema)] : [],
      ...(settings.runtimeRole
        ? { runtime: { role: settings.runtimeRole, restrict: definition.db.runtimePrivileges ?? {} } }
        : {}),
    });

  /**
   * Builds the parts; `failed` hears of a part that stopped for good: a consumer that hit a
   * configuration error (missing topic, refused credentials). Consumers rebuild themselves
   * after any other crash (see runConsumer), so this is never an outage that would pass.
   */
  const assemble = async (
    config: z.output<S>,
    logger: Logger,
    failed: (error: Error) => void,
  ): Promise<BuiltService<z.output<S>, T>> => {
    const registry = createMetricsRegistry(definition.name);
    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID ?? definition.name,
      logger,
    });
    const database = createDatabase({
      url: config.DATABASE_URL,
      schema: definition.db.tables,
      max: config.DATABASE_POOL_MAX,
      logger,
      applicationName: definition.name,
    });
    const producer = createProducer(kafka, {
      logger,
      sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS,
      lingerMs: config.KAFKA_PRODUCER_LINGER_MS,
    });
    const topics = topicsFor(config.KAFKA_TOPIC_NAMESPACE);
    const messages = createEventMessages({ service: definition.name, topics });
    const outbox = createOutbox({ schema: definition.db.schema, messages });

    const components: Component[] = [database, producer];
    if (publishing === 'outbox' && definition.produces.length > 0) {
      components.push(
        createOutboxRelay({
          schema: definition.db.schema,
          databaseUrl: config.DATABASE_URL,
          pool: database.pool,
          producer,
          logger,
          registry,
        }),
      );
    }
    components.push(kafkaClusterCheck(kafka));
    const consumers: Component[] = [];
    /** What every consumer group of the service shares. */
    const groupOptions = (o: { groupId: string; chunkSize?: number }) => ({
      groupId: o.groupId,
      kafka,
      topics,
      producer,
      logger,
      registry,
      ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
      fetch: { minBytes: config.KAFKA_FETCH_MIN_BYTES, maxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS },
      onCrash: failed,
    });
    let runner: JobRunner | undefined;
    const connections = createHttpConnections();
    const context: ServiceContext<z.output<S>, T> = {
      name: definition.name,
      config,
      logger,
      registry,
      database,
      db: database.db,
      pool: database.pool,
      kafka,
      producer,
      topics,
      events: { ...messages, ...createDirectPublisher(messages, producer) },
      outbox,
      jobs: {
        schedule: (name, data, o) => started().schedule(name, data, o),
        cancel: (name, key) => started().cancel(name, key),
        runNow: (name, data, o) => started().runNow(name, data, o),
      },
      consume(kind, o) {
        if (!definition.consumes.includes(kind)) {
          throw new Error(`${definition.name} consumes ${kind} but its descriptor does not declare it in consumes`);
        }
        consumers.push(consumeEvents({ kind, handler: o.handler, ...groupOptions(o) }));
      },
      consumeRaw(kind, o) {
        if (!definition.consumesRaw?.includes(kind)) {
          throw new Error(`${definition.name} consumes ${kind} but its descriptor does not declare it in consumesRaw`);
        }
        consumers.push(consumeRawMessages({ kind, handler: o.handler, ...groupOptions(o) }));
      },
      components: () => all,
      http: connections,
    };
    function started(): JobRunner {
      if (!runner) throw new Error(`${definition.name} has no jobs, or has not started yet`);
      return runner;
    }
    const parts = await definition.setup(context);
    components.push(...consumers);
    if (parts.jobs && parts.jobs.length > 0) {
      runner = createJobRunner({
        databaseUrl: config.DATABASE_URL,
        schema: `${definition.db.schema}_jobs`,
        jobs: parts.jobs,
        logger,
        registry,
      });
      components.push(runner);
    }
    components.push(...(parts.components ?? []));
    const all = components;
    return { context, parts, components, connections };
  };

  const build = (config: z.output<S>, opts: RunOptions = {}) => {
    const logger = opts.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL });
    return assemble(config, logger, (error) => {
      logger.error({ err: error }, `${definition.name}: a part stopped for good`);
      opts.onFatal?.(error);
    });
  };

  const run = async (config: z.output<S>, opts: RunOptions = {}): Promise<RunningService> => {
    const logger = opts.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL });
    if (config.MIGRATE_ON_START) await migrateAll(migrationSettings(config), logger);
    if (config.NODE_ENV === 'production') {
      await warnIfRunningAsOwner({ url: config.DATABASE_URL, schema: definition.db.schema, logger });
    }
    // A part that is gone for good (a consumer whose topic is missing or whose credentials are
    // refused) must not leave a half-working service behind: stop everything, then tell the
    // caller (the process exits by default).
    let service: RunningService | undefined;
    let failure: Error | undefined;
    const fail = (error: Error) => {
      if (!service) {
        failure ??= error;
        return;
      }
      logger.fatal({ err: error }, `${definition.name}: a part stopped for good; shutting down`);
      service.stop().finally(() => (opts.onFatal ? opts.onFatal(error) : process.exit(1)));
    };
    const built = await assemble(config, logger, fail);
    if (config.KAFKA_CREATE_TOPICS) await ensureTopics(built.context.kafka, topicNames(config.KAFKA_TOPIC_NAMESPACE));
    service = await startService({
      logger,
      components: built.components,
      ...(built.parts.app ? { app: built.parts.app } : {}),
      host: config.HOST,
      port: config.PORT,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      connections: built.connections,
    });
    if (failure) fail(failure);
    return service;
  };

  const topicNames = (namespace: string) => {
    const topics = topicsFor(namespace);
    const kinds = [...new Set([...definition.produces, ...definition.consumes, ...(definition.consumesRaw ?? [])])];
    return kinds.flatMap((kind) => {
      const topic = topics.name(kind);
      return [topic, dlqTopicName(topic)];
    });
  };

  const descriptor: ServiceDescriptor<S, T> = {
    ...definition,
    migrationsFolder,
    build,
    run,
    topicNames,
    loadConfig: (env) => loadConfig(definition.config, env),
    async migrate(env = process.env) {
      const logger = createLogger({ service: `${definition.name}-migrate` });
      try {
        await migrateAll(migrationSettings(loadConfig(migrationConfigSchema, env)), logger);
      } catch (error) {
        logger.fatal({ err: error }, `migration failed: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    },
    platformEnv(platform, shared) {
      return { ...shared, ...(definition.devEnv?.(platform) ?? {}) };
    },
  };
  return descriptor;
}

/** For `devEnv`: a named entry the local platform must provide, with a clear error when it does not. */
export function required(entries: Record<string, string>, name: string, service: string): string {
  const value = entries[name];
  if (!value) throw new ConfigError([`${service}: the local platform provides no ${JSON.stringify(name)}`]);
  return value;
}
