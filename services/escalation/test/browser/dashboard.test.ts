import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ComponentStatus,
  envelopeFor,
  incidentEventEnvelope,
  incidentIdFor,
  normalisePagerDuty,
  topicName,
} from '@micro-oncall/incident-model';
import { type PagerDutyPriorityName, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  type BrowserSession,
  browserSession,
  createTestDatabase,
  ensureChromium,
  type FakePagerDuty,
  type LocalIssuer,
  launchChromium,
  PAGERDUTY_MEDIA_TYPE,
  SCREENSHOTS_DIR as SCREENSHOTS,
  startFakePagerDuty,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../../../../scripts/lib/platform.js';

/**
 * The responders' dashboard in a real browser (Debian's Chromium through playwright-core)
 * against the whole platform in this process: webhook-ingest, Kafka, escalation, PostgreSQL, the
 * development OIDC issuer and a fake PagerDuty REST API. Screenshots go to .dev/screenshots/.
 */

const CATALOGUE = new URL('../../config/services.example.yml', import.meta.url).pathname;
const HOSTILE_TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>';
const LOAD = 2000;

type ListedIncident = { id: string; severity: string; status: string };

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe('escalation dashboard in a browser', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let pagerDuty: FakePagerDuty;
  let browser: Browser;
  let webhookSecret: string;
  let namespace: string;
  let kafkaBrokers: string;
  let viewerToken: string;
  /** Sign-ins, and script errors and CSP violations seen in any page: each test ends with none. */
  let session: BrowserSession;
  let secretsDir: string;
  let ada: Page;
  let base: string;

  const liveId = incidentIdFor('pagerduty', 'PUILIVE1');
  const liveTitle = 'Payment authorisation latency above 2s (p99)';
  const liveCreatedAt = minutesAgo(3);

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

  async function activeIncidents(): Promise<ListedIncident[]> {
    const res = await fetch(`${platform.service('escalation').url}/v1/incidents?active=true&limit=5000`, {
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: ListedIncident[] }).items;
  }

  async function until<T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs = 20_000,
    intervalMs = 100,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  const rowCount = (page: Page) => page.locator('table.incidents tbody tr').count();
  const waitForRows = (page: Page, count: number) =>
    page.waitForFunction((n) => {
      const body = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } })
        .document;
      return body.querySelectorAll('table.incidents tbody tr').length === n;
    }, count);

  beforeAll(async () => {
    await ensureChromium((line) => console.log(`[browser] ${line}`));
    const stack = inject('stack');
    kafkaBrokers = stack.kafkaBrokers;
    namespace = uniqueNamespace('ui');
    secretsDir = mkdtempSync(join(tmpdir(), 'mo-ui-'));
    const secretFile = (name: string, content: string) => {
      const path = join(secretsDir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    webhookSecret = randomBytes(24).toString('hex');
    const apiToken = randomBytes(20).toString('hex');
    const [databaseUrl, startedIssuer, fake, startedBrowser] = await Promise.all([
      createTestDatabase(stack.databaseUrl, 'ui'),
      startLocalIssuer(),
      startFakePagerDuty({
        token: apiToken,
        users: [
          { id: 'PADA001', email: 'ada@example.com' },
          { id: 'PGRACE1', email: 'grace@example.com' },
        ],
        incidents: ['PUILIVE1', 'PUIBASE1', 'PUIBASE2', 'PUIBASE3', 'PUIBASE4', 'PUIXSS1'],
      }),
      launchChromium(),
    ]);
    issuer = startedIssuer;
    pagerDuty = fake;
    browser = startedBrowser;
    platform = await startPlatform({
      // The dashboard's own path: provider webhooks in, escalation's pages out (the other
      // services' pages have browser tests of their own).
      only: ['webhook-ingest', 'escalation'],
      databaseUrl,
      kafkaBrokers,
      namespace,
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
    viewerToken = await issuer.token({ sub: 'ui-test', roles: ['viewer'] });
    session = browserSession(browser, { base });

    // A few open incidents so the list reads like a real morning.
    const seed: [string, string, string, PagerDutyPriorityName, number][] = [
      ['PUIBASE1', 'Checkout error rate above 5% for 10 minutes', 'checkout', 'P2', 42],
      ['PUIBASE2', 'Search index replication lag above 15 minutes', 'search', 'P3', 95],
      ['PUIBASE3', 'Ledger reconciliation job failed twice', 'ledger', 'P2', 18],
      ['PUIBASE4', '[DRILL] Payments database failover rehearsal', 'payments-api', 'P4', 7],
    ];
    await Promise.all(
      seed.map(([incidentId, title, serviceName, priority, age]) =>
        sendPagerDuty(
          pagerDutyIncidentEvent({
            incidentId,
            title,
            serviceName,
            priority,
            occurredAt: minutesAgo(age),
            createdAt: minutesAgo(age),
          }),
        ),
      ),
    );
    await until('the seed incidents', async () => ((await activeIncidents()).length >= seed.length ? true : undefined));
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

  it('signs Ada in through the development issuer and lists the open incidents', async () => {
    ada = await session.signIn('Ada Responder');
    await waitForRows(ada, 4);
    expect(await ada.locator('#who').textContent()).toContain('responder');
    await ada.locator('#live-state[data-state="live"]').waitFor();
    // The unowned incident stands out and names its fallback.
    const ledger = ada.locator(`tr[data-id="${incidentIdFor('pagerduty', 'PUIBASE3')}"]`);
    expect(await ledger.getAttribute('class')).toContain('unowned');
    expect(await ledger.locator('.c-owner').textContent()).toContain('SRE on-call');
    // A `[DRILL]` title matches no registered drill run: a real incident, with a visible warning.
    const marked = ada.locator(`tr[data-id="${incidentIdFor('pagerduty', 'PUIBASE4')}"]`);
    expect(await marked.locator('.badge.unverified-drill').textContent()).toBe('UNVERIFIED DRILL MARKER');
    expect(await marked.locator('.badge.drill').count()).toBe(0);
    const markedPage = session.watch(await ada.context().newPage(), 'Ada (unverified drill marker)');
    await markedPage.goto(`${base}/incidents/${incidentIdFor('pagerduty', 'PUIBASE4')}`);
    expect(await markedPage.locator('.unverified-drill-warning').textContent()).toBe(
      'Unverified drill marker: marked as a drill but carries no drill run id. Treated as a real incident: notified and counted.',
    );
    await markedPage.close();
    // j / k move between rows.
    for (const key of ['j', 'j', 'j', 'k']) await ada.keyboard.press(key);
    const focused = await ada.evaluate(() => {
      const doc = (
        globalThis as unknown as {
          document: { activeElement: { closest(s: string): { dataset: { id: string } } | null } | null };
        }
      ).document;
      return doc.activeElement?.closest('tr')?.dataset.id;
    });
    expect(focused).toBe(await ada.locator('table.incidents tbody tr').nth(1).getAttribute('data-id'));
  });

  it('shows a new incident as soon as its webhook arrives, without reloading', async () => {
    await ada.evaluate(() => {
      (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PUILIVE1',
        title: liveTitle,
        priority: 'P1',
        occurredAt: liveCreatedAt,
        createdAt: liveCreatedAt,
      }),
    );
    const row = ada.locator(`tr[data-id="${liveId}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('a.title-link').textContent()).toBe(liveTitle);
    expect(await row.locator('.c-owner').textContent()).toContain('@payments-oncall');
    // Severity sort: the new critical incident is the first row, PagerDuty's own name beside ours.
    expect(await ada.locator('table.incidents tbody tr').first().getAttribute('data-id')).toBe(liveId);
    expect(await row.locator('.c-sev .chip').textContent()).toBe('Critical');
    expect(await row.locator('.c-sev .provider-sev').getAttribute('title')).toContain('PagerDuty priority P1');
    expect(await row.locator('.c-title .assignee').textContent()).toBe('Assigned to Grace Hopper');
    expect(await ada.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard.png') });
  });

  it('marks the live incident of a service a provider outage affects, and clears it when the provider recovers', async () => {
    const checkout = ada.locator(`tr[data-id="${incidentIdFor('pagerduty', 'PUIBASE1')}"]`);
    // As status-mapper publishes it: Cloudflare's CDN Edge, mapped to checkout.
    const providerStatus = (to: ComponentStatus, observedAt: string, n: number) =>
      testKafka(kafkaBrokers).publish(topicName('provider-status', namespace), [
        {
          key: 'cloudflare/cdnedge0001a',
          value: JSON.stringify(
            envelopeFor(
              'provider-status',
              {
                changeId: `3f1c2b7a-6d5e-4f80-9a1b-00000000000${n}`,
                provider: 'Cloudflare',
                page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
                component: { key: 'cloudflare/cdnedge0001a', id: 'cdnedge0001a', name: 'CDN Edge', group: null },
                status: { from: null, to, providerStatus: to, stale: null },
                incidents:
                  to === 'operational'
                    ? []
                    : [{ id: 'p7x2', name: HOSTILE_TITLE, status: 'investigating', impact: 'major', shortlink: null }],
                services: ['checkout'],
                observedAt,
                source: 'poll',
              },
              { source: '/status-mapper', drill: false },
            ),
          ),
        },
      ]);
    const since = minutesAgo(6);
    await providerStatus('major_outage', since, 1);
    const line = checkout.locator('.provider-condition');
    await line.waitFor({ timeout: 10_000 });
    expect(await line.textContent()).toContain(
      `Cloudflare — CDN Edge: major outage since ${since.slice(11, 16)} (likely related)`,
    );
    // The provider's text is inert: in the tooltip as text, never as markup.
    expect(await line.getAttribute('title')).toContain(HOSTILE_TITLE);
    expect(await ada.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await ada.locator('.provider-condition').count()).toBe(1);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-provider-status.png') });

    // The incident's page says it too, and its timeline notes when the condition began.
    const detail = session.watch(await ada.context().newPage(), 'Ada (incident page)');
    await detail.goto(`${base}/incidents/${incidentIdFor('pagerduty', 'PUIBASE1')}`);
    await detail.locator('.provider-status .provider-condition').waitFor();
    expect(await detail.locator('.timeline .provider-note').textContent()).toContain(
      'Cloudflare — CDN Edge: major outage since',
    );
    await detail.screenshot({ path: join(SCREENSHOTS, 'incident-provider-status.png'), fullPage: true });

    await providerStatus('operational', minutesAgo(0), 2);
    await line.waitFor({ state: 'detached', timeout: 10_000 });
    // Both pages follow without a reload: the annotation goes, the timeline keeps both ends.
    await detail.locator('.timeline .provider-note.pn-ended').waitFor({ timeout: 10_000 });
    expect(await detail.locator('.provider-status').count()).toBe(0);
    expect(await detail.locator('.timeline .provider-note.pn-ended').textContent()).toMatch(
      /Cloudflare — CDN Edge: recovered at \d\d:\d\d, was major outage since/,
    );
    await detail.close();
  });

  it('says when live updates are paused, and catches up on what it missed when the stream is back', async () => {
    const page = session.watch(await ada.context().newPage(), 'Ada (second tab)');
    const stream = (url: URL) => url.pathname === '/v1/stream';
    await page.route(stream, (route) => route.abort('connectionreset'));
    await page.goto(`${base}/`);
    await page.locator('#live-state[data-state="paused"]').getByText('Live updates paused, reconnecting…').waitFor();
    await waitForRows(page, 5);

    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PUIRECON1',
        title: 'Inventory sync stalled while the stream was down',
        serviceName: 'inventory',
        occurredAt: minutesAgo(0),
        createdAt: minutesAgo(0),
      }),
    );
    const id = incidentIdFor('pagerduty', 'PUIRECON1');
    await until('the incident in the API', async () =>
      (await activeIncidents()).some((i) => i.id === id) ? true : undefined,
    );
    await page.unroute(stream);
    await page.locator(`tr[data-id="${id}"]`).waitFor({ timeout: 15_000 });
    await page.locator('#live-state[data-state="live"]').waitFor();
    await page.close();
  });

  it('acknowledges through PagerDuty with the documented request and shows the change when PagerDuty reports it', async () => {
    // Keyboard only: / to search, Enter to the first row, Enter to open.
    await ada.keyboard.press('/');
    await ada.keyboard.type('authorisation');
    // The filter follows typing after a short pause: wait for the whole word, not a prefix of it.
    await ada.waitForURL(/[?&]q=authorisation(&|$)/);
    await waitForRows(ada, 1);
    await ada.keyboard.press('Enter');
    await ada.keyboard.press('Enter');
    await ada.waitForURL(`${base}/incidents/${liveId}`);
    expect(await ada.getByRole('heading', { level: 1 }).textContent()).toBe(liveTitle);
    expect(await ada.locator('.path').textContent()).toContain('@payments-oncall');

    const before = pagerDuty.requests.length;
    await ada.getByRole('button', { name: 'Acknowledge' }).click();
    await ada.locator('.action-message.ok').getByText('Acknowledge sent to PagerDuty').waitFor();

    const sent = pagerDuty.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      method: 'PUT',
      path: '/incidents/PUILIVE1',
      status: 200, // the fake answers 401 unless Authorization is `Token token=<the configured token>`
      headers: {
        authorization: '[redacted]',
        accept: PAGERDUTY_MEDIA_TYPE,
        from: 'ada@example.com',
        'content-type': expect.stringMatching(/^application\/json/),
      },
    });
    expect(sent[0]!.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    // Nothing changes here until PagerDuty says so.
    expect(await ada.locator('.incident-head .status').textContent()).toBe('triggered');

    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PUILIVE1',
        eventType: 'incident.acknowledged',
        title: liveTitle,
        priority: 'P1',
        createdAt: liveCreatedAt,
        occurredAt: minutesAgo(0),
      }),
    );
    await ada.locator('.incident-head .status-acknowledged').waitFor({ timeout: 10_000 });
    await ada.locator('.action-message.ok').getByText('PagerDuty confirmed').waitFor();
    expect(await ada.locator('.timeline').textContent()).toContain('Acknowledged by Ada Lovelace');
    expect(await ada.getByRole('button', { name: 'Acknowledge' }).isDisabled()).toBe(true);
    // Ours and the provider's names side by side, never one for the other; who has it, and what changed.
    expect(await ada.locator('.incident-head .chip.sev').textContent()).toBe('Critical');
    expect(await ada.locator('.incident-head .provider-sev').textContent()).toBe('PagerDuty priority P1');
    expect(await ada.locator('.incident-head .assignee').textContent()).toBe('Assigned to Grace Hopper in PagerDuty');
    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PUILIVE1',
        eventType: 'incident.escalated',
        title: liveTitle,
        priority: 'P1',
        assignee: { id: 'PLEVEL2', name: 'Lin Level-Two' },
        createdAt: liveCreatedAt,
        occurredAt: minutesAgo(0),
      }),
    );
    await ada.locator('.incident-head .assignee', { hasText: 'Lin Level-Two' }).waitFor({ timeout: 10_000 });
    expect(await ada.locator('.timeline .event.kind-escalated .event-change').textContent()).toBe(
      'to Lin Level-Two · via Payments — primary',
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'detail.png'), fullPage: true });

    // Escape goes back to the filtered list, where the row changed too.
    await ada.keyboard.press('Escape');
    await ada.waitForURL(/\/\?q=authorisation$/);
    await ada.locator(`tr[data-id="${liveId}"] .status-acknowledged`).waitFor();
  });

  it("shows Ada's acknowledge to an admin in the audit log, with exports", async () => {
    const alex = await session.signIn('Alex Admin', { path: '/audit' });
    const row = alex.locator('table.audit-table tbody tr', { hasText: liveId }).filter({ hasText: 'acknowledge' });
    await row.first().waitFor();
    const text = await row.first().textContent();
    expect(text).toContain('Ada Responder');
    expect(text).toContain('succeeded');
    expect(text).toContain('PagerDuty acknowledged incident PUILIVE1');

    await alex.getByLabel('Actor (subject, email or name)').fill('ada@example.com');
    await alex.getByRole('button', { name: 'Apply' }).click();
    await alex.waitForURL(/actor=ada%40example\.com/);
    // The export is a CSRF-checked POST of the applied filters, saved as a download.
    const [download] = await Promise.all([
      alex.waitForEvent('download'),
      alex.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^audit-\d{4}-\d{2}-\d{2}\.csv$/);
    const exported = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\r\n');
    expect(exported[0]).toMatch(/^id,at,actor_subject,/);
    expect(exported.some((line) => line.includes('PagerDuty acknowledged incident PUILIVE1'))).toBe(true);
    expect(exported.slice(1).every((line) => line.includes('ada@example.com'))).toBe(true);
    // A link cannot start an export: GET is not one.
    expect((await alex.request.get(`${base}/v1/audit/export?format=csv`)).status()).toBe(404);
    await alex.locator('table.audit-table tbody tr', { hasText: 'sign_in' }).first().waitFor();
    await alex.screenshot({ path: join(SCREENSHOTS, 'audit.png') });
  });

  it('gives a viewer no action buttons, and the server refuses a forged action even with the CSRF token', async () => {
    const vic = await session.signIn('Vic Viewer', { path: `/incidents/${liveId}` });
    await vic.getByRole('heading', { level: 1, name: liveTitle, exact: true }).waitFor();
    expect(await vic.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await vic.getByRole('button', { name: 'Resolve' }).count()).toBe(0);
    await vic.getByText('You can look but not act').waitFor();
    expect(await vic.locator('#nav-audit').isHidden()).toBe(true);

    const before = pagerDuty.requests.length;
    const forged = await vic.evaluate(async (path) => {
      const me = (await (await fetch('/auth/me')).json()) as { csrfToken: string };
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ action: 'resolve' }),
      });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    }, `/v1/incidents/${liveId}/actions`);
    expect(forged.status).toBe(403);
    expect(forged.body.error).toMatchObject({ code: 'forbidden', message: 'this action needs the responder role' });
    expect(pagerDuty.requests.length).toBe(before);
    await vic.screenshot({ path: join(SCREENSHOTS, 'viewer.png'), fullPage: true });

    await vic.getByRole('button', { name: 'Sign out' }).click();
    await vic.getByRole('heading', { name: 'You are signed out' }).waitFor();
    expect((await vic.request.get(`${base}/auth/me`)).status()).toBe(401);
  });

  it('shows a hostile incident title as text and never runs it', async () => {
    await ada.goto(`${base}/`);
    // The responder is watching the live list when the incident arrives.
    await ada.locator('#live-state[data-state="live"]').waitFor();
    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PUIXSS1',
        title: HOSTILE_TITLE,
        priority: 'P3',
        serviceName: '<b>payments</b>',
        occurredAt: minutesAgo(1),
        createdAt: minutesAgo(1),
      }),
    );
    const id = incidentIdFor('pagerduty', 'PUIXSS1');
    const link = ada.locator(`tr[data-id="${id}"] a.title-link`);
    await link.waitFor({ timeout: 10_000 });
    expect(await link.textContent()).toBe(HOSTILE_TITLE);
    expect(await ada.locator('table.incidents img, table.incidents script').count()).toBe(0);
    await link.click();
    await ada.getByRole('heading', { level: 1 }).getByText(HOSTILE_TITLE).waitFor();
    expect(await ada.locator('main img, main script').count()).toBe(0);
    expect(await ada.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
  });

  it(`renders ${LOAD.toLocaleString('en')} open incidents and narrows them by severity and search`, async () => {
    const services = ['payments-api', 'checkout', 'search', 'inventory'];
    const priorities: PagerDutyPriorityName[] = ['P1', 'P2', 'P3', 'P4', 'P5'];
    const topic = topicName('incident-events', namespace);
    const messages = Array.from({ length: LOAD }, (_, n) => {
      const result = normalisePagerDuty(
        pagerDutyIncidentEvent({
          incidentId: `PLOAD${n}`,
          title: `Load incident #${String(n).padStart(4, '0')} on ${services[n % services.length]}`,
          serviceName: services[n % services.length],
          priority: priorities[n % priorities.length]!,
          occurredAt: minutesAgo(n % 600),
          createdAt: minutesAgo(n % 600),
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
    const kafka = testKafka(kafkaBrokers);
    for (let i = 0; i < messages.length; i += 500) await kafka.publish(topic, messages.slice(i, i + 500));
    const loadIds = new Set(messages.map((m) => m.key));
    const all = await until(
      'the load incidents',
      async () => {
        const items = await activeIncidents();
        return items.filter((i) => loadIds.has(i.id)).length === LOAD ? items : undefined;
      },
      40_000,
      500,
    );

    await ada.goto(`${base}/`);
    await waitForRows(ada, all.length);
    expect(await ada.locator('#list-summary').textContent()).toContain(`Showing ${all.length.toLocaleString('en')} of`);

    const critical = all.filter((i) => i.severity === 'critical').length;
    await ada.locator('label.toggle-critical').click();
    await waitForRows(ada, critical);
    expect(ada.url()).toContain('severity=critical');
    expect(await ada.locator('table.incidents tbody tr:not([data-severity="critical"])').count()).toBe(0);

    await ada.locator('#search').fill('#1999');
    await waitForRows(ada, 0);
    await ada.locator('label.toggle-critical').click();
    await waitForRows(ada, 1);
    expect(await ada.locator('table.incidents tbody tr a.title-link').textContent()).toBe(
      'Load incident #1999 on inventory',
    );
    expect(await rowCount(ada)).toBe(1);
    await ada.getByRole('button', { name: 'Clear filters' }).click();
    await waitForRows(ada, all.length);
    await ada.screenshot({ path: join(SCREENSHOTS, 'dashboard-2000.png') });
  });
});
