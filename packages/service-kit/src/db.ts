import { createHash } from 'node:crypto';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { Component } from './component.js';
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';

export interface Database<TSchema extends Record<string, unknown>> extends Component {
  pool: pg.Pool;
  db: NodePgDatabase<TSchema>;
}

/**
 * Session settings of every service connection that runs queries (the pools and the outbox
 * relay's connection; the `options` startup parameter): PostgreSQL's
 * JIT off. The services run short OLTP statements, and JIT compiles a statement whose estimated
 * cost passes `jit_above_cost`, which a correlated subquery's estimate does on a table whose
 * statistics are not yet gathered: 0.4 ms of execution then cost 300 ms of compilation on every
 * call (ADR 0025). A DATABASE_URL that sets `options` itself takes precedence.
 */
export const SESSION_OPTIONS = '-c jit=off';

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
    options: SESSION_OPTIONS,
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
 * A stable 64-bit PostgreSQL advisory lock key (as text, for a `$1::bigint` parameter) named by
 * its parts: `advisoryLockKey(schema, 'outbox-relay')`. One derivation for every lock the kit takes.
 */
export function advisoryLockKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest().readBigInt64BE(0).toString();
}

/** A table privilege a runtime role may be given. */
export type TablePrivilege = 'select' | 'insert' | 'update' | 'delete';

/** Every table privilege a runtime role gets on its service's tables unless restricted. */
const RUNTIME_TABLE_PRIVILEGES: readonly TablePrivilege[] = ['select', 'insert', 'update', 'delete'];

/**
 * The role a service runs as, when it is not the role that migrates. The migrating role owns
 * the schema and its tables; the runtime role gets USAGE on the schema, SELECT/INSERT/UPDATE/
 * DELETE on its tables and USAGE/SELECT on its sequences (now and, by default privileges, for
 * tables created later), and owns nothing, so it can neither alter, disable triggers on, nor
 * drop anything.
 */
export interface RuntimeRoleGrants {
  role: string;
  /**
   * Tables of the schema the role may use only in the ways listed (`[]`: not at all), e.g.
   * `{ audit_log: ['select', 'insert'] }` for an append-only table.
   */
  restrict?: Readonly<Record<string, readonly TablePrivilege[]>>;
}

/** Unquoted PostgreSQL names the kit builds SQL from (schemas, tables). */
const SQL_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Applies a service's generated SQL migrations (drizzle-kit output), holding a session advisory
 * lock so that replicas starting together, the Helm pre-upgrade Job and other services never
 * migrate at the same time. Under the same lock it then applies the kit's own idempotent DDL
 * (`kitDdl`, e.g. the outbox table) and, with `runtime`, grants the runtime role its privileges
 * (see {@link RuntimeRoleGrants}).
 */
