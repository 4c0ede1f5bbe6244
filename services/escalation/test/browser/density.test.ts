import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentEventEnvelope, incidentIdFor, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import {
  alertmanagerWebhook,
  type PagerDutyPriorityName,
  pagerDutyIncidentEvent,
} from '@micro-oncall/incident-model/fixtures';
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
  testKafka,
  uniqueNamespace,
  DESKTOP_VIEWPORT as VIEWPORT,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../../../../scripts/lib/platform.js';

/**
 * The incident list during an alert storm (issue 14), in a real browser against webhook-ingest,
 * Kafka, escalation and PostgreSQL: 200 incidents, the compact density showing at least 15 of
 * them at 1440×900, remembered for the user across a reload (and not for another user), and the
 * columns a responder scans: number, assigned to, acknowledged by, escalation level, provider.
 * Screenshots go to .dev/screenshots/.
 */

const CATALOGUE = new URL('../../config/services.example.yml', import.meta.url).pathname;
const STORM = 200;

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

type Listed = { id: string; number: number; provider: string; providerUrl: string | null };

/** Rows of the list entirely inside the window, below the sticky header, and the tallest one's height. */
function visibleRows(page: Page) {
  return page.evaluate(() => {
    type Box = { top: number; bottom: number; height: number };
    const doc = (
      globalThis as unknown as {
        document: { querySelector(s: string): { getBoundingClientRect(): Box } | null } & {
          querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): Box }>;
        };
        innerHeight: number;
      }
    ).document;
    const innerHeight = (globalThis as unknown as { innerHeight: number }).innerHeight;
    const headerBottom = doc.querySelector('table.incidents thead')?.getBoundingClientRect().bottom ?? 0;
    const boxes = Array.from(doc.querySelectorAll('table.incidents tbody tr'), (tr) => tr.getBoundingClientRect());
    const inView = boxes.filter((b) => b.top >= headerBottom - 0.5 && b.bottom <= innerHeight + 0.5);
    return { count: inView.length, tallest: Math.max(0, ...inView.map((b) => b.height)) };
  });
}

/** The page's full width: more than the window means sideways scrolling. */
const pageWidth = (page: Page) =>
  page.evaluate(
    () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
        .scrollWidth,
  );

