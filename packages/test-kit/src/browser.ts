import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Log } from './infra/process.js';
import { REPO_ROOT } from './infra/stack.js';

/** Debian's Chromium; browser tests drive it with playwright-core (no downloaded browser builds). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, reproducible headless Chromium in containers and CI. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
] as const;

const run = promisify(execFile);

/**
 * Makes sure Debian's `chromium` is installed: as root it installs it with apt-get (printing a
 * progress line first, since it takes a minute); otherwise it says what to install.
 */
export async function ensureChromium(log: Log = (line) => console.log(line)): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `browser tests need Chromium at ${CHROMIUM_PATH}: install Debian's package as root (apt-get install -y chromium)`,
    );
  }
  log(`installing Debian's chromium for the browser tests (apt-get, about a minute)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await run('apt-get', ['update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 });
    await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' ') ?? '';
    throw new Error(`could not install chromium with apt-get: ${(error as Error).message} ${detail}`.trim());
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is missing`);
  log(`chromium installed at ${CHROMIUM_PATH}`);
  return CHROMIUM_PATH;
}

/**
 * Launches headless Chromium ({@link CHROMIUM_PATH}) through playwright-core. playwright-core is
 * loaded on first use so that suites without a browser do not pay for it.
 */
export async function launchChromium(opts: { headless?: boolean; slowMo?: number } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? true,
    args: [...CHROMIUM_ARGS],
    ...(opts.slowMo === undefined ? {} : { slowMo: opts.slowMo }),
  });
}

/** Where browser tests save their screenshots (`.dev/screenshots/`, created by {@link browserSession}). */
export const SCREENSHOTS_DIR = join(REPO_ROOT, '.dev', 'screenshots');

/** The desktop viewport every browser test signs in at unless it asks for another. */
export const DESKTOP_VIEWPORT = { width: 1440, height: 900 } as const;

/**
 * Collects what a page does wrong into `problems`, prefixed with `who`: uncaught script errors and
 * Content Security Policy violations (Chromium reports those on the console). Tests end with none.
 */
export function watchPage(page: Page, who: string, problems: string[]): Page {
  page.on('pageerror', (error) => problems.push(`${who}: ${error.message}`));
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) problems.push(`${who}: ${message.text()}`);
  });
  return page;
}

export interface BrowserSessionOptions {
  /** The product's origin (the gateway, or one service): sign-in starts there. */
  base: string;
  /** The OIDC issuer's URL: when given, {@link BrowserSession.signIns} counts the sign-ins at it. */
  issuerUrl?: string;
}

export interface SignInOptions {
  /** The page to open first and come back to once signed in; `/` unless given. */
  path?: string;
  /** {@link DESKTOP_VIEWPORT} unless given. */
  viewport?: { width: number; height: number };
}

/** People in one browser: each sign-in is a context of its own, every page watched. */
export interface BrowserSession {
  readonly browser: Browser;
  /** Script errors and CSP violations seen in any page so far (see {@link watchPage}). */
  readonly problems: string[];
  /** Watches a page opened outside {@link signIn} (a second tab) too. */
  watch(page: Page, who: string): Page;
  /**
   * Opens `path` in a new context (en-GB, UTC), lets the product send the browser to escalation's
   * development sign-in page, picks `who` (a development user's name), comes back to `path` and
   * waits until the top bar (`#who`) names them.
   */
  signIn(who: string, opts?: SignInOptions): Promise<Page>;
  /** Sign-ins at the issuer so far (its sign-in form's posts); needs `issuerUrl`. */
  signIns(): number;
  /** Closes every context it opened (not the browser). */
  close(): Promise<void>;
}

