import { createHash } from 'node:crypto';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { z } from 'zod';
import type { Component } from './component.js';
import { loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface Database<TSchema extends Record<string, unknown>> extends Component {
  pool: pg.Pool;
  db: NodePgDatabase<TSchema>;
}

export function createDatabase<TSchema extends Record<string, unknown>>(opts: {
  url: string;
  schema: TSchema;
  max?: number;
  logger: Logger;
  applicationName: string;
}): Database<TSchema> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName,
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', (error) => opts.logger.warn({ err: error }, 'postgres: idle connection error'));
  // Nor may a checked-out one (a transaction holds its client through pool.connect(), and the
  // pool listens only to idle clients): without a listener, pg's 'error' event on a connection
  // that the server terminated is an uncaught exception. The failed query rejects on its own,
  // and the pool discards the broken client when it is released.
  pool.on('connect', (client) => {
    client.on('error', (error) => opts.logger.warn({ err: error }, 'postgres: connection lost while in use'));
  });
  return {
    id: 'postgres',
    pool,
    db: drizzle(pool, { schema: opts.schema }),
    async stop() {
      await pool.end();
    },
    async healthcheck() {
      try {
        await pool.query('select 1');
        return { healthy: true };
      } catch (error) {
        return { healthy: false, reason: (error as Error).message };
      }
    },
  };
}

/**
 * One stable 64-bit advisory lock key for every service's migrations. Not one per schema:
 * drizzle's bookkeeping creates the shared `drizzle` schema with CREATE SCHEMA IF NOT EXISTS,
 * which is not safe against a concurrent run, so two services migrating one fresh database
 * at the same time (their Helm Jobs on first install) could fail on pg_namespace.
 */
const MIGRATION_LOCK_KEY = createHash('sha256').update('micro-oncall:migrate').digest().readBigInt64BE(0);

/**
 * Applies a service's generated SQL migrations (drizzle-kit output), holding a session advisory
 * lock so that replicas starting together, the Helm pre-upgrade Job and other services never
 * migrate at the same time.
 */
export async function runMigrations(opts: {
  url: string;
  schema: string;
  migrationsFolder: string;
  logger: Logger;
}): Promise<void> {
  const client = new pg.Client({ connectionString: opts.url, application_name: `${opts.schema}-migrate` });
  await client.connect();
  try {
    const key = MIGRATION_LOCK_KEY.toString();
    await client.query('select pg_advisory_lock($1)', [key]);
    try {
      // Bookkeeping lives in drizzle's own schema, one table per service; the service's
      // schema itself is created by its first migration.
      await migrate(drizzle(client), {
        migrationsFolder: opts.migrationsFolder,
        migrationsSchema: 'drizzle',
        migrationsTable: `${opts.schema}_migrations`,
      });
      opts.logger.info({ schema: opts.schema }, 'migrations applied');
    } finally {
      await client.query('select pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await client.end();
  }
}

/**
 * The SQLSTATE (or Node error code) of a database error, looking through wrappers such as
 * drizzle's DrizzleQueryError, which keep the driver's error as `cause`.
 */
export function dbErrorCode(error: unknown): string {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string') return e.code;
  }
  return '';
}

/** True for errors that a retry may cure (connection lost, server restarting, serialization). */
export function isTransientDbError(error: unknown): boolean {
  const code = dbErrorCode(error);
  return (
    /^(08|57P|53|40001|40P01)/.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test((error as Error).message ?? '')
  );
}

/**
 * The body of each service's `src/migrate.ts`: the explicit migration entry point that the
 * Helm pre-install/pre-upgrade Job runs. Reads only DATABASE_URL (or DATABASE_URL_FILE).
 */
export async function migrateFromEnv(opts: {
  service: string;
  schema: string;
  migrationsFolder: string;
}): Promise<void> {
  const logger = createLogger({ service: `${opts.service}-migrate` });
  try {
    const config = loadConfig(
      z.object({ DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL') }),
    );
    await runMigrations({
      url: config.DATABASE_URL,
      schema: opts.schema,
      migrationsFolder: opts.migrationsFolder,
      logger,
    });
  } catch (error) {
    logger.fatal({ err: error }, `migration failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
