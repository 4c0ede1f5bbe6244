import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, envBoolean, envInt, envList, loadConfig } from './config.js';

/** Secret-shaped values made at run time: test fixtures, never literals in the repository. */
const TOKEN = `${randomBytes(8).toString('hex')}-token`;
const OTHER_TOKEN = `${randomBytes(8).toString('hex')}-other`;

const dir = mkdtempSync(join(tmpdir(), 'service-kit-config-'));
let files = 0;
function secretFile(content: string): string {
  files += 1;
  const path = join(dir, `secret-${files}`);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The ConfigError `fn` throws (fails the test when it does not throw one). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const secretSchema = z.object({
  API_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  MODE: z.string().default('normal'),
});

const validBase = { DATABASE_URL: 'postgres://app@db:5432/app', KAFKA_BROKERS: 'kafka:9092' };

describe(loadConfig.name, () => {
  it('reads X from the file named by X_FILE, trimmed', () => {
    const path = secretFile(`  ${TOKEN}\n\n`);
    expect(loadConfig(secretSchema, { API_TOKEN_FILE: path })).toEqual({
      API_TOKEN: TOKEN,
      MODE: 'normal',
    });
  });

  it('refuses X and X_FILE set together, naming both', () => {
    const path = secretFile(TOKEN);
    const error = configError(() => loadConfig(secretSchema, { API_TOKEN: OTHER_TOKEN, API_TOKEN_FILE: path }));
    expect(error.problems).toEqual([expect.stringMatching(/API_TOKEN and API_TOKEN_FILE are both set/)]);
    expect(error.message).not.toContain(TOKEN.slice(0, 16));
    expect(error.message).not.toContain(OTHER_TOKEN.slice(0, 16));
  });

  it('reports an unreadable file by variable name without its content', () => {
    const missing = configError(() => loadConfig(secretSchema, { API_TOKEN_FILE: join(dir, 'does-not-exist') }));
    expect(missing.problems).toEqual([expect.stringMatching(/^API_TOKEN_FILE: cannot read .*\(ENOENT\)$/)]);

    const directory = configError(() => loadConfig(secretSchema, { API_TOKEN_FILE: dir }));
    expect(directory.problems).toEqual([expect.stringMatching(/^API_TOKEN_FILE: cannot read .*\(EISDIR\)$/)]);
  });

  it('names the variable but never the secret when a value from a file is invalid', () => {
    const path = secretFile('hunter2-short');
    const error = configError(() => loadConfig(secretSchema, { API_TOKEN_FILE: path }));
    expect(error.problems).toEqual(['API_TOKEN: must be at least 16 characters']);
    expect(error.message).not.toContain('hunter2');
  });

  it('ignores *_FILE variables that belong to no key of the schema', () => {
    // e.g. SSL_CERT_FILE set by the base image: not ours to read, and must not stop start-up.
    const config = loadConfig(secretSchema, {
      API_TOKEN: TOKEN,
      SSL_CERT_FILE: join(dir, 'does-not-exist'),
    });
    expect(config).toEqual({ API_TOKEN: TOKEN, MODE: 'normal' });
  });

  it('treats an empty X_FILE as unset', () => {
    expect(loadConfig(secretSchema, { API_TOKEN: TOKEN, API_TOKEN_FILE: '' }).API_TOKEN).toBe(TOKEN);
  });

  it('lists every invalid variable by path and never echoes the values', () => {
    const error = configError(() =>
      loadConfig(baseConfigSchema, {
        DATABASE_URL: 'mysql://app:hunter2@db/app',
        KAFKA_BROKERS: 'kafka:9092,secret-broker-name',
        LOG_LEVEL: 'verbose-secret',
        PORT: '99999',
        KAFKA_CREATE_TOPICS: 'yes-secret',
      }),
    );
    expect(error.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'KAFKA_BROKERS.1',
      'KAFKA_CREATE_TOPICS',
      'LOG_LEVEL',
      'PORT',
    ]);
    for (const value of ['hunter2', 'secret-broker-name', 'verbose-secret', '99999', 'yes-secret']) {
      expect(error.message).not.toContain(value);
    }
  });

  it('applies the base defaults', () => {
    expect(loadConfig(baseConfigSchema, validBase)).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8080,
      KAFKA_BROKERS: ['kafka:9092'],
      KAFKA_TOPIC_NAMESPACE: 'oncall',
      KAFKA_CREATE_TOPICS: true,
      SHUTDOWN_TIMEOUT_MS: 10_000,
    });
  });
});

describe(envBoolean.name, () => {
  const schema = z.object({ FLAG: envBoolean(true), OFF: envBoolean(false) });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads %j as %s', (value, expected) => {
    expect(loadConfig(schema, { FLAG: value }).FLAG).toBe(expected);
  });

  it('reads "false" as false even when the default is true', () => {
    expect(loadConfig(schema, { FLAG: 'false' })).toEqual({ FLAG: false, OFF: false });
  });

  it('uses the default when unset', () => {
    expect(loadConfig(schema, {})).toEqual({ FLAG: true, OFF: false });
  });

  it.each(['yes', 'no', 'TRUE', 'False', 'on', '', ' 1'])('rejects %j', (value) => {
    const error = configError(() => loadConfig(schema, { FLAG: value }));
    expect(error.problems).toEqual(['FLAG: must be one of true, 1, false, 0']);
  });
});

describe(envInt.name, () => {
  const schema = z.object({ N: envInt(5, { min: 2, max: 10 }) });

  it('parses whole numbers and uses the default when unset', () => {
    expect(loadConfig(schema, { N: '7' }).N).toBe(7);
    expect(loadConfig(schema, {}).N).toBe(5);
  });

  it.each(['1.5', '-3', 'ten', '', '7 ', '0x8', '1e1'])('rejects %j as not a whole number', (value) => {
    expect(configError(() => loadConfig(schema, { N: value })).problems).toEqual(['N: must be a whole number']);
  });

  it('enforces the bounds', () => {
    expect(configError(() => loadConfig(schema, { N: '1' })).problems).toEqual([expect.stringMatching(/^N: /)]);
    expect(configError(() => loadConfig(schema, { N: '11' })).problems).toEqual([expect.stringMatching(/^N: /)]);
    expect(loadConfig(schema, { N: '10' }).N).toBe(10);
    expect(loadConfig(schema, { N: '2' }).N).toBe(2);
  });
});

describe(envList.name, () => {
  const schema = z.object({ L: envList() });

  it('splits on commas and newlines, trims entries and drops empty ones', () => {
    expect(loadConfig(schema, { L: ' a, b ,,\nc\n\n , d' }).L).toEqual(['a', 'b', 'c', 'd']);
  });

  it('is empty when unset or blank', () => {
    expect(loadConfig(schema, {}).L).toEqual([]);
    expect(loadConfig(schema, { L: ' , \n' }).L).toEqual([]);
  });

  it('reads a newline-separated list from a file (rotation of several secrets)', () => {
    const path = secretFile('first-secret\nsecond-secret\n');
    expect(loadConfig(schema, { L_FILE: path }).L).toEqual(['first-secret', 'second-secret']);
  });
});
