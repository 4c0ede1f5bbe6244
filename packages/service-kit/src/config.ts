import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Reads a service's configuration once, at start-up. For any variable `X` the value may come
 * from the file named by `X_FILE` instead (Kubernetes secret mounts); the file's content is
 * trimmed. Errors name the variables, never their values.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const resolved: Record<string, string | undefined> = { ...env };
  // Only variables the schema knows are read from files: the environment holds unrelated
  // `*_FILE` variables (SSL_CERT_FILE, a sidecar's settings) that must not be read, let alone
  // stop start-up when their file is missing.
  const known = schema instanceof z.ZodObject ? new Set(Object.keys(schema.shape)) : undefined;
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !value) continue;
    const target = key.slice(0, -'_FILE'.length);
    if (known && !known.has(target)) continue;
    if (env[target] !== undefined) {
      throw new ConfigError([`${target} and ${key} are both set; set only one`]);
    }
    try {
      resolved[target] = readFileSync(value, 'utf8').trim();
    } catch (error) {
      throw new ConfigError([`${key}: cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  }
  const parsed = schema.safeParse(resolved);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`));
  }
  return parsed.data;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Booleans accept only true/1/false/0 (z.coerce.boolean() would read "false" as true). */
export const envBoolean = (defaultValue: boolean) =>
  z
    .enum(['true', '1', 'false', '0'], { message: 'must be one of true, 1, false, 0' })
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

export const envInt = (defaultValue: number, opts: { min?: number; max?: number } = {}) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .default(String(defaultValue))
    .transform(Number)
    .pipe(
      z
        .number()
        .min(opts.min ?? 0)
        .max(opts.max ?? Number.MAX_SAFE_INTEGER),
    );

/** A comma- or newline-separated list, entries trimmed, empties dropped. */
export const envList = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    );

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

/** A PostgreSQL role name as stored (unquoted names are stored in lower case). */
const roleName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'must be a PostgreSQL role name (letters, digits, _, $, -; at most 63)');

/**
 * Where migrations run, shared by every service's start-up and its migration entry point
 * (`src/migrate.ts`, the chart's Job). Two roles in production: DATABASE_MIGRATION_URL is the
 * schema owner's, which migrates and grants DATABASE_RUNTIME_ROLE (the role of DATABASE_URL, the
 * service's own) only what the service needs. Without DATABASE_MIGRATION_URL, DATABASE_URL's
 * role migrates and owns the tables itself (development).
 */
const migrationKeys = {
  DATABASE_MIGRATION_URL: postgresUrl.optional(),
  DATABASE_RUNTIME_ROLE: roleName.optional(),
};

/** The settings of a service's migration entry point (`service.migrate()`). */
export const migrationConfigSchema = z
  .object({ DATABASE_URL: postgresUrl.optional(), ...migrationKeys })
  .refine((c) => c.DATABASE_MIGRATION_URL !== undefined || c.DATABASE_URL !== undefined, {
    message: 'required: the URL of the role that owns the schema (or DATABASE_URL when one role does everything)',
    path: ['DATABASE_MIGRATION_URL'],
  });

/** Settings every service shares; each service extends this with its own keys. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: envInt(8080, { max: 65535 }),
  /** The role the service runs as. */
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_MAX: envInt(10, { min: 1, max: 200 }),
  ...migrationKeys,
  /** Migrate at start-up (under the advisory lock); false where a Job migrates first (the chart). */
  MIGRATE_ON_START: envBoolean(true),
  KAFKA_BROKERS: envList().pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().optional(),
  KAFKA_TOPIC_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*$/)
    .default('oncall'),
  KAFKA_CREATE_TOPICS: envBoolean(true),
  /** How long a direct publish waits for the broker's acknowledgement before answering 503. */
  KAFKA_SEND_TIMEOUT_MS: envInt(4000, { min: 100, max: 30_000 }),
  /** How long a send waits for others to share its request when none is in flight (0: at once). */
  KAFKA_PRODUCER_LINGER_MS: envInt(0, { min: 0, max: 1000 }),
  /** A consumer's fetch is answered once this much is waiting, or after KAFKA_FETCH_MAX_WAIT_MS. */
  KAFKA_FETCH_MIN_BYTES: envInt(1, { min: 1, max: 10 * 1024 * 1024 }),
  KAFKA_FETCH_MAX_WAIT_MS: envInt(100, { min: 1, max: 10_000 }),
  SHUTDOWN_TIMEOUT_MS: envInt(10_000, { min: 100 }),
  /**
   * Processes per replica (node:cluster): 1 runs the service in this process; more fork that many
   * workers, each a whole replica, behind a primary that accepts their connections (workers.ts).
   */
  WORKER_PROCESSES: envInt(1, { min: 1, max: 64 }),
  /**
   * With WORKER_PROCESSES > 1: how long a new connection may be expected to wait for a worker to
   * take it (a busy worker takes one per turn of its event loop). When the primary expects every
   * worker to take longer, it answers the connection itself with 503 + Retry-After, so a flood of
   * new connections is refused at once instead of queueing for seconds.
   */
  WORKER_MAX_WAIT_MS: envInt(250, { min: 1, max: 60_000 }),
});
export type BaseConfig = z.output<typeof baseConfigSchema>;
