import { randomBytes } from 'node:crypto';
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