/** A {@link BrowserSession} against `base`; makes sure {@link SCREENSHOTS_DIR} exists. */
export function browserSession(browser: Browser, opts: BrowserSessionOptions): BrowserSession {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  let signIns = 0;
  const watch = (page: Page, who: string) => {
    watchPage(page, who, problems);
    if (opts.issuerUrl !== undefined) {
      const authorize = `${opts.issuerUrl}/authorize`;
      page.on('request', (request) => {
        if (request.method() === 'POST' && request.url() === authorize) signIns += 1;
      });
    }
    return page;
  };
  return {
    browser,
    problems,
    watch,
    async signIn(who, { path = '/', viewport = DESKTOP_VIEWPORT } = {}) {
      const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'UTC' });
      contexts.push(context);
      const page = watch(await context.newPage(), who);
      await page.goto(`${opts.base}${path}`);
      await page.getByRole('heading', { name: 'Development sign-in' }).waitFor();
      await page.getByRole('button', { name: new RegExp(`^${escapeRegExp(who)}`) }).click();
      await page.waitForURL(`${opts.base}${path}`);
      await page.locator('#who').getByText(who).waitFor();
      return page;
    },
    signIns: () => signIns,
    async close() {
      for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What shows a state by colour in the product's pages: severity chips, status badges, provider
 * conditions, app states and tiers. Each must say it in words too.
 */
export const COLOUR_SIGNALS =
  '.chip, .badge, .group-badge, span.status, .provider-sev, .condition, .incident-status, span.state, span.tier';

export interface AccessibilityOptions {
  /** How many Tab presses at most (the page's first interactive elements); 30 unless given. */
  tabs?: number;
  /** What must carry words besides colour; {@link COLOUR_SIGNALS} unless given. */
  colourSignals?: string;
}

/**
 * Accessibility checks a user would notice, in the page as it is: (1) keyboard focus is visible —
 * Tab through up to `tabs` interactive elements from the top of the page; each focused element (or
 * the label wrapping it) must show a ring by computed style, a box-shadow or an outline other than
 * none; (2) colour is never the only signal — every visible chip or badge ({@link COLOUR_SIGNALS})
 * has text. Returns what is wrong, one line each (empty when all is well). Leaves no element
 * focused and the page scrolled to the top.
 */
export async function accessibilityProblems(page: Page, opts: AccessibilityOptions = {}): Promise<string[]> {
  const tabs = opts.tabs ?? 30;
  const problems: string[] = [];
  await page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { activeElement: { blur?(): void } | null } }).document;
    doc.activeElement?.blur?.();
  });
  const seen = new Set<string>();
  for (let i = 0; i < tabs; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      type El = {
        tagName: string;
        id: string;
        className: string;
        textContent: string | null;
        parentElement: El | null;
        matches(s: string): boolean;
        closest(s: string): El | null;
        getAttribute(n: string): string | null;
      };
      const g = globalThis as unknown as {
        document: { activeElement: El | null; body: El };
        getComputedStyle(e: El): { outlineStyle: string; outlineWidth: string; boxShadow: string };
      };
      const el = g.document.activeElement;
      if (!el || el === g.document.body) return null;
      const path: string[] = [];
      for (let e: El | null = el; e && e !== g.document.body; e = e.parentElement) {
        path.unshift(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}`);
      }
      const name = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      const ringed = (e: El) => {
        const style = g.getComputedStyle(e);
        const outline = style.outlineStyle !== 'none' && style.outlineWidth !== '0px';
        return outline || style.boxShadow !== 'none';
      };
      const label = el.closest('label');
      return {
        key: path.join('>') + name,
        what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${name ? ` "${name}"` : ''}`,
        visible: el.matches(':focus-visible') && (ringed(el) || (label !== null && ringed(label))),
      };
    });
    if (focused === null || seen.has(focused.key)) break; // out of the page, or round again
    seen.add(focused.key);
    if (!focused.visible) problems.push(`keyboard focus is not visible on ${focused.what}`);
  }
  if (seen.size === 0) problems.push('Tab focuses nothing in the page');
  const selector = opts.colourSignals ?? COLOUR_SIGNALS;
  const wordless = await page.locator(selector).evaluateAll((els) =>
    els
      .map((e) => e as unknown as { className: string; innerText: string; checkVisibility(o: object): boolean })
      // Shown ones only (not in a closed <details>, not hidden by CSS), and the words they show.
      .filter((e) => e.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true }))
      // biome-ignore lint/performance/useDomNodeTextContent: the words shown, not text hidden by CSS
      .filter((e) => e.innerText.trim() === '')
      .map((e) => `colour is the only signal of .${e.className.trim().replace(/\s+/g, '.')}: it has no text`),
  );
  problems.push(...wordless);
  await page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { activeElement: { blur?(): void } | null };
      scrollTo(x: number, y: number): void;
    };
    g.document.activeElement?.blur?.();
    g.scrollTo(0, 0);
  });
  return problems;
}
