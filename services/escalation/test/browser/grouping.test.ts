import { join } from 'node:path';
import { alertmanagerWebhook } from '@micro-oncall/incident-model/fixtures';
import {
  accessibilityProblems,
  type BrowserSession,
  browserSession,
  ensureChromium,
  type LocalAlertmanager,
  launchChromium,
  SCREENSHOTS_DIR as SCREENSHOTS,
  startAlertmanager,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AlertmanagerIntake, startAlertmanagerIntake, eventually as until } from '../intake.js';

/**
 * Grouping of related alerts in the dashboard (issue 14, ADR 0019), in a real browser against
 * webhook-ingest, Kafka, escalation and PostgreSQL: four Alertmanager pod alerts of one group are
 * one row ("4 alerts"); its page lists the four with their pods; a responder splits one out and
 * merges it back from the keyboard, and the list follows; acknowledging the group silences each of
 * its alerts in a real Alertmanager. Screenshots go to .dev/screenshots/.
 */

const PODS = ['checkout-7d9f-a1', 'checkout-7d9f-b2', 'checkout-7d9f-c3', 'checkout-7d9f-d4'];

type Listed = { id: string; number: number; labels: Record<string, string>; group: { leadId: string } | null };

describe('groups of related alerts in the dashboard', () => {
  let intake: AlertmanagerIntake;
  let am: LocalAlertmanager;
  let browser: Browser;
  let viewerToken: string;
  let base: string;
  let ada: Page;
  let leadId: string;
  let splitId: string;
  let splitNumber: number;
  /** Sign-ins, and script errors and CSP violations seen in any page: each test ends with none. */
  let session: BrowserSession;

  async function activeIncidents(): Promise<Listed[]> {
    const res = await fetch(`${base}/v1/incidents?active=true&limit=5000`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Listed[] }).items;
  }

  const rows = (page: Page) => page.locator('table.incidents tbody tr');
  const waitForRows = (page: Page, count: number) =>
    page.waitForFunction((n) => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
      return doc.querySelectorAll('table.incidents tbody tr').length === n;
    }, count);

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    [am, browser] = await Promise.all([
      startAlertmanager({ config: { receivers: [{ name: 'micro-oncall' }] } }),
      launchChromium(),
    ]);
    intake = await startAlertmanagerIntake('grouping-ui', { alertmanagerUrl: am.url });
    base = intake.base;
    viewerToken = await intake.issuer.token({ sub: 'grouping-ui-test', roles: ['viewer'] });
    session = browserSession(browser, { base });

    // One Alertmanager notification: four pods of one deployment crash-looping (one group key).
    const startsAt = new Date(Date.now() - 4 * 60_000).toISOString();
    await intake.send(
      alertmanagerWebhook({
        alerts: PODS.map((pod) => ({
          startsAt,
          labels: { alertname: 'KubePodCrashLooping', service: 'checkout', severity: 'critical', pod },
          annotations: { summary: 'Checkout pods are crash-looping' },
        })),
      }),
    );
    // The same alerts in Alertmanager itself, where acknowledging silences them.
    const inAlertmanager = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        PODS.map((pod) => ({
          startsAt,
          labels: { alertname: 'KubePodCrashLooping', service: 'checkout', severity: 'critical', pod },
        })),
      ),
    });
    expect(inAlertmanager.status).toBe(200);
    // And an unrelated alert, on its own.
    await intake.send(
      alertmanagerWebhook({
        alerts: [
          {
            startsAt,
            labels: { alertname: 'SearchQueueBacklog', service: 'search', severity: 'warning' },
            annotations: { summary: 'Search indexing queue backlog' },
          },
        ],
      }),
    );
    const items = await until('the five alerts, grouped', async () => {
      const all = await activeIncidents();
      return all.length === 5 && all.filter((i) => i.group?.leadId).length >= 4 ? all : undefined;
    });
    const pods = items.filter((i) => i.labels.alertname === 'KubePodCrashLooping');
    leadId = pods[0]!.group!.leadId;
    // Any alert but the lead (the lowest number, which depends on the order partitions delivered them).
    const split = pods.find((i) => i.id !== leadId)!;
    splitId = split.id;
    splitNumber = split.number;
  });

  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await intake?.stop();
    await am?.stop();
  });

  afterEach(() => {
    expect(session.problems.splice(0)).toEqual([]);
  });

  it('shows four pod alerts of one Alertmanager group as one row', async () => {
    ada = await session.signIn('Ada Responder');
    await waitForRows(ada, 2);
    const group = ada.locator(`tr[data-id="${leadId}"]`);
    await expect.poll(() => group.locator('.group-badge').textContent()).toBe('4 alerts');
    expect(await group.locator('a.title-link').textContent()).toBe('Checkout pods are crash-looping');
    // Severity and status in words, not colour alone: the group's worst severity and its state.
    expect(await group.getAttribute('data-severity')).toBe('critical');
    expect(await group.getAttribute('data-status')).toBe('triggered');
    expect(await rows(ada).count()).toBe(2);
    await expect.poll(() => ada.locator('#list-summary').textContent()).toMatch(/^Showing 2 of 2 open incidents/);
    await ada.screenshot({ path: join(SCREENSHOTS, 'grouping-list.png') });
    // Keyboard focus visible on the dashboard's controls; every chip and badge in words.
    expect(await accessibilityProblems(ada)).toEqual([]);
  });

  it('opens the group and lists its four alerts with their pods', async () => {
    await ada.locator(`tr[data-id="${leadId}"] a.title-link`).click();
    await ada.waitForURL(`${base}/incidents/${leadId}`);
    const card = ada.getByRole('region', { name: 'Alerts in this group (4)' });
    await card.waitFor();
    const alertRows = card.locator('tbody tr');
    expect(await alertRows.count()).toBe(4);
    // The labels that tell the alerts apart, pod first; then severity and status in words, and a link.
    expect(await card.locator('thead th').allTextContents()).toEqual([
      '#',
      'Alert',
      'pod',
      'instance',
      'Severity',
      'Status',
      'Link',
      'Group',
    ]);
    expect((await card.locator('tbody td:nth-child(3)').allTextContents()).sort()).toEqual([...PODS].sort());
    expect(await card.locator('tbody td:nth-child(6)').allTextContents()).toEqual(Array(4).fill('triggered'));
    await ada.screenshot({ path: join(SCREENSHOTS, 'grouping-detail.png'), fullPage: true });
    // The incident's page too: focus visible, and severity and status in words.
    expect(await accessibilityProblems(ada)).toEqual([]);
  });

  it('splits one alert out of the group from the keyboard; the list shows it on its own', async () => {
    const button = ada.getByRole('button', { name: `Split #${splitNumber} out of this group` });
    await button.focus();
    await ada.keyboard.press('Enter');
    await ada
      .getByRole('status')
      .filter({ hasText: `#${splitNumber} is split out of the group` })
      .waitFor();
    // The page follows the live feed: three alerts left.
    await ada.getByRole('region', { name: 'Alerts in this group (3)' }).waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'grouping-split.png'), fullPage: true });

    await ada.keyboard.press('Escape');
    await ada.waitForURL(`${base}/`);
    await waitForRows(ada, 3);
    await expect.poll(() => ada.locator(`tr[data-id="${leadId}"] .group-badge`).textContent()).toBe('3 alerts');
    expect(await ada.locator(`tr[data-id="${splitId}"] .group-badge`).count()).toBe(0);
    await ada.screenshot({ path: join(SCREENSHOTS, 'grouping-list-after-split.png') });
  });

  it('merges it back into the group from its own page', async () => {
    await ada.goto(`${base}/incidents/${splitId}`);
    const card = ada.getByRole('region', { name: 'Grouping' });
    await card.waitFor();
    const select = card.getByLabel('Merge this incident into the group of');
    await expect.poll(() => select.locator('option').count()).toBeGreaterThan(1);
    await select.focus();
    await select.selectOption({ value: leadId });
    await ada.keyboard.press('Tab');
    await expect
      .poll(() =>
        ada.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement
              .textContent,
        ),
      )
      .toBe('Merge');
    await ada.keyboard.press('Enter');
    await ada.getByRole('region', { name: 'Alerts in this group (4)' }).waitFor();

    await ada.goto(`${base}/`);
    await waitForRows(ada, 2);
    await expect.poll(() => ada.locator(`tr[data-id="${leadId}"] .group-badge`).textContent()).toBe('4 alerts');
  });

  it('acknowledges the group in one action: a silence for each of its alerts in Alertmanager', async () => {
    await ada.goto(`${base}/incidents/${leadId}`);
    const card = ada.getByRole('region', { name: 'Alerts in this group (4)' });
    await card.waitFor();
    const ack = card.getByRole('button', { name: 'Acknowledge all 4 alerts' });
    await ack.focus();
    await ada.keyboard.press('Enter');
    await card.getByRole('status').filter({ hasText: 'Acknowledge on 4 incidents: 4 done' }).waitFor();
    const silences = await until('four silences in Alertmanager', async () => {
      const res = await fetch(
        `${am.url}/api/v2/silences?filter=${encodeURIComponent('alertname="KubePodCrashLooping"')}`,
      );
      const all = (await res.json()) as {
        status: { state: string };
        comment: string;
        matchers: { name: string; value: string }[];
      }[];
      const active = all.filter((s) => s.status.state === 'active');
      return active.length === 4 ? active : undefined;
    });
    // One per alert, each matching its own pod, saying who acknowledged.
    expect(silences.map((s) => s.matchers.find((m) => m.name === 'pod')?.value).sort()).toEqual([...PODS].sort());
    for (const silence of silences) expect(silence.comment).toMatch(/^Acknowledged in micro-oncall by Ada Responder/);
    // Alertmanager says nothing about silences: escalation's own events make the group acknowledged.
    await card.locator('.group-counts').filter({ hasText: '4 acknowledged' }).waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'grouping-acknowledged.png'), fullPage: true });
    await ada.goto(`${base}/`);
    await waitForRows(ada, 2);
    await expect.poll(() => ada.locator(`tr[data-id="${leadId}"]`).getAttribute('data-status')).toBe('acknowledged');
  });
});
