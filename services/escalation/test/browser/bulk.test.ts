import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentIdFor } from '@micro-oncall/incident-model';
import { type PagerDutyPriorityName, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  type BrowserSession,
  browserSession,
  createTestDatabase,
  ensureChromium,
  type FakePagerDuty,
  type LocalIssuer,
  launchChromium,
  SCREENSHOTS_DIR as SCREENSHOTS,
  startFakePagerDuty,
  startLocalIssuer,
  uniqueNamespace,
  DESKTOP_VIEWPORT as VIEWPORT,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../../../../scripts/lib/platform.js';

/**
 * Acting on several incidents at once from the list (issue 14), in a real browser against
 * webhook-ingest, Kafka, escalation, PostgreSQL and a fake PagerDuty REST API: a responder selects
 * ten incidents with the keyboard and the mouse and acknowledges them in one action; each is one
 * request to `POST /v1/incidents/:id/actions`, audited on its own, and each incident's result is
 * shown (PagerDuty does not know one of them). Screenshots go to .dev/screenshots/.
 */

const CATALOGUE = new URL('../../config/services.example.yml', import.meta.url).pathname;

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

type AuditItem = {
  incidentId: string | null;
  action: string;
  outcome: string;
  detail: string;
  actor: { subject: string };
};

/**
 * Twelve incidents: ten critical to medium ones at the top of the severity-sorted list (one of
 * them, PBULKGONE, unknown to PagerDuty: acting on it fails there) and two informational ones.
 */
const SEED: [string, string, PagerDutyPriorityName, number][] = [
  ['PBULKGONE', 'Checkout 5xx above 10% (merged away at PagerDuty)', 'P1', 3],
  ['PBULK01', 'Payment authorisation latency above 2s (p99)', 'P1', 4],
  ['PBULK02', 'Card network timeouts in eu-west-1', 'P1', 5],
  ['PBULK03', 'Checkout pods crash-looping', 'P2', 6],
  ['PBULK04', 'Search index replication lag above 15 minutes', 'P2', 7],
  ['PBULK05', 'Inventory sync stalled', 'P2', 8],
  ['PBULK06', 'Ledger reconciliation job failed twice', 'P2', 9],
  ['PBULK07', 'Payments API error budget burning 10x', 'P3', 10],
  ['PBULK08', 'Checkout queue backlog above 5k', 'P3', 11],
  ['PBULK09', 'Search p95 above 800ms', 'P3', 12],
  ['PBULK10', 'Inventory cache hit rate below 60%', 'P5', 40],
  ['PBULK11', 'Nightly export took 3h', 'P5', 45],
];
const SERVICES = ['payments-api', 'checkout', 'search', 'inventory'];
const gone = incidentIdFor('pagerduty', 'PBULKGONE');

describe('bulk actions from the incident list', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let pagerDuty: FakePagerDuty;
  let browser: Browser;
  let webhookSecret: string;
  let adminToken: string;
  let secretsDir: string;
  let base: string;
  let ada: Page;
  /** The rows' incident ids in list order, as Ada's list shows them. */
  let order: string[];
  /** Sign-ins, and script errors and CSP violations seen in any page: each test ends with none. */
  let session: BrowserSession;

  async function sendPagerDuty(payload: unknown) {
    const body = JSON.stringify(payload);
    const res = await fetch(`${platform.service('webhook-ingest').url}/v1/webhooks/pagerduty`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-pagerduty-signature': `v1=${createHmac('sha256', webhookSecret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
  }

  const seedEvent = (n: number, eventType = 'incident.triggered') => {
    const [incidentId, title, priority, age] = SEED[n]!;
    return pagerDutyIncidentEvent({
      incidentId,
      eventType,
      title,
      serviceName: SERVICES[n % SERVICES.length],
      priority,
      createdAt: minutesAgo(age),
      occurredAt: eventType === 'incident.triggered' ? minutesAgo(age) : minutesAgo(0),
    });
  };

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const waitForRows = (page: Page, count: number) =>
    page.waitForFunction((n) => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
      return doc.querySelectorAll('table.incidents tbody tr').length === n;
    }, count);

  const row = (page: Page, id: string) => page.locator(`table.incidents tbody tr[data-id="${id}"]`);
  const box = (page: Page, id: string) => row(page, id).locator('input.row-select');
  const bar = (page: Page) => page.getByRole('region', { name: 'Selected incidents' });
  const selectedCount = (page: Page) => bar(page).locator('.bulk-count').textContent();
  /** Ids of the rows whose checkbox is ticked, in list order. */
  const ticked = async (page: Page) => {
    const ids: string[] = [];
    for (const id of order) if (await box(page, id).isChecked()) ids.push(id);
    return ids;
  };
  const pageWidth = (page: Page) =>
    page.evaluate(
      () =>
        (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
          .scrollWidth,
    );

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    const stack = inject('stack');
    secretsDir = mkdtempSync(join(tmpdir(), 'mo-bulk-'));
    const secretFile = (name: string, content: string) => {
      const path = join(secretsDir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    webhookSecret = randomBytes(24).toString('hex');
    const apiToken = randomBytes(20).toString('hex');
    const [databaseUrl, startedIssuer, fake, startedBrowser] = await Promise.all([
      createTestDatabase(stack.databaseUrl, 'bulk'),
      startLocalIssuer(),
      startFakePagerDuty({
        token: apiToken,
        users: [{ id: 'PADA001', email: 'ada@example.com' }],
        // PagerDuty knows every incident but PBULKGONE.
        incidents: SEED.map(([id]) => id).filter((id) => id !== 'PBULKGONE'),
      }),
      launchChromium(),
    ]);
    issuer = startedIssuer;
    pagerDuty = fake;
    browser = startedBrowser;
    platform = await startPlatform({
      only: ['webhook-ingest', 'escalation'],
      databaseUrl,
      kafkaBrokers: stack.kafkaBrokers,
      namespace: uniqueNamespace('bulk'),
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: {
        'pagerduty-webhook-secrets': secretFile('pagerduty', webhookSecret),
        'opsgenie-webhook-token': secretFile('opsgenie', randomBytes(24).toString('hex')),
        'alertmanager-webhook-basic-auth': secretFile(
          'alertmanager',
          `alertmanager:${randomBytes(24).toString('hex')}`,
        ),
        'pagerduty-api-token': secretFile('pagerduty-api', apiToken),
      },
      urls: { 'pagerduty-api': pagerDuty.url },
      files: { 'service-catalogue': CATALOGUE },
      logLevel: 'error',
      nodeEnv: 'test',
    });
    base = platform.service('escalation').url;
    adminToken = await issuer.token({ sub: 'bulk-test', roles: ['admin'] });
    session = browserSession(browser, { base });

    // Through the real intake path: signed PagerDuty webhooks to webhook-ingest.
    for (let n = 0; n < SEED.length; n += 1) await sendPagerDuty(seedEvent(n));
    await until('the seeded incidents', async () => {
      const { items } = await api<{ items: unknown[] }>('/v1/incidents?active=true&limit=100');
      return items.length === SEED.length ? true : undefined;
    });
  });

  afterAll(async () => {
    await session?.close();
    await browser?.close();
    await platform?.stop();
    await pagerDuty?.stop();
    await issuer?.stop();
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(session.problems.splice(0)).toEqual([]);
  });

  it('lets a responder select ten incidents with the keyboard and the mouse', async () => {
    ada = await session.signIn('Ada Responder');
    await waitForRows(ada, SEED.length);
    order = [];
    for (let n = 0; n < SEED.length; n += 1) {
      order.push((await ada.locator('table.incidents tbody tr').nth(n).getAttribute('data-id'))!);
    }
    // The ten critical to medium incidents come first; the two informational ones last.
    const informational = [incidentIdFor('pagerduty', 'PBULK10'), incidentIdFor('pagerduty', 'PBULK11')];
    expect(order.slice(10).sort()).toEqual(informational.sort());
    expect(order.slice(0, 10)).toContain(gone);
    expect(await bar(ada).isHidden()).toBe(true);

    // The header's checkbox selects every incident shown, and clears them again.
    const selectAll = ada.getByRole('checkbox', { name: 'Select all incidents shown' });
    await selectAll.click();
    expect(await selectedCount(ada)).toBe('12 selected');
    expect(await ticked(ada)).toEqual(order);
    await selectAll.click();
    expect(await bar(ada).isHidden()).toBe(true);
    expect(await ticked(ada)).toEqual([]);

    // Keyboard: j to the first row, x selects it; four more the same way.
    await ada.keyboard.press('j');
    await ada.keyboard.press('x');
    for (let n = 0; n < 4; n += 1) {
      await ada.keyboard.press('j');
      await ada.keyboard.press('x');
    }
    expect(await selectedCount(ada)).toBe('5 selected');
    // x again unselects the focused row, and selects it once more.
    await ada.keyboard.press('x');
    expect(await selectedCount(ada)).toBe('4 selected');
    await ada.keyboard.press('x');
    // Space on a row's checkbox works as checkboxes do; j and x still work from there.
    await box(ada, order[5]!).focus();
    await ada.keyboard.press('Space');
    await ada.keyboard.press('j');
    await ada.keyboard.press('x');
    expect(await selectedCount(ada)).toBe('7 selected');
    // The mouse for the rest: a click, then Shift+click takes the rows between.
    await box(ada, order[7]!).click();
    await box(ada, order[9]!).click({ modifiers: ['Shift'] });
    expect(await selectedCount(ada)).toBe('10 selected');
    expect(await ticked(ada)).toEqual(order.slice(0, 10));
    expect(await selectAll.evaluate((el) => (el as unknown as { indeterminate: boolean }).indeterminate)).toBe(true);
    expect(await row(ada, order[0]!).getAttribute('class')).toContain('selected');
    expect(await row(ada, order[10]!).getAttribute('class')).not.toContain('selected');
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-bulk-selected.png') });

    // A checkbox column fits: no sideways scrolling on a 1280 px laptop either, in both densities.
    expect(await pageWidth(ada)).toBeLessThanOrEqual(VIEWPORT.width);
    await ada.setViewportSize({ width: 1280, height: 800 });
    expect(await pageWidth(ada)).toBeLessThanOrEqual(1280);
    await ada.getByRole('group', { name: 'Row density' }).getByRole('button', { name: 'Compact' }).click();
    expect(await pageWidth(ada)).toBeLessThanOrEqual(1280);
    await ada.setViewportSize(VIEWPORT);
  });

  it('acknowledges the ten in one action, one request each, and shows each incident’s result', async () => {
    const before = pagerDuty.requests.length;
    await bar(ada).getByRole('button', { name: 'Acknowledge' }).click();
    const status = bar(ada).locator('.bulk-status');
    await status.getByText('Acknowledge on 10 incidents: 9 done, 1 failed').waitFor({ timeout: 20_000 });

    // One result per incident, in words: nine from PagerDuty's answer, one with the API's error.
    const results = bar(ada).getByRole('list', { name: 'Result for each incident' }).locator('li');
    expect(await results.count()).toBe(10);
    for (const id of order.slice(0, 10)) {
      const result = bar(ada).locator(`li.bulk-result[data-id="${id}"]`);
      const text = await result.textContent();
      if (id === gone) {
        expect(await result.getAttribute('class')).toContain('result-failed');
        expect(text).toMatch(/Failed: PagerDuty answered 404\b/);
      } else {
        expect(await result.getAttribute('class')).toContain('result-succeeded');
        const providerId = SEED.find(([pid]) => incidentIdFor('pagerduty', pid) === id)![0];
        expect(text).toContain(`Done: PagerDuty acknowledged incident ${providerId}`);
      }
    }
    // What worked leaves the selection; the failure stays selected, to look at or retry.
    expect(await selectedCount(ada)).toBe('1 selected');
    expect(await ticked(ada)).toEqual([gone]);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-bulk-acknowledged.png') });

    // PagerDuty got exactly ten acknowledge requests: nine it carried out, one for the incident it does not know.
    const sent = pagerDuty.requests.slice(before);
    expect(sent).toHaveLength(10);
    for (const request of sent) {
      expect(request).toMatchObject({ method: 'PUT', headers: { from: 'ada@example.com' } });
      expect(request.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    }
    expect(sent.filter((r) => r.status === 200)).toHaveLength(9);
    expect(sent.filter((r) => r.status === 404).map((r) => r.path)).toEqual(['/incidents/PBULKGONE']);
    expect(new Set(sent.map((r) => r.path)).size).toBe(10);

    // Every attempt is in the audit log on its own, as a single action would be.
    const { items } = await api<{ items: AuditItem[] }>('/v1/audit?action=acknowledge&limit=1000');
    const outcomes = new Map<string, string[]>();
    for (const item of items) {
      expect(item.actor.subject).toBe('dev-responder');
      outcomes.set(item.incidentId!, [...(outcomes.get(item.incidentId!) ?? []), item.outcome]);
    }
    expect([...outcomes.keys()].sort()).toEqual(order.slice(0, 10).sort());
    for (const [id, rows] of outcomes) {
      expect(rows.sort()).toEqual(id === gone ? ['failed', 'pending'] : ['pending', 'succeeded']);
    }
  });

  it('keeps rows selected across live updates, and drops an incident resolved off the list', async () => {
    await bar(ada).getByRole('button', { name: 'Clear' }).click();
    expect(await bar(ada).isHidden()).toBe(true);
    const [first, second] = [order[1]!, order[2]!];
    await box(ada, first).click();
    await box(ada, second).click();
    expect(await selectedCount(ada)).toBe('2 selected');

    // PagerDuty reports the acknowledgement: the row changes in place and stays selected.
    await sendPagerDuty(
      seedEvent(
        SEED.findIndex(([pid]) => incidentIdFor('pagerduty', pid) === first),
        'incident.acknowledged',
      ),
    );
    await row(ada, first).locator('.status-acknowledged').waitFor({ timeout: 10_000 });
    expect(await box(ada, first).isChecked()).toBe(true);
    expect(await selectedCount(ada)).toBe('2 selected');

    // PagerDuty reports the other resolved: it leaves the list, and the selection with it.
    await sendPagerDuty(
      seedEvent(
        SEED.findIndex(([pid]) => incidentIdFor('pagerduty', pid) === second),
        'incident.resolved',
      ),
    );
    await row(ada, second).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await selectedCount(ada)).toBe('1 selected');
    order = order.filter((id) => id !== second);
    expect(await ticked(ada)).toEqual([first]);
  });

  it('adds a note to the selected incidents, and resolves them after a second click', async () => {
    const last = order.at(-1)!;
    await box(ada, last).click();
    expect(await selectedCount(ada)).toBe('2 selected');
    const selected = await ticked(ada);
    const providerIds = selected.map((id) => SEED.find(([pid]) => incidentIdFor('pagerduty', pid) === id)![0]);

    let before = pagerDuty.requests.length;
    await bar(ada).getByRole('button', { name: 'Add note…' }).click();
    await ada.getByLabel('Note to add to each selected incident').fill('Upstream DNS outage, tracked in #inc-42');
    await bar(ada).getByRole('button', { name: 'Add note', exact: true }).click();
    await bar(ada).locator('.bulk-status').getByText('Add note on 2 incidents: 2 done').waitFor({ timeout: 20_000 });
    const notes = pagerDuty.requests.slice(before);
    expect(notes.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual(
      providerIds.map((pid) => `POST /incidents/${pid}/notes 201`).sort(),
    );
    for (const r of notes) expect(r.body).toEqual({ note: { content: 'Upstream DNS outage, tracked in #inc-42' } });
    expect(await bar(ada).isVisible()).toBe(true); // the results stay until cleared
    expect(await selectedCount(ada)).toBe('0 selected');
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-bulk-note.png') });

    // Resolving ends incidents for everyone: the first click only arms the button.
    for (const id of selected) await box(ada, id).click();
    before = pagerDuty.requests.length;
    const resolve = bar(ada).getByRole('button', { name: 'Resolve' });
    await resolve.click();
    expect(await resolve.textContent()).toBe('Click again to resolve 2');
    // A change of selection disarms it: the second click must be about what is selected now.
    await box(ada, selected[0]!).click();
    expect(await resolve.textContent()).toBe('Resolve');
    await box(ada, selected[0]!).click();
    await resolve.click();
    expect(await resolve.textContent()).toBe('Click again to resolve 2');
    expect(pagerDuty.requests.length).toBe(before);
    await resolve.click();
    await bar(ada).locator('.bulk-status').getByText('Resolve on 2 incidents: 2 done').waitFor({ timeout: 20_000 });
    const resolved = pagerDuty.requests.slice(before);
    expect(resolved.map((r) => `${r.method} ${r.path} ${r.status}`).sort()).toEqual(
      providerIds.map((pid) => `PUT /incidents/${pid} 200`).sort(),
    );
    for (const r of resolved) expect(r.body).toEqual({ incident: { type: 'incident_reference', status: 'resolved' } });
  });

  it('offers a viewer no checkboxes and no bulk actions', async () => {
    const vic = await session.signIn('Vic Viewer');
    await waitForRows(vic, SEED.length - 1);
    expect(await vic.locator('table.incidents input[type="checkbox"]').count()).toBe(0);
    expect(await vic.locator('table.incidents .c-select').count()).toBe(0);
    await vic.keyboard.press('j');
    await vic.keyboard.press('x');
    expect(await vic.locator('.bulk-bar').count()).toBe(0);
    expect(await vic.locator('table.incidents tr.selected').count()).toBe(0);
    await vic.screenshot({ path: join(SCREENSHOTS, 'dashboard-bulk-viewer.png') });
  });
});
