import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrowserSession,
  browserSession,
  createTestDatabase,
  DEV_USERS,
  ensureChromium,
  type LocalIssuer,
  type LocalOpa,
  launchChromium,
  startLocalIssuer,
  startOpa,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import type { Browser } from 'playwright-core';
import { inject } from 'vitest';
import { type Platform, startPlatform } from '../../../../scripts/lib/platform.js';
import { CATALOGUE_FILE, failOnServiceStop } from '../../../../test/helpers.js';

export interface AppsBrowserStack {
  platform: Platform;
  issuer: LocalIssuer;
  /** OPA on the policies, when asked for (`opa: true`); without it every decision is held for review. */
  opa: LocalOpa | null;
  browser: Browser;
  /** Development sign-ins, and script errors and CSP violations seen in any page. */
  session: BrowserSession;
  /** The API behind the gateway as Alex Admin. */
  api(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The product as the app registry's browser tests use it: escalation and app-registry behind the
 * platform's gateway with escalation's sign-in (the local issuer's development users), optionally
 * OPA on the policies, and Debian's Chromium through playwright-core.
 */
export async function startAppsBrowserStack(prefix: string, opts: { opa?: boolean } = {}): Promise<AppsBrowserStack> {
  const stack = inject('stack');
  await ensureChromium((line) => console.log(`[browser] ${line}`));
  const [issuer, opa, browser] = await Promise.all([
    startLocalIssuer({ users: DEV_USERS }),
    opts.opa ? startOpa({ log: () => {} }) : null,
    launchChromium(),
  ]);
  const adminToken = await issuer.token({ sub: 'dev-admin', name: 'Alex Admin', roles: ['admin'] });
  const secretsDir = mkdtempSync(join(tmpdir(), `mo-${prefix}-`));
  const sessionSecret = join(secretsDir, 'session-secret');
  writeFileSync(sessionSecret, randomBytes(32).toString('hex'), { mode: 0o600 });
  const platform = await startPlatform({
    databaseUrl: await createTestDatabase(stack.databaseUrl, prefix.replaceAll('-', '_')),
    kafkaBrokers: stack.kafkaBrokers,
    namespace: uniqueNamespace(prefix),
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: { 'session-secret': sessionSecret },
    files: { 'service-catalogue': CATALOGUE_FILE },
    urls: opa ? { opa: opa.url } : {},
    only: ['escalation', 'app-registry'],
    logLevel: 'error',
    nodeEnv: 'test',
    onFatal: failOnServiceStop,
  }).catch(async (error: unknown) => {
    // Nothing may outlive a start that failed.
    await Promise.allSettled([browser.close(), issuer.stop(), opa?.stop()]);
    rmSync(secretsDir, { recursive: true, force: true });
    throw error;
  });
  const session = browserSession(browser, { base: platform.url, issuerUrl: issuer.issuer });

  return {
    platform,
    issuer,
    opa,
    browser,
    session,
    api: (path, init = {}) =>
      fetch(`${platform.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
      }),
    async stop() {
      await session.close();
      await browser.close();
      await platform.stop();
      await Promise.allSettled([issuer.stop(), opa?.stop()]);
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}
