import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freePort } from '@micro-oncall/test-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, createLogger, runMigrations } from '../src/index.js';

const logger = createLogger({ service: 'service-kit-db-test', level: 'silent' });
const folders: string[] = [];

/** A migrations folder in drizzle-kit's layout: meta/_journal.json plus one SQL file per entry. */
function migrationsFolder(migrations: { tag: string; sql: string[] }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'service-kit-migrations-'));
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

/**
 * Deliberately not idempotent (no IF NOT EXISTS, an insert): applied twice it fails or leaves two
 * rows. The pause widens the window in which a second, unlocked run would start applying it too.
 */
const init = {
  tag: '0000_init',
  sql: [
    'CREATE SCHEMA "kit";',
    'CREATE TABLE "kit"."things" ("id" serial PRIMARY KEY, "name" text NOT NULL);',
    `INSERT INTO "kit"."things" ("name") VALUES ('seed');`,
    'SELECT pg_sleep(0.3);',
  ],
};
const addColumn = {
  tag: '0001_colour',
  sql: [`ALTER TABLE "kit"."things" ADD COLUMN "colour" text NOT NULL DEFAULT 'blue';`],
};

let serverUrl: string;
beforeAll(async () => {
  serverUrl = inject('stack').databaseUrl;
});
afterAll(async () => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe(runMigrations.name, () => {
  it('applies a migrations folder and records it in the drizzle schema', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_migrate');
    await runMigrations({ url, schema: 'kit', migrationsFolder: migrationsFolder([init]), logger });
    expect(await query(url, 'select name from kit.things')).toEqual([{ name: 'seed' }]);
    expect(await query(url, 'select count(*)::int as n from drizzle.kit_migrations')).toEqual([{ n: 1 }]);
  });

  it('is idempotent and applies only what is new', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_migrate');
    await runMigrations({ url, schema: 'kit', migrationsFolder: migrationsFolder([init]), logger });
    await runMigrations({ url, schema: 'kit', migrationsFolder: migrationsFolder([init]), logger });
    expect(await query(url, 'select name from kit.things')).toEqual([{ name: 'seed' }]);

    await runMigrations({ url, schema: 'kit', migrationsFolder: migrationsFolder([init, addColumn]), logger });
    expect(await query(url, 'select name, colour from kit.things')).toEqual([{ name: 'seed', colour: 'blue' }]);
    expect(await query(url, 'select count(*)::int as n from drizzle.kit_migrations')).toEqual([{ n: 2 }]);
  });

  it('lets only one of two concurrent runs apply a migration', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_migrate');
    const folder = migrationsFolder([init]);
    await Promise.all([
      runMigrations({ url, schema: 'kit', migrationsFolder: folder, logger }),
      runMigrations({ url, schema: 'kit', migrationsFolder: folder, logger }),
    ]);
    expect(await query(url, 'select name from kit.things')).toEqual([{ name: 'seed' }]);
    expect(await query(url, 'select count(*)::int as n from drizzle.kit_migrations')).toEqual([{ n: 1 }]);
  });

  it('lets two services migrate one fresh database at the same time', async () => {
    // Both create drizzle's bookkeeping schema; the race is narrow, so it is given several chances.
    const kit = migrationsFolder([{ tag: '0000_kit', sql: ['CREATE SCHEMA "kit";'] }]);
    const other = migrationsFolder([{ tag: '0000_other', sql: ['CREATE SCHEMA "other";'] }]);
    const url = await createTestDatabase(serverUrl, 'kit_migrate');
    for (let round = 0; round < 20; round += 1) {
      await query(url, 'drop schema if exists drizzle, kit, other cascade');
      await Promise.all([
        runMigrations({ url, schema: 'kit', migrationsFolder: kit, logger }),
        runMigrations({ url, schema: 'other', migrationsFolder: other, logger }),
      ]);
      expect(await query(url, `select nspname from pg_namespace where nspname in ('kit', 'other') order by 1`)).toEqual(
        [{ nspname: 'kit' }, { nspname: 'other' }],
      );
    }
  });

  it('rolls a failing migration back entirely and releases the lock', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_migrate');
    const broken = migrationsFolder([
      { tag: '0000_broken', sql: ['CREATE SCHEMA "kit";', 'CREATE TABLE "kit"."things" (id int PRIMARY KEY,);'] },
    ]);
    await expect(runMigrations({ url, schema: 'kit', migrationsFolder: broken, logger })).rejects.toThrow();
    expect(await query(url, `select 1 from pg_namespace where nspname = 'kit'`)).toEqual([]);
    // Not left holding the advisory lock: a corrected folder applies right away.
    await runMigrations({ url, schema: 'kit', migrationsFolder: migrationsFolder([init]), logger });
    expect(await query(url, 'select name from kit.things')).toEqual([{ name: 'seed' }]);
  });
});

describe(createDatabase.name, () => {
  it('is healthy with a reachable server and unhealthy with a closed port', async () => {
    const url = await createTestDatabase(serverUrl, 'kit_pool');
    const database = createDatabase({ url, schema: {}, logger, applicationName: 'kit-test' });
    await expect(database.healthcheck()).resolves.toEqual({ healthy: true });
    // ADR 0025: no JIT compilation of the services' short statements.
    await expect(database.pool.query('show jit')).resolves.toMatchObject({ rows: [{ jit: 'off' }] });
    await database.stop();

    const closed = new URL(url);
    closed.port = String(await freePort());
    const unreachable = createDatabase({ url: closed.toString(), schema: {}, logger, applicationName: 'kit-test' });
    await expect(unreachable.healthcheck()).resolves.toMatchObject({ healthy: false });
    await unreachable.stop();
  });

  it('leaves the session settings to a DATABASE_URL that sets them', async () => {
    const url = new URL(await createTestDatabase(serverUrl, 'kit_pool_options'));
    url.searchParams.set('options', '-c jit=on');
    const database = createDatabase({ url: url.toString(), schema: {}, logger, applicationName: 'kit-test' });
    await expect(database.pool.query('show jit')).resolves.toMatchObject({ rows: [{ jit: 'on' }] });
    await database.stop();
  });
});
