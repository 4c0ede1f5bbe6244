import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppView, DecisionSummary } from '../src/model.js';
import { anApp, type Harness, highRisk, type Registered, startHarness } from './helpers.js';

const sbom = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  version: 1,
  components: [{ type: 'library', name: 'express', version: '5.1.0', purl: 'pkg:npm/express@5.1.0' }],
};
const sarif = (errors: number) => ({
  version: '2.1.0',
  runs: [
    {
      tool: { driver: { name: 'gitleaks' } },
      results: Array.from({ length: errors }, (_, i) => ({
        ruleId: 'aws-access-token',
        level: 'error',
        message: { text: `AWS key in file ${i}` },
      })),
    },
  ],
});

describe('app-registry onboarding', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const register = (body: unknown, token = h.tokens.responder) =>
    h.json<Registered>('/apps/v1/apps', { method: 'POST', body: JSON.stringify(body), token });
  const evidence = (id: string, token: string, body: unknown) =>
    h.json<{ app: Pick<AppView, 'state' | 'tier'>; decision: DecisionSummary }>(`/apps/v1/apps/${id}/evidence`, {
      method: 'POST',
      body: JSON.stringify(body),
      token,
    });

  it('approves a low-risk app at once, with its pipeline token, history and event', async () => {
    const res = await register(anApp('lunch-poll'));
    expect(res.status).toBe(201);
    expect(res.body.app).toMatchObject({
      name: 'lunch-poll',
      state: 'active',
      tier: 'low',
      riskScore: 2,
      openViolations: 0,
      requestedBy: 'rita',
    });
    expect(res.body.decision).toMatchObject({ outcome: 'approve', reasons: [], policyVersion: expect.any(String) });
    expect(res.body.token).toMatch(/^moapp_/);
    expect(res.headers.get('etag')).toBe('"v1"');

    const history = await h.json<{
      items: { action: string; actorSubject: string; changes: Record<string, { to: unknown }> }[];
    }>(`/apps/v1/apps/${res.body.app.id}/history`);
    expect(history.body.items).toEqual([
      expect.objectContaining({
        action: 'created',
        actorSubject: 'rita',
        changes: expect.objectContaining({ state: { from: null, to: 'active' } }),
      }),
    ]);
    const [event] = await h.events(res.body.app.id, 1);
    expect(event).toMatchObject({
      type: 'io.microoncall.app-registry.registered',
      subject: res.body.app.id,
      data: {
        app: { name: 'lunch-poll' },
        state: { from: null, to: 'active' },
        tier: 'low',
        owner: { team: { name: 'finance-tools' } },
      },
    });
  });

  it('refuses a high-risk app with readable reasons until its evidence and SSO are in, then sends it for approval; another approver approves', async () => {
    const res = await register(highRisk('expense-approvals'));
    expect(res.status).toBe(201);
    const { app, token } = res.body;
    expect(app).toMatchObject({ state: 'refused', tier: 'high', riskScore: 24 });
    expect(res.body.decision.outcome).toBe('refuse');
    expect(res.body.decision.explanation).toBe(
      'risk score 24 = impact business_critical (3) × data sensitivity internal+pii (4) × exposure authenticated_api (2): tier high',
    );
    expect(res.body.decision.reasons).toEqual([
      expect.objectContaining({ rule: 'MO-APP-005', control: 'sbom', fix: expect.stringMatching(/SBOM/) }),
      expect.objectContaining({
        rule: 'MO-APP-004',
        control: 'secrets_scanning',
        message: 'no secrets scan (SARIF) has been posted',
      }),
      expect.objectContaining({
        rule: 'MO-APP-003',
        control: 'sso',
        message: 'no single sign-on client id has been posted',
      }),
      expect.objectContaining({ rule: 'MO-APP-006', control: 'human_approval' }),
    ]);

    // A pipeline without the app's token is refused (and audited).
    expect((await evidence(app.id, 'moapp_notthetoken', { kind: 'sbom', document: sbom })).status).toBe(401);
    // A document that is not what it claims is refused naming the field; nothing is recorded.
    const bad = await evidence(app.id, token, { kind: 'sbom', document: { ...sbom, specVersion: 6 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/document\.specVersion/);

    expect((await evidence(app.id, token, { kind: 'sbom', document: sbom })).body.app.state).toBe('refused');
    const leaky = await evidence(app.id, token, { kind: 'secret_scan', document: sarif(2) });
    expect(leaky.status).toBe(201);
    expect(leaky.body.decision.reasons.map((r) => r.message)).toContain(
      'the secrets scan by gitleaks found 2 problem(s) at level error',
    );
    const clean = await evidence(app.id, token, { kind: 'secret_scan', document: sarif(0) });
    expect(clean.body.app.state).toBe('refused');
    expect(clean.body.decision.reasons.map((r) => r.control)).toEqual(['sso', 'human_approval']);

    // The SSO client id: not one of the app's registered clients fails, the right one passes.
    const wrongClient = await evidence(app.id, token, { kind: 'sso', clientId: '0oa-someone-else' });
    expect(wrongClient.body.decision.reasons[0]).toMatchObject({
      control: 'sso',
      message: expect.stringMatching(/is not one of the app's identity-provider clients/),
    });
    const sso = await evidence(app.id, token, { kind: 'sso', clientId: '0oa-expenses-web' });
    expect(sso.body.app.state).toBe('pending_approval');
    expect(sso.body.decision).toMatchObject({
      outcome: 'needs_approval',
      reasons: [expect.objectContaining({ control: 'human_approval' })],
    });

    // The requester holds the approver role too, but may not approve their own request: 403, audited.
    const self = await h.json<{ error: { message: string } }>(`/apps/v1/apps/${app.id}/approve`, {
      method: 'POST',
      body: '{}',
      token: h.requesterApprover,
    });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/you requested it; another approver must decide/);
    // A responder cannot approve at all.
    expect(
      (await h.api(`/apps/v1/apps/${app.id}/approve`, { method: 'POST', body: '{}', token: h.tokens.responder2 }))
        .status,
    ).toBe(403);

    const approved = await h.json<{ app: AppView }>(`/apps/v1/apps/${app.id}/approve`, {
      method: 'POST',
      body: JSON.stringify({ comment: 'SSO and scans in place; PII in its own namespace' }),
      token: h.tokens.approver,
    });
    expect(approved.status).toBe(200);
    expect(approved.body.app).toMatchObject({
      state: 'active',
      approval: { tier: 'high', by: 'april' },
      openViolations: 0,
    });

    const audit = await h.json<{ items: { action: string; outcome: string; actorSubject: string; detail: string }[] }>(
      `/apps/v1/audit?appId=${app.id}`,
      { token: h.tokens.approver2 },
    );
    expect(audit.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'approve',
          outcome: 'denied',
          actorSubject: 'rita',
          detail: expect.stringMatching(/403.*you requested it/),
        }),
        expect.objectContaining({ action: 'approve', outcome: 'denied', actorSubject: 'ron' }),
        expect.objectContaining({ action: 'evidence', outcome: 'denied', actorSubject: 'anonymous' }),
        expect.objectContaining({ action: 'approve', outcome: 'allowed', actorSubject: 'april' }),
      ]),
    );
    const decisions = await h.json<{ items: { outcome: string; decidedBy: string }[] }>(
      `/apps/v1/apps/${app.id}/decisions`,
    );
    expect(decisions.body.items.map((d) => d.outcome)).toEqual(
      expect.arrayContaining(['refuse', 'needs_approval', 'approved', 'approve']),
    );
    const events = await h.events(app.id, 3);
    expect(events.map((e) => [e.data.state.from, e.data.state.to])).toEqual([
      [null, 'refused'],
      ['refused', 'pending_approval'],
      ['pending_approval', 'active'],
    ]);
  });

  it('counts an approved, unexpired exception as meeting its control; the requester cannot approve it', async () => {
    const res = await register(highRisk('payroll-export'));
    const { app, token } = res.body;
    await evidence(app.id, token, { kind: 'secret_scan', document: sarif(0) });
    await evidence(app.id, token, { kind: 'sso', clientId: '0oa-expenses-web' });
    const asked = await h.json<{ id: string; status: string }>(`/apps/v1/apps/${app.id}/exceptions`, {
      method: 'POST',
      body: JSON.stringify({
        control: 'sbom',
        reason: 'vendor SBOM due next sprint',
        expiresAt: new Date(h.clock.now().getTime() + 30 * 86_400_000).toISOString(),
      }),
      token: h.tokens.responder,
    });
    expect(asked.status).toBe(201);
    expect((await h.json<AppView>(`/apps/v1/apps/${app.id}`)).body.state).toBe('refused');
    const tooLong = await h.json(`/apps/v1/apps/${app.id}/exceptions`, {
      method: 'POST',
      body: JSON.stringify({
        control: 'sbom',
        reason: 'forever',
        expiresAt: new Date(h.clock.now().getTime() + 400 * 86_400_000).toISOString(),
      }),
      token: h.tokens.responder,
    });
    expect(tooLong.status).toBe(400);
    const self = await h.api(`/apps/v1/apps/${app.id}/exceptions/${asked.body.id}/approve`, {
      method: 'POST',
      token: h.requesterApprover,
    });
    expect(self.status).toBe(403);
    const ok = await h.json<{ status: string }>(`/apps/v1/apps/${app.id}/exceptions/${asked.body.id}/approve`, {
      method: 'POST',
      token: h.tokens.approver,
    });
    expect(ok.body.status).toBe('approved');
    const after = (await h.json<AppView>(`/apps/v1/apps/${app.id}`)).body;
    expect(after.state).toBe('pending_approval');
    expect(after.decision?.controls.find((c) => c.id === 'sbom')?.status).toBe('excepted');

    // Thirty-one days later the exception has expired: the next sweep decides the app again.
    h.clock.advanceDays(31);
    await h.sweep();
    const expired = (await h.json<AppView>(`/apps/v1/apps/${app.id}`)).body;
    expect(expired.state).toBe('refused');
    // (and the secrets scan, now 31 days old, no longer counts either: scans count for 30 days)
    expect(expired.decision?.reasons.map((r) => r.control)).toEqual(['sbom', 'secrets_scanning', 'human_approval']);
    expect(expired.decision?.controls.find((c) => c.id === 'secrets_scanning')?.message).toMatch(
      /^the secrets scan is 31 days old/,
    );
  });

  it('refuses an edit made on a stale version (409) and one without If-Match (428); records what changed', async () => {
    const { app } = (await register(anApp('desk-booking'))).body;
    const edit = (version: string | null, body: unknown) =>
      h.json<AppView & { error?: { message: string } }>(`/apps/v1/apps/${app.id}`, {
        method: 'PATCH',
        body: JSON.stringify(body),
        token: h.tokens.responder,
        headers: version ? { 'if-match': version } : {},
      });
    expect((await edit(null, { purpose: 'x' })).status).toBe(428);
    const first = await edit('"v1"', { purpose: 'Book a desk for the day', tags: ['facilities'] });
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBe('"v2"');
    const stale = await edit('"v1"', { purpose: 'someone else’s idea' });
    expect(stale.status).toBe(409);
    expect(stale.body.error?.message).toMatch(/is at version 2, not 1/);
    // A classification change is decided again: public exposure with personal data makes it medium, which needs SSO.
    const riskier = await edit('"v2"', { exposure: 'public_url', dataClasses: ['pii'], runtime: 'container' });
    expect(riskier.body).toMatchObject({ tier: 'medium', riskScore: 12, state: 'active' });
    expect(riskier.headers.get('etag')).toBe('"v3"');
    expect(riskier.body.openViolations).toBeGreaterThan(0);
    const history = await h.json<{
      items: { action: string; changes: Record<string, { from: unknown; to: unknown }> }[];
    }>(`/apps/v1/apps/${app.id}/history`);
    // Newest first: the classification change, its decision, then the first edit.
    expect(history.body.items.map((i) => i.action)).toEqual(['decided', 'updated', 'updated', 'created']);
    expect(history.body.items[2]?.changes).toEqual({
      purpose: { from: 'desk-booking: a test app', to: 'Book a desk for the day' },
      tags: { from: ['finance'], to: ['facilities'] },
    });
    const violations = await h.json<{ items: { app: string; control: string; task: string }[] }>('/apps/v1/violations');
    expect(violations.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ app: 'desk-booking', control: 'sso', task: expect.stringMatching(/client id/) }),
      ]),
    );
  });

  it('refuses invalid apps naming the field, a second app with the same name, and callers without the role', async () => {
    const bad = await register(anApp('Bad Name', { impact: 'galactic' }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/name: .*impact/);
    expect((await register(anApp('lunch-poll'))).status).toBe(409);
    expect((await register(anApp('viewer-app'), h.tokens.viewer)).status).toBe(403);
    expect((await h.api('/apps/v1/apps', { token: '' })).status).toBe(401);
  });

  it('searches by text, filters by any field, sorts and pages with a cursor', async () => {
    for (const name of ['alpha-search', 'beta-search', 'gamma-search']) {
      await register(anApp(name, { tags: ['searchable'], team: { name: 'search-team', contact: '#search' } }));
    }
    const text = await h.json<{ items: AppView[] }>('/apps/v1/apps?q=gamma');
    expect(text.body.items.map((a) => a.name)).toEqual(['gamma-search']);
    const byTeam = await h.json<{ items: AppView[]; nextCursor: string | null }>(
      '/apps/v1/apps?team=search-team&sort=name&order=desc&limit=2',
    );
    expect(byTeam.body.items.map((a) => a.name)).toEqual(['gamma-search', 'beta-search']);
    const next = await h.json<{ items: AppView[]; nextCursor: string | null }>(
      `/apps/v1/apps?team=search-team&sort=name&order=desc&limit=2&cursor=${byTeam.body.nextCursor}`,
    );
    expect(next.body).toEqual({ items: [expect.objectContaining({ name: 'alpha-search' })], nextCursor: null });
    const high = await h.json<{ items: AppView[] }>('/apps/v1/apps?tier=high&sort=riskScore');
    expect(high.body.items.every((a) => a.tier === 'high')).toBe(true);
    expect(high.body.items.length).toBeGreaterThan(0);
    const filtered = await h.json<{ items: AppView[] }>(
      '/apps/v1/apps?dataClass=pii&state=active&tag=finance&runtime=container',
    );
    expect(filtered.body.items.map((a) => a.name)).toContain('expense-approvals');
    expect((await h.api('/apps/v1/apps?tier=extreme')).status).toBe(400);
    const wrongSort = await h.json(`/apps/v1/apps?team=search-team&sort=createdAt&cursor=${byTeam.body.nextCursor}`);
    expect(wrongSort.status).toBe(400);
    // Text matches sorted by name, paged.
    const words = await h.json<{ items: AppView[]; nextCursor: string | null }>('/apps/v1/apps?q=search&limit=2');
    expect(words.body.items.map((a) => a.name)).toEqual(['alpha-search', 'beta-search']);
    const moreWords = await h.json<{ items: AppView[] }>(
      `/apps/v1/apps?q=search&limit=2&cursor=${words.body.nextCursor}`,
    );
    expect(moreWords.body.items.map((a) => a.name)).toEqual(['gamma-search']);
  });

  it('lists several states in one order across pages, by activity and by name', async () => {
    const states = 'active,pending_approval,refused';
    for (const sort of ['lastActivityAt', 'name']) {
      const all = await h.json<{ items: AppView[] }>(`/apps/v1/apps?state=${states}&sort=${sort}&limit=500`);
      expect(new Set(all.body.items.map((a) => a.state)).size, 'apps in more than one of the states').toBeGreaterThan(
        1,
      );
      // The same as the whole list in that order, less the other states.
      const whole = await h.json<{ items: AppView[] }>(`/apps/v1/apps?sort=${sort}&limit=500`);
      const expected = whole.body.items.filter((a) => states.split(',').includes(a.state));
      expect(all.body.items.map((a) => a.id)).toEqual(expected.map((a) => a.id));
      // Two at a time, following the cursor: the same apps in the same order.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: AppView[]; nextCursor: string | null } } = await h.json(
          `/apps/v1/apps?state=${states}&sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        paged.push(...page.body.items.map((a) => a.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(paged).toEqual(all.body.items.map((a) => a.id));
    }
  });

  it('keeps the history, the audit and the decisions append-only, even for the database owner', async () => {
    for (const table of ['app_history', 'audit_log', 'decisions']) {
      await expect(h.sql(`update app_registry.${table} set at = now()`)).rejects.toThrow(
        `app_registry.${table} is append-only (UPDATE refused)`,
      );
      await expect(h.sql(`delete from app_registry.${table}`)).rejects.toThrow(/append-only \(DELETE refused\)/);
      await expect(h.sql(`truncate app_registry.${table}`)).rejects.toThrow(/append-only \(TRUNCATE refused\)/);
    }
  });

  it('lists the approved templates from the policy', async () => {
    const res = await h.json<{ items: { name: string }[] }>('/apps/v1/templates');
    expect(res.body.items.map((t) => t.name)).toContain('micro-oncall-service');
  });

  it('exports the inventory in every format and publishes app_registry_app_info', async () => {
    const csv = await h.api('/apps/v1/export?format=csv&team=search-team');
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).split('\r\n').filter(Boolean)).toHaveLength(4);
    const backstage = await (await h.api('/apps/v1/export?format=backstage&q=lunch')).text();
    expect(backstage).toMatch(/kind: Component\n[\s\S]*name: lunch-poll[\s\S]*owner: group:default\/finance-tools/);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(
      /app_registry_app_info\{app_id="app_[0-9a-f]{24}",owner="rita@example.com",team="finance-tools",tier="low",state="(?:active|idle)",service="app-registry"\} 1/,
    );
  });
});
