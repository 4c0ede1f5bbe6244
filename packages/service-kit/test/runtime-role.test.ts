import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, refusalOf, sqlAs, uniqueNamespace, urlAs } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  baseConfigSchema,
  createHttpApp,
  createLogger,
  defineService,
  type Logger,
  outboxDdl,
  type RunningService,
  runMigrations,
  warnIfRunningAsOwner,
} from '../src/index.js';

/*
 * Two database roles, as in production (docs/deploy.md): an owner that migrates and a runtime
 * role that the service runs as, which may use its tables but can neither change their
 * definition nor get around a table's restrictions. Set up with the SQL a DBA runs.
 */

const logger = createLogger({ service: 'service-kit-roles-test', level: 'silent' });
const folders: string[] = [];
const databases: string[] = [];
const roles: string[] = [];
let serverUrl: string;

/** A migrations folder in drizzle-kit's layout: meta/_journal.json plus one SQL file per entry. */
function migrationsFolder(migrations: { tag: string; sql: string[] }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'service-kit-roles-'));
  folders.push(dir);
  mkdirSync(join(dir, 'meta'));
  writeFileSync(
    join(dir, 'meta', '_journal.json'),
    JSON.stringify({
      version: '7',
      dialect: 'postgresql',
      entries: migrations.map((m, idx) => ({
        idx,
        version: '7',
        when: 1_700_000_000_000 + idx,
        tag: m.tag,
        breakpoints: true,
      })),
    }),
  );
  for (const m of migrations) writeFileSync(join(dir, `${m.tag}.sql`), m.sql.join('\n--> statement-breakpoint\n'));
  return dir;
}

const init = {
  tag: '0000_init',
  sql: [
    'CREATE SCHEMA "kit_roles";',
    'CREATE TABLE "kit_roles"."things" ("id" serial PRIMARY KEY, "name" text NOT NULL);',
    'CREATE TABLE "kit_roles"."ledger" ("id" bigserial PRIMARY KEY, "entry" text NOT NULL);',
  ],
};
const notes = {
  tag: '0001_notes',
  sql: ['CREATE TABLE "kit_roles"."notes" ("id" serial PRIMARY KEY, "body" text NOT NULL);'],
};

/**
 * A fresh database with an owner and a runtime role, made as docs/deploy.md tells a DBA to:
 * the owner may create schemas and record its migrations in `drizzle`; the runtime role gets
 * nothing here (the migrations grant it its privileges), or CREATE on the database when the
 * service has durable jobs (pg-boss creates its own schema as the runtime role).
 */
async function twoRoles(prefix: string, opts: { runtimeCreatesSchemas?: boolean } = {}) {
  const suffix = randomBytes(4).toString('hex');
  const owner = `${prefix}_owner_${suffix}`;
  const runtime = `${prefix}_${suffix}`;
  const url = await createTestDatabase(serverUrl, prefix);
  const database = new URL(url).pathname.slice(1);
  databases.push(database);
  roles.push(owner, runtime);
  await sqlAs(serverUrl, `create role ${owner} login`);
  await sqlAs(serverUrl, `create role ${runtime} login`);
  await sqlAs(url, 'create schema if not exists drizzle');
  await sqlAs(url, `grant create on database ${database} to ${owner}`);
  await sqlAs(url, `grant usage, create on schema drizzle to ${owner}`);
  if (opts.runtimeCreatesSchemas) await sqlAs(url, `grant create on database ${database} to ${runtime}`);
  return { url, database, owner, runtime, ownerUrl: urlAs(url, owner), runtimeUrl: urlAs(url, runtime) };
}

beforeAll(() => {
  serverUrl = inject('stack').databaseUrl;
});

afterAll(async () => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
  for (const database of databases) await sqlAs(serverUrl, `drop database if exists ${database} with (force)`);
  for (const role of roles) await sqlAs(serverUrl, `drop role if exists ${role}`);
});

