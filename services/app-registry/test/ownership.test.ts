import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppView } from '../src/model.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

// Generated per run: no credential-looking literal in the repository.
const SECRET = randomBytes(24).toString('hex');

interface Task {
  id: string;
  appId: string;
  app: { name: string };
  status: string;
  reason: string;
  previousOwner: { name: string; contact: string | null; subject: string | null } | null;
  candidates: { why: string; name: string; contact: string | null; subject: string | null }[];
  newOwner: { name: string; contact: string; subject: string | null } | null;
}

/** What Okta posts to an event hook when an admin deactivates a person. */
const oktaDeactivation = (uuid: string, user: { id: string; email: string; name: string }) => ({
  eventType: 'com.okta.event_hook',
  eventTypeVersion: '1.0',
  cloudEventsVersion: '0.1',
  source: 'https://example.okta.com/api/v1/eventHooks/who8tsqyrhCdmetzx135',
  eventId: `hook-${uuid}`,
  eventTime: new Date().toISOString(),
  contentType: 'application/json',
  data: {
    events: [
      {
        uuid,
        published: new Date().toISOString(),
        eventType: 'user.lifecycle.deactivate',
        displayMessage: 'Deactivate Okta user',
        actor: { id: '00uadmin', type: 'User', alternateId: 'admin@example.com', displayName: 'An Admin' },
        target: [{ id: user.id, type: 'User', alternateId: user.email, displayName: user.name }],
      },
    ],
  },
});

