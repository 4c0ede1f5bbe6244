import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type LocalIssuer, startLocalIssuer, uniqueNamespace } from '@micro-oncall/test-kit';
import { expect, inject } from 'vitest';
import { type Platform, startPlatform } from '../../../scripts/lib/platform.js';

export const CATALOGUE = new URL('../config/services.example.yml', import.meta.url).pathname;

/** webhook-ingest and escalation on this run's PostgreSQL and Kafka, with Alertmanager's webhook credential. */
export interface AlertmanagerIntake {
  platform: Platform;
  issuer: LocalIssuer;
  namespace: string;
  /** escalation's address. */
  base: string;
  /** Posts an Alertmanager webhook to webhook-ingest as Alertmanager would (202 expected). */
  send(payload: unknown): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the real intake path for Alertmanager alerts: webhook-ingest → Kafka → escalation.
 * `alertmanagerUrl`: an Alertmanager escalation acts on (silences).
 */
export async function startAlertmanagerIntake(
  name: string,
  opts: { alertmanagerUrl?: string } = {},
): Promise<AlertmanagerIntake> {
  const stack = inject('stack');
  const namespace = uniqueNamespace(name);
  const secretsDir = mkdtempSync(join(tmpdir(), `mo-${name}-`));
  const secretFile = (file: string, content: string) => {
    const path = join(secretsDir, file);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const alertmanagerAuth = `alertmanager:${randomBytes(24).toString('hex')}`;
  const [databaseUrl, issuer] = await Promise.all([
    createTestDatabase(stack.databaseUrl, name.replaceAll('-', '_')),
    startLocalIssuer(),
  ]);
  const platform = await startPlatform({
    only: ['webhook-ingest', 'escalation'],
    databaseUrl,
    kafkaBrokers: stack.kafkaBrokers,
    namespace,
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: {
      'pagerduty-webhook-secrets': secretFile('pagerduty', randomBytes(24).toString('hex')),
      'opsgenie-webhook-token': secretFile('opsgenie', randomBytes(24).toString('hex')),
      'alertmanager-webhook-basic-auth': secretFile('alertmanager', alertmanagerAuth),
    },
    files: { 'service-catalogue': CATALOGUE },
    ...(opts.alertmanagerUrl ? { urls: { 'alertmanager-api': opts.alertmanagerUrl } } : {}),
    logLevel: 'error',
    nodeEnv: 'test',
  });
  return {
    platform,
    issuer,
    namespace,
    base: platform.service('escalation').url,
    async send(payload) {
      const res = await fetch(`${platform.service('webhook-ingest').url}/v1/webhooks/alertmanager`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(alertmanagerAuth).toString('base64')}`,
        },
        body: JSON.stringify(payload),
      });
      expect(res.status).toBe(202);
    },
    async stop() {
      await platform.stop();
      await issuer.stop();
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it gives a value. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
