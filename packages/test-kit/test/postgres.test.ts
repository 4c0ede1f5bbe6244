import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/index.js';
import { type LocalPostgres, serverDataDir, startPostgres } from '../src/infra/postgres.js';

describe(startPostgres.name, () => {
  const base = mkdtempSync(join(tmpdir(), 'mo-private-'));
  const requested = join(base, 'postgres', 'data');
  let server: LocalPostgres | undefined;
  afterAll(async () => {
    await server?.stop();
    const data = serverDataDir(requested, () => undefined);
    rmSync(base, { recursive: true, force: true });
    if (!data.startsWith(base)) rmSync(join(data, '..'), { recursive: true, force: true });
  });

  it('starts in a folder only its owner can enter (a checkout in root’s home), and says where the data went', async () => {
    // mkdtemp makes the folder 0700: as root, the postgres user cannot enter it.
    mkdirSync(join(base, 'postgres'), { recursive: true });
    const lines: string[] = [];
    server = await startPostgres({ dataDir: requested, port: await freePort(), log: (l) => lines.push(l), fast: true });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      expect((await client.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
      // pg_stat_statements only for the benchmark, which asks for it (statementStats).
      expect((await client.query('show shared_preload_libraries')).rows).toEqual([{ shared_preload_libraries: '' }]);
    } finally {
      await client.end();
    }
    const data = serverDataDir(requested, () => undefined);
    expect(existsSync(join(data, 'PG_VERSION'))).toBe(true);
    if (process.getuid?.() === 0) expect(lines.join('\n')).toContain(`PostgreSQL keeps its data in ${data}`);
  });
});
