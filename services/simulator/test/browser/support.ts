import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  DESKTOP_VIEWPORT,
  DEV_USERS,
  ensureChromium,
  type FakePagerDutyEvents,
  type LocalIssuer,
  launchChromium,
  SCREENSHOTS_DIR,
  startFakePagerDutyEvents,
  startLocalIssuer,
  uniqueNamespace,
  watchPage,
} from '@micro-oncall/test-kit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { type Platform, startPlatform } from '../../../../scripts/lib/platform.js';
import { CATALOGUE_FILE, failOnServiceStop } from '../../../../test/helpers.js';

/** Where the drills pages' screenshots go. */
export const SCREENSHOTS = SCREENSHOTS_DIR;

export interface DrillsBrowserStack {
  platform: Platform;
  issuer: LocalIssuer;
  /** The drills' target: a fake PagerDuty Events API. */
  pagerduty: FakePagerDutyEvents;
  browser: Browser;
  /** The platform's topic namespace and Kafka. */
  namespace: string;
  kafkaBrokers: string;
  /** Problems the pages had (script errors, CSP violations): every test expects none. */
  pageProblems: string[];
  /** Development sign-ins so far (one per person: the session is shared by every page). */
  signIns(): number;
  /** The API behind the gateway as Alex Admin. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** POST JSON as Alex Admin; fails the test unless the answer is 201. */
  create<T>(path: string, body: unknown): Promise<T>;
  /**
   * A new browser context signed in through escalation's development sign-in, on `path`; with
   * `secondFactor`, ticking the page's "Sign in with a second factor" (tokens with `amr` otp).
   */
  signIn(who: RegExp, path?: string, opts?: SignInOptions): Promise<Page>;
  /** Signs `page`'s person in again (escalation's /auth/login, as the API's refusal asks), back on `path`. */
  signInAgain(page: Page, who: RegExp, path: string, opts?: SignInOptions): Promise<void>;
  stop(): Promise<void>;
}

export interface SignInOptions {
  /** Sign in with a second factor (the development sign-in page's choice). */
  secondFactor?: boolean;
}

/**
 * The product as the drills pages' browser tests use it: escalation and the simulator behind the
 * platform's gateway with escalation's sign-in (the local issuer's development users), a fake
 * PagerDuty Events API as the drills' target, and Debian's Chromium through playwright-core.
 */
export async function startDrillsBrowserStack(prefix: string): Promise<DrillsBrowserStack> {
  const stack = inject('stack');
  await ensureChromium((line) => console.log(`[browser] ${line}`));
  const routingKey = randomBytes(16).toString('hex');
  const [issuer, pagerduty, browser] = await Promise.all([
    startLocalIssuer({ users: DEV_USERS }),
    startFakePagerDutyEvents({ routingKeys: [routingKey] }),
    launchChromium(),
  ]);
  const adminToken = await issuer.token({ sub: 'dev-admin', name: 'Alex Admin', roles: ['admin'] });
  const secretsDir = mkdtempSync(join(tmpdir(), `mo-${prefix}-`));
  const secret = (name: string, content: string) => {
    const path = join(secretsDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const namespace = uniqueNamespace(prefix);
  const platform = await startPlatform({
    databaseUrl: await createTestDatabase(stack.databaseUrl, prefix.replaceAll('-', '_')),
    kafkaBrokers: stack.kafkaBrokers,
    namespace,
    oidc: { issuer: issuer.issuer, audience: issuer.audience },
    secretFiles: {
      'session-secret': secret('session-secret', randomBytes(32).toString('hex')),
      'pagerduty-routing-key': secret('routing-key', routingKey),
    },
    files: { 'service-catalogue': CATALOGUE_FILE },
    urls: { 'pagerduty-events': pagerduty.url },
    only: ['escalation', 'simulator'],
    logLevel: 'error',
    nodeEnv: 'test',
    onFatal: failOnServiceStop,
  }).catch(async (error: unknown) => {
    // Nothing may outlive a start that failed.
    await Promise.allSettled([browser.close(), issuer.stop(), pagerduty.stop()]);
    rmSync(secretsDir, { recursive: true, force: true });
    throw error;
  });
  mkdirSync(SCREENSHOTS, { recursive: true });

  const contexts: BrowserContext[] = [];
  const pageProblems: string[] = [];
  let signIns = 0;
  const watch = (page: Page, who: string) => {
    watchPage(page, who, pageProblems);
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url() === `${issuer.issuer}/authorize`) signIns += 1;
    });
    return page;
  };
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${platform.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
    });

  return {
    platform,
    issuer,
    pagerduty,
    browser,
    namespace,
    kafkaBrokers: stack.kafkaBrokers,
    pageProblems,
    signIns: () => signIns,
    api,
    async create<T>(path: string, body: unknown) {
      const res = await api(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    async signIn(who, path = '/', opts = {}) {
      const context = await browser.newContext({ viewport: DESKTOP_VIEWPORT, locale: 'en-GB', timezoneId: 'UTC' });
      contexts.push(context);
      const page = watch(await context.newPage(), String(who));
      await page.goto(`${platform.url}${path}`);
      await chooseAt(page, who, opts);
      await page.waitForURL(`${platform.url}${path}`);
      return page;
    },
    async signInAgain(page, who, path, opts = {}) {
      await page.goto(`${platform.url}/auth/login?returnTo=${encodeURIComponent(path)}`);
      await chooseAt(page, who, opts);
      await page.waitForURL(`${platform.url}${path}`);
    },
    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await platform.stop();
      await Promise.allSettled([issuer.stop(), pagerduty.stop()]);
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}

/** Picks `who` on the development sign-in page, with a second factor when asked. */
async function chooseAt(page: Page, who: RegExp, opts: SignInOptions) {
  await page.getByRole('heading', { name: 'Development sign-in' }).waitFor();
  const secondFactor = page.getByRole('checkbox', { name: 'Sign in with a second factor' });
  expect(await secondFactor.isChecked()).toBe(false);
  if (opts.secondFactor) {
    await secondFactor.check();
    await page.screenshot({ path: join(SCREENSHOTS, 'drills-sign-in-second-factor.png'), fullPage: true });
  }
  await page.getByRole('button', { name: who }).click();
}

/**
 * A team's scenario below the approval threshold (it starts at once): a medium checkout alert
 * fired at once, resolved after 20 minutes.
 */
export function checkoutScenario(id: string, name: string, checklist: string[]) {
  return {
    id,
    name,
    description: 'Checkout errors climb for a while.',
    team: 'storefront',
    runbook: { url: 'https://runbooks.example.com/storefront/checkout', checklist },
    timeline: [
      {
        at: 0,
        action: 'fire',
        alert: 'errors',
        name: 'CheckoutErrorRateHigh',
        severity: 'medium',
        summary: 'Checkout error rate above 5%',
        service: 'checkout',
      },
      { at: '20m', action: 'resolve', alerts: 'all' },
    ],
  };
}