describe(`${runMigrations.name} with a runtime role`, () => {
  it('lets the runtime role use every table, a restricted one only as listed, and change none of them', async () => {
    const db = await twoRoles('kit_roles');
    await runMigrations({
      url: db.ownerUrl,
      schema: 'kit_roles',
      migrationsFolder: migrationsFolder([init]),
      logger,
      kitDdl: [outboxDdl('kit_roles')],
      runtime: { role: db.runtime, restrict: { ledger: ['select', 'insert'] } },
    });
    const as = db.runtimeUrl;

    // Ordinary tables (and their sequences), the kit's outbox included: read and write.
    await sqlAs(as, `insert into kit_roles.things (name) values ('a')`);
    await sqlAs(as, `update kit_roles.things set name = 'b'`);
    expect((await sqlAs(as, 'select name from kit_roles.things')).rows).toEqual([{ name: 'b' }]);
    await sqlAs(as, 'delete from kit_roles.things');
    await sqlAs(as, `insert into kit_roles.outbox (topic, key, value) values ('t', 'k', 'v')`);
    await sqlAs(as, 'delete from kit_roles.outbox');

    // The restricted table: add and read, nothing else.
    await sqlAs(as, `insert into kit_roles.ledger (entry) values ('kept')`);
    expect((await sqlAs(as, 'select entry from kit_roles.ledger')).rows).toEqual([{ entry: 'kept' }]);
    expect(await refusalOf(as, `update kit_roles.ledger set entry = 'changed'`)).toBe(
      'permission denied for table ledger',
    );
    expect(await refusalOf(as, 'delete from kit_roles.ledger')).toBe('permission denied for table ledger');
    expect(await refusalOf(as, 'truncate kit_roles.ledger')).toBe('permission denied for table ledger');

    // No table's definition: not owner, no CREATE in the schema, no TRUNCATE anywhere.
    expect(await refusalOf(as, 'alter table kit_roles.ledger add column forged text')).toBe(
      'must be owner of table ledger',
    );
    expect(await refusalOf(as, 'drop table kit_roles.things')).toBe('must be owner of table things');
    expect(await refusalOf(as, 'create table kit_roles.mine (id int)')).toBe('permission denied for schema kit_roles');
    expect(await refusalOf(as, 'truncate kit_roles.things')).toBe('permission denied for table things');
    expect((await sqlAs(db.url, 'select entry from kit_roles.ledger')).rows).toEqual([{ entry: 'kept' }]);
  });

  it('grants tables that later migrations add, keeps the restrictions, and is idempotent', async () => {
    const db = await twoRoles('kit_roles');
    const runtime = { role: db.runtime, restrict: { ledger: ['select', 'insert'] as const } };
    await runMigrations({
      url: db.ownerUrl,
      schema: 'kit_roles',
      migrationsFolder: migrationsFolder([init]),
      logger,
      runtime,
    });
    const both = migrationsFolder([init, notes]);
    await runMigrations({ url: db.ownerUrl, schema: 'kit_roles', migrationsFolder: both, logger, runtime });
    await runMigrations({ url: db.ownerUrl, schema: 'kit_roles', migrationsFolder: both, logger, runtime });

    await sqlAs(db.runtimeUrl, `insert into kit_roles.notes (body) values ('new table')`);
    await sqlAs(db.runtimeUrl, `update kit_roles.notes set body = 'edited'`);
    expect(await refusalOf(db.runtimeUrl, 'delete from kit_roles.ledger')).toBe('permission denied for table ledger');
    const { rows } = await sqlAs(
      db.url,
      `select table_name, string_agg(privilege_type, ',' order by privilege_type) as privileges
         from information_schema.role_table_grants
        where table_schema = 'kit_roles' and grantee = $1 group by table_name order by table_name`,
      [db.runtime],
    );
    expect(rows).toEqual([
      { table_name: 'ledger', privileges: 'INSERT,SELECT' },
      { table_name: 'notes', privileges: 'DELETE,INSERT,SELECT,UPDATE' },
      { table_name: 'things', privileges: 'DELETE,INSERT,SELECT,UPDATE' },
    ]);
  });

  it('refuses a runtime role that could get around its privileges, saying why', async () => {
    const db = await twoRoles('kit_roles');
    const migrate = (role: string, restrict: Record<string, ('select' | 'insert')[]> = {}) =>
      runMigrations({
        url: db.ownerUrl,
        schema: 'kit_roles',
        migrationsFolder: migrationsFolder([init]),
        logger,
        runtime: { role, restrict },
      });

    await expect(migrate(db.owner)).rejects.toThrow(
      `cannot make "${db.owner}" the runtime role of schema kit_roles: it is the role that runs the migrations`,
    );
    await expect(migrate('no_such_role_kit')).rejects.toThrow(/the role does not exist; create it first/);
    await expect(migrate(db.runtime, { nope: ['select'] })).rejects.toThrow(/relation "kit_roles.nope" does not exist/);

    // A table the runtime role owns (left from running with one role) must be handed over first.
    await sqlAs(db.url, `alter table kit_roles.things owner to ${db.runtime}`);
    await expect(migrate(db.runtime)).rejects.toThrow(
      `it owns, or is a member of the owner of, kit_roles.things (owner ${db.runtime}), kit_roles.things_id_seq (owner ${db.runtime}); hand them to the migrating role first`,
    );
    await sqlAs(db.url, `alter table kit_roles.things owner to ${db.owner}`);
    // So must a function: its owner could replace it (a trigger's, say) with one that does nothing.
    await sqlAs(db.url, `create function kit_roles.noop() returns void language sql as 'select'`);
    await sqlAs(db.url, `alter function kit_roles.noop() owner to ${db.runtime}`);
    await expect(migrate(db.runtime)).rejects.toThrow(`kit_roles.noop() (owner ${db.runtime})`);
    await sqlAs(db.url, 'drop function kit_roles.noop()');

    // A member of the owner role could SET ROLE to it.
    await sqlAs(serverUrl, `grant ${db.owner} to ${db.runtime}`);
    await expect(migrate(db.runtime)).rejects.toThrow(`it is a member of "${db.owner}", the role that owns the tables`);
    await sqlAs(serverUrl, `revoke ${db.owner} from ${db.runtime}`);
    await migrate(db.runtime);
  });
});

