import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureDatabase } from './infra/postgres.js';

/** A fresh, empty database on the test server, so suites never see each other's rows. */
export async function createTestDatabase(serverUrl: string, prefix = 't'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  return ensureDatabase(serverUrl, name);
}

/** A fresh Kafka topic namespace (topics are `<namespace>.<kind>.v1`). */
export function uniqueNamespace(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Runs one statement on its own connection (to act as a given role: see `urlAs`). */
export async function sqlAs(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** The error a statement fails with, or undefined when it succeeds (privilege tests). */
export async function refusalOf(url: string, text: string): Promise<string | undefined> {
  try {
    await sqlAs(url, text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The same server and database as `url`, signed in as `role` (trust authentication, no password). */
export function urlAs(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}
