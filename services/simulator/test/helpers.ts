import { randomBytes } from 'node:crypto';
import type { RunningService } from '@micro-oncall/service-kit';
import { createTestDatabase, type LocalIssuer, startLocalIssuer, uniqueNamespace } from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import { service } from '../src/service.js';

export interface Run {
  id: string;
  state: string;
  environment: string;
  severity: string;
  targets: string[];
  approval: { required: boolean; reasons: string[]; approvedBy: { subject: string } | null };
  expiresAt: string;
  secondsLeft: number | null;
  endReason: string | null;
  failure: { step: number; target: string; error: string } | null;
  steps: { index: number; action: string; state: string; failedTarget: string | null; error: string | null }[];
  alerts: {
    key: string;
    target: string;
    dedupKey: string;
    state: string;
    severity: string;
    labels: Record<string, string>;
  }[];
}

/** A row of `GET /drills/v1/audit`, as the tests read it. */
export interface AuditRow {
  actor: { subject: string };
  action: string;
  outcome: string;
  runId: string | null;
  detail: string;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string; line?: number; message: string }[] } };
}

/** Polls `fn` until it returns a value, for at most `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** People of the drill tests: each a token from the local issuer. */
export async function people(issuer: LocalIssuer) {
  const now = Math.floor(Date.now() / 1000);
  const token = (sub: string, roles: string[], extra: Record<string, unknown> = {}) =>
    issuer.token({ sub, name: sub, roles, ...extra });
  return {
    viewer: await token('vic-viewer', ['viewer']),
    responder: await token('ada-responder', ['responder']),
    // A responder who is also an approver, signed in with MFA: may propose, may not approve her own run.
    lead: await token('lin-lead', ['responder', 'approver'], { amr: ['pwd', 'otp'], auth_time: now }),
    approverNoMfa: await token('pat-password-only', ['approver'], { amr: ['pwd'], auth_time: now }),
    approverStale: await token('sam-stale', ['approver'], { amr: ['pwd', 'mfa'], auth_time: now - 3 * 3600 }),
    approver: await token('grace-approver', ['approver'], { amr: ['pwd', 'hwk'], auth_time: now }),
    approverAcr: await token('olga-okta', ['approver'], { acr: 'urn:okta:loa:2fa:any', auth_time: now }),
  };
}

export interface Simulator {
  running: RunningService;
  url: string;
  call<T = unknown>(
    path: string,
    opts?: { method?: string; token?: string | null; body?: unknown; contentType?: string },
  ): Promise<{ status: number; body: T }>;
}

/** A running simulator with `env` over the test defaults; `stop()` it (or let a restart replace it). */
export async function startSimulator(
  env: Record<string, string>,
  onFatal?: (error: Error) => void,
): Promise<Simulator> {
  const running = await service.run(
    service.loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    }),
    { onFatal: onFatal ?? ((error) => console.error(`simulator stopped: ${error.message}`)) },
  );
  return {
    running,
    url: running.url,
    async call(path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers['content-type'] = opts.contentType ?? 'application/json';
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      }
      const res = await fetch(`${running.url}${path}`, {
        method: opts.method ?? (body ? 'POST' : 'GET'),
        headers,
        body,
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as never };
    },
  };
}

/** A fresh database, namespace and issuer for one test file. */
export async function testStack(prefix: string) {
  const { databaseUrl, kafkaBrokers } = inject('stack');
  const issuer = await startLocalIssuer();
  return {
    issuer,
    kafkaBrokers,
    namespace: uniqueNamespace(prefix),
    databaseUrl: await createTestDatabase(databaseUrl, 'simulator'),
  };
}

/** A 32-character PagerDuty routing key, generated per run (no secret-shaped literal in the repository). */
export const routingKey = () => randomBytes(16).toString('hex');
