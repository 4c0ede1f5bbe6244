import { join } from 'node:path';
import {
  accessibilityProblems,
  type BrowserSession,
  type LocalIssuer,
  SCREENSHOTS_DIR as SCREENSHOTS,
} from '@micro-oncall/test-kit';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../../../scripts/lib/platform.js';
import { type AppsBrowserStack, startAppsBrowserStack } from './support.js';

/**
 * The app registry's pages in a real browser (Debian's Chromium through playwright-core), as
 * part of the one product: escalation and app-registry behind the platform's gateway, OPA on the
 * policies, one sign-in on the dashboard, then the Apps section of the shared navigation. A
 * responder registers a low-risk app (approved at once) and a high-risk one (refused, with the
 * rules and what to change); an admin restores an archived app; the list filters by state; an
 * edit made over someone else's is refused; an admin approves one app and rejects another; the
 * responder asks for exceptions, which the admin approves and rejects on the Exceptions page
 * (keyboard only); Governance shows the policy's failing checks per app; an import with a bad row
 * lists the row and field, then imports; an admin runs discovery over the demo sources and
 * dismisses a flagged candidate, and a responder registers another from the Discovered page (the
 * form filled in from what was found). Screenshots go to .dev/screenshots/.
 */

const HOSTILE_PURPOSE = '<img src=x onerror="window.__xss=1">Old survey tool';

