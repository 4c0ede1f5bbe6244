import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type LocalIssuer, startLocalIssuer, uniqueNamespace } from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import { type Platform, startPlatform } from '../scripts/lib/platform.js';

export const CATALOGUE_FILE = new URL('../services/escalation/config/services.example.yml', import.meta.url).pathname;

/** The first service of this file's test platforms that stopped itself (a part failed for good). */
let platformFailure: Error | undefined;

/**
 * For `startPlatform({ onFatal })`: a service that stops itself fails the running test at once,
 * instead of leaving it to time out on a platform that is half gone. Every `eventually` (and
 * every wait of the fault suites) throws this error from then on, and so does stopping the
 * platform, so that the file fails even when no test is waiting.
 */
export function failOnServiceStop(service: string, error: Error): void {
  platformFailure ??= new Error(`${service} stopped itself: ${error.message}`, { cause: error });
  console.error(platformFailure.message);
}

/** Throws when a service of a test platform stopped itself (see failOnServiceStop). */
export function assertPlatformRunning(): void {
  if (platformFailure) throw platformFailure;
}

export interface TestPlatform extends Platform {
  issuer: LocalIssuer;
  secrets: { pagerduty: string; opsgenie: string; alertmanagerUser: string; alertmanagerPassword: string };
  namespace: string;
  viewerToken: string;
  stopAll(): Promise<void>;
}

/** Starts webhook-ingest and escalation against the real PostgreSQL and Kafka of this test run. */
export async function startTestPlatform(): Promise<TestPlatform> {
  const { databaseUrl: serverUrl, kafkaBrokers } = inject('stack');
  const databaseUrl = await createTestDatabase(serverUrl, 'e2e');
  const namespace = uniqueNamespace('e2e');
  const issuer = await startLocalIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'mo-secrets-'));
  const secrets = {
    pagerduty: randomBytes(24).toString('hex'),
    opsgenie: randomBytes(24).toString('hex'),
    alertmanagerUser: 'alertmanager',
    alertmanagerPassword: randomBytes(24).toString('hex'),
  };
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const platform = await startPlatform({
    databaseUrl,
    kafkaBrokers,
    namespace,
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: {
      'pagerduty-webhook-secrets': file('pagerduty', `${randomBytes(24).toString('hex')}\n${secrets.pagerduty}\n`),
      'opsgenie-webhook-token': file('opsgenie', secrets.opsgenie),
      'alertmanager-webhook-basic-auth': file(
        'alertmanager',
        `${secrets.alertmanagerUser}:${secrets.alertmanagerPassword}`,
      ),
    },
    files: { 'service-catalogue': CATALOGUE_FILE },
    logLevel: 'error',
    nodeEnv: 'test',
    onFatal: failOnServiceStop,
  });
  const viewerToken = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
  return {
    ...platform,
    issuer,
    secrets,
    namespace,
    viewerToken,
    async stopAll() {
      await platform.stop();
      await issuer.stop();
      assertPlatformRunning();
    },
  };
}

export function pagerDutySignature(body: string, secret: string): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: text,
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json().catch(() => null)) as Record<string, unknown> | null,
  };
}

export async function getJson<T = Record<string, unknown>>(url: string, token: string) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * Polls until `check` returns a value (not undefined) or the deadline passes; throws at once
 * when a service of the test platform stopped itself.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    assertPlatformRunning();
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
