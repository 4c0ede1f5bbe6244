import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DrillsBrowserStack, SCREENSHOTS, startDrillsBrowserStack } from './support.js';

/**
 * The game days section of the runs page, in a real browser (support.ts: behind the platform's
 * gateway with the dashboard's one sign-in): each game day with its schedule in its time zone,
 * its state, the next occurrence and the last result; a hostile name stays text.
 * Screenshot: .dev/screenshots/drills-game-days.png.
 */

const NIGHTLY = {
  id: 'nightly-cart',
  name: 'Nightly cart',
  description: 'A medium alert on the cart: no approval needed.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/storefront/cart', checklist: ['Acknowledge'] },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'slow',
      name: 'CartSlow',
      severity: 'medium',
      summary: 'Cart p99 above 2 s',
      service: 'cart',
    },
    { at: '10m', action: 'resolve', alerts: 'all' },
  ],
};

describe('game days on the drills runs page', () => {
  let stack: DrillsBrowserStack;
  let page: Page | undefined;

  beforeAll(async () => {
    stack = await startDrillsBrowserStack('drills-game-days-ui');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      await page
        ?.screenshot({ path: join(SCREENSHOTS, 'drills-game-days-failed-step.png'), fullPage: true })
        .catch(() => undefined);
    }
    expect(stack.pageProblems.splice(0)).toEqual([]);
  });

  it('lists each game day with its schedule, state, next occurrence and last result', async () => {
    await stack.create('/drills/v1/scenarios', NIGHTLY);
    const nightly = await stack.create<{ id: string; nextOccurrenceAt: string }>('/drills/v1/game-days', {
      name: 'Nightly cart <img src=x onerror=alert(1)>',
      scenario: NIGHTLY.id,
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
    });

    page = await stack.signIn(/^Ada Responder/, '/drills/runs');
    const section = page.locator('section#game-days');
    await section.getByRole('heading', { level: 2, name: 'Game days' }).waitFor();
    const row = section.locator(`tr[data-game-day="${nightly.id}"]`);
    await row.waitFor();
    const cells = (await row.locator('td').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(cells[0]).toBe('Nightly cart <img src=x onerror=alert(1)> nightly-cart v1');
    expect(cells[1]).toBe('staging MEDIUM');
    expect(cells[2]).toBe('30 2 * * * Europe/Berlin');
    expect(cells[3]).toBe('active');
    expect(cells[4]).not.toBe('—');
    // 02:30 in Berlin, whatever the browser's zone: the exact time is in the cell's title.
    expect(await row.locator('td').nth(4).locator('span').getAttribute('title')).toContain(
      `(${nightly.nextOccurrenceAt.replace('.000Z', 'Z')})`,
    );
    expect(
      new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(
        new Date(nightly.nextOccurrenceAt),
      ),
    ).toBe('02:30');
    expect(cells[5]).toBe('not run yet');
    expect(await section.locator('img').count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'drills-game-days.png'), fullPage: true });
  });
});
