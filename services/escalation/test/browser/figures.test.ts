import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureChromium, launchChromium, REPO_ROOT } from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedResponseTimes } from '../figures-seed.js';
import { startTestEscalation, type TestEscalation } from '../support.js';

/**
 * The Figures page in a real browser (Debian's Chromium through playwright-core), against
 * escalation alone with the incidents of figures-seed.ts: the MTTA/MTTR table leaves the drill
 * out and shows it apart. The screenshot goes to .dev/screenshots/.
 */

const SCREENSHOTS = join(REPO_ROOT, '.dev', 'screenshots');

/** A table row as the page's DOM has it (the tests are type-checked without the DOM library). */
type Cells = { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }> };

/** The rows of the table captioned `caption`, as cell texts. */
async function tableRows(page: Page, caption: RegExp): Promise<string[][]> {
  const table = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
  await table.waitFor();
  return table
    .locator('tbody tr')
    .evaluateAll((rows) =>
      (rows as unknown as Cells[]).map((row) =>
        Array.from(row.querySelectorAll('th, td'), (cell) => (cell.textContent ?? '').trim()),
      ),
    );
}

describe('escalation Figures page in a browser', () => {
  let esc: TestEscalation;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    [esc, browser] = await Promise.all([
      startTestEscalation('figures-ui', () => ({
        OIDC_CLIENT_ID: 'escalation-test',
        SESSION_SECRET: randomBytes(32).toString('hex'),
      })),
      launchChromium(),
    ]);
    await seedResponseTimes(esc, await esc.issuer.token({ sub: 'seed', roles: ['viewer'] }));
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await esc?.stop();
  });

  it('shows MTTA and MTTR without the drill, the drill apart, reached from the top bar by keyboard', async () => {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (m) => {
      if (m.text().includes('Content Security Policy')) problems.push(m.text());
    });
    const base = esc.service.url;
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Development sign-in' }).waitFor();
    await page.getByRole('button', { name: /^Vic Viewer/ }).click();
    await page.waitForURL(`${base}/`);

    const link = page.getByRole('link', { name: 'Figures', exact: true });
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/figures\?window=7d&groupBy=service$/);
    await page.getByRole('heading', { name: 'Figures', level: 1 }).waitFor();

    const real = await tableRows(page, /^Time to acknowledge .* by service, drills excluded$/);
    expect(real).toEqual([
      ['checkout', '1', '1', '1 min', '1 min', '1', '10 min', '10 min'],
      ['payments-api', '1', '1', '1 min', '1 min', '1', '10 min', '10 min'],
      ['All', '2', '2', '1 min', '1 min', '2', '10 min', '10 min'],
    ]);
    const drills = await tableRows(page, /^Drills by service/);
    expect(drills).toEqual([
      ['search', '1', '1', '5 s', '5 s', '1', '30 s', '30 s'],
      ['All', '1', '1', '5 s', '5 s', '1', '30 s', '30 s'],
    ]);
    await expect
      .poll(() => page.locator('.figures .summary').textContent())
      .toBe(
        'Last 7 days: 2 incidents, 1 drill (shown apart); 1 incident with an unverified drill marker counts as real.',
      );

    // Group by team with the keyboard: the table follows.
    await page.getByLabel('Group by').focus();
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/groupBy=team$/);
    await expect
      .poll(async () => (await tableRows(page, /by team, drills excluded/)).map((r) => r[0]))
      .toEqual(['payments', 'web-storefront', 'All']);

    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-figures.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });
});