describe('app registry pages in a browser, one sign-in with the dashboard', () => {
  let stack: AppsBrowserStack;
  let platform: Platform;
  let issuer: LocalIssuer;
  /** Sign-ins, and script errors and CSP violations seen in any page: each test ends with none. */
  let session: BrowserSession;
  let ada: Page;
  const archived: Record<string, string> = {};

  const api = (path: string, init: RequestInit = {}) => stack.api(path, init);

  beforeAll(async () => {
    stack = await startAppsBrowserStack('apps-ui', { opa: true });
    ({ platform, issuer, session } = stack);

    // Two archived apps, seeded through the API as an import does (an archived app keeps its
    // references and can be restored for 90 days). Neither is owned by anyone signing in here.
    const seed = (name: string, purpose: string) => ({
      name,
      purpose,
      owner: { name: 'Olga Former', contact: 'olga@example.com' },
      ownerSubject: 'olga',
      team: { name: 'people-ops', contact: '#people-ops' },
      runtime: 'low_code',
      dataClasses: ['internal'],
      impact: 'experimental',
      exposure: 'internal_network',
      template: 'micro-oncall-service',
      state: 'archived',
    });
    const res = await api('/apps/v1/import?file=archived.yaml', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: JSON.stringify({ apps: [seed('old-survey', HOSTILE_PURPOSE), seed('legacy-wiki', 'The old wiki')] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const list = (await (await api('/apps/v1/apps?state=archived')).json()) as {
      items: { id: string; name: string }[];
    };
    for (const app of list.items) archived[app.name] = app.id;
    expect(Object.keys(archived).sort()).toEqual(['legacy-wiki', 'old-survey']);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    // What the responder's page showed when a step failed.
    if (task.result?.state === 'fail' && ada) {
      await ada.screenshot({ path: join(SCREENSHOTS, 'apps-failed-step.png'), fullPage: true }).catch(() => undefined);
    }
    expect(session.problems.splice(0)).toEqual([]);
  });

  it('signs a responder in once on the dashboard and opens Apps from the shared navigation', async () => {
    ada = await session.signIn('Ada Responder');
    const nav = ada.getByRole('navigation', { name: 'Sections' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Incidents', 'Status', 'Apps', 'Drills', 'Figures']);
    await nav.getByRole('link', { name: 'Apps' }).click();
    await ada.waitForURL(`${platform.url}/apps/`);
    await ada.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    expect(await ada.getByRole('link', { name: 'Apps' }).getAttribute('aria-current')).toBe('page');
    await ada.locator('table.apps tr[data-app="legacy-wiki"]').waitFor();
    expect(await ada.locator('table.apps tbody tr').count()).toBe(2);
    // Keyboard focus visible on the list's controls; every state and tier in words.
    expect(await accessibilityProblems(ada)).toEqual([]);
    expect(session.signIns()).toBe(1);
  });

  it('registers a low-risk app: a wrong field is named next to it, then it is approved at once', async () => {
    await ada.getByRole('link', { name: 'Register an app' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Register an app' }).waitFor();
    await ada.getByLabel('Template').selectOption('micro-oncall-service');
    await ada.getByLabel('Name', { exact: true }).fill('Lunch Poll');
    await ada.getByLabel('Purpose').fill('Who joins lunch today');
    await ada.getByLabel('Team', { exact: true }).fill('finance-tools');
    await ada.getByLabel("Team's contact").fill('#finance-tools');
    await ada.getByLabel('How much does the business depend on it?').selectOption('experimental');
    await ada.getByLabel('Internal business data').check();
    await ada.getByLabel('Who can reach it?').selectOption('internal_network');
    await ada.getByLabel('Where does it run?').selectOption('serverless_function');
    await ada.getByRole('button', { name: 'Register' }).click();

    // The API's 400 names the field: said next to it, the field marked and focused.
    const nameError = ada.locator('#f-name-error');
    await nameError.waitFor();
    expect(await nameError.textContent()).toMatch(/lowercase letters, digits and inner dashes/);
    expect(await ada.locator('#f-name').getAttribute('aria-invalid')).toBe('true');
    expect(
      await ada.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
      ),
    ).toBe('f-name');
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-register-invalid.png'), fullPage: true });

    await ada.getByLabel('Name', { exact: true }).fill('lunch-poll');
    await ada.getByRole('button', { name: 'Register' }).click();
    const result = ada.locator('section.registered');
    await result.waitFor();
    expect(await result.locator('#registered-title').textContent()).toBe('lunch-poll is active');
    expect(await result.locator('.outcome').textContent()).toBe('Approved');
    expect(await result.locator('.decision-meta').textContent()).toContain('low risk');
    expect((await result.locator('.explanation').textContent())?.length).toBeGreaterThan(0);
    // Every control the tier requires, each with its status.
    expect(await result.locator('table.controls tbody tr').count()).toBeGreaterThan(0);
    expect(await result.locator('.control-violated, .control-missing, .control-failing').count()).toBe(0);
    expect(await result.locator('.token-value').textContent()).toMatch(/^moapp_/);
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-register-approved.png'), fullPage: true });
  });

  it('registers a high-risk app and shows why it is refused: the rule and what to change', async () => {
    await ada.goto(`${platform.url}/apps/new`);
    await ada.getByRole('heading', { level: 1, name: 'Register an app' }).waitFor();
    await ada.getByLabel('Template').selectOption('micro-oncall-service');
    await ada.getByLabel('Name', { exact: true }).fill('expense-approvals');
    await ada.getByLabel('Purpose').fill('Approves expense claims');
    await ada.getByLabel('Team', { exact: true }).fill('finance-tools');
    await ada.getByLabel("Team's contact").fill('#finance-tools');
    await ada.getByLabel('How much does the business depend on it?').selectOption('business_critical');
    await ada.getByLabel('Personal data (PII)').check();
    await ada.getByLabel('Who can reach it?').selectOption('authenticated_api');
    await ada.getByLabel('Where does it run?').selectOption('container');
    await ada.getByLabel('Namespace', { exact: true }).fill('expense-approvals-prod');
    await ada.getByLabel('The namespace is dedicated to this app').check();
    await ada.getByLabel('Sign-in (SSO) client ids').fill('0oa-expenses-web');
    await ada.getByRole('button', { name: 'Register' }).click();
    const result = ada.locator('section.registered');
    await result.waitFor();
    expect(await result.locator('#registered-title').textContent()).toBe('expense-approvals is refused');
    expect(await result.locator('.outcome').textContent()).toBe('Refused');
    expect(await result.locator('.decision-meta').textContent()).toContain('high risk');
    const reasons = result.locator('li.reason');
    expect(await reasons.count()).toBeGreaterThan(0);
    for (const reason of await reasons.all()) {
      expect(await reason.locator('.rule').textContent()).toMatch(/^MO-APP-\d{3}$/);
      expect(await reason.locator('.fix').textContent()).toMatch(/^What to change: ./);
    }
    // SSO evidence is among what is missing.
    expect(await result.locator('table.controls tr[data-control="sso"] .control').textContent()).toBe('missing');
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-register-refused.png'), fullPage: true });

    // The app's page: the same decision, the history (append-only) with its creation.
    await result.getByRole('link', { name: 'Open expense-approvals' }).click();
    await ada.getByRole('heading', { level: 1, name: 'expense-approvals' }).waitFor();
    expect(await ada.locator('.page-head .state').textContent()).toBe('refused');
    expect(await ada.locator('#decision-title').textContent()).toBe('Refused');
    expect(await ada.locator('.lc-next').textContent()).toContain('Change what the reasons say');
    await ada.locator('table.history-table tr[data-action="created"]').waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-app-refused.png'), fullPage: true });
  });

  it('says why a responder who does not own an archived app cannot restore it; shows its text as text', async () => {
    await ada.goto(`${platform.url}/apps/${archived['old-survey']}`);
    await ada.getByRole('heading', { level: 1, name: 'old-survey' }).waitFor();
    expect(await ada.locator('p.purpose').textContent()).toBe(HOSTILE_PURPOSE);
    expect(await ada.locator('p.purpose img').count()).toBe(0);
    expect(await ada.locator('.lc-next').textContent()).toMatch(
      /^Next: Restorable until \d{1,2} \w{3} \d{4} \(in 90 days\)/,
    );
    expect(await ada.locator('.lifecycle .why-not').textContent()).toBe(
      'Restore: Only its owner or an admin can restore it.',
    );
    expect(await ada.getByRole('button', { name: 'Restore' }).count()).toBe(0);
    expect(await ada.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('lets an admin restore an archived app in one action', async () => {
    const alex = await session.signIn('Alex Admin', { path: `/apps/${archived['old-survey']}` });
    await alex.getByRole('heading', { level: 1, name: 'old-survey' }).waitFor();
    expect(await alex.locator('.page-head .state').textContent()).toBe('archived');
    expect(await alex.locator('.lc-now').textContent()).toMatch(/^Archived on /);
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-archived.png'), fullPage: true });
    await alex.getByRole('button', { name: 'Restore' }).click();
    await alex.locator('#action-result').getByText('old-survey is restored and active again.').waitFor();
    expect(await alex.locator('.page-head .state').textContent()).toBe('active');
    await alex
      .locator('table.history-table tr[data-action="state_changed"]', { hasText: 'restored by Alex Admin' })
      .waitFor();
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-restored.png'), fullPage: true });
  });

  it('filters the list by state', async () => {
    await ada.getByRole('link', { name: 'Apps' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    await ada.locator('table.apps tr[data-app="lunch-poll"]').waitFor();
    expect(await ada.locator('table.apps tbody tr').count()).toBe(4);
    await ada.getByLabel('State').selectOption('archived');
    await ada.waitForURL(`${platform.url}/apps/?state=archived`);
    await ada.locator('#list-status', { hasText: 'Apps 1–1' }).waitFor();
    expect(
      await ada.locator('table.apps tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-app'))),
    ).toEqual(['legacy-wiki']);
    await ada.getByLabel('State').selectOption('active');
    await ada.locator('#list-status', { hasText: 'Apps 1–2' }).waitFor();
    expect(
      await ada.locator('table.apps tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-app'))),
    ).toEqual(['lunch-poll', 'old-survey']);
    // Back goes to the previous filter, without a page load.
    await ada.goBack();
    await ada.locator('#list-status', { hasText: 'Apps 1–1' }).waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-list-archived.png'), fullPage: true });
    await ada.getByLabel('Search').fill('expense');
    await ada.getByLabel('State').selectOption('');
    await ada.locator('#list-status', { hasText: 'Apps 1–1' }).waitFor();
    expect(await ada.locator('table.apps tbody tr').getAttribute('data-app')).toBe('expense-approvals');
  });

  it('refuses an edit over a change made meanwhile: "changed by someone else — reload"', async () => {
    await ada.goto(`${platform.url}/apps/`);
    await ada.locator('table.apps tr[data-app="lunch-poll"] a.app-link').click();
    await ada.getByRole('heading', { level: 1, name: 'lunch-poll' }).waitFor();
    await ada.getByRole('button', { name: 'Edit' }).click();
    await ada.getByLabel('Purpose').fill('Who joins lunch, and where');
    // Someone else changes the app meanwhile.
    const id = new URL(ada.url()).pathname.split('/').pop()!;
    const current = await api(`/apps/v1/apps/${id}`);
    const changed = await api(`/apps/v1/apps/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'if-match': current.headers.get('etag')! },
      body: JSON.stringify({ costCentre: 'CC-1' }),
    });
    expect(changed.status).toBe(200);
    await ada.getByRole('button', { name: 'Save' }).click();
    await ada.locator('#edit-problem', { hasText: 'Changed by someone else' }).waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-edit-conflict.png'), fullPage: true });
    await ada.locator('#edit-problem').getByRole('button', { name: 'Reload' }).click();
    await ada.getByRole('button', { name: 'Edit' }).click();
    await ada.getByLabel('Purpose').fill('Who joins lunch, and where');
    await ada.getByRole('button', { name: 'Save' }).click();
    await ada.locator('#action-result').getByText('lunch-poll is saved.').waitFor();
    expect(await ada.locator('p.purpose').textContent()).toBe('Who joins lunch, and where');
    expect(session.signIns()).toBe(2);
  });
  /** Alex Admin (an admin decides as an approver), signed in once for the steps below. */
  let alexPage: Page | undefined;
  async function asAlex(path: string): Promise<Page> {
    if (!alexPage) alexPage = await session.signIn('Alex Admin', { path });
    else await alexPage.goto(`${platform.url}${path}`);
    return alexPage;
  }

  /** A high-risk app registered by someone else, its evidence posted: pending approval. */
  async function pendingApp(name: string): Promise<string> {
    const token = await issuer.token({ sub: 'dev-olga', name: 'Olga Requester', roles: ['responder'] });
    const res = await fetch(`${platform.url}/apps/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        purpose: `${name}: pays people`,
        owner: { name: 'Olga Requester', contact: 'olga@example.com' },
        ownerSubject: 'dev-olga',
        team: { name: 'people-ops', contact: '#people-ops' },
        runtime: 'container',
        namespace: `${name}-prod`,
        dedicatedNamespace: true,
        idpClientIds: [`0oa-${name}`],
        dataClasses: ['pii'],
        impact: 'business_critical',
        exposure: 'authenticated_api',
        template: 'micro-oncall-service',
      }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const registered = (await res.json()) as { app: { id: string }; token: string };
    const evidence = [
      { kind: 'sbom', document: { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] } },
      {
        kind: 'secret_scan',
        document: { version: '2.1.0', runs: [{ tool: { driver: { name: 'gitleaks' } }, results: [] }] },
      },
      { kind: 'sso', clientId: `0oa-${name}` },
    ];
    let state = '';
    for (const body of evidence) {
      const posted = await fetch(`${platform.url}/apps/v1/apps/${registered.app.id}/evidence`, {
        method: 'POST',
        headers: { authorization: `Bearer ${registered.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(posted.status, await posted.clone().text()).toBe(201);
      state = ((await posted.json()) as { app: { state: string } }).app.state;
    }
    expect(state).toBe('pending_approval');
    return registered.app.id;
  }

  it('lets an admin approve one app pending approval and reject another, from the keyboard', async () => {
    const payroll = await pendingApp('payroll-export');
    const badges = await pendingApp('badge-printer');
    const alex = await asAlex(`/apps/${payroll}`);
    await alex.getByRole('heading', { level: 1, name: 'payroll-export' }).waitFor();
    expect(await alex.locator('.page-head .state').textContent()).toBe('pending approval');
    await alex.locator('#decision-comment').focus();
    await alex.keyboard.type('Checked with security: fine.');
    await alex.keyboard.press('Tab'); // Approve
    await alex.keyboard.press('Enter');
    await alex.locator('#action-result').getByText('payroll-export is approved.').waitFor();
    expect(await alex.locator('.page-head .state').textContent()).toBe('active');
    expect(await alex.locator('.approval').textContent()).toMatch(/^Approved for high risk by dev-admin/);
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-approved.png'), fullPage: true });

    await alex.goto(`${platform.url}/apps/${badges}`);
    await alex.getByRole('heading', { level: 1, name: 'badge-printer' }).waitFor();
    await alex.locator('#decision-comment').focus();
    await alex.keyboard.type('Badges come from the facilities system now.');
    await alex.keyboard.press('Tab'); // Approve
    await alex.keyboard.press('Tab'); // Reject
    await alex.keyboard.press('Enter');
    await alex.locator('#action-result').getByText('badge-printer is rejected.').waitFor();
    expect(await alex.locator('.page-head .state').textContent()).toBe('refused');
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-rejected.png'), fullPage: true });

    // Both decisions are in the audit, by Alex.
    const auditOf = async (id: string) =>
      (
        (await (await api(`/apps/v1/audit?appId=${id}`)).json()) as {
          items: { action: string; actorSubject: string; detail: string | null }[];
        }
      ).items;
    expect(await auditOf(payroll)).toContainEqual(
      expect.objectContaining({
        action: 'approve',
        actorSubject: 'dev-admin',
        detail: expect.stringContaining('Checked with security'),
      }),
    );
    expect(await auditOf(badges)).toContainEqual(
      expect.objectContaining({
        action: 'reject',
        actorSubject: 'dev-admin',
        detail: expect.stringContaining('facilities system'),
      }),
    );
  });

  it('asks for two exceptions on the app page by keyboard; an admin approves one and rejects the other on Exceptions', async () => {
    const expense = (
      (await (await api('/apps/v1/apps?q=expense-approvals')).json()) as { items: { id: string; name: string }[] }
    ).items.find((a) => a.name === 'expense-approvals')!;
    await ada.goto(`${platform.url}/apps/${expense.id}`);
    await ada.getByRole('heading', { level: 1, name: 'expense-approvals' }).waitFor();
    const ask = async (control: string, why: string, asked: number) => {
      await ada.locator('#exception-control').focus();
      await ada.locator('#exception-control').selectOption(control);
      await ada.keyboard.press('Tab'); // Why
      await ada.keyboard.type(why);
      await ada.keyboard.press('Tab'); // Until: 30 days from now by default
      await ada.keyboard.press('Enter'); // submits the form
      await ada.locator('#action-result').getByText('Exception asked for: an approver decides it.').waitFor();
      await ada
        .locator('ul.exceptions li')
        .nth(asked - 1)
        .waitFor();
    };
    await ask('sso', 'The identity provider onboarding is booked for next week', 1);
    await ask('secrets_scanning', 'We do not want to scan', 2);
    expect(await ada.locator('ul.exceptions li').count()).toBe(2);
    // Ada asked: she may not decide them.
    expect(await ada.locator('ul.exceptions .why-not').first().textContent()).toBe(
      'Only an approver decides exceptions.',
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-exceptions-asked.png'), fullPage: true });

    const alex = await asAlex('/apps/exceptions');
    await alex.getByRole('heading', { level: 1, name: 'Exceptions' }).waitFor();
    const rows = alex.locator('table.exceptions-table tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-exceptions-pending.png'), fullPage: true });
    await alex.getByRole('button', { name: 'Approve the sso exception' }).focus();
    await alex.keyboard.press('Enter');
    await alex.locator('#action-result').getByText('The sso exception is approved.').waitFor();
    await alex.getByRole('button', { name: 'Reject the secrets_scanning exception' }).focus();
    await alex.keyboard.press('Enter');
    await alex.locator('#action-result').getByText('The secrets scanning exception is rejected.').waitFor();
    await alex.locator('p.muted', { hasText: 'No exception is waiting for an approver.' }).waitFor();
    await alex.getByLabel('Show').selectOption('');
    await alex.waitForURL(`${platform.url}/apps/exceptions?status=`);
    await alex.locator('table.exceptions-table tbody tr').nth(1).waitFor();
    expect((await alex.locator('table.exceptions-table tbody tr td:last-child').allTextContents()).sort()).toEqual([
      'approved by dev-admin',
      'rejected by dev-admin',
    ]);
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-exceptions-decided.png'), fullPage: true });

    // On the app's page, the approved exception now counts for its control; both decisions audited.
    await ada.reload();
    await ada.getByRole('heading', { level: 1, name: 'expense-approvals' }).waitFor();
    expect(await ada.locator('table.controls tr[data-control="sso"] .control').textContent()).toBe('excepted');
    const audit = (await (await api(`/apps/v1/audit?appId=${expense.id}`)).json()) as { items: { action: string }[] };
    const actions = audit.items.map((i) => i.action);
    expect(actions).toEqual(expect.arrayContaining(['exception_request', 'exception_approve', 'exception_reject']));
  });

  it('shows governance: the figures and every app failing a check, with the rule and what to do', async () => {
    await ada.goto(`${platform.url}/apps/`);
    await ada.getByRole('navigation', { name: 'Registry pages' }).getByRole('link', { name: 'Governance' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Governance' }).waitFor();
    const row = ada.locator('table.violations tr[data-app="expense-approvals"]');
    await row.waitFor();
    expect(await row.locator('.control').allTextContents()).toContain('missing');
    expect(await row.textContent()).toContain('MO-APP-004');
    expect(await row.locator('.fix').first().textContent()).toMatch(/^To do: ./);
    expect(await ada.locator('table.counts').count()).toBe(3);
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-governance.png'), fullPage: true });
  });

  it('runs discovery over the demo sources: the candidates are flagged with their suggested owner and evidence, one is dismissed', async () => {
    // The demo's gateway log has traffic to lunch-poll.apps.example.com: an app registered with
    // that host is matched, not a candidate. (The lunch-poll registered above has no endpoint.)
    const lunch = await api('/apps/v1/apps', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'lunch-poll-gateway',
        owner: { name: 'Ada Responder', contact: 'ada@example.com' },
        team: { name: 'finance-tools', contact: '#finance-tools' },
        runtime: 'serverless_function',
        endpoints: [{ host: 'lunch-poll.apps.example.com' }],
        dataClasses: ['internal'],
        impact: 'experimental',
        exposure: 'internal_network',
        template: 'micro-oncall-service',
      }),
    });
    expect(lunch.status, await lunch.clone().text()).toBe(201);
    const alex = await session.signIn('Alex Admin', { path: '/apps/discovered' });
    await alex.getByRole('heading', { level: 1, name: 'Discovered' }).waitFor();
    await alex.getByRole('button', { name: 'Run discovery now' }).click();
    await alex
      .locator('#action-result')
      .getByText(/^Discovery succeeded: 6 new candidates, 6 flagged, 0 errors\.$/)
      .waitFor();
    // The development environment flags at once (DISCOVERY_FLAG_AFTER_HOURS=0; 24 hours in production).
    const lambda = alex.locator('table.discovered-table tr[data-label="invoice-ocr"]');
    expect(await lambda.locator('.badge-flagged').count()).toBe(1);
    expect(await lambda.textContent()).toContain('arn:aws:iam::123456789012:user/maria.lopez (created it)');
    await lambda.getByText('2 lines (cloudtrail)').click();
    expect(await lambda.locator('.evidence-lines li').first().textContent()).toMatch(
      /^cloudtrail\/AWSLogs\/.*_demo\.json:1 create /,
    );
    const host = alex.locator('table.discovered-table tr[data-label="pricing-api.example.com"]');
    expect(await host.textContent()).toContain('10.20.0.5 (calls it most)');
    const report = alex.locator('.run-report').first();
    expect(await report.locator('li[data-source="gateway"]').textContent()).toContain('1 app matched');
    expect(await accessibilityProblems(alex)).toEqual([]);
    await alex.screenshot({ path: join(SCREENSHOTS, 'apps-discovered.png'), fullPage: true });

    await host.getByRole('textbox', { name: 'Reason' }).fill('the pricing vendor’s sandbox');
    await host.getByRole('button', { name: 'Dismiss pricing-api.example.com' }).click();
    await alex.locator('#action-result').getByText('pricing-api.example.com is dismissed.').waitFor();
    expect(await alex.locator('table.discovered-table tr[data-label="pricing-api.example.com"]').count()).toBe(0);
  });

  it('a responder registers a flagged candidate from Discovered: the form comes filled in, and the candidate leaves the list linked to the app', async () => {
    // A viewer reads the candidates but may neither register nor dismiss them.
    const vic = await session.signIn('Vic Viewer', { path: '/apps/discovered' });
    const seen = vic.locator('table.discovered-table tr[data-label="invoice-ocr"]');
    await seen.waitFor();
    expect(await seen.getByRole('link', { name: 'Register invoice-ocr' }).count()).toBe(0);
    expect(await seen.locator('.why-not').textContent()).toBe('A responder registers it; an approver may dismiss it.');

    await ada.goto(`${platform.url}/apps/discovered`);
    const row = ada.locator('table.discovered-table tr[data-label="invoice-ocr"]');
    await row.waitFor();
    // A responder registers; only an approver dismisses.
    expect(await row.getByRole('button', { name: 'Dismiss invoice-ocr' }).count()).toBe(0);
    expect(await accessibilityProblems(ada)).toEqual([]);
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-discovered-responder.png'), fullPage: true });
    await row.getByRole('link', { name: 'Register invoice-ocr' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Register invoice-ocr' }).waitFor();
    expect(ada.url()).toMatch(/\/apps\/new\?candidate=[0-9a-f-]{36}$/);
    const found = ada.locator('#discovered-candidate');
    expect(await found.textContent()).toContain(
      'Suggested owner: arn:aws:iam::123456789012:user/maria.lopez (created it)',
    );
    expect(await found.locator('code').textContent()).toMatch(
      /^arn:aws:lambda:[^:]+:123456789012:function:invoice-ocr$/,
    );
    // Filled in from what discovery found.
    expect(await ada.getByLabel('Name', { exact: true }).inputValue()).toBe('invoice-ocr');
    expect(await ada.getByLabel('Purpose').inputValue()).toMatch(
      /^Discovered by app-registry \(function invoice-ocr, /,
    );
    expect(await ada.getByLabel('Where does it run?').inputValue()).toBe('serverless_function');
    expect(await accessibilityProblems(ada)).toEqual([]);
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-register-discovered.png'), fullPage: true });

    await ada.getByLabel('Template').selectOption('micro-oncall-service');
    await ada.getByLabel('Team', { exact: true }).fill('finance-tools');
    await ada.getByLabel("Team's contact").fill('#finance-tools');
    await ada.getByLabel('How much does the business depend on it?').selectOption('experimental');
    await ada.getByLabel('Internal business data').check();
    await ada.getByLabel('Who can reach it?').selectOption('internal_network');
    await ada.getByRole('button', { name: 'Register', exact: true }).click();
    const result = ada.locator('section.registered');
    await result.waitFor();
    expect(await found.isHidden()).toBe(true);
    expect(await result.locator('#registered-title').textContent()).toBe('invoice-ocr is active');
    expect(await result.locator('.linked-candidate').textContent()).toMatch(
      /^The discovered function invoice-ocr is linked to it: it leaves the Discovered list/,
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-registered-discovered.png'), fullPage: true });

    // Gone from the open list; listed as registered, with a link to its app.
    await result.getByRole('link', { name: 'Back to Discovered' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Discovered' }).waitFor();
    await ada.locator('table.discovered-table tr[data-label="marketing-exports-2026"]').waitFor();
    expect(await ada.locator('table.discovered-table tr[data-label="invoice-ocr"]').count()).toBe(0);
    await ada.getByLabel('Show').selectOption('registered');
    const registered = ada.locator('table.discovered-table tr[data-label="invoice-ocr"]');
    await registered.waitFor();
    await registered.getByRole('link', { name: 'open app' }).click();
    await ada.getByRole('heading', { level: 1, name: 'invoice-ocr' }).waitFor();

    // Its task is resolved: the ownership tasks list it so.
    const tasks = (await (await api('/apps/v1/ownership-tasks?kind=candidate&status=resolved')).json()) as {
      items: { candidate: { label: string; appId: string | null } }[];
    };
    expect(tasks.items.map((t) => t.candidate.label)).toContain('invoice-ocr');
  });

  it('imports a CSV: a bad row is listed with its row, line and field and nothing is imported; fixed, it imports', async () => {
    await ada.goto(`${platform.url}/apps/`);
    await ada.getByRole('navigation', { name: 'Registry pages' }).getByRole('link', { name: 'Import' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Import apps' }).waitFor();
    const header =
      'name,purpose,owner_name,owner_contact,team_name,team_contact,runtime,impact,exposure,data_classes,template,tags';
    const good =
      'canteen-menu,What is for lunch,,,facilities,#facilities,wasm,experimental,internal_network,public,micro-oncall-service,';
    const bad =
      'visitor-badges,Badges for visitors,,,facilities,#facilities,saas_connector,experimental,carrier_pigeon,internal,micro-oncall-service,';
    await ada.getByLabel('Format').selectOption('csv');
    await ada.getByLabel('Or paste it').fill([header, good, bad].join('\n'));
    await ada.getByRole('button', { name: 'Import', exact: true }).click();
    const issues = ada.locator('table.import-issues tbody tr');
    await issues.first().waitFor();
    expect(await issues.first().locator('td').allTextContents()).toEqual([
      '2',
      '3',
      'exposure',
      expect.stringMatching(/./),
    ]);
    expect(await ada.locator('#import-result .notice-error').textContent()).toMatch(
      /^import refused, nothing was imported: row 2 \(line 3\) field exposure/,
    );
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-import-refused.png'), fullPage: true });
    expect(((await (await api('/apps/v1/apps?q=canteen')).json()) as { items: unknown[] }).items).toEqual([]);

    await ada
      .getByLabel('Or paste it')
      .fill([header, good, bad.replace('carrier_pigeon', 'internal_network')].join('\n'));
    await ada.getByRole('button', { name: 'Import', exact: true }).click();
    await ada
      .locator('#import-result .notice-ok', { hasText: 'Imported 2 apps: 2 new, 0 updated, 0 unchanged.' })
      .waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'apps-import-done.png'), fullPage: true });
  });
});