describe(warnIfRunningAsOwner.name, () => {
  it('warns a service that runs as the owner of its schema, and not one that runs as its runtime role', async () => {
    const db = await twoRoles('kit_roles');
    await runMigrations({
      url: db.ownerUrl,
      schema: 'kit_roles',
      migrationsFolder: migrationsFolder([init]),
      logger,
      runtime: { role: db.runtime },
    });
    const warnings: string[] = [];
    const listener = { warn: (_: unknown, message: string) => warnings.push(message), debug: () => undefined };
    await warnIfRunningAsOwner({ url: db.runtimeUrl, schema: 'kit_roles', logger: listener as unknown as Logger });
    expect(warnings).toEqual([]);
    await warnIfRunningAsOwner({ url: db.ownerUrl, schema: 'kit_roles', logger: listener as unknown as Logger });
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`^running as role ${db.owner}, which owns schema kit_roles or its tables`)),
    ]);
  });
});

describe('a service run as its runtime role', () => {
  const runs: string[] = [];
  const roleProbe = defineService({
    name: 'kit-roles-probe',
    description: 'A service with an outbox and a durable job, run as a runtime role',
    config: baseConfigSchema,
    db: {
      schema: 'kit_roles_probe',
      tables: {},
      migrations: migrationsFolder([{ tag: '0000_init', sql: ['CREATE SCHEMA "kit_roles_probe";'] }]),
    },
    produces: ['incident-actions'],
    consumes: [],
    publicPaths: [],
    setup(ctx) {
      return {
        app: createHttpApp({ logger: ctx.logger, registry: ctx.registry, components: ctx.components }, (app) => {
          app.post('/run-job', async (_req, res) => {
            res.json({ id: await ctx.jobs.runNow('note-run', { who: 'runtime' }) });
          });
        }),
        jobs: [
          {
            name: 'note-run',
            async run(data: { who: string }) {
              runs.push(data.who);
            },
          },
        ],
      };
    },
  });
  let service: RunningService | undefined;

  afterAll(async () => {
    await service?.stop();
  });

  const configFor = (db: Awaited<ReturnType<typeof twoRoles>>) =>
    roleProbe.loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: db.runtimeUrl,
      DATABASE_MIGRATION_URL: db.ownerUrl,
      KAFKA_BROKERS: inject('stack').kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: uniqueNamespace('kit-roles'),
    });

  it('migrates as the owner at start-up, then runs its outbox and jobs as the runtime role', async () => {
    const db = await twoRoles('kit_roles_svc', { runtimeCreatesSchemas: true });
    service = await roleProbe.run(configFor(db));
    const res = await fetch(`${service.url}/run-job`, { method: 'POST' });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (!runs.includes('runtime') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(runs).toContain('runtime');
    // The runtime role owns only pg-boss's schema, which it made; the service's schema is the owner's.
    const { rows } = await sqlAs(
      db.url,
      `select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace
        where nspname in ('kit_roles_probe', 'kit_roles_probe_jobs') order by 1`,
    );
    expect(rows).toEqual([
      { nspname: 'kit_roles_probe', owner: db.owner },
      { nspname: 'kit_roles_probe_jobs', owner: db.runtime },
    ]);
    expect(await refusalOf(db.runtimeUrl, 'alter table kit_roles_probe.outbox add column forged text')).toBe(
      'must be owner of table outbox',
    );
  });

  it('says what to grant when the runtime role may not create its job schema', async () => {
    const db = await twoRoles('kit_roles_svc');
    await expect(roleProbe.run(configFor(db))).rejects.toThrow(
      /may not set up the job schema kit_roles_probe_jobs \(permission denied for database .*\): it must be allowed to create that schema \(GRANT CREATE ON DATABASE\)/,
    );
  });
});
