/**
 * The two PostgreSQL modes of the benchmark. The stack's server runs in test mode: fsync,
 * synchronous_commit and full_page_writes off, given on its command line, so no reload can turn
 * them on, and every commit is flattered. The durable mode is a second server of the same
 * version with the defaults (all three on), as production runs; a scenario (or `--durable`,
 * the whole run) points the services under test at it through `usePostgres`.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createDatabase, createLogger } from '@micro-oncall/service-kit';
import { createTestDatabase, freePort } from '@micro-oncall/test-kit';
// Not part of the test-kit's public entry: the stack only starts its own (test-mode) server.
import { serverDataDir, startPostgres } from '../../packages/test-kit/src/infra/postgres.js';
import { say } from '../../scripts/lib/console.js';
import type { BenchContext } from './context.js';

/** What the report shows of a server's settings. */
const SHOWN = ['server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers'] as const;

/** A PostgreSQL server the services under test can use: its URL, its process (for the CPU split), its settings. */
export interface PostgresServer {
  url: string;
  pid: number;
  settings: Record<string, string>;
}

/** The settings of the server at `url` (SHOWN), read on a connection of its own. */
export async function readPostgresSettings(url: string): Promise<Record<string, string>> {
  const admin = createDatabase({
    url,
    schema: {},
    max: 1,
    logger: createLogger({ service: 'bench', level: 'error' }),
    applicationName: 'bench-facts',
  });
  try {
    const out: Record<string, string> = {};
    for (const name of SHOWN) {
      const r = await admin.pool.query<Record<string, string>>(`show ${name}`);
      out[name] = r.rows[0]?.[name] ?? '?';
    }
    return out;
  } finally {
    await admin.stop();
  }
}

/**
 * Starts a second PostgreSQL with durability on (the server defaults) in this run's folder;
 * stopped and its data removed by the run's cleanups.
 */
export async function startDurablePostgres(ctx: BenchContext): Promise<PostgresServer> {
  const dataDir = join(ctx.dirs.work, 'postgres-durable', 'data');
  const server = await startPostgres({
    dataDir,
    port: await freePort(),
    log: say.info,
    fast: false,
    statementStats: true,
  });
  ctx.cleanups.push(async () => {
    await server.stop();
    rmSync(dirname(dataDir), { recursive: true, force: true });
    const relocated = serverDataDir(dataDir, () => undefined);
    if (relocated !== dataDir) rmSync(dirname(relocated), { recursive: true, force: true });
  });
  const settings = await readPostgresSettings(server.url);
  if (settings.fsync !== 'on' || settings.synchronous_commit !== 'on')
    throw new Error(
      `the durable PostgreSQL runs with fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}`,
    );
  return { url: server.url, pid: server.process.pid, settings };
}

/**
 * Points the services started from now on at `server` (a fresh database on it, its process in
 * the CPU split); returns what restores the previous server.
 */
export async function usePostgres(ctx: BenchContext, server: PostgresServer): Promise<() => void> {
  const before = { databaseUrl: ctx.databaseUrl, postgres: ctx.pids.postgres, server: ctx.postgresServerUrl };
  ctx.databaseUrl = await createTestDatabase(server.url, 'bench');
  ctx.pids.postgres = server.pid;
  ctx.postgresServerUrl = server.url;
  return () => {
    ctx.databaseUrl = before.databaseUrl;
    ctx.pids.postgres = before.postgres;
    ctx.postgresServerUrl = before.server;
  };
}
