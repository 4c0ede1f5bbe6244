import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freePort, sqlAs } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shortenQuery, statementWindow } from '../bench/lib/statements.js';
import { statementsTable } from '../bench/lib/statements-report.js';
import { type LocalPostgres, serverDataDir, startPostgres } from '../packages/test-kit/src/infra/postgres.js';

describe(statementWindow.name, () => {
  const base = mkdtempSync(join(tmpdir(), 'mo-bench-statements-'));
  const dataDir = join(base, 'postgres', 'data');
  let server: LocalPostgres | undefined;
  let databaseUrl = '';
  beforeAll(async () => {
    server = await startPostgres({
      dataDir,
      port: await freePort(),
      log: () => undefined,
      fast: true,
      statementStats: true,
    });
    databaseUrl = await createTestDatabase(server.url, 'bench_statements');
  });
  afterAll(async () => {
    await server?.stop();
    const data = serverDataDir(dataDir, () => undefined);
    rmSync(base, { recursive: true, force: true });
    if (!data.startsWith(base)) rmSync(join(data, '..'), { recursive: true, force: true });
  });

  it('reports the statements of the window only, the most time first, with calls, rows and the normalised text', async () => {
    await sqlAs(databaseUrl, 'create table before_window (n int)');
    const read = await statementWindow(databaseUrl);
    await sqlAs(databaseUrl, 'create table t (n int)');
    for (let i = 0; i < 5; i += 1) await sqlAs(databaseUrl, 'insert into t select generate_series(1, $1)', [100]);
    await sqlAs(databaseUrl, 'select pg_sleep(0.2)');
    const stats = await read();
    if (!stats.available) throw new Error(`expected statistics, got: ${stats.reason}`);
    expect(stats.top[0]).toMatchObject({ query: 'select pg_sleep($1)', calls: 1, rows: 1 });
    expect(stats.top[0]!.totalMs).toBeGreaterThanOrEqual(200);
    const insert = stats.top.find((s) => s.query.startsWith('insert into t'));
    // $1 is the value the client bound; the literal 1 is normalised to $2.
    expect(insert).toMatchObject({ query: 'insert into t select generate_series($2, $1)', calls: 5, rows: 500 });
    expect(insert!.meanMs).toBeCloseTo(insert!.totalMs / 5, 1);
    expect(stats.top.some((s) => s.query.includes('before_window'))).toBe(false);
    expect(stats.totalMs).toBeGreaterThanOrEqual(stats.top.reduce((a, s) => a + s.totalMs, 0) - 0.1);
    expect(stats.calls).toBeGreaterThanOrEqual(7);
    expect(statementsTable(stats)).toContain('| `select pg_sleep($1)` |');
  });

  it('says why when the server cannot give statistics, instead of failing the run', async () => {
    const missing = new URL(inject('stack').databaseUrl);
    missing.pathname = '/no_such_database_for_statements';
    const stats = await (await statementWindow(missing.toString()))();
    expect(stats).toEqual({
      available: false,
      reason: 'database "no_such_database_for_statements" does not exist',
    });
    expect(statementsTable(stats)).toBe('not available (database "no_such_database_for_statements" does not exist)');
  });
});

describe(shortenQuery.name, () => {
  it('puts a statement on one line and cuts it at the length asked, marking the cut', () => {
    expect(shortenQuery('  select a,\n\t  b\n  from   t  ')).toBe('select a, b from t');
    expect(shortenQuery('select 1234567890', 10)).toBe('select 12…');
    expect(shortenQuery('select 12', 10)).toBe('select 12');
  });
});
