import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { type Log, type ManagedProcess, spawnManaged, waitFor } from './process.js';

export interface LocalPostgres {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

/** Finds the server binaries of Debian's PostgreSQL package, newest major version first. */
function findPostgresBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = pgConfig.status === 0 ? pgConfig.stdout.trim() : '';
  return dir && existsSync(join(dir, 'postgres')) ? dir : null;
}

function installPostgres(log: Log): string {
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      'PostgreSQL server binaries were not found. Install PostgreSQL 14+ (Debian: `apt-get install postgresql`) or set DATABASE_URL to a server you run.',
    );
  }
  log("PostgreSQL not found: installing Debian's postgresql package (apt-get, first run only)");
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'postgresql'],
  ]) {
    const r = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new Error(`apt-get ${args.join(' ')} failed; install PostgreSQL by hand or set DATABASE_URL`);
  }
  const dir = findPostgresBinDir();
  if (!dir) throw new Error('postgresql was installed but its binaries were not found under /usr/lib/postgresql');
  return dir;
}

/** PostgreSQL refuses to run as root: when we are root, its processes run as the `postgres` user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (!isRoot) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

/** Whether the `postgres` user can enter `dir` (every folder above it must be searchable). */
function serverUserCanEnter(dir: string): boolean {
  let existing = resolve(dir);
  while (!existsSync(existing)) existing = resolve(existing, '..');
  const [cmd, args] = asServerUser('test', ['-x', existing]);
  return spawnSync(cmd, args).status === 0;
}

/**
 * Where the data folder goes. As root the server runs as `postgres`, which cannot enter a
 * folder only root can (a clone in root's home, a CI workspace): then the data lives in a
 * folder of its own under /var/tmp, named after the requested one so that the same checkout
 * finds its data again, and the log says where.
 */
export function serverDataDir(requested: string, log: Log): string {
  if (!isRoot || serverUserCanEnter(requested)) return requested;
  const id = createHash('sha256').update(resolve(requested)).digest('hex').slice(0, 16);
  const relocated = join('/var/tmp', `micro-oncall-postgres-${id}`, 'data');
  log(`the postgres user cannot enter ${requested}; PostgreSQL keeps its data in ${relocated} instead`);
  return relocated;
}

/** Whether the server in `binDir` has the pg_stat_statements library (Debian: ../lib beside bin/). */
function hasStatementStatsLibrary(binDir: string): boolean {
  if (existsSync(join(binDir, '..', 'lib', 'pg_stat_statements.so'))) return true;
  const pgConfig = spawnSync('pg_config', ['--pkglibdir'], { encoding: 'utf8' });
  const dir = pgConfig.status === 0 ? pgConfig.stdout.trim() : '';
  return dir !== '' && existsSync(join(dir, 'pg_stat_statements.so'));
}

/**
 * Starts a PostgreSQL server on 127.0.0.1:`port` with its data in `dataDir` (initialised on
 * first use, trust authentication on loopback only: a development and test server, never a
 * production one).
 */
export async function startPostgres(opts: {
  dataDir: string;
  port: number;
  log: Log;
  fast?: boolean;
  /**
   * Loads pg_stat_statements (shared_preload_libraries), so that a benchmark can read where the
   * server's time goes (`create extension pg_stat_statements` in a database to read it). Off by
   * default: tests and `npm start` do not pay for it. When the library is not installed the
   * server starts without it, and the log says so.
   */
  statementStats?: boolean;
}): Promise<LocalPostgres> {
  const binDir = findPostgresBinDir() ?? installPostgres(opts.log);
  const dataDir = serverDataDir(opts.dataDir, opts.log);
  mkdirSync(dataDir, { recursive: true });
  if (isRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dataDir, id('-u'), id('-g'));
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    opts.log(`initialising a PostgreSQL data folder in ${dataDir}`);
    const [cmd, args] = asServerUser(join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--no-locale',
    ]);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
  }
  const statementStats = opts.statementStats === true && hasStatementStatsLibrary(binDir);
  if (opts.statementStats && !statementStats)
    opts.log(`pg_stat_statements is not installed beside ${binDir}: PostgreSQL starts without statement statistics`);
  const settings = [
    '-D',
    dataDir,
    '-p',
    String(opts.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dataDir}`,
    '-c',
    'max_connections=300',
    ...(statementStats ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
    // Test databases are thrown away after the run; durability is not what is tested there.
    ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const [cmd, args] = asServerUser(join(binDir, 'postgres'), settings);
  const proc = spawnManaged('postgres', cmd, args, {
    logFile: join(dataDir, '..', 'postgres.log'),
    stopSignal: 'SIGINT',
  });
  const url = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await waitFor(
    `PostgreSQL on 127.0.0.1:${opts.port} (log: ${join(dataDir, '..', 'postgres.log')})`,
    async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    { timeoutMs: 60_000, exited: proc.exited },
  ).catch(async (error: unknown) => {
    // A server that never became ready is not left running behind the error.
    await proc.stop();
    throw error;
  });
  return { url, port: opts.port, process: proc, stop: () => proc.stop() };
}

/** Creates a database (if missing) on the server behind `serverUrl` and returns its URL. */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
