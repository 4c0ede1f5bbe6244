import { envelopeFor, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { AppView } from '../src/model.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

/*
 * The lifecycle on the test's clock: settings shortened so a year fits in a few steps
 * (idle after 30 days at tier low, disabled 14 days later, archived after 7 more, a 90-day
 * restore window).
 */
describe('app-registry lifecycle', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        IDLE_AFTER_DAYS_LOW: '30',
        DISABLE_AFTER_IDLE_DAYS: '14',
        ARCHIVE_AFTER_DISABLED_DAYS: '7',
        RESTORE_WINDOW_DAYS: '90',
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const app = async (id: string) => (await h.json<AppView>(`/apps/v1/apps/${id}`)).body;
  const register = async (name: string, overrides: Record<string, unknown> = {}) => {
    const res = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp(name, overrides)),
      token: h.tokens.responder,
    });
    expect(res.status).toBe(201);
    return res.body.app;
  };

  it('idles, disables (owner notified), archives, is restored within the window, idles again and is purged after it; every step audited and published', async () => {
    const { id } = await register('team-lunch');
    expect((await app(id)).state).toBe('active');

    h.clock.advanceDays(29);
    await h.sweep();
    expect((await app(id)).state).toBe('active');

    h.clock.advanceDays(2); // 31 days without activity
    await h.sweep();
    expect((await app(id)).state).toBe('idle');

    h.clock.advanceDays(15);
    await h.sweep();
    const disabled = await app(id);
    expect(disabled).toMatchObject({ state: 'disabled', lifecycle: { disabledAt: expect.any(String) } });
    // The owner was warned when it went idle, then told it was disabled: each once on Slack (by
    // its delivery job), even though the sweep runs again.
    await h.sweep();
    await vi.waitFor(() => expect(h.slack.messages.length).toBeGreaterThan(1), { timeout: 15_000, interval: 100 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.slack.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          text: expect.stringMatching(
            /^team-lunch will be disabled on \d{4}-\d{2}-\d{2}: team-lunch \(team finance-tools\)/,
          ),
        }),
        expect.objectContaining({
          text: expect.stringMatching(
            /^team-lunch was disabled: no activity for a while: team-lunch \(team finance-tools\)/,
          ),
        }),
      ]),
    );
    expect(h.slack.messages).toHaveLength(2);
    expect(JSON.stringify(h.slack.messages)).toContain(`https://oncall.example.com/apps/${id}`);

    h.clock.advanceDays(8);
    await h.sweep();
    const archived = await app(id);
    expect(archived.state).toBe('archived');
    expect(new Date(archived.lifecycle.restorableUntil!).getTime()).toBe(
      new Date(archived.lifecycle.archivedAt!).getTime() + 90 * 86_400_000,
    );

    // Someone who is neither the owner nor an admin may not restore it (403, audited).
    expect((await h.api(`/apps/v1/apps/${id}/restore`, { method: 'POST', token: h.tokens.responder2 })).status).toBe(
      403,
    );
    h.clock.advanceDays(60);
    await h.sweep();
    expect((await app(id)).state).toBe('archived');
    const restored = await h.json<AppView>(`/apps/v1/apps/${id}/restore`, {
      method: 'POST',
      token: h.tokens.responder,
    });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ state: 'active', lifecycle: { archivedAt: null, restorableUntil: null } });

    // Idle again (restoring counts as activity), then the whole way down to purged.
    h.clock.advanceDays(31);
    await h.sweep();
    expect((await app(id)).state).toBe('idle');
    h.clock.advanceDays(15);
    await h.sweep();
    h.clock.advanceDays(8);
    await h.sweep();
    expect((await app(id)).state).toBe('archived');
    h.clock.advanceDays(89);
    await h.sweep();
    expect((await app(id)).state).toBe('archived');
    h.clock.advanceDays(2);
    await h.sweep();
    const purged = await app(id);
    expect(purged).toMatchObject({ state: 'purged', repository: null, endpoints: [], idpClientIds: [], purpose: '' });
    // A purge never runs twice.
    await h.sweep();
    const restoreAfter = await h.json<{ error: { message: string } }>(`/apps/v1/apps/${id}/restore`, {
      method: 'POST',
      token: h.tokens.admin,
    });
    expect(restoreAfter.status).toBe(409);

    const expected = [
      [null, 'active'],
      ['active', 'idle'],
      ['idle', 'disabled'],
      ['disabled', 'archived'],
      ['archived', 'active'],
      ['active', 'idle'],
      ['idle', 'disabled'],
      ['disabled', 'archived'],
      ['archived', 'purged'],
    ];
    const events = await h.events(id, expected.length);
    expect(events.map((e) => [e.data.state.from, e.data.state.to])).toEqual(expected);
    expect(events.at(-1)?.data).toMatchObject({
      kind: 'state_changed',
      tier: 'low',
      owner: { person: { name: 'Rita Requester', contact: 'rita@example.com' }, team: { name: 'finance-tools' } },
      actor: { type: 'system', id: 'lifecycle-sweep' },
      reason: expect.stringMatching(/the 90-day restore window ended/),
    });
    expect(events[4]?.data.actor).toEqual({ type: 'user', id: 'rita' });

    const history = await h.json<{ items: { action: string; changes: { state?: { from: string; to: string } } }[] }>(
      `/apps/v1/apps/${id}/history?limit=50`,
    );
    const transitions = history.body.items
      .filter((i) => i.changes.state && i.action !== 'created')
      .map((i) => [i.changes.state!.from, i.changes.state!.to])
      .reverse();
    expect(transitions).toEqual(expected.slice(1));
    const audit = await h.json<{ items: { action: string; outcome: string; actorSubject: string }[] }>(
      `/apps/v1/audit?appId=${id}`,
      {
        token: h.tokens.approver,
      },
    );
    expect(
      audit.body.items
        .filter((a) => a.action.startsWith('lifecycle.'))
        .map((a) => a.action)
        .reverse(),
    ).toEqual([
      'lifecycle.idle',
      'lifecycle.disabled',
      'lifecycle.archived',
      'lifecycle.active',
      'lifecycle.idle',
      'lifecycle.disabled',
      'lifecycle.archived',
      'lifecycle.purged',
    ]);
    expect(audit.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'restore', outcome: 'denied', actorSubject: 'ron' })]),
    );
  });

  it('never purges an app restored in the meantime, even once its old purge date has passed', async () => {
    const { id } = await register('restored-in-time');
    h.clock.advanceDays(31);
    await h.sweep();
    h.clock.advanceDays(15);
    await h.sweep();
    h.clock.advanceDays(8);
    await h.sweep();
    expect((await app(id)).state).toBe('archived');
    // The window ends; before the sweep comes round, an admin restores it.
    h.clock.advanceDays(89);
    expect((await h.api(`/apps/v1/apps/${id}/restore`, { method: 'POST', token: h.tokens.admin })).status).toBe(200);
    h.clock.advanceDays(2);
    await h.sweep();
    expect((await app(id)).state).toBe('active');
  });

  it('brings an idle app back to active when an incident about it arrives, and keeps an exempt app out of the lifecycle', async () => {
    const { id } = await register('payments-api');
    const exempt = await register('year-end-close');
    const until = new Date(h.clock.now().getTime() + 365 * 86_400_000).toISOString();
    const exemption = await h.json<AppView>(`/apps/v1/apps/${exempt.id}/exemption`, {
      method: 'POST',
      body: JSON.stringify({ until, reason: 'used once a year at closing' }),
      token: h.tokens.approver,
    });
    expect(exemption.body.lifecycle.exemptUntil).toBe(until);
    h.clock.advanceDays(31);
    await h.sweep();
    expect((await app(id)).state).toBe('idle');
    expect((await app(exempt.id)).state).toBe('active');

    // An incident about the service `payments-api` (the pagerduty fixture's service) is activity.
    const result = normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PLIFECYCLE1' }), {
      receivedAt: h.clock.now().toISOString(),
    });
    if (result.outcome !== 'events') throw new Error('fixture did not normalise');
    const event = { ...result.events[0]!, occurredAt: h.clock.now().toISOString() };
    expect(event.snapshot?.service).toBe('payments-api');
    const namespace = h.topic.split('.app-registry.v1')[0]!;
    await testKafka(inject('stack').kafkaBrokers).publish(topicName('incident-events', namespace), [
      { key: event.incidentId, value: JSON.stringify(envelopeFor('incident-events', event, { source: '/test' })) },
    ]);
    const deadline = Date.now() + 30_000;
    while ((await app(id)).state !== 'active' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await app(id)).toMatchObject({ state: 'active', lifecycle: { lastActivityAt: event.occurredAt } });
    const events = await h.events(id, 3);
    expect(events[2]?.data).toMatchObject({
      state: { from: 'idle', to: 'active' },
      reason: 'activity seen (incident triggered)',
    });
  });
});
