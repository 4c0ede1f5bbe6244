import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalKafka, startKafka } from './kafka.js';
import { type LocalPostgres, serverDataDir, startPostgres } from './postgres.js';
import { freePort, type Log, portInUse } from './process.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export interface Stack {
  /** URL of the PostgreSQL server's maintenance database; services get their own databases. */
  databaseUrl: string;
  kafkaBrokers: string;
  /** What this call started itself (and will stop); empty when both came from the environment. */
  started: { name: string; pid: number }[];
  stop(): Promise<void>;
  /**
   * Fault injection for tests: stop a server this stack started (by its own PID, gracefully)
   * and start it again on the same port with the same data folder, so that clients reconnect
   * to the same address and find the data they left. Each throws when the server came from
   * the environment (DATABASE_URL / KAFKA_BROKERS): a server we did not start is never touched.
   * Stopping a stopped server and starting a running one do nothing.
   */
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
}

export interface StackOptions {
  /**
   * `test`: throw-away data under .dev/test on free ports, durability settings off.
   * `start`: persistent data under .dev/start on the fixed development ports.
   */
  mode: 'test' | 'start';
  log: Log;
  env?: NodeJS.ProcessEnv;
  /** `start` mode: the persistent folder (default .dev/start). */
  dir?: string;
  /**
   * The PostgreSQL this call starts loads pg_stat_statements (see startPostgres). For the
   * benchmark only; a server from DATABASE_URL is used as it is.
   */
  statementStats?: boolean;
}

let stacksStarted = 0;

/** `npm start`'s fixed ports; POSTGRES_PORT, KAFKA_PORT and KAFKA_CONTROLLER_PORT move them. */
export function devPorts(env: NodeJS.ProcessEnv = process.env) {
  const port = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
      throw new Error(`${name} must be a port number (1-65535), not ${JSON.stringify(value)}`);
    }
    return Number(value);
  };
  return {
    postgres: port('POSTGRES_PORT', 54329),
    kafka: port('KAFKA_PORT', 19092),
    kafkaController: port('KAFKA_CONTROLLER_PORT', 19093),
  };
}

