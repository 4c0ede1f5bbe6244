import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseOpsgenie, normalisePagerDuty } from '@micro-oncall/incident-model';
import { opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  type BrowserSession,
  browserSession,
  ensureChromium,
  type FakeOpsgenie,
  type FakePagerDuty,
  launchChromium,
  SCREENSHOTS_DIR as SCREENSHOTS,
  startFakeOpsgenie,
  startFakePagerDuty,
} from '@micro-oncall/test-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation } from '../support.js';

/**
 * Reassigning and escalating by picking from the provider's lists, in a real browser (Debian's
 * Chromium through playwright-core), against escalation alone and fake PagerDuty and Opsgenie APIs.
 * Screenshots go to .dev/screenshots/.
 */

const temporaryDir = temporaryDirectories();

describe('escalation pickers in a browser', () => {
  let esc: TestEscalation;
  let pagerduty: FakePagerDuty;
  let opsgenie: FakeOpsgenie;
  let browser: Browser;
  let page: Page;
  let session: BrowserSession;
  const incident = onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PUIPICK1' }), { receivedAt: new Date().toISOString() }),
  );

  // Opsgenie alerts: one whose team owns a schedule, one whose team owns none (no default is set).
  const opsgenieAlert = (alertId: string, team: string) =>
    onlyEvent(
      normaliseOpsgenie(opsgenieWebhook({ alertId, alias: alertId, teams: [team] }), {
        receivedAt: new Date().toISOString(),
      }),
    );
  const ogOwned = opsgenieAlert('og-ui-oncall-1', 'Checkout');
  const ogUnknown = opsgenieAlert('og-ui-oncall-2', 'checkout-team');

  beforeAll(async () => {
    opsgenie = await startFakeOpsgenie({ apiKey: 'og-picker-key-123' });
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    pagerduty = await startFakePagerDuty({
      token: 'pd-picker-token-1',
      users: [
        { id: 'PADA001', email: 'ada@example.com', name: 'Ada Lovelace' },
        { id: 'PGRACE1', email: 'grace.hopper@example.com', name: 'Grace Hopper' },
        { id: 'PKATJ01', email: 'katherine.johnson@example.com', name: 'Katherine Johnson' },
        { id: 'PMARGH1', email: 'margaret.hamilton@example.com', name: 'Margaret Hamilton' },
      ],
      incidents: ['PUIPICK1'],
      // The policy the incident fixture names: a schedule at level 1, a person at level 2.
      escalationPolicies: [
        {
          id: 'PUS0KTE',
          name: 'Payments — primary',
          levels: [
            [{ id: 'PSCHPRI', type: 'schedule_reference', summary: 'Checkout primary' }],
            [{ id: 'PGRACE1', type: 'user_reference', summary: 'Grace Hopper' }],
          ],
        },
      ],
    });
    const tokenFile = join(temporaryDir('mo-pickers-'), 'pd');
    writeFileSync(tokenFile, 'pd-picker-token-1', { mode: 0o600 });
    const keyFile = join(temporaryDir('mo-pickers-'), 'og');
    writeFileSync(keyFile, 'og-picker-key-123', { mode: 0o600 });
    [esc, browser] = await Promise.all([
      startTestEscalation('pickers-ui', () => ({
        OIDC_CLIENT_ID: 'escalation-test',
        SESSION_SECRET: randomBytes(32).toString('hex'),
        PAGERDUTY_API_URL: pagerduty.url,
        PAGERDUTY_API_TOKEN_FILE: tokenFile,
        PAGERDUTY_FROM_EMAIL: 'ada@example.com',
        OPSGENIE_API_URL: opsgenie.url,
        OPSGENIE_API_KEY_FILE: keyFile,
        PROVIDER_TIMEOUT_MS: '1000',
      })),
      launchChromium(),
    ]);
    await esc.publish([incident, ogOwned, ogUnknown]);
    const seed = await esc.issuer.token({ sub: 'seed', roles: ['viewer'] });
    for (const e of [incident, ogOwned, ogUnknown]) await esc.applied(e.incidentId, seed);
    session = browserSession(browser, { base: esc.service.url });
    page = await session.signIn('Ada Responder');
    await page.goto(`${esc.service.url}/incidents/${incident.incidentId}`);
    await page.getByRole('heading', { name: 'Actions' }).waitFor();
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await esc?.stop();
    await pagerduty?.stop();
    await opsgenie?.stop();
  });

  it("shows who is on call now for the incident's escalation policy", async () => {
    const card = page.getByRole('region', { name: 'On call now' });
    await expect
      .poll(() => card.locator('li').allTextContents())
      .toEqual([
        expect.stringMatching(/^Level 1 Ada Lovelace \(Checkout primary, until .+\)$/),
        'Level 2 Grace Hopper',
      ]);
    expect(await card.textContent()).toContain('PagerDuty escalation policy Payments — primary');
  });

  it('reassigns by typing part of a name and picking the user from the list with the keyboard', async () => {
    const reassign = page.getByRole('form', { name: 'Reassign' });
    const box = reassign.getByRole('combobox', { name: 'PagerDuty user' });
    await box.click();
    await box.pressSequentially('er', { delay: 40 });
    const list = reassign.getByRole('listbox');
    await expect
      .poll(() => list.locator('.picker-name').allTextContents())
      .toEqual(['Grace Hopper', 'Katherine Johnson']);
    // PagerDuty searched for what was typed (debounced: not once per keystroke).
    const searches = pagerduty.requests.filter((r) => r.path === '/users');
    expect(searches.map((r) => r.query.query ?? '')).not.toContain('e');
    expect(searches.at(-1)?.query.query).toBe('er');

    await page.keyboard.press('ArrowDown');
    await expect.poll(() => list.getByRole('option', { selected: true }).textContent()).toContain('Katherine Johnson');
    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-picker-reassign.png'), fullPage: true });
    await page.keyboard.press('Enter');
    await expect.poll(() => box.inputValue()).toBe('Katherine Johnson');
    await expect
      .poll(() => reassign.locator('.picker-note').textContent())
      .toBe('Chosen: Katherine Johnson <katherine.johnson@example.com> (PagerDuty id PKATJ01)');
    expect(await list.isHidden()).toBe(true);

    await reassign.getByRole('button', { name: 'Reassign' }).click();
    await expect
      .poll(() => page.locator('.card.actions .action-message').textContent())
      .toContain('Reassign sent to PagerDuty: PagerDuty reassigned incident PUIPICK1 to user PKATJ01');
    expect(pagerduty.incident('PUIPICK1')?.assignments).toEqual([
      { assignee: { id: 'PKATJ01', type: 'user_reference' } },
    ]);
    const put = pagerduty.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual({
      incident: { type: 'incident_reference', assignments: [{ assignee: { id: 'PKATJ01', type: 'user_reference' } }] },
    });
    // The form is ready for the next reassignment.
    expect(await box.inputValue()).toBe('');
    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-picker-reassigned.png'), fullPage: true });
    expect(session.problems).toEqual([]);
  });

  it('falls back to a typed id, saying why, when PagerDuty cannot list the escalation policies', async () => {
    pagerduty.failNext({ status: 401 });
    const escalate = page.getByRole('form', { name: 'Escalate' });
    const box = escalate.getByRole('combobox', { name: 'or escalation policy' });
    await box.click();
    await expect
      .poll(() => escalate.locator('.picker-note').textContent())
      .toBe(
        'PagerDuty escalation policies cannot be listed here (PagerDuty refused to list its escalation policies (401): the PagerDuty API credential was not accepted or lacks access; check PAGERDUTY_API_TOKEN). Type the PagerDuty id instead.',
      );
    await box.fill('PPLATEP');
    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-picker-fallback.png'), fullPage: true });
    await escalate.getByRole('button', { name: 'Escalate' }).click();
    await expect
      .poll(() => page.locator('.card.actions .action-message').textContent())
      .toContain('PagerDuty delegated incident PUIPICK1 to escalation policy PPLATEP');
    expect(pagerduty.incident('PUIPICK1')?.escalation_policy.id).toBe('PPLATEP');
    expect(session.problems).toEqual([]);
  });

  it("shows who is on call in the Opsgenie schedule of the alert's team, and says plainly when it cannot be known", async () => {
    const base = esc.service.url;
    await page.goto(`${base}/incidents/${ogOwned.incidentId}`);
    const card = page.getByRole('region', { name: 'On call now' });
    await expect.poll(() => card.locator('li').allTextContents()).toEqual(['Grace Hopper (Checkout on-call)']);
    expect(await card.textContent()).toContain(
      'Opsgenie schedule Checkout on-call (owned by Checkout, a team of this alert)',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-oncall-opsgenie.png'), fullPage: true });

    await page.goto(`${base}/incidents/${ogUnknown.incidentId}`);
    await expect
      .poll(() => page.getByRole('region', { name: 'On call now' }).locator('p').textContent())
      .toBe(
        'No enabled Opsgenie schedule is owned by checkout-team and no default schedule is configured (OPSGENIE_ONCALL_SCHEDULE): who is on call for it cannot be known here.',
      );
    await page.screenshot({ path: join(SCREENSHOTS, 'escalation-oncall-opsgenie-unknown.png'), fullPage: true });
    expect(session.problems).toEqual([]);
  });
});
