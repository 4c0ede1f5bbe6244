import { join } from 'node:path';
import { accessibilityProblems, type BrowserSession, SCREENSHOTS_DIR as SCREENSHOTS } from '@micro-oncall/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { focusFile } from '../../src/cost/fixtures.js';
import { type AppsBrowserStack, startAppsBrowserStack } from './support.js';

/**
 * The Cost page in a real browser, behind the platform's gateway with one sign-in: a month's
 * chargeback per team with the untagged cost, its CSV download, a quota's usage bar, and a
 * responder asking for a quota increase. Screenshot in .dev/screenshots/apps-cost.png.
 */
describe('the Cost page in a browser', () => {
  let stack: AppsBrowserStack;
  let session: BrowserSession;
  const api = (path: string, init: RequestInit = {}) => stack.api(path, init);

  beforeAll(async () => {
    stack = await startAppsBrowserStack('cost-ui');
    session = stack.session;

    const registered = await api('/apps/v1/apps', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'canteen-menu',
        owner: { name: 'Ada Responder', contact: 'ada@example.com' },
        team: { name: 'facilities', contact: '#facilities' },
        runtime: 'wasm',
        dataClasses: ['public'],
        impact: 'experimental',
        exposure: 'internal_network',
        template: 'micro-oncall-service',
      }),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const { app } = (await registered.json()) as { app: { id: string } };
    const rows = Array.from({ length: 10 }, (_, i) => [
      { day: `2026-11-${String(i + 1).padStart(2, '0')}`, cost: '30', tags: { 'app-id': app.id } },
      { day: `2026-11-${String(i + 1).padStart(2, '0')}`, cost: '2.5', resourceId: 'i-0nobody' },
    ]).flat();
    const imported = await api('/apps/v1/cost/imports?file=november.csv', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: focusFile(rows),
    });
    expect(imported.status, await imported.clone().text()).toBe(201);
    const quota = await api('/apps/v1/cost/quotas', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'team', subject: 'facilities', monthlyAmount: '400', currency: 'EUR' }),
    });
    expect(quota.status, await quota.clone().text()).toBe(201);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(() => {
    expect(session.problems.splice(0)).toEqual([]);
  });

  it('shows the chargeback with the untagged cost, downloads it as CSV, and lets a responder ask for more quota', async () => {
    const ada = await session.signIn('Ada Responder', { path: '/apps/' });
    await ada.getByRole('navigation', { name: 'Registry pages' }).getByRole('link', { name: 'Cost' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Cost' }).waitFor();
    // It opens on the month the latest import ends in.
    await ada.getByRole('heading', { level: 2, name: 'Chargeback 2026-11' }).waitFor();
    expect(await ada.locator('.cost-total').textContent()).toBe(
      'Total 325.00 EUR — untagged (no app claims it): 25.00 EUR',
    );
    const teams = ada.getByRole('table', { name: /Cost per team/ });
    expect(await teams.locator('tbody tr').allInnerTexts()).toEqual([
      'facilities\t300.00 EUR\t0.00 EUR\t1',
      'no team\t25.00 EUR\t25.00 EUR\t0',
    ]);
    const bar = ada.getByRole('meter');
    expect(await bar.getAttribute('value')).toBe('75');
    expect(await accessibilityProblems(ada)).toEqual([]);
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-cost.png'), fullPage: true });

    const [download] = await Promise.all([
      ada.waitForEvent('download'),
      ada.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('chargeback-2026-11.csv');

    await ada.getByRole('textbox', { name: 'New monthly amount' }).fill('600');
    await ada.getByRole('textbox', { name: 'Justification' }).fill('the new canteen in building B');
    await ada.getByRole('button', { name: 'Ask for more' }).click();
    await ada.getByRole('heading', { level: 3, name: 'Increase requests waiting (1)' }).waitFor();
    expect(await ada.locator('ul.due li').textContent()).toBe(
      'team facilities → 600.00 EUR, by Ada Responder: “the new canteen in building B” (yours: another approver decides)',
    );
  });
});