/**
 * Brings up PostgreSQL and Kafka unless DATABASE_URL / KAFKA_BROKERS point at running ones.
 * Both start in parallel; on failure whatever did start is stopped again.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  const env = opts.env ?? process.env;
  // Test runs get their own throw-away folder, so concurrent runs never share data; folders
  // of runs whose process is gone are removed.
  const base =
    opts.mode === 'test'
      ? join(REPO_ROOT, '.dev', 'test', `run-${process.pid}-${stacksStarted++}`)
      : (opts.dir ?? join(REPO_ROOT, '.dev', 'start'));
  if (opts.mode === 'test') removeStaleTestRuns(dirname(base));
  const ports =
    opts.mode === 'test'
      ? { postgres: await freePort(), kafka: await freePort(), kafkaController: await freePort() }
      : devPorts(env);
  if (opts.mode === 'start') {
    for (const [name, port] of Object.entries(ports)) {
      const external = name === 'postgres' ? env.DATABASE_URL : env.KAFKA_BROKERS;
      if (!external && (await portInUse(port))) {
        throw new Error(
          `port ${port} (${name}) is already in use: is another \`npm start\` running? Stop it, set POSTGRES_PORT / KAFKA_PORT / KAFKA_CONTROLLER_PORT to free ports, or point DATABASE_URL / KAFKA_BROKERS at running servers.`,
        );
      }
    }
  }

  const pgOptions = {
    dataDir: join(base, 'postgres', 'data'),
    port: ports.postgres,
    log: opts.log,
    fast: opts.mode === 'test',
    statementStats: opts.statementStats === true,
  };
  const kafkaOptions = {
    repoRoot: REPO_ROOT,
    cacheDir: join(REPO_ROOT, '.cache'),
    workDir: join(base, 'kafka'),
    port: ports.kafka,
    controllerPort: ports.kafkaController,
    log: opts.log,
  };
  const postgres = env.DATABASE_URL ? Promise.resolve(null) : startPostgres(pgOptions);
  if (!env.DATABASE_URL) opts.log(`starting PostgreSQL on 127.0.0.1:${ports.postgres}`);
  const kafka = env.KAFKA_BROKERS ? Promise.resolve(null) : startKafka(kafkaOptions);
  const [pgResult, kafkaResult] = await Promise.allSettled([postgres, kafka]);
  // What runs now: replaced by each restart, null while stopped (or never started here).
  let pgServer: LocalPostgres | null = pgResult.status === 'fulfilled' ? pgResult.value : null;
  let kafkaServer: LocalKafka | null = kafkaResult.status === 'fulfilled' ? kafkaResult.value : null;
  // A restart in progress: stop() waits for it, so that no server outlives the stack.
  let pgStarting: Promise<LocalPostgres> | null = null;
  let kafkaStarting: Promise<LocalKafka> | null = null;
  const stopAll = async () => {
    const [kafkaRestart, pgRestart] = await Promise.allSettled([kafkaStarting, pgStarting]);
    const running = [
      kafkaServer ?? (kafkaRestart.status === 'fulfilled' ? kafkaRestart.value : null),
      pgServer ?? (pgRestart.status === 'fulfilled' ? pgRestart.value : null),
    ];
    kafkaServer = null;
    pgServer = null;
    await Promise.all(running.map((server) => server?.stop()));
    if (opts.mode === 'test') {
      rmSync(base, { recursive: true, force: true });
      // Data the postgres user could not keep under `base` (see serverDataDir) goes too.
      const pgData = serverDataDir(pgOptions.dataDir, () => undefined);
      if (pgData !== pgOptions.dataDir) rmSync(dirname(pgData), { recursive: true, force: true });
    }
  };
  if (pgResult.status === 'rejected' || kafkaResult.status === 'rejected') {
    await stopAll();
    const reasons = [pgResult, kafkaResult]
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => (r.reason instanceof Error ? r.reason.message : String(r.reason)));
    throw new Error(reasons.join('\n'));
  }
  const started = [pgServer?.process, kafkaServer?.process]
    .filter((p) => p !== undefined)
    .map((p) => ({ name: p.name, pid: p.pid }));
  const track = (server: LocalKafka | LocalPostgres) => {
    const entry = started.find((p) => p.name === server.process.name);
    if (entry) entry.pid = server.process.pid;
  };
  const ownServer = (name: 'kafka' | 'postgres', external: string | undefined) => {
    if (external) {
      throw new Error(
        `${name} was not started by this stack (${name === 'kafka' ? 'KAFKA_BROKERS' : 'DATABASE_URL'} is set): it is not stopped or started here`,
      );
    }
  };
  return {
    databaseUrl: env.DATABASE_URL ?? pgServer!.url,
    kafkaBrokers: env.KAFKA_BROKERS ?? kafkaServer!.brokers,
    started,
    stop: stopAll,
    async stopKafka() {
      ownServer('kafka', env.KAFKA_BROKERS);
      const server = kafkaServer;
      kafkaServer = null;
      await server?.stop();
    },
    async startKafka() {
      ownServer('kafka', env.KAFKA_BROKERS);
      if (kafkaServer) return;
      kafkaStarting ??= startKafka(kafkaOptions);
      try {
        kafkaServer = await kafkaStarting;
      } finally {
        kafkaStarting = null;
      }
      track(kafkaServer);
    },
    async stopPostgres() {
      ownServer('postgres', env.DATABASE_URL);
      const server = pgServer;
      pgServer = null;
      await server?.stop();
    },
    async startPostgres() {
      ownServer('postgres', env.DATABASE_URL);
      if (pgServer) return;
      pgStarting ??= startPostgres(pgOptions);
      try {
        pgServer = await pgStarting;
      } finally {
        pgStarting = null;
      }
      track(pgServer);
    },
  };
}

function removeStaleTestRuns(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const pid = /^run-(\d+)(?:-\d+)?$/.exec(entry)?.[1];
    if (!pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
}
