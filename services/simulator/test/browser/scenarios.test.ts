import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DrillsBrowserStack, SCREENSHOTS, startDrillsBrowserStack } from './support.js';

/**
 * Adding a scenario on the scenarios page, in a real browser (support.ts: behind the platform's
 * gateway with the dashboard's one sign-in): a responder uploads a YAML file the API
 * refuses and sees each refused field named in words with its line, goes to the line from the
 * keyboard, then pastes a corrected scenario in JSON and saves it from the keyboard; it appears
 * in the list as version 1 by her. A viewer gets no form. Screenshots go to .dev/screenshots/.
 */

/** Two mistakes: a severity that is not ours (line 13) and a latency fault without its latencyMs. */
const INVALID_YAML = `id: cart-slow
name: Cart slow
description: The cart slows down, then its database goes away.
team: storefront
runbook:
  url: https://runbooks.example.com/storefront/cart
  checklist: [Acknowledge within 5 minutes]
timeline:
  - at: 0s
    action: fire
    alert: slow
    name: CartSlow
    severity: urgent
    summary: Cart p99 above 2 s
    service: cart
  - at: 1m
    action: degrade
    service: cart
    fault: latency
  - at: 10m
    action: resolve
    alerts: all
`;

const VALID = {
  id: 'cart-slow',
  name: 'Cart slow',
  description: 'The cart slows down, then its database goes away.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/storefront/cart', checklist: ['Acknowledge within 5 minutes'] },
  timeline: [
    {
      at: '0s',
      action: 'fire',
      alert: 'slow',
      name: 'CartSlow',
      severity: 'medium',
      summary: 'Cart p99 above 2 s',
      service: 'cart',
    },
    { at: '1m', action: 'degrade', service: 'cart', fault: 'latency', latencyMs: 1200 },
    { at: '10m', action: 'resolve', alerts: 'all' },
  ],
};

describe('adding a scenario on the drills scenarios page', () => {
  let stack: DrillsBrowserStack;
  let ada: Page;

  const activeId = (page: Page) =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
    );

  beforeAll(async () => {
    stack = await startDrillsBrowserStack('drills-scenarios-ui');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      await ada
        ?.screenshot({ path: join(SCREENSHOTS, 'drills-scenario-failed-step.png'), fullPage: true })
        .catch(() => undefined);
    }
    expect(stack.pageProblems.splice(0)).toEqual([]);
  });

  it('names each field the API refused in an uploaded YAML file, in words, with its line', async () => {
    ada = await stack.signIn(/^Ada Responder/, '/drills/');
    await ada.getByRole('heading', { level: 2, name: 'Add a scenario' }).waitFor();
    await ada.getByLabel('Read from a file (optional)').setInputFiles({
      name: 'cart-slow.yaml',
      mimeType: 'application/yaml',
      buffer: Buffer.from(INVALID_YAML),
    });
    await ada.locator('#scenario-result', { hasText: 'Read cart-slow.yaml: check it below, then save.' }).waitFor();
    const text = ada.getByLabel('Scenario (YAML or JSON)');
    expect(await text.inputValue()).toBe(INVALID_YAML);

    await ada.getByRole('button', { name: 'Save scenario' }).focus();
    await ada.keyboard.press('Enter');
    const errors = ada.locator('#scenario-errors');
    await errors.getByText('Not saved: 2 fields need correcting.').waitFor();
    const listed = (await errors.locator('li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(listed).toEqual([
      expect.stringMatching(/^step 1 › severity \(line 13\): .*critical.* timeline\.0\.severity Go to line 13$/),
      'step 2 › latencyMs (line 16): is required timeline.1.latencyMs Go to line 16',
    ]);
    // The keyboard is on the list (screen readers read it), the text area is marked invalid.
    expect(await activeId(ada)).toBe('scenario-errors');
    expect(await text.getAttribute('aria-invalid')).toBe('true');
    expect(await ada.locator('table.scenarios tr[data-scenario="cart-slow"]').count()).toBe(0);
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-scenario-invalid.png'), fullPage: true });

    // "Go to line 13", from the keyboard: the caret is on that line of the text area.
    await ada.keyboard.press('Tab');
    await ada.keyboard.press('Enter');
    expect(await activeId(ada)).toBe('scenario-text');
    const selected = await text.evaluate((el) => {
      const area = el as unknown as { value: string; selectionStart: number; selectionEnd: number };
      return area.value.slice(area.selectionStart, area.selectionEnd);
    });
    expect(selected).toBe('    severity: urgent');
  });

  it('saves a pasted JSON scenario from the keyboard: it appears in the list', async () => {
    const text = ada.getByLabel('Scenario (YAML or JSON)');
    await text.focus();
    await ada.keyboard.press('ControlOrMeta+A');
    await ada.keyboard.insertText(JSON.stringify(VALID, null, 2));
    // From the text area, Tab goes past the error list's line links to Save.
    for (let i = 0; i < 4 && (await activeId(ada)) !== 'scenario-submit'; i++) await ada.keyboard.press('Tab');
    expect(await activeId(ada)).toBe('scenario-submit');
    await ada.keyboard.press('Enter');

    await ada
      .locator('#scenario-result', {
        hasText: 'Saved Cart slow (cart-slow) as version 1; it is in the list above.',
      })
      .waitFor();
    expect(await ada.locator('#scenario-errors').isVisible()).toBe(false);
    expect(await text.getAttribute('aria-invalid')).toBeNull();
    const row = ada.locator('table.scenarios tr[data-scenario="cart-slow"]');
    await row.waitFor();
    expect(await row.getAttribute('class')).toBe('just-saved');
    const cells = (await row.locator('td').allInnerTexts()).slice(0, 6).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(cells).toEqual([
      'Cart slow cart-slow The cart slows down, then its database goes away. Runbook',
      'v1 by Ada Responder',
      'storefront',
      'staging',
      'MEDIUM starts at once',
      '3 steps over 10m Degrades cart: +1200 ms latency',
    ]);
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-scenario-saved.png'), fullPage: true });

    // The same content again changes nothing, and says so.
    await ada.getByRole('button', { name: 'Save scenario' }).click();
    await ada
      .locator('#scenario-result', { hasText: 'Unchanged: cart-slow version 1 already has this content.' })
      .waitFor();
  });

  it('offers no form to a viewer', async () => {
    const vic = await stack.signIn(/^Vic Viewer/, '/drills/');
    await vic.locator('table.scenarios tr[data-scenario="cart-slow"]').waitFor();
    expect(await vic.getByRole('heading', { name: 'Add a scenario' }).count()).toBe(0);
    await vic.getByText('Adding a scenario needs the responder role.').waitFor();
  });
});