export async function runMigrations(opts: {
  url: string;
  schema: string;
  migrationsFolder: string;
  logger: Logger;
  kitDdl?: readonly string[];
  runtime?: RuntimeRoleGrants;
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
      for (const ddl of opts.kitDdl ?? []) await client.query(ddl);
      if (opts.runtime) await grantRuntimeRole(client, opts.schema, opts.runtime);
      opts.logger.info(
        { schema: opts.schema, ...(opts.runtime ? { runtimeRole: opts.runtime.role } : {}) },
        'migrations applied',
      );
    } finally {
      await client.query('select pg_advisory_unlock($1)', [key]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Grants `runtime.role` exactly its privileges on `schema`, in one transaction (the role never
 * sees a state between the old grants and the new), after checking that the role could not
 * get around them: it must not be the migrating role, a superuser, a member of a role that owns
 * the schema or one of its objects, or such an owner itself.
 */
async function grantRuntimeRole(client: pg.Client, schema: string, runtime: RuntimeRoleGrants): Promise<void> {
  const role = runtime.role;
  const refused = (problem: string, cause?: unknown) =>
    new Error(`cannot make ${JSON.stringify(role)} the runtime role of schema ${schema}: ${problem}`, { cause });
  for (const [table, privileges] of Object.entries(runtime.restrict ?? {})) {
    if (!SQL_NAME.test(table)) throw refused(`restricted table name ${JSON.stringify(table)} must match ${SQL_NAME}`);
    const unknown = privileges.filter((p) => !RUNTIME_TABLE_PRIVILEGES.includes(p));
    if (unknown.length > 0) {
      throw refused(`${table}: unknown privilege ${unknown.join(', ')} (use ${RUNTIME_TABLE_PRIVILEGES.join(', ')})`);
    }
  }
  const {
    rows: [who],
  } = await client.query<{ migrator: string; exists: boolean; superuser: boolean; member: boolean }>(
    `select current_user::text as migrator,
            r.oid is not null as exists,
            coalesce(r.rolsuper, false) as superuser,
            coalesce(pg_has_role(r.oid, current_user::text, 'MEMBER'), false) as member
       from (select 1) as one left join pg_roles r on r.rolname = $1`,
    [role],
  );
  if (!who?.exists) throw refused('the role does not exist; create it first (see docs/deploy.md)');
  if (who.migrator === role) {
    throw refused(
      'it is the role that runs the migrations, which owns the tables; the service must run as another role',
    );
  }
  if (who.superuser) throw refused('it is a superuser, which no privilege restrains');
  if (who.member) throw refused(`it is a member of ${JSON.stringify(who.migrator)}, the role that owns the tables`);
  const owned = await client.query<{ object: string; owner: string }>(
    `select $2::text as object, pg_get_userbyid(n.nspowner) as owner
       from pg_namespace n where n.nspname = $2::text and pg_has_role($1::text, n.nspowner, 'MEMBER')
     union all
     select format('%s.%s', n.nspname, c.relname), pg_get_userbyid(c.relowner)
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $2::text and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
        and pg_has_role($1::text, c.relowner, 'MEMBER')
     union all
     select format('%s.%s()', n.nspname, p.proname), pg_get_userbyid(p.proowner)
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $2::text and pg_has_role($1::text, p.proowner, 'MEMBER')
     union all
     select format('type %s.%s', n.nspname, t.typname), pg_get_userbyid(t.typowner)
       from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = $2::text and t.typtype in ('e', 'd', 'r', 'm')
        and pg_has_role($1::text, t.typowner, 'MEMBER')
      order by 1`,
    [role, schema],
  );
  if (owned.rows.length > 0) {
    throw refused(
      `it owns, or is a member of the owner of, ${owned.rows.map((r) => `${r.object} (owner ${r.owner})`).join(', ')}; ` +
        `hand them to the migrating role first (REASSIGN OWNED BY ... TO ..., see docs/deploy.md)`,
    );
  }
  const r = client.escapeIdentifier(role);
  const statements = [
    `grant usage on schema ${schema} to ${r}`,
    `revoke all on all tables in schema ${schema} from ${r}`,
    `revoke all on all sequences in schema ${schema} from ${r}`,
    `grant select, insert, update, delete on all tables in schema ${schema} to ${r}`,
    `grant usage, select on all sequences in schema ${schema} to ${r}`,
    `alter default privileges in schema ${schema} grant select, insert, update, delete on tables to ${r}`,
    `alter default privileges in schema ${schema} grant usage, select on sequences to ${r}`,
  ];
  for (const [table, privileges] of Object.entries(runtime.restrict ?? {})) {
    statements.push(`revoke all on ${schema}.${table} from ${r}`);
    if (privileges.length > 0) statements.push(`grant ${privileges.join(', ')} on ${schema}.${table} to ${r}`);
  }
  await client.query('begin');
  try {
    for (const statement of statements) await client.query(statement);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw refused((error as Error).message, error);
  }
}

/**
 * Where and as whom migrations run, from the shared settings: as DATABASE_MIGRATION_URL's role
 * (the schema owner) when it is set, otherwise as DATABASE_URL's. The runtime role is
 * DATABASE_RUNTIME_ROLE, or, when only the owner migrates and DATABASE_URL is known too, the
 * user DATABASE_URL names; with neither (one role, development) nothing is granted.
 */
export function migrationSettings(config: {
  DATABASE_URL?: string | undefined;
  DATABASE_MIGRATION_URL?: string | undefined;
  DATABASE_RUNTIME_ROLE?: string | undefined;
}): { url: string; runtimeRole?: string } {
  const url = config.DATABASE_MIGRATION_URL ?? config.DATABASE_URL;
  if (!url) throw new ConfigError(['DATABASE_MIGRATION_URL: required (the URL of the role that owns the schema)']);
  if (config.DATABASE_RUNTIME_ROLE) return { url, runtimeRole: config.DATABASE_RUNTIME_ROLE };
  if (!config.DATABASE_MIGRATION_URL || !config.DATABASE_URL) return { url };
  const user = decodeURIComponent(new URL(config.DATABASE_URL).username);
  if (!user) {
    throw new ConfigError([
      'DATABASE_RUNTIME_ROLE: required when DATABASE_MIGRATION_URL is set and DATABASE_URL names no user',
    ]);
  }
  return { url, runtimeRole: user };
}

/**
 * Logs a warning when the role at `url` owns (or is a member of the owner of) `schema` or one of
 * its tables: a process running as the owner can alter, disable triggers on or drop them, so
 * guarantees such as an append-only table hold only against a separate runtime role.
 */
export async function warnIfRunningAsOwner(opts: { url: string; schema: string; logger: Logger }): Promise<void> {
  const client = new pg.Client({ connectionString: opts.url, application_name: `${opts.schema}-role-check` });
  try {
    await client.connect();
    const { rows } = await client.query<{ role: string; owns: boolean }>(
      `select current_user::text as role,
              exists (select 1 from pg_namespace n where n.nspname = $1 and pg_has_role(n.nspowner, 'MEMBER'))
           or exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where n.nspname = $1 and pg_has_role(c.relowner, 'MEMBER')) as owns`,
      [opts.schema],
    );
    if (rows[0]?.owns) {
      opts.logger.warn(
        { schema: opts.schema, role: rows[0].role },
        `running as role ${rows[0].role}, which owns schema ${opts.schema} or its tables: it could alter or drop them ` +
          '(an append-only table included); run the service as a separate runtime role (DATABASE_MIGRATION_URL, docs/deploy.md)',
      );
    }
  } catch (error) {
    opts.logger.debug({ err: error }, 'could not check which role owns the schema');
  } finally {
    await client.end().catch(() => undefined);
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
