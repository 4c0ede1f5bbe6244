import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseAlertmanager, normaliseOpsgenie, normalisePagerDuty } from '@micro-oncall/incident-model';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { type FakeOpsgenie, type FakePagerDuty, startFakeOpsgenie, startFakePagerDuty } from '@micro-oncall/test-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation } from './support.js';

const receivedAt = new Date().toISOString();

/** GET /v1/incidents/:id/targets against the fake PagerDuty and Opsgenie. */
const temporaryDir = temporaryDirectories();

describe('pickers: the providers users, escalation policies and schedules', () => {
  let esc: TestEscalation;
  let pagerduty: FakePagerDuty;
  let opsgenie: FakeOpsgenie;
  let responder: string;
  let viewer: string;
  let admin: string;
  const pd = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PPICK1' }), { receivedAt }));
  // Its team (`checkout-team`) owns no Opsgenie schedule; og2's team `Checkout` owns `Checkout on-call`.
  const og = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ alertId: 'og-pick-1' }), { receivedAt }));
  const og2 = onlyEvent(
    normaliseOpsgenie(opsgenieWebhook({ alertId: 'og-pick-2', alias: 'og-pick-2', teams: ['Checkout'] }), {
      receivedAt,
    }),
  );
  const am = onlyEvent(normaliseAlertmanager(alertmanagerWebhook(), { receivedAt }));

  const targets = async (incidentId: string, params: string, token = responder) => {
    const res = await fetch(`${esc.service.url}/v1/incidents/${incidentId}/targets?${params}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        items?: { id: string; name: string; email?: string; summary?: string }[];
        error?: { code: string; message: string };
      },
    };
  };
  const onCall = async (incidentId: string, token = viewer) => {
    const res = await fetch(`${esc.service.url}/v1/incidents/${incidentId}/oncall`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        schedule?: { name: string; chosenBy: string } | null;
        items?: { user: { name: string } }[];
        error?: { message: string };
      },
    };
  };
  const listCalls = (path: string) => pagerduty.requests.filter((r) => r.method === 'GET' && r.path === path);

  beforeAll(async () => {
    pagerduty = await startFakePagerDuty({
      token: 'pd-pick-token-123',
      users: [
        { id: 'PADA001', email: 'ada@example.com', name: 'Ada Lovelace' },
        { id: 'PGRACE1', email: 'grace.hopper@example.com', name: 'Grace Hopper', role: 'admin' },
        { id: 'PKATJ01', email: 'katherine@example.com', name: 'Katherine Johnson' },
      ],
      incidents: ['PPICK1'],
      escalationPolicies: [
        {
          id: 'PFAKEEP',
          name: 'Checkout escalation',
          levels: [
            [{ id: 'PSCHPRI', type: 'schedule_reference', summary: 'Checkout primary' }],
            [{ id: 'PSCHSEC', type: 'schedule_reference', summary: 'Checkout secondary' }],
            [{ id: 'PADA001', type: 'user_reference', summary: 'Ada Lovelace' }],
          ],
        },
        // The policy the incident fixture names.
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
    opsgenie = await startFakeOpsgenie({ apiKey: 'og-pick-key-12345', alerts: ['og-pick-1'] });
    const secret = (name: string, value: string) => {
      const path = join(temporaryDir('mo-targets-'), name);
      writeFileSync(path, value, { mode: 0o600 });
      return path;
    };
    esc = await startTestEscalation('targets', () => ({
      PAGERDUTY_API_URL: pagerduty.url,
      PAGERDUTY_API_TOKEN_FILE: secret('pd', 'pd-pick-token-123'),
      PAGERDUTY_FROM_EMAIL: 'ada@example.com',
      OPSGENIE_API_URL: opsgenie.url,
      OPSGENIE_API_KEY_FILE: secret('og', 'og-pick-key-12345'),
      OPSGENIE_ONCALL_SCHEDULE: 'Platform on-call',
      PROVIDER_TIMEOUT_MS: '500',
    }));
    responder = await esc.issuer.token({ sub: 'ada', email: 'ada@example.com', name: 'Ada', roles: ['responder'] });
    viewer = await esc.issuer.token({ sub: 'vic', roles: ['viewer'] });
    admin = await esc.issuer.token({ sub: 'alex', roles: ['admin'] });
    await esc.publish([pd, og, og2, am]);
    for (const e of [pd, og, og2, am]) await esc.applied(e.incidentId, responder);
  });

  afterAll(async () => {
    await esc?.stop();
    await Promise.all([pagerduty?.stop(), opsgenie?.stop()]);
  });

  it("lists and searches the PagerDuty users of a PagerDuty incident, through PagerDuty's own search", async () => {
    const all = await targets(pd.incidentId, 'kind=user');
    expect(all.status).toBe(200);
    expect(all.body.items?.map((u) => u.name)).toEqual(['Ada Lovelace', 'Grace Hopper', 'Katherine Johnson']);

    const found = await targets(pd.incidentId, 'kind=user&q=grace');
    expect(found.body.items).toEqual([
      { id: 'PGRACE1', name: 'Grace Hopper', email: 'grace.hopper@example.com', summary: 'admin · Europe/London' },
    ]);
    const call = listCalls('/users').at(-1)!;
    expect(call.query).toEqual({ query: 'grace', limit: '25' });
    expect(call.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
  });

  it('answers the same search from its cache instead of asking PagerDuty again', async () => {
    const before = listCalls('/escalation_policies').length;
    const first = await targets(pd.incidentId, 'kind=escalation_policy&q=checkout');
    const again = await targets(pd.incidentId, 'kind=escalation_policy&q=Checkout');
    expect(first.body.items).toEqual([
      { id: 'PFAKEEP', name: 'Checkout escalation', summary: '3 levels · first: Checkout primary' },
    ]);
    expect(again.body).toEqual(first.body);
    expect(listCalls('/escalation_policies').length).toBe(before + 1);
  });

  it('lists Opsgenie escalations, schedules and users (blocked ones left out), searched here', async () => {
    const escalations = await targets(og.incidentId, 'kind=escalation_policy&q=platform');
    expect(escalations.status).toBe(200);
    expect(escalations.body.items?.map((e) => e.name)).toEqual(['Platform escalation']);
    const schedules = await targets(og.incidentId, 'kind=schedule');
    expect(schedules.body.items?.map((s) => s.name)).toEqual(['Checkout on-call', 'Platform on-call']);
    const users = await targets(og.incidentId, 'kind=user&q=e');
    expect(users.body.items?.map((u) => u.name)).not.toContain('Former Employee');
    expect(
      opsgenie.requests.some((r) => r.path === '/v2/escalations' && r.headers.authorization === '[redacted]'),
    ).toBe(true);
  });

  it('names the wrong field with 400, and refuses Alertmanager incidents with 409', async () => {
    const noKind = await targets(pd.incidentId, 'q=ada');
    expect(noKind.status).toBe(400);
    expect(noKind.body.error?.message).toMatch(/^invalid query: kind: /);
    const badKind = await targets(pd.incidentId, 'kind=team');
    expect(badKind.body.error?.message).toContain('kind: must be one of user, escalation_policy, schedule');
    const extra = await targets(pd.incidentId, 'kind=user&search=x');
    expect(extra.status).toBe(400);
    expect(extra.body.error?.message).toContain('search');
    const long = await targets(pd.incidentId, `kind=user&q=${'x'.repeat(101)}`);
    expect(long.body.error?.message).toContain('q: at most 100 characters');
    expect((await targets('not-an-id', 'kind=user')).status).toBe(400);
    expect((await targets('inc_000000000000000000000000', 'kind=user')).status).toBe(404);
    const alertmanager = await targets(am.incidentId, 'kind=user');
    expect(alertmanager.status).toBe(409);
    expect(alertmanager.body.error?.message).toBe('Alertmanager has no users to pick from');
  });

  it('refuses a viewer with 403 and audits the refusal as denied', async () => {
    const res = await targets(pd.incidentId, 'kind=user', viewer);
    expect(res.status).toBe(403);
    const audit = await fetch(`${esc.service.url}/v1/audit?incidentId=${pd.incidentId}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const rows = ((await audit.json()) as { items: { action: string; outcome: string; actor: { subject: string } }[] })
      .items;
    expect(rows).toContainEqual(
      expect.objectContaining({
        action: 'targets_read',
        outcome: 'denied',
        actor: expect.objectContaining({ subject: 'vic' }),
      }),
    );
  });

  it('says plainly when PagerDuty refuses the API token (502), and does not cache the failure', async () => {
    pagerduty.failNext({ status: 401 });
    const res = await targets(pd.incidentId, 'kind=schedule&q=primary');
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({
      code: 'provider_error',
      message:
        'PagerDuty refused to list its schedules (401): the PagerDuty API credential was not accepted or lacks access; check PAGERDUTY_API_TOKEN',
    });
    const retried = await targets(pd.incidentId, 'kind=schedule&q=primary');
    expect(retried.status).toBe(200);
    expect(retried.body.items?.map((s) => s.name)).toEqual(['Checkout primary']);
  });

  it("shows who is on call now at each level of the incident's PagerDuty escalation policy", async () => {
    const res = await fetch(`${esc.service.url}/v1/incidents/${pd.incidentId}/oncall`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      policy: { id: string; name: string };
      items: { level: number; user: { name: string }; schedule: string | null; end: string | null }[];
    };
    expect(body.policy).toEqual({ id: 'PUS0KTE', name: 'Payments — primary' });
    expect(body.items.map((o) => [o.level, o.user.name, o.schedule])).toEqual([
      [1, 'Ada Lovelace', 'Checkout primary'],
      [2, 'Grace Hopper', null],
    ]);
    expect(Date.parse(body.items[0]!.end!)).toBeGreaterThan(Date.now());
    const call = pagerduty.requests.find((r) => r.path === '/oncalls');
    expect(call?.query).toEqual({ 'escalation_policy_ids[]': 'PUS0KTE', 'include[]': 'users', limit: '100' });
    expect((await onCall(am.incidentId)).status).toBe(409);
  });

  it("shows who is on call in the Opsgenie schedule of the alert's team, else in the configured one", async () => {
    const owned = await onCall(og2.incidentId);
    expect(owned.status).toBe(200);
    expect(owned.body).toEqual({
      policy: null,
      schedule: {
        id: 'd1c2b3a4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        name: 'Checkout on-call',
        chosenBy: 'team',
        team: 'Checkout',
      },
      items: [
        {
          level: 1,
          user: { id: 'b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4', name: 'Grace Hopper', email: 'grace.hopper@example.com' },
          schedule: 'Checkout on-call',
          end: null,
        },
      ],
    });
    const fallback = await onCall(og.incidentId);
    expect(fallback.body.schedule).toMatchObject({ name: 'Platform on-call', chosenBy: 'default' });
    expect(fallback.body.items?.map((o) => o.user.name)).toEqual(['Alan Turing', 'Katherine Johnson']);
    const asked = opsgenie.requests.filter((r) => r.path.endsWith('/on-calls'));
    expect(asked.map((r) => r.query.scheduleIdentifierType)).toEqual(['id', 'name']);
    // Cached: asking again does not ask Opsgenie again.
    await onCall(og.incidentId);
    expect(opsgenie.requests.filter((r) => r.path.endsWith('/on-calls'))).toHaveLength(2);
  });

  it('answers 404 for an unknown incident, 401 without a token, and 502 naming the setting when Opsgenie refuses the key', async () => {
    expect((await onCall('inc_000000000000000000000000')).status).toBe(404);
    expect((await fetch(`${esc.service.url}/v1/incidents/${og2.incidentId}/oncall`)).status).toBe(401);
    const og3 = onlyEvent(
      normaliseOpsgenie(opsgenieWebhook({ alertId: 'og-pick-3', alias: 'og-pick-3', teams: ['Platform'] }), {
        receivedAt,
      }),
    );
    await esc.publish([og3]);
    await esc.applied(og3.incidentId, viewer);
    opsgenie.failNext({ status: 401 });
    const refused = await onCall(og3.incidentId);
    expect(refused.status).toBe(502);
    expect(refused.body.error?.message).toBe(
      'Opsgenie refused to list who is on call (401): the Opsgenie API credential was not accepted or lacks access; check OPSGENIE_API_KEY',
    );
  });
});
