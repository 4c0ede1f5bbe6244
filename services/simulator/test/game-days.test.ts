import { type FakePagerDutyEvents, type LocalIssuer, sqlAs, startFakePagerDutyEvents } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ErrorBody,
  people,
  type Run,
  routingKey,
  type Simulator,
  startSimulator,
  testStack,
  until,
} from './helpers.js';

type People = Awaited<ReturnType<typeof people>>;

interface Occurrence {
  scheduledAt: string;
  outcome: 'started' | 'skipped' | 'starting';
  reason: string | null;
  run: { id: string; state: string } | null;
}

interface GameDay {
  id: string;
  name: string;
  state: string;
  cron: string;
  timezone: string;
  scenario: { id: string; version: number };
  approval: { required: boolean; reasons: string[]; approvedBy: { subject: string } | null };
  nextOccurrenceAt: string | null;
  lastOccurrence: Occurrence | null;
  occurrences: Occurrence[];
}

interface AuditRow {
  actor: { subject: string };
  action: string;
  outcome: string;
  detail: string;
}

/** A high-severity scenario (its runs need an approver) that fires one alert and keeps it firing. */
const WEEKLY = {
  id: 'weekly-checkout-game-day',
  name: 'Weekly checkout game day',
  description: 'Checkout errors page the storefront team; they work the runbook.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/storefront/checkout', checklist: ['Acknowledge within 5 minutes'] },
  maxDurationMinutes: 30,
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'checkout-errors',
      name: 'CheckoutErrorRateHigh',
      severity: 'high',
      summary: 'Checkout error rate above 5%',
      service: 'checkout',
    },
    { at: '20m', action: 'resolve', alerts: 'all' },
  ],
};

/**
 * Recurring game days through the real job runner (pg-boss on PostgreSQL) and Kafka: created
 * with the approval rules of a run, approved once, each occurrence a run without a new approval,
 * refused and recorded while the kill switch is engaged. Time is driven through the job runner:
 * the pending occurrence job is made due now instead of waiting for the next minute.
 */