describe('the incident list during an alert storm', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let pagerDuty: FakePagerDuty;
  let browser: Browser;
  let webhookSecret: string;
  let alertmanagerAuth: string;
  let viewerToken: string;
  let secretsDir: string;
  let base: string;
  let ada: Page;
  let total: number;
  /** Sign-ins, and script errors and CSP violations seen in any page: each test ends with none. */
  let session: BrowserSession;

  const acknowledgedTitle = 'Card network timeouts above 1% in eu-west-1';
  const acknowledgedId = incidentIdFor('pagerduty', 'PSTORMACK');

  async function send(provider: 'pagerduty' | 'alertmanager', payload: unknown) {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> =
      provider === 'pagerduty'
        ? { 'x-pagerduty-signature': `v1=${createHmac('sha256', webhookSecret).update(body).digest('hex')}` }
        : { authorization: `Basic ${Buffer.from(alertmanagerAuth).toString('base64')}` };
    const res = await fetch(`${platform.service('webhook-ingest').url}/v1/webhooks/${provider}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(res.status).toBe(202);
  }

  async function activeIncidents(): Promise<Listed[]> {
    const res = await fetch(`${platform.service('escalation').url}/v1/incidents?active=true&limit=5000`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Listed[] }).items;
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const waitForRows = (page: Page, count: number) =>
    page.waitForFunction((n) => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
      return doc.querySelectorAll('table.incidents tbody tr').length === n;
    }, count);

  const densityButton = (page: Page, name: 'Comfortable' | 'Compact') =>
    page.getByRole('group', { name: 'Row density' }).getByRole('button', { name });

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    const stack = inject('stack');
    const namespace = uniqueNamespace('storm');
    secretsDir = mkdtempSync(join(tmpdir(), 'mo-storm-'));
    const secretFile = (name: string, content: string) => {
      const path = join(secretsDir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    webhookSecret = randomBytes(24).toString('hex');
    alertmanagerAuth = `alertmanager:${randomBytes(24).toString('hex')}`;
    const apiToken = randomBytes(20).toString('hex');
    const [databaseUrl, startedIssuer, fake, startedBrowser] = await Promise.all([
      createTestDatabase(stack.databaseUrl, 'storm'),
      startLocalIssuer(),
      startFakePagerDuty({ token: apiToken, users: [{ id: 'PADA001', email: 'ada@example.com' }], incidents: [] }),
      launchChromium(),
    ]);
    issuer = startedIssuer;
    pagerDuty = fake;
    browser = startedBrowser;
    platform = await startPlatform({
      only: ['webhook-ingest', 'escalation'],
      databaseUrl,
      kafkaBrokers: stack.kafkaBrokers,
      namespace,
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: {
        'pagerduty-webhook-secrets': secretFile('pagerduty', webhookSecret),
        'opsgenie-webhook-token': secretFile('opsgenie', randomBytes(24).toString('hex')),
        'alertmanager-webhook-basic-auth': secretFile('alertmanager', alertmanagerAuth),
        'pagerduty-api-token': secretFile('pagerduty-api', apiToken),
      },
      urls: { 'pagerduty-api': pagerDuty.url },
      files: { 'service-catalogue': CATALOGUE },
      logLevel: 'error',
      nodeEnv: 'test',
    });
    base = platform.service('escalation').url;
    viewerToken = await issuer.token({ sub: 'storm-test', roles: ['viewer'] });
    session = browserSession(browser, { base });

    // The storm: 200 PagerDuty incidents as webhook-ingest publishes them (the topic, in bulk).
    const services = ['payments-api', 'checkout', 'search', 'inventory'];
    const priorities: PagerDutyPriorityName[] = ['P1', 'P2', 'P3', 'P4', 'P5'];
    const messages = Array.from({ length: STORM }, (_, n) => {
      const result = normalisePagerDuty(
        pagerDutyIncidentEvent({
          incidentId: `PSTORM${n}`,
          title: `Storm incident ${String(n).padStart(3, '0')} on ${services[n % services.length]}`,
          serviceName: services[n % services.length],
          priority: priorities[n % priorities.length]!,
          occurredAt: minutesAgo(n % 90),
          createdAt: minutesAgo(n % 90),
        }),
        { receivedAt: new Date().toISOString() },
      );
      if (result.outcome !== 'events') throw new Error('fixture did not normalise');
      const event = result.events[0]!;
      return {
        key: event.incidentId,
        value: JSON.stringify(incidentEventEnvelope(event, { source: '/webhook-ingest/pagerduty' })),
      };
    });
    const kafka = testKafka(stack.kafkaBrokers);
    for (let i = 0; i < messages.length; i += 100)
      await kafka.publish(topicName('incident-events', namespace), messages.slice(i, i + 100));

    // One incident through the real intake path: triggered, escalated to level 2 (Lin), acknowledged by Ada Lovelace.
    const lin = { id: 'PLEVEL2', name: 'Lin Level-Two' };
    const created = minutesAgo(12);
    const step = (eventType: string, occurredAt: string, extra: Record<string, unknown> = {}) => {
      const payload = pagerDutyIncidentEvent({
        incidentId: 'PSTORMACK',
        eventType,
        title: acknowledgedTitle,
        serviceName: 'payments-api',
        priority: 'P1',
        assignee: lin,
        createdAt: created,
        occurredAt,
      });
      Object.assign(payload.event.data, extra);
      return payload;
    };
    await send('pagerduty', step('incident.triggered', created));
    await send('pagerduty', step('incident.escalated', minutesAgo(8), { escalation_level: 2 }));
    await send('pagerduty', step('incident.acknowledged', minutesAgo(6)));
    // And an Alertmanager alert: Alertmanager has no assignment, acknowledgement or escalation level.
    await send(
      'alertmanager',
      alertmanagerWebhook({
        alerts: [{ labels: { alertname: 'StormQueueBacklog', service: 'checkout', severity: 'warning' } }],
      }),
    );

    total = await until('the storm', async () => {
      const items = await activeIncidents();
      const ack = items.find((i) => i.id === acknowledgedId);
      return items.length >= STORM + 2 && ack ? items.length : undefined;
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

  it('switches to compact rows from the keyboard and shows at least 15 incidents at 1440×900', async () => {
    ada = await session.signIn('Ada Responder');
    await waitForRows(ada, total);
    // Comfortable until the user chooses otherwise: a few rows only.
    expect(await densityButton(ada, 'Comfortable').getAttribute('aria-pressed')).toBe('true');
    expect(await densityButton(ada, 'Compact').getAttribute('aria-pressed')).toBe('false');
    const comfortable = await visibleRows(ada);
    expect(await pageWidth(ada), 'no sideways scrolling').toBeLessThanOrEqual(VIEWPORT.width);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-storm-comfortable.png') });

    await densityButton(ada, 'Compact').focus();
    await ada.keyboard.press('Enter');
    expect(await densityButton(ada, 'Compact').getAttribute('aria-pressed')).toBe('true');
    expect(await densityButton(ada, 'Comfortable').getAttribute('aria-pressed')).toBe('false');
    const compact = await visibleRows(ada);
    expect(compact.count).toBeGreaterThanOrEqual(15);
    expect(compact.count).toBeGreaterThan(comfortable.count * 2);
    expect(compact.tallest).toBeLessThanOrEqual(36);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-storm-compact.png') });
    expect(await pageWidth(ada)).toBeLessThanOrEqual(VIEWPORT.width);

    // On a 1280×800 laptop too: no sideways scrolling, and still a storm's worth of rows.
    await ada.setViewportSize({ width: 1280, height: 800 });
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-storm-compact-1280.png') });
    expect(await pageWidth(ada)).toBeLessThanOrEqual(1280);
    const laptop = await visibleRows(ada);
    expect(laptop.count).toBeGreaterThanOrEqual(10);
    expect(laptop.tallest).toBeLessThanOrEqual(36);
    await densityButton(ada, 'Comfortable').click();
    expect(await pageWidth(ada)).toBeLessThanOrEqual(1280);
    await densityButton(ada, 'Compact').click();
    await ada.setViewportSize(VIEWPORT);
  });

  it('remembers compact for Ada after a reload, and not for another user in the same browser', async () => {
    await ada.reload();
    await waitForRows(ada, total);
    expect(await densityButton(ada, 'Compact').getAttribute('aria-pressed')).toBe('true');
    expect((await visibleRows(ada)).count).toBeGreaterThanOrEqual(15);

    // Kept under Ada's subject, so whoever else signs in on this browser keeps their own choice.
    const stored = await ada.evaluate(() => {
      const storage = (
        globalThis as unknown as {
          localStorage: { length: number; key(n: number): string | null; getItem(k: string): string | null };
        }
      ).localStorage;
      return Object.fromEntries(
        Array.from({ length: storage.length }, (_, n) => storage.key(n)!).map((k) => [k, storage.getItem(k)]),
      );
    });
    expect(stored).toEqual({ 'micro-oncall:escalation:list-density:dev-responder': 'compact' });
    // Vic has chosen nothing: comfortable.
    const other = await session.signIn('Vic Viewer');
    await waitForRows(other, total);
    expect(await densityButton(other, 'Comfortable').getAttribute('aria-pressed')).toBe('true');
    // Space works as well as Enter.
    await densityButton(other, 'Compact').focus();
    await other.keyboard.press('Space');
    expect(await densityButton(other, 'Compact').getAttribute('aria-pressed')).toBe('true');
  });

  it('shows the number, who has it, who acknowledged it, its level and the provider link', async () => {
    const active = await activeIncidents();
    const listed = active.find((i) => i.id === acknowledgedId)!;
    const alertmanagerId = active.find((i) => i.provider === 'alertmanager')!.id;
    const row = ada.locator(`tr[data-id="${acknowledgedId}"]`);
    await row.scrollIntoViewIfNeeded();
    expect(await row.locator('.c-number').textContent()).toBe(`#${listed.number}`);
    expect(await row.locator('a.title-link').textContent()).toBe(acknowledgedTitle);
    expect(await row.locator('.c-assigned').textContent()).toBe('Lin Level-Two');
    expect(await row.locator('.c-acked').textContent()).toBe('Ada Lovelace');
    expect(await row.locator('.c-level').textContent()).toBe('2');
    expect(await row.locator('.c-level .handling').getAttribute('title')).toBe(
      'Escalation level 2 · escalation policy Payments — primary (PagerDuty)',
    );
    expect(await row.locator('.c-status').textContent()).toBe('acknowledged');
    const link = row.locator('.c-provider a');
    expect(await link.textContent()).toBe('PagerDuty');
    expect(await link.getAttribute('href')).toBe(listed.providerUrl);

    // What Alertmanager does not report is a dash that says so, never a made-up value.
    const alert = ada.locator(`tr[data-id="${alertmanagerId}"]`);
    await alert.scrollIntoViewIfNeeded();
    for (const column of ['.c-assigned', '.c-acked', '.c-level']) {
      expect(await alert.locator(column).textContent()).toBe('—not reported by Alertmanager');
    }
    expect(await alert.locator('.c-assigned .not-reported').getAttribute('title')).toBe('Not reported by Alertmanager');
    expect(await alert.locator('.c-provider').textContent()).toBe('Alertmanager');

    // The acknowledged critical incident is near the top of the severity-sorted list.
    await ada.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await row.hover();
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-storm-columns.png') });
  });
});
