import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type BrowserSession,
  browserSession,
  ensureChromium,
  launchChromium,
  SCREENSHOTS_DIR as SCREENSHOTS,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedResponseTimes } from '../figures-seed.js';
import { startTestEscalation, type TestEscalation } from '../support.js';

/**
 * The Figures page in a real browser (Debian's Chromium through playwright-core), against
 * escalation alone with the incidents of figures-seed.ts: the MTTA/MTTR table leaves the drill
 * out and shows it apart. The screenshot goes to .dev/screenshots/.
 */

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
  let session: BrowserSession;

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
    session = browserSession(browser, { base: esc.service.url });
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await esc?.stop();
  });

  it('shows MTTA and MTTR without the drill, the drill apart, reached from the top bar by keyboard', async () => {
    const page = await session.signIn('Vic Viewer');

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
    expect(session.problems).toEqual([]);
  });
});