describe('game days', () => {
  let sim: Simulator;
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let databaseUrl: string;
  let who: People;

  const gameDay = async (id: string) =>
    (await sim.call<GameDay>(`/drills/v1/game-days/${id}`, { token: who.viewer })).body;
  const pendingOccurrences = async (id: string) =>
    (
      await sqlAs(
        databaseUrl,
        `select start_after from simulator_jobs.job
          where name = 'game-day-occurrence' and singleton_key = $1 and state in ('created', 'retry')`,
        [id],
      )
    ).rows as { start_after: Date }[];
  /** The test clock: the game day's pending occurrence job falls due now; resolves with that occurrence. */
  const occurNow = async (id: string): Promise<Occurrence> => {
    const before = await gameDay(id);
    expect(before.nextOccurrenceAt).not.toBeNull();
    const { rowCount } = await sqlAs(
      databaseUrl,
      `update simulator_jobs.job set start_after = now()
        where name = 'game-day-occurrence' and singleton_key = $1 and state = 'created'`,
      [id],
    );
    expect(rowCount).toBe(1);
    return until(
      `the occurrence of ${before.nextOccurrenceAt}`,
      async () => {
        const after = await gameDay(id);
        const done = after.occurrences.find((o) => o.scheduledAt === before.nextOccurrenceAt);
        return done && done.outcome !== 'starting' ? done : undefined;
      },
      30_000,
    );
  };
  const audit = async () =>
    (await sim.call<{ items: AuditRow[] }>('/drills/v1/audit?outcome=denied', { token: who.approver })).body.items;

  beforeAll(async () => {
    const stack = await testStack('simulator-game-days');
    issuer = stack.issuer;
    databaseUrl = stack.databaseUrl;
    const key = routingKey();
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [key] });
    sim = await startSimulator({
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: key,
    });
    who = await people(issuer);
    expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: WEEKLY })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('refuses a bad schedule or an unknown scenario with a 400 naming the field', async () => {
    const create = (body: Record<string, unknown>) =>
      sim.call<ErrorBody>('/drills/v1/game-days', {
        token: who.responder,
        body: { name: 'Tuesday game day', scenario: WEEKLY.id, cron: '0 10 * * 2', ...body },
      });
    const paths = async (body: Record<string, unknown>) => {
      const res = await create(body);
      expect(res.status).toBe(400);
      return res.body.error.details?.issues?.map((i) => [i.path, i.message]);
    };
    expect(await paths({ cron: '61 10 * * 2' })).toEqual([
      ['cron', 'not a cron expression: Constraint error, got value 61 expected range 0-59'],
    ]);
    expect(await paths({ cron: 'every tuesday at ten' })).toEqual([
      ['cron', 'needs 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ]);
    expect(await paths({ timezone: 'Mars/Olympus_Mons' })).toEqual([
      ['timezone', 'unknown time zone "Mars/Olympus_Mons" (IANA, e.g. Europe/Paris)'],
    ]);
    expect(await paths({ scenario: 'no-such-scenario' })).toEqual([['scenario', 'no scenario no-such-scenario']]);
    expect((await sim.call('/drills/v1/game-days', { token: who.viewer, body: {} })).status).toBe(403);
  });

  it('reads the schedule in its time zone', async () => {
    const res = await sim.call<GameDay>('/drills/v1/game-days', {
      token: who.responder,
      body: {
        name: 'Monday morning in Paris',
        scenario: WEEKLY.id,
        cron: '30 9 * * 1',
        timezone: 'Europe/Paris',
      },
    });
    expect(res.status).toBe(201);
    const approved = await sim.call<GameDay>(`/drills/v1/game-days/${res.body.id}/approve`, {
      method: 'POST',
      token: who.approver,
    });
    const next = new Date(approved.body.nextOccurrenceAt ?? '');
    expect(next.getTime()).toBeGreaterThan(Date.now());
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Paris',
      weekday: 'long',
      hour: '2-digit',
      minute: '2-digit',
    }).format(next);
    expect(local).toBe('Monday 09:30');
    expect(
      (await sim.call(`/drills/v1/game-days/${res.body.id}`, { method: 'DELETE', token: who.responder })).status,
    ).toBe(204);
  });

  it('is approved once by a second person; each occurrence starts a run without a new approval', async () => {
    const created = await sim.call<GameDay>('/drills/v1/game-days', {
      token: who.lead,
      body: { name: 'Weekly checkout', scenario: WEEKLY.id, cron: '0 10 * * 2', targets: ['pagerduty'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      state: 'awaiting_approval',
      scenario: { id: WEEKLY.id, version: 1 },
      approval: { required: true, reasons: ['it fires high alerts (approval is needed from high)'], approvedBy: null },
      nextOccurrenceAt: null,
      lastOccurrence: null,
    });
    const id = created.body.id;
    expect(await pendingOccurrences(id)).toEqual([]);

    // The requester, an approver herself, may not approve it; neither may a sign-in without MFA.
    const self = await sim.call<ErrorBody>(`/drills/v1/game-days/${id}/approve`, { method: 'POST', token: who.lead });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toBe(
      'you proposed this game day: a second person with the approver role must approve it',
    );
    expect(
      (await audit()).find((a) => a.action === 'game_day_approve' && a.actor.subject === 'lin-lead'),
    ).toMatchObject({ outcome: 'denied', detail: expect.stringContaining('(403): you proposed this game day') });
    const noMfa = await sim.call<ErrorBody>(`/drills/v1/game-days/${id}/approve`, {
      method: 'POST',
      token: who.approverNoMfa,
    });
    expect(noMfa.status).toBe(403);
    expect(noMfa.body.error.message).toContain('approving needs a multi-factor sign-in');

    const approved = await sim.call<GameDay>(`/drills/v1/game-days/${id}/approve`, {
      method: 'POST',
      token: who.approver,
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'active', approval: { approvedBy: { subject: 'grace-approver' } } });
    const first = approved.body.nextOccurrenceAt!;
    expect(new Date(first).getUTCDay()).toBe(2);
    // One durable job holds the next occurrence, at its time.
    expect((await pendingOccurrences(id)).map((j) => j.start_after.toISOString())).toEqual([first]);

    const occurrence = await occurNow(id);
    expect(occurrence).toMatchObject({ scheduledAt: first, outcome: 'started', reason: null });
    const runId = occurrence.run!.id;
    const run = (
      await sim.call<Run & { requestedBy: { subject: string } }>(`/drills/v1/runs/${runId}`, {
        token: who.viewer,
      })
    ).body;
    expect(run).toMatchObject({
      state: 'running',
      severity: 'high',
      requestedBy: { subject: 'lin-lead' },
      approval: { required: true, approvedBy: { subject: 'grace-approver' } },
    });
    await until('the game day alert at PagerDuty', async () =>
      pagerduty.alert(`drill:${runId}:checkout-errors`)?.status === 'triggered' ? true : undefined,
    );

    // The next occurrence is a week later, held by one job again.
    const after = await gameDay(id);
    expect(Date.parse(after.nextOccurrenceAt!) - Date.parse(first)).toBe(7 * 24 * 3600 * 1000);
    expect(after.lastOccurrence).toMatchObject({ outcome: 'started', run: { id: runId, state: 'running' } });
    expect((await pendingOccurrences(id)).map((j) => j.start_after.toISOString())).toEqual([after.nextOccurrenceAt]);

    // While a run of the game day is still open, the next occurrence does not start another.
    const overlapping = await occurNow(id);
    expect(overlapping).toMatchObject({ outcome: 'skipped', run: null });
    expect(overlapping.reason).toBe(`the game day's previous run ${runId} is still running`);

    expect(
      (
        await sim.call(`/drills/v1/runs/${runId}/abort`, {
          token: who.responder,
          body: { reason: 'game day practised' },
        })
      ).status,
    ).toBe(200);
    await until('the game day alert resolved', async () =>
      pagerduty.alert(`drill:${runId}:checkout-errors`)?.status === 'resolved' ? true : undefined,
    );

    // The kill switch refuses an occurrence: skipped, with the reason, audited; no run.
    expect(
      (await sim.call('/drills/v1/kill-switch/engage', { token: who.approver, body: { reason: 'real incident on' } }))
        .status,
    ).toBe(200);
    const runsBefore = (await sim.call<{ items: unknown[] }>('/drills/v1/runs', { token: who.viewer })).body.items
      .length;
    const refused = await occurNow(id);
    expect(refused).toMatchObject({ outcome: 'skipped', run: null });
    expect(refused.reason).toBe(
      'the drill kill switch is engaged (by grace-approver: real incident on); no drill may run until an approver re-arms it',
    );
    expect((await sim.call<{ items: unknown[] }>('/drills/v1/runs', { token: who.viewer })).body.items).toHaveLength(
      runsBefore,
    );
    expect((await audit()).find((a) => a.action === 'game_day_occurrence')).toMatchObject({
      actor: { subject: 'simulator' },
      outcome: 'denied',
      detail: expect.stringContaining('was skipped: the drill kill switch is engaged'),
    });
    expect((await gameDay(id)).lastOccurrence).toMatchObject({ outcome: 'skipped', reason: refused.reason });
    // The schedule goes on: the occurrence after it is held by a job again.
    expect(await pendingOccurrences(id)).toHaveLength(1);
    expect(
      (await sim.call('/drills/v1/kill-switch/rearm', { token: who.approver, body: { reason: 'incident over' } }))
        .status,
    ).toBe(200);

    // The list shows the next occurrence and the last result.
    const listed = (await sim.call<{ items: GameDay[] }>('/drills/v1/game-days', { token: who.viewer })).body.items;
    expect(listed.find((g) => g.id === id)).toMatchObject({
      name: 'Weekly checkout',
      state: 'active',
      lastOccurrence: { outcome: 'skipped' },
    });
  }, 120_000);

  it('can be paused, resumed without a new approval, and deleted', async () => {
    const created = await sim.call<GameDay>('/drills/v1/game-days', {
      token: who.responder,
      body: { name: 'Daily checkout', scenario: WEEKLY.id, cron: '0 6 * * *' },
    });
    const id = created.body.id;
    expect((await sim.call(`/drills/v1/game-days/${id}/approve`, { method: 'POST', token: who.approver })).status).toBe(
      200,
    );
    expect(await pendingOccurrences(id)).toHaveLength(1);

    const paused = await sim.call<GameDay>(`/drills/v1/game-days/${id}/pause`, {
      method: 'POST',
      token: who.responder,
    });
    expect(paused.body).toMatchObject({ state: 'paused', nextOccurrenceAt: null });
    expect(await pendingOccurrences(id)).toEqual([]);
    const again = await sim.call<ErrorBody>(`/drills/v1/game-days/${id}/pause`, {
      method: 'POST',
      token: who.responder,
    });
    expect(again.status).toBe(409);

    const resumed = await sim.call<GameDay>(`/drills/v1/game-days/${id}/resume`, {
      method: 'POST',
      token: who.responder,
    });
    expect(resumed.body).toMatchObject({ state: 'active', approval: { approvedBy: { subject: 'grace-approver' } } });
    expect(await pendingOccurrences(id)).toHaveLength(1);

    expect((await sim.call(`/drills/v1/game-days/${id}`, { method: 'DELETE', token: who.viewer })).status).toBe(403);
    expect((await sim.call(`/drills/v1/game-days/${id}`, { method: 'DELETE', token: who.responder })).status).toBe(204);
    expect((await sim.call(`/drills/v1/game-days/${id}`, { token: who.viewer })).status).toBe(404);
    expect(await pendingOccurrences(id)).toEqual([]);
  }, 60_000);
});
