import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems, ensureChromium, launchChromium } from '../src/index.js';

/**
 * The browser tests' accessibility check itself, on small pages: it must catch what a keyboard or
 * colour-blind user would miss, and let pass what they would not.
 */
describe('accessibilityProblems', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    browser = await launchChromium();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  const RING = ':focus-visible { outline: none; box-shadow: 0 0 0 3px blue }';

  it('passes a page whose focus shows and whose chips say what they mean', async () => {
    await page.setContent(`<style>${RING} .toggle:has(input:focus-visible) { box-shadow: 0 0 0 3px blue }
      .toggle input:focus-visible { box-shadow: none }</style>
      <a href="#a">Incidents</a> <button>Acknowledge</button>
      <label class="toggle"><input type="checkbox"> Compact</label>
      <span class="chip sev sev-critical">Critical</span> <span class="status">triggered</span>
      <details><summary>1 more</summary><span class="condition"></span></details>`);
    expect(await accessibilityProblems(page)).toEqual([]);
  });

  it('names each element whose focus does not show, and each chip with colour alone', async () => {
    await page.setContent(`<style>:focus-visible { outline: none } a:focus-visible { outline: 2px solid blue }</style>
      <a href="#a">Incidents</a> <button>Acknowledge</button> <input aria-label="Search">
      <span class="chip sev sev-critical"></span> <span class="badge drill">DRILL</span>`);
    expect(await accessibilityProblems(page)).toEqual([
      'keyboard focus is not visible on button "Acknowledge"',
      'keyboard focus is not visible on input "Search"',
      'colour is the only signal of .chip.sev.sev-critical: it has no text',
    ]);
  });

  it('says so when Tab focuses nothing', async () => {
    await page.setContent('<p>Nothing to press here.</p>');
    expect(await accessibilityProblems(page)).toEqual(['Tab focuses nothing in the page']);
  });
});