describe('app-registry owners: deactivation opens ownership tasks, assigning resolves them', () => {
  let h: Harness;
  let expenses: AppView;
  let payroll: AppView;

  beforeAll(async () => {
    h = await startHarness({ env: { IDENTITY_EVENTS_SECRET: SECRET } });
    const register = async (body: unknown, token: string) => {
      const res = await h.json<Registered>('/apps/v1/apps', { method: 'POST', body: JSON.stringify(body), token });
      expect(res.status).toBe(201);
      return res.body.app;
    };
    expenses = await register(
      anApp('expenses', { owner: { name: 'Rita Requester', contact: 'rita@example.com' }, ownerSubject: 'rita' }),
      h.tokens.responder,
    );
    // Another app of the team, owned by Olga: she is a co-owner candidate.
    payroll = await register(
      anApp('payroll-export', { owner: { name: 'Olga Owner', contact: 'olga@example.com' }, ownerSubject: 'olga' }),
      h.tokens.responder2,
    );
    // Ron edits expenses: a recent editor.
    const edit = await h.json<AppView>(`/apps/v1/apps/${expenses.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ purpose: 'Expense claims and receipts' }),
      headers: { 'if-match': `"v${expenses.version}"` },
      token: h.tokens.responder2,
    });
    expect(edit.status).toBe(200);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const postEvent = (body: unknown, authorization = SECRET) =>
    h.json<{ processed: { eventId: string; duplicate: boolean; apps: string[]; tasks: string[] }[]; ignored: number }>(
      '/apps/v1/identity/events',
      { method: 'POST', body: JSON.stringify(body), token: '', headers: { authorization } },
    );
  const openTasks = async () => (await h.json<{ items: Task[] }>('/apps/v1/ownership-tasks')).body.items;

  it('refuses an identity event without the shared secret, and answers Okta’s verification with it', async () => {
    const rita = { id: 'rita', email: 'rita@example.com', name: 'Rita Requester' };
    expect((await postEvent(oktaDeactivation('evt-wrong', rita), 'not-the-secret')).status).toBe(401);
    expect((await openTasks()).length).toBe(0);

    const challenge = await h.json<{ verification: string }>('/apps/v1/identity/events', {
      token: '',
      headers: { authorization: SECRET, 'x-okta-verification-challenge': 'abc-123' },
    });
    expect(challenge).toMatchObject({ status: 200, body: { verification: 'abc-123' } });
  });

  it('an owner deactivated at Okta leaves each of their apps with an ownership task and candidate owners', async () => {
    const body = oktaDeactivation('evt-rita-1', { id: 'rita', email: 'rita@example.com', name: 'Rita Requester' });
    const res = await postEvent(body);
    expect(res.status).toBe(202);
    expect(res.body.processed).toEqual([
      expect.objectContaining({ eventId: 'okta:evt-rita-1', duplicate: false, apps: [expenses.id] }),
    ]);

    const app = (await h.json<AppView>(`/apps/v1/apps/${expenses.id}`)).body;
    expect(app.owner).toBeNull();
    expect(app.ownerSubject).toBeNull();

    const tasks = await openTasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      appId: expenses.id,
      app: { name: 'expenses' },
      status: 'open',
      reason: 'owner_deactivated',
      previousOwner: { name: 'Rita Requester', contact: 'rita@example.com', subject: 'rita' },
    });
    expect(tasks[0]!.candidates).toEqual([
      { why: 'team', name: 'finance-tools', contact: '#finance-tools', subject: null },
      { why: 'recent_editor', name: 'Ron Responder', contact: null, subject: 'ron' },
      { why: 'co_owner', name: 'Olga Owner', contact: 'olga@example.com', subject: 'olga' },
    ]);
    // Olga's app is untouched.
    expect((await h.json<AppView>(`/apps/v1/apps/${payroll.id}`)).body.owner).toEqual({
      name: 'Olga Owner',
      contact: 'olga@example.com',
    });

    // The team hears of it at once (Slack here; by email the team and the candidates with an
    // address), with the candidates named.
    await vi.waitFor(() => expect(h.slack.messages).toHaveLength(1), { timeout: 15_000, interval: 100 });
    const notice = JSON.stringify(h.slack.messages[0]);
    expect(notice).toContain('expenses needs a new owner');
    expect(notice).toContain('Rita Requester was deactivated at the identity provider');
    expect(notice).toContain('candidates: Ron Responder, Olga Owner.');
    const [row] = await h.sql<{ id: string; kind: string }>(
      'select id, kind from app_registry.notifications where app_id = $1',
      [expenses.id],
    );
    expect(row).toEqual({ id: tasks[0]!.id, kind: 'ownership_task' });

    // Okta redelivers: nothing changes, and nobody hears of it twice.
    const again = await postEvent(body);
    expect(again.body.processed).toEqual([expect.objectContaining({ duplicate: true, apps: [] })]);
    expect(await openTasks()).toHaveLength(1);
    await h.sweep();
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.slack.messages).toHaveLength(1);
  });

  it('assigning a new owner resolves the task, with history, audit and an event; a departed person is refused', async () => {
    const [task] = await openTasks();
    const assign = (owner: unknown, token = h.tokens.responder2) =>
      h.json<{ task: Task; app: AppView; error?: { message: string } }>(`/apps/v1/ownership-tasks/${task!.id}/assign`, {
        method: 'POST',
        body: JSON.stringify(owner),
        token,
      });

    expect(
      (await assign({ owner: { name: 'Ron Responder', contact: 'ron@example.com' } }, h.tokens.viewer)).status,
    ).toBe(403);
    const departed = await assign({
      owner: { name: 'Rita Requester', contact: 'rita@example.com' },
      ownerSubject: 'rita',
    });
    expect(departed.status).toBe(409);
    expect(departed.body.error?.message).toMatch(/deactivated at the identity provider/);

    const res = await assign({ owner: { name: 'Ron Responder', contact: 'ron@example.com' }, ownerSubject: 'ron' });
    expect(res.status).toBe(200);
    expect(res.body.task).toMatchObject({
      status: 'resolved',
      newOwner: { name: 'Ron Responder', contact: 'ron@example.com', subject: 'ron' },
    });
    expect(res.body.app).toMatchObject({
      owner: { name: 'Ron Responder', contact: 'ron@example.com' },
      ownerSubject: 'ron',
    });
    expect(await openTasks()).toEqual([]);
    expect((await assign({ owner: { name: 'Olga Owner', contact: 'olga@example.com' } })).status).toBe(409);

    const history = await h.json<{
      items: { action: string; actorSubject: string; changes: Record<string, unknown> }[];
    }>(`/apps/v1/apps/${expenses.id}/history`);
    expect(history.body.items.slice(0, 2)).toEqual([
      expect.objectContaining({
        action: 'owner_assigned',
        actorSubject: 'ron',
        changes: expect.objectContaining({ ownerSubject: { from: null, to: 'ron' } }),
      }),
      expect.objectContaining({
        action: 'owner_deactivated',
        actorSubject: 'identity-provider',
        changes: expect.objectContaining({ ownerSubject: { from: 'rita', to: null } }),
      }),
    ]);

    const audit = await h.json<{ items: { action: string; appId: string }[] }>(`/apps/v1/audit?appId=${expenses.id}`, {
      token: h.tokens.approver,
    });
    expect(audit.body.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['owner_deactivated', 'owner_assigned']),
    );

    // registered, then `updated` when the owner left and when the new one was assigned (a purpose edit is not published).
    const events = await h.events(expenses.id, 3);
    const owners = events.filter((e) => e.data.kind === 'updated').map((e) => e.data.owner.person?.name ?? null);
    expect(owners).toEqual([null, 'Ron Responder']);
  });

  it('a SCIM user set inactive opens a task on the apps they own (matched by email)', async () => {
    const res = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(
        anApp('badge-printer', { owner: { name: 'Sam Smith', contact: 'Sam@Example.com' }, ownerSubject: null }),
      ),
      token: h.tokens.responder,
    });
    expect(res.status).toBe(201);
    const scim = await postEvent(
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        id: '2819c223-7f76-453a-919d-413861904646',
        userName: 'sam@example.com',
        displayName: 'Sam Smith',
        active: false,
        emails: [{ value: 'sam@example.com', primary: true, type: 'work' }],
        meta: { resourceType: 'User', lastModified: '2026-11-30T10:00:00Z', version: 'W/"3694e05e9dff591"' },
      },
      `Bearer ${SECRET}`,
    );
    expect(scim.status).toBe(202);
    expect(scim.body.processed[0]).toMatchObject({ duplicate: false, apps: [res.body.app.id] });
    const tasks = await openTasks();
    expect(tasks.map((t) => [t.app.name, t.reason])).toEqual([['badge-printer', 'owner_deactivated']]);
  });

  it('an import that drops an owner opens a task; a bad event body is a 400 naming the field', async () => {
    const header =
      'name,purpose,owner_name,owner_contact,team_name,team_contact,runtime,impact,exposure,data_classes,template,tags';
    const row = (owner: string) =>
      `timesheets,Hours per project,${owner},people-ops,#people-ops,low_code,business_helpful,authenticated_api,internal,micro-oncall-service,hr`;
    const importCsv = (csv: string) =>
      h.json('/apps/v1/import', {
        method: 'POST',
        body: csv,
        headers: { 'content-type': 'text/csv' },
        token: h.tokens.responder,
      });
    expect((await importCsv(`${header}\n${row('Grace Hopper,grace@example.com')}\n`)).status).toBe(200);
    expect((await openTasks()).map((t) => t.app.name)).not.toContain('timesheets');
    expect((await importCsv(`${header}\n${row(',')}\n`)).status).toBe(200);
    const task = (await openTasks()).find((t) => t.app.name === 'timesheets');
    expect(task).toMatchObject({
      reason: 'owner_dropped_by_import',
      previousOwner: { name: 'Grace Hopper', contact: 'grace@example.com' },
    });

    const bad = await postEvent({ eventType: 'com.okta.event_hook', data: { events: [{ eventType: 'x' }] } });
    expect(bad.status).toBe(400);
  });
});
