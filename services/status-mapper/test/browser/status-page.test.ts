import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  accessibilityProblems,
  type BrowserSession,
  browserSession,
  ensureChromium,
  type FakeStatuspage,
  launchChromium,
  SCREENSHOTS_DIR as SCREENSHOTS,
  startFakeStatuspage,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../test/helpers.js';
import { type StatusPlatform, startStatusPlatform, statuspageSources } from '../../../../test/lib/status-mapper.js';

/**
 * The consolidated status page in a real browser (Debian's Chromium through playwright-core),
 * as part of the one product: escalation and status-mapper behind the platform's gateway (the
 * Ingress of development), one sign-in on the dashboard, then the Status section of the shared
 * navigation. Provider data comes from fake Statuspage pages; one of them has an incident whose
 * name and update are hostile markup. Screenshots go to .dev/screenshots/.
 */

const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Elevated 5xx on the CDN edge';
const HOSTILE_UPDATE =
  'We are investigating <b>elevated</b> errors.<script>window.__xss=1</script>\nNext update in 30 minutes.';

describe('status page in a browser, one sign-in with the dashboard', () => {
  let status: StatusPlatform;
  let cloudflare: FakeStatuspage;
  let github: FakeStatuspage;
  let browser: Browser;
  /** Sign-ins at the issuer (across the file), script errors and CSP violations (each test ends with none). */
  let session: BrowserSession;
  let vic: Page;

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    [cloudflare, github, browser] = await Promise.all([
      startFakeStatuspage({
        name: 'Cloudflare',
        components: [
          { name: 'CDN/Cache', group: 'Cloudflare Sites and Services' },
          { name: 'DNS', group: 'Cloudflare Sites and Services' },
          { name: 'Workers', group: 'Cloudflare Sites and Services' },
        ],
      }),
      startFakeStatuspage({ name: 'GitHub', components: [{ name: 'Actions' }] }),
      launchChromium(),
    ]);
    cloudflare.setComponentStatus('CDN/Cache', 'major_outage');
    cloudflare.openIncident({ name: HOSTILE_NAME, impact: 'major', components: ['CDN/Cache'], body: HOSTILE_UPDATE });
    status = await startStatusPlatform('status-ui', {
      sources: statuspageSources([
        { id: 'cloudflare', provider: 'Cloudflare', page: cloudflare },
        { id: 'github', provider: 'GitHub', page: github },
      ]),
      mapping: `mappings:
  cdn:
    page: cloudflare
    component: CDN/Cache
    services: [checkout, search]
  dns:
    page: cloudflare
    component: DNS
    services: [payments-api]
  actions:
    page: github
    component: Actions
    services: [search]
`,
      secretFiles: { 'session-secret': randomBytes(32).toString('hex') },
    });
    session = browserSession(browser, { base: status.platform.url, issuerUrl: status.issuer.issuer });
    // Both pages answered once (status-mapper polls new pages at start-up)…
    await eventually(
      'the first polls',
      async () => ((await status.statusMapper.sources()).every((s) => s.lastSuccessAt !== null) ? true : undefined),
      30_000,
    );
    // …then GitHub's stops answering: after 3 failed polls its components are "unknown — stale".
    await github.stop();
    for (let i = 0; i < 3; i++) await status.statusMapper.pollNow();
    await eventually(
      'GitHub to be stale',
      async () => ((await status.statusMapper.sources()).find((s) => s.id === 'github')?.staleSince ? true : undefined),
      30_000,
    );
  });

  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await status?.stop();
    await cloudflare?.stop();
  });

  afterEach(() => {
    expect(session.problems.splice(0)).toEqual([]);
  });

  it('signs a viewer in once on the dashboard and shows the status page from the navigation', async () => {
    vic = await session.signIn('Vic Viewer');
    expect(session.signIns()).toBe(1);

    // The product's navigation: every page has the sections (the dashboard adds its own Figures). Status is status-mapper's page.
    const nav = vic.getByRole('navigation', { name: 'Sections' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Incidents', 'Status', 'Apps', 'Drills', 'Figures']);
    const tokens: string[] = [];
    vic.on('request', (r) => {
      if (new URL(r.url()).pathname === '/auth/token') tokens.push(r.url());
    });
    await nav.getByRole('link', { name: 'Status' }).click();
    await vic.waitForURL(`${status.platform.url}/status/`);
    await vic.getByRole('heading', { level: 1, name: 'Provider status' }).waitFor();
    expect(await vic.getByRole('link', { name: 'Status' }).getAttribute('aria-current')).toBe('page');
    expect(await vic.locator('#who').textContent()).toContain('Vic Viewer');
    expect(tokens.length).toBeGreaterThan(0);

    // Our services × providers: the worst condition per service, the components behind it.
    const checkout = vic.locator('table.matrix tr[data-service="checkout"]');
    await checkout.waitFor();
    expect(await checkout.locator('.c-condition .condition').textContent()).toBe('major outage');
    expect(await checkout.locator('.component', { hasText: 'CDN/Cache' }).locator('.condition').textContent()).toBe(
      'major outage',
    );
    expect(await checkout.locator('.c-since time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    const payments = vic.locator('table.matrix tr[data-service="payments-api"]');
    expect(await payments.locator('.c-condition .condition').textContent()).toBe('operational');
    // A stale source: "unknown — stale since …" with the last condition the provider reported.
    const actions = vic.locator('tr[data-service="search"] .component', { hasText: 'Actions' });
    expect(await actions.locator('.condition').textContent()).toBe('unknown');
    expect(await actions.locator('.stale-note').textContent()).toMatch(
      /^unknown — stale since \d\d:\d\d; last known: operational$/,
    );
    // The sources, the failing one with why.
    const githubSource = vic.locator('table.sources tr[data-source="github"]');
    expect(await githubSource.locator('.condition').textContent()).toBe('stale');
    expect((await githubSource.locator('.failure-reason').textContent())?.length).toBeGreaterThan(0);
    expect(await vic.locator('table.sources tr[data-source="cloudflare"] .condition').textContent()).toBe('answering');
    // Workers is not mapped to any service: listed, not ignored.
    expect(await vic.locator('details.unmapped summary').textContent()).toBe(
      '1 provider component is not mapped to any of our services',
    );
  });

  it("shows a provider incident's hostile name and update as text, and never runs them", async () => {
    const incident = vic.locator('.provider-incident');
    expect(await incident.count()).toBe(1);
    expect(await incident.locator('.incident-name').textContent()).toBe(HOSTILE_NAME);
    expect(await incident.locator('.update-text').textContent()).toBe(HOSTILE_UPDATE);
    expect(await incident.locator('img, script, b').count()).toBe(0);
    expect(await incident.locator('.incident-meta').textContent()).toContain(
      'affects checkout, search through CDN/Cache',
    );
    expect(await vic.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await vic.screenshot({ path: join(SCREENSHOTS, 'status-page.png'), fullPage: true });
    // The shared look's dark scheme, as a responder's laptop at night shows it.
    await vic.emulateMedia({ colorScheme: 'dark' });
    await vic.screenshot({ path: join(SCREENSHOTS, 'status-page-dark.png'), fullPage: true });
    await vic.emulateMedia({ colorScheme: 'light' });
    // Keyboard focus visible on the page's controls; every condition in words, not colour alone.
    expect(await accessibilityProblems(vic)).toEqual([]);
  });

  it('follows a provider change without a reload', async () => {
    await vic.evaluate(() => {
      (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    // Live: the stream (read with fetch and the bearer token, through the gateway) is open.
    await vic.locator('#live-state[data-state="live"]').getByText('Live').waitFor();
    cloudflare.setComponentStatus('CDN/Cache', 'operational');
    await status.statusMapper.pollNow();
    // Within moments through the stream; the 30 s polling would do it too, just later.
    await vic
      .locator('table.matrix tr[data-service="checkout"] .c-condition .condition', { hasText: 'operational' })
      .waitFor({ timeout: 40_000 });
    expect(await vic.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it('falls back to polling every 30 s when the live stream is not there', async () => {
    const page = session.watch(await vic.context().newPage(), 'Vic (second tab)');
    await page.route(
      (url) => url.pathname === '/status/v1/stream',
      (route) =>
        route.fulfill({
          status: 404,
          contentType: 'application/json',
          body: '{"error":{"code":"not_found","message":"no"}}',
        }),
    );
    await page.goto(`${status.platform.url}/status/`);
    await page.locator('#live-state[data-state="polling"]').getByText('Updating every 30 s').waitFor();
    await page.locator('table.matrix tr[data-service="checkout"]').waitFor();
    await page.close();
  });

  it('goes back to the dashboard signed in, without a second sign-in', async () => {
    await vic.goBack();
    await vic.waitForURL(`${status.platform.url}/`);
    await vic.locator('#who').getByText('Vic Viewer').waitFor();
    expect(await vic.getByRole('link', { name: 'Incidents' }).getAttribute('aria-current')).toBe('page');
    // By keyboard: Tab from the top of the page to "Status", Enter.
    await vic.locator('body').focus();
    for (let i = 0; i < 10; i++) {
      await vic.keyboard.press('Tab');
      const focused = await vic.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document
            .activeElement?.textContent,
      );
      if (focused === 'Status') break;
    }
    await vic.keyboard.press('Enter');
    await vic.getByRole('heading', { level: 1, name: 'Provider status' }).waitFor();
    await vic.getByRole('link', { name: 'Incidents' }).click();
    await vic.waitForURL(`${status.platform.url}/`);
    await vic.locator('#live-state[data-state="live"]').waitFor();
    expect(session.signIns()).toBe(1);
    await vic.screenshot({ path: join(SCREENSHOTS, 'status-back-to-dashboard.png') });
  });

  it('signs in from a link to the status page, comes back to it, and signs out for the whole product', async () => {
    const alex = await session.signIn('Alex Admin', { path: '/status/' });
    await alex.getByRole('heading', { level: 1, name: 'Provider status' }).waitFor();
    expect(await alex.locator('#who').textContent()).toContain('Alex Admin');
    await alex.getByRole('button', { name: 'Sign out' }).click();
    await alex.getByRole('heading', { name: 'You are signed out' }).waitFor();
    // Escalation's session is gone: the dashboard and the token are refused alike.
    expect((await alex.request.get(`${status.platform.url}/auth/me`)).status()).toBe(401);
    expect((await alex.request.get(`${status.platform.url}/auth/token`)).status()).toBe(401);
    expect(await alex.getByRole('link', { name: 'Sign in again' }).getAttribute('href')).toBe(
      '/auth/login?returnTo=%2Fstatus%2F',
    );
  });
});
