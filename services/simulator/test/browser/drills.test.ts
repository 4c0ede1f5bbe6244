import { join } from 'node:path';
import { accessibilityProblems } from '@micro-oncall/test-kit';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { checkoutScenario, type DrillsBrowserStack, SCREENSHOTS, startDrillsBrowserStack } from './support.js';

/**
 * The simulator's pages in a real browser (Debian's Chromium through playwright-core), as part
 * of the one product: escalation and the simulator behind the platform's gateway, a fake
 * PagerDuty Events API as the drills' target, one sign-in on the dashboard, then the Drills
 * section of the shared navigation. A responder sees the built-in scenarios, starts a staging
 * run and aborts one from the keyboard; a high-severity proposal waits for an approver: an admin
 * signed in with a password only is refused with the API's words, signed in again with a second
 * factor (the development sign-in's choice, as an identity provider's MFA sign-in) approves it and
 * the run starts; approving one's own proposal is refused all the same. The admin engages the
 * kill switch, every page shows it and the running drills are aborted and resolved at PagerDuty;
 * re-armed, drills may start again. Screenshots go to .dev/screenshots/.
 */

const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Checkout errors';
const HOSTILE_ID = 'checkout-errors';

describe('drills pages in a browser, one sign-in with the dashboard', () => {
  let stack: DrillsBrowserStack;
  let ada: Page;
  let alex: Page;
  const signIn = (who: RegExp, path?: string) => stack.signIn(who, path);

  const runRow = (page: Page, scenario: string, state: string) =>
    page.locator(`table.runs tr[data-state="${state}"]`, { hasText: scenario });

  beforeAll(async () => {
    stack = await startDrillsBrowserStack('drills-ui');
    // A team's own scenario below the approval threshold (it starts at once), whose name is
    // hostile text: the pages must show it as text.
    await stack.create(
      '/drills/v1/scenarios',
      checkoutScenario(HOSTILE_ID, HOSTILE_NAME, ['Acknowledge the incident']),
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    // What the pages showed when a step failed.
    if (task.result?.state === 'fail') {
      await ada
        ?.screenshot({ path: join(SCREENSHOTS, 'drills-failed-step.png'), fullPage: true })
        .catch(() => undefined);
      await alex
        ?.screenshot({ path: join(SCREENSHOTS, 'drills-failed-step-admin.png'), fullPage: true })
        .catch(() => undefined);
    }
    expect(stack.pageProblems.splice(0)).toEqual([]);
  });

  it('signs a responder in once on the dashboard and opens Drills from the shared navigation: the scenarios', async () => {
    ada = await signIn(/^Ada Responder/);
    await ada.locator('#who').getByText('Ada Responder').waitFor();
    const nav = ada.getByRole('navigation', { name: 'Sections' });
    await nav.getByRole('link', { name: 'Drills' }).click();
    await ada.waitForURL(`${stack.platform.url}/drills/`);
    await ada.getByRole('heading', { level: 1, name: 'Scenarios' }).waitFor();
    // The product's sections, the same on every page; Drills is this one.
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Incidents', 'Status', 'Apps', 'Drills']);
    expect(await nav.getByRole('link', { name: 'Drills' }).getAttribute('aria-current')).toBe('page');

    // The built-ins, each with its version, team, target environment and highest severity.
    const row = (id: string) => ada.locator(`table.scenarios tr[data-scenario="${id}"]`);
    await row('payments-latency').waitFor();
    const cells = async (id: string) =>
      (await row(id).locator('td').allInnerTexts()).slice(1, 5).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(await cells('payments-latency')).toEqual([
      'v1 built-in',
      'payments',
      'staging',
      'CRITICAL needs an approver',
    ]);
    expect(await cells('regional-partial-outage')).toEqual([
      'v1 built-in',
      'platform',
      'staging',
      'HIGH needs an approver',
    ]);
    expect(await cells('database-failover')).toEqual(['v1 built-in', 'data', 'staging', 'CRITICAL needs an approver']);
    expect(await cells(HOSTILE_ID)).toEqual(['v1 by Alex Admin', 'storefront', 'staging', 'MEDIUM starts at once']);

    // Hostile text stays text.
    expect(await row(HOSTILE_ID).locator('.scenario-name').textContent()).toBe(HOSTILE_NAME);
    expect(await ada.locator('table.scenarios img').count()).toBe(0);
    expect(await ada.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(stack.signIns()).toBe(1);
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-scenarios.png'), fullPage: true });
    // Keyboard focus visible on the drills page's controls; every chip and badge in words.
    expect(await accessibilityProblems(ada)).toEqual([]);
  });

  it('starts a staging run (the default) and lists it as running with its countdown to expiry', async () => {
    await ada.getByRole('link', { name: `Start a run of ${HOSTILE_NAME}` }).click();
    await ada.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    expect(await ada.getByLabel('Scenario').inputValue()).toBe(HOSTILE_ID);
    expect(await ada.getByRole('radio', { name: 'Staging' }).isChecked()).toBe(true);
    // Production is marked as such, and off in this deployment.
    expect(await ada.getByRole('radio', { name: 'PRODUCTION' }).isDisabled()).toBe(true);
    expect(await ada.locator('#start-env-production-hint').textContent()).toContain(
      'Production drills are off in this deployment.',
    );
    expect(await ada.locator('#start-plan').textContent()).toBe(
      'Alerts go to PagerDuty Events (staging). It starts at once.',
    );
    await ada.getByRole('button', { name: 'Start run' }).click();
    await ada.locator('#start-result', { hasText: `${HOSTILE_NAME} is running in staging.` }).waitFor();
    const running = runRow(ada, HOSTILE_NAME, 'running');
    await running.waitFor();
    expect(await running.locator('.env').textContent()).toBe('staging');
    expect(await running.locator('.state').textContent()).toBe('running');
    expect(await running.locator('.countdown').textContent()).toMatch(/^in (29|30)m$/);
    expect(await ada.locator('table.runs img').count()).toBe(0);
    await until('the trigger at PagerDuty', async () => (stack.pagerduty.alerts().length === 1 ? true : undefined));
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-run-started.png'), fullPage: true });
  });

  it('aborts a run from the keyboard, with a reason', async () => {
    // A second run of the same scenario, aborted without the mouse.
    await ada.getByRole('button', { name: 'Start run' }).click();
    await until('two running runs', async () =>
      (await runRow(ada, HOSTILE_NAME, 'running').count()) === 2 ? true : undefined,
    );
    const newest = runRow(ada, HOSTILE_NAME, 'running').first();
    const runId = await newest.getAttribute('data-run');
    await newest.getByRole('button', { name: /^Abort the run of/ }).focus();
    await ada.keyboard.press('Enter');
    // Focus moved to the reason; Enter submits the form.
    await ada.keyboard.type('practised enough for today');
    await ada.keyboard.press('Enter');
    const aborted = ada.locator(`table.runs tr[data-run="${runId}"][data-state="aborted"]`);
    await aborted.waitFor();
    expect(await aborted.locator('.outcome').textContent()).toBe(
      'aborted: practised enough for today (by Ada Responder)',
    );
    expect(await aborted.locator('.result').textContent()).toBe('Aborted: everything it fired is being resolved.');
    // The keyboard is still with that run: on what the API answered.
    expect(
      await ada.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
      ),
    ).toBe(`abort-result-${runId}`);
  });

  it('puts a high-severity proposal in the approvals inbox; an approval without MFA is refused with the API’s words', async () => {
    await ada.getByLabel('Scenario').selectOption('payments-latency');
    expect(await ada.locator('#start-plan').textContent()).toBe(
      'Alerts go to PagerDuty Events (staging). It needs an approver before anything is fired: it fires critical alerts (approval is needed from high).',
    );
    await ada.getByRole('button', { name: 'Start run' }).click();
    await ada.locator('#start-result', { hasText: 'Payments latency is proposed and waits for an approver' }).waitFor();
    await runRow(ada, 'Payments latency', 'awaiting_approval').waitFor();

    // The responder may not approve: the inbox says so instead of offering the buttons.
    await ada.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Approvals' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
    const mine = ada.locator('article.approval', { hasText: 'Payments latency' });
    await mine.waitFor();
    expect(await mine.locator('.why-not').textContent()).toBe(
      'Approving needs the approver role; you are signed in with: responder.',
    );
    expect(await mine.getByRole('button').count()).toBe(0);

    alex = await signIn(/^Alex Admin/, '/drills/approvals');
    const proposal = alex.locator('article.approval', { hasText: 'Payments latency' });
    await proposal.waitFor();
    expect(await proposal.locator('dd').allTextContents()).toContain(
      'it fires critical alerts (approval is needed from high)',
    );
    await proposal.getByRole('button', { name: 'Approve and start Payments latency' }).click();
    const refusal = proposal.locator('.result-error');
    await refusal.waitFor();
    // The development sign-in without a second factor is a password sign-in (amr pwd).
    expect(await refusal.textContent()).toMatch(
      /^Refused: approving needs a multi-factor sign-in: the token has amr pwd; accepted: amr with one of .*otp.*Sign in again with a second factor/,
    );
    // Still waiting: nothing was fired.
    expect(await proposal.getAttribute('data-state')).toBe('awaiting_approval');
    expect(stack.pagerduty.alerts().filter((a) => a.summary.includes('Card authorisation'))).toEqual([]);
    await alex.screenshot({ path: join(SCREENSHOTS, 'drills-approval-refused.png'), fullPage: true });
  });

  it('approves it after signing in again with a second factor: the run starts and fires', async () => {
    await stack.signInAgain(alex, /^Alex Admin/, '/drills/approvals', { secondFactor: true });
    const proposal = alex.locator('article.approval', { hasText: 'Payments latency' });
    await proposal.getByRole('button', { name: 'Approve and start Payments latency' }).click();
    const approved = proposal.locator('.result-ok');
    await approved.waitFor();
    expect(await approved.textContent()).toBe('Approved: Payments latency is running.');
    expect(await proposal.getAttribute('data-state')).toBe('running');
    await alex.screenshot({ path: join(SCREENSHOTS, 'drills-approval-approved.png'), fullPage: true });

    // The requester sees it running, and its first alert reaches PagerDuty.
    await ada.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Runs' }).click();
    const running = runRow(ada, 'Payments latency', 'running');
    await running.waitFor({ timeout: 15_000 });
    expect(await running.locator('.state').textContent()).toBe('running');
    await until('the approved drill’s trigger at PagerDuty', async () =>
      stack.pagerduty
        .alerts()
        .some(
          (a) =>
            a.summary === '[DRILL] Card authorisation p99 latency above 2 s for 5 minutes' && a.status === 'triggered',
        )
        ? true
        : undefined,
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-approved-run-running.png'), fullPage: true });
  });

  it('refuses an approval of one’s own proposal, second factor or not', async () => {
    await alex.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Runs' }).click();
    await alex.getByRole('heading', { level: 1, name: 'Runs' }).waitFor();
    await alex.getByLabel('Scenario').selectOption('regional-partial-outage');
    await alex.getByRole('button', { name: 'Start run' }).click();
    await alex
      .locator('#start-result', { hasText: 'Regional partial outage is proposed and waits for an approver' })
      .waitFor();

    await alex.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Approvals' }).click();
    const own = alex.locator('article.approval', { hasText: 'Regional partial outage' });
    await own.waitFor();
    expect(await own.locator('.why-not').textContent()).toBe('You proposed this run: someone else must approve it.');
    await own.getByRole('button', { name: 'Approve and start Regional partial outage' }).click();
    const refusal = own.locator('.result-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe(
      'Refused: you proposed this run: a second person with the approver role must approve it',
    );
    expect(await own.getAttribute('data-state')).toBe('awaiting_approval');
    expect(stack.pagerduty.alerts().filter((a) => a.summary.includes('eu-central-1b'))).toEqual([]);
    await alex.screenshot({ path: join(SCREENSHOTS, 'drills-self-approval-refused.png'), fullPage: true });
  });

  it('engages the kill switch: every page shows it, the running drill is aborted and resolved', async () => {
    await ada.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Runs' }).click();
    await runRow(ada, HOSTILE_NAME, 'running').waitFor();
    expect(await ada.locator('#kill-switch-banner').isVisible()).toBe(false);

    await alex.getByRole('navigation', { name: 'Drills' }).getByRole('link', { name: 'Kill switch' }).click();
    await alex.getByRole('heading', { level: 1, name: 'Kill switch' }).waitFor();
    expect(await alex.locator('#kill-switch-state').textContent()).toBe('Armed: drills may run');
    await alex.getByLabel('Reason').fill('real incident INC-123 in progress');
    await alex.getByRole('button', { name: 'Engage the kill switch' }).click();
    await alex.locator('#kill-switch-result', { hasText: /^Engaged\. 3 drills were stopped;/ }).waitFor();
    expect(await alex.locator('#kill-switch-state').textContent()).toBe('ENGAGED: no drill runs');
    const alexBanner = alex.locator('#kill-switch-banner');
    await alexBanner.waitFor();
    expect(await alexBanner.textContent()).toContain(
      'Kill switch engaged: every drill is stopped and no new drill can start.',
    );
    await alex.screenshot({ path: join(SCREENSHOTS, 'drills-kill-switch-engaged.png'), fullPage: true });

    // The responder's page learns it on its next read: the banner, the run aborted with the reason.
    const banner = ada.locator('#kill-switch-banner');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.textContent()).toContain('Engaged by Alex Admin');
    expect(await banner.locator('.kill-banner-reason').textContent()).toBe('real incident INC-123 in progress');
    const stopped = runRow(ada, HOSTILE_NAME, 'aborted').filter({ hasText: 'real incident INC-123' });
    await stopped.first().waitFor({ timeout: 15_000 });
    expect(await runRow(ada, HOSTILE_NAME, 'running').count()).toBe(0);
    expect(await runRow(ada, 'Payments latency', 'aborted').count()).toBe(1);
    expect(await runRow(ada, 'Regional partial outage', 'aborted').count()).toBe(1);
    await until('every drill alert resolved at PagerDuty', async () =>
      stack.pagerduty.alerts().length > 0 && stack.pagerduty.alerts().every((a) => a.status === 'resolved')
        ? true
        : undefined,
    );
    // A new run is refused, in the API's words.
    await ada.locator('#start-kill-note').waitFor();
    await ada.getByLabel('Scenario').selectOption(HOSTILE_ID);
    await ada.getByRole('button', { name: 'Start run' }).click();
    await ada
      .locator('#start-result', {
        hasText: 'Refused: the drill kill switch is engaged: no drill may run until an approver re-arms it',
      })
      .waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'drills-runs-kill-switch.png'), fullPage: true });
  });

  it('re-arms the kill switch: the banner goes and drills may start again', async () => {
    await alex.getByLabel('Reason').fill('INC-123 is resolved');
    await alex.getByRole('button', { name: 'Re-arm' }).click();
    await alex.locator('#kill-switch-result', { hasText: 'Re-armed: drills may run again.' }).waitFor();
    expect(await alex.locator('#kill-switch-state').textContent()).toBe('Armed: drills may run');
    expect(await alex.locator('#kill-switch-banner').isVisible()).toBe(false);
    await alex.screenshot({ path: join(SCREENSHOTS, 'drills-kill-switch-rearmed.png'), fullPage: true });

    await ada.locator('#kill-switch-banner').waitFor({ state: 'hidden', timeout: 15_000 });
    await ada.getByRole('button', { name: 'Start run' }).click();
    await ada.locator('#start-result', { hasText: `${HOSTILE_NAME} is running in staging.` }).waitFor();
    // Ada once, Alex twice (the second time with a second factor).
    expect(stack.signIns()).toBe(3);
  });
});
