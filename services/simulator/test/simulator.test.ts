import { type EventEnvelope, topicName } from '@micro-oncall/incident-model';
import {
  type FakePagerDutyEvents,
  type LocalIssuer,
  refusalOf,
  startFakePagerDutyEvents,
  testKafka,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditRow,
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

/** A team's scenario with a short timeline: `high` needs approval, `medium` does not. */
function scenario(
  id: string,
  severity: 'high' | 'medium',
  overrides: Record<string, unknown> = {},
): { timeline: Record<string, unknown>[]; [field: string]: unknown } {
  return {
    id,
    name: `Checkout ${severity} drill`,
    description: 'Checkout errors climb, then a related alert on the payment gateway.',
    team: 'storefront',
    runbook: {
      url: 'https://runbooks.example.com/storefront/checkout-errors',
      checklist: ['Acknowledge within 5 minutes', 'Check the payment gateway dashboard'],
    },
    maxDurationMinutes: 30,
    timeline: [
      {
        at: 0,
        action: 'fire',
        alert: 'checkout-errors',
        name: 'CheckoutErrorRateHigh',
        severity,
        summary: 'Checkout error rate above 5%',
        service: 'checkout',
        labels: { region: 'eu-west-1' },
      },
      {
        at: '1s',
        action: 'add_related',
        alerts: [
          {
            alert: 'gateway-latency',
            name: 'GatewayLatencyHigh',
            severity: 'low',
            summary: 'Payment gateway p99 above 1 s',
            service: 'payment-gateway',
          },
        ],
      },
      { at: '20m', action: 'resolve', alerts: 'all' },
    ],
    ...overrides,
  };
}

describe('simulator', () => {
  let sim: Simulator;
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let who: People;
  let drillsTopic: string;
  let kafkaBrokers: string;
  let databaseUrl: string;

  const propose = (body: Record<string, unknown>, token = who.responder) =>
    sim.call<Run & ErrorBody>('/drills/v1/runs', { token, body });
  const run = async (id: string) => (await sim.call<Run>(`/drills/v1/runs/${id}`, { token: who.viewer })).body;
  const waitForRun = (id: string, what: string, check: (r: Run) => boolean, ms?: number) =>
    until(
      what,
      async () => {
        const r = await run(id);
        return check(r) ? r : undefined;
      },
      ms,
    );
  const audit = async (query = '') =>
    (await sim.call<{ items: AuditRow[] }>(`/drills/v1/audit${query}`, { token: who.approver })).body.items;
  const pdAlerts = (runId: string) => pagerduty.alerts().filter((a) => a.dedupKey.startsWith(`drill:${runId}:`));
  /**
   * Until PagerDuty hears nothing from the other runs (all resolved, no request for a while), so
   * that a fault injected next hits the request the test means.
   */
  const quietExcept = (runId: string) =>
    until('the other runs to leave PagerDuty alone', async () => {
      const before = pagerduty.requests.length;
      await new Promise((r) => setTimeout(r, 700));
      const othersOpen = pagerduty
        .alerts()
        .some((a) => !a.dedupKey.startsWith(`drill:${runId}:`) && a.status !== 'resolved');
      return pagerduty.requests.length === before && !othersOpen ? true : undefined;
    });

  beforeAll(async () => {
    const stack = await testStack('simulator');
    issuer = stack.issuer;
    kafkaBrokers = stack.kafkaBrokers;
    databaseUrl = stack.databaseUrl;
    drillsTopic = topicName('drills', stack.namespace);
    who = await people(issuer);
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
      APPROVAL_SEVERITY_THRESHOLD: 'high',
      APPROVAL_MFA_ACR_VALUES: 'urn:okta:loa:2fa:any',
      APPROVAL_MAX_AUTH_AGE_SECONDS: '900',
      TARGET_RETRIES: '2',
    });
    for (const s of [scenario('checkout-high', 'high'), scenario('checkout-medium', 'medium')]) {
      const res = await sim.call('/drills/v1/scenarios', { token: who.responder, body: s });
      expect(res.status).toBe(201);
    }
  });

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('is ready once migrated, connected and its built-in scenarios are stored', async () => {
    const res = await fetch(`${sim.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, { healthy: boolean }> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks)).toEqual(
      expect.arrayContaining(['postgres', 'kafka', 'builtin-scenarios', 'jobs']),
    );
  });

  describe('scenarios', () => {
    it('offers the built-in scenarios with their runbooks', async () => {
      const res = await sim.call<{
        items: { id: string; source: string; definition: { runbook: { checklist: string[] } } }[];
      }>('/drills/v1/scenarios', { token: who.viewer });
      const builtins = res.body.items.filter((s) => s.source === 'builtin');
      expect(builtins.map((s) => s.id).sort()).toEqual([
        'database-failover',
        'payments-latency',
        'regional-partial-outage',
      ]);
      expect(builtins.every((s) => s.definition.runbook.checklist.length > 0)).toBe(true);
    });

    it('refuses an invalid scenario with 400 naming each field that is wrong', async () => {
      const bad = scenario('bad-one', 'high');
      bad.timeline[1] = { at: '2s', action: 'change_severity', alert: 'nothing-fired', severity: 'urgent' };
      const res = await sim.call<ErrorBody>('/drills/v1/scenarios', { token: who.responder, body: bad });
      expect(res.status).toBe(400);
      const paths = res.body.error.details?.issues?.map((i) => i.path);
      expect(paths).toContain('timeline.1.severity');
      expect(res.body.error.message).toContain('timeline.1.severity');

      const unknownAlert = scenario('bad-two', 'high');
      unknownAlert.timeline[2] = { at: '3m', action: 'resolve', alerts: ['never-fired'] };
      const second = await sim.call<ErrorBody>('/drills/v1/scenarios', { token: who.responder, body: unknownAlert });
      expect(second.status).toBe(400);
      expect(second.body.error.details?.issues).toEqual([
        { path: 'timeline.2.alerts.0', message: '"never-fired" is not firing at this point' },
      ]);
    });

    it('names the field and its line in a YAML scenario', async () => {
      const yaml = `id: yaml-drill
name: YAML drill
description: A drill written in YAML.
team: storefront
runbook:
  url: not a url
  checklist: [Acknowledge]
timeline:
  - at: 0s
    action: fire
    alert: a
    name: A
    severity: high
    summary: A fired
    service: checkout
`;
      const res = await sim.call<ErrorBody>('/drills/v1/scenarios', {
        token: who.responder,
        body: yaml,
        contentType: 'application/yaml',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.details?.issues).toEqual([expect.objectContaining({ path: 'runbook.url', line: 6 })]);
    });

    it('stores an edit as a new version, the same content as no new version, and keeps built-ins read-only', async () => {
      const v1 = scenario('versioned', 'medium');
      const first = await sim.call<{ version: number; created: boolean }>('/drills/v1/scenarios', {
        token: who.responder,
        body: v1,
      });
      expect(first).toMatchObject({ status: 201, body: { version: 1, created: true } });
      const edited = await sim.call<{ version: number }>('/drills/v1/scenarios', {
        token: who.responder,
        body: { ...v1, description: 'Edited: now with a note.' },
      });
      expect(edited).toMatchObject({ status: 201, body: { version: 2 } });
      const again = await sim.call<{ version: number; created: boolean }>('/drills/v1/scenarios', {
        token: who.responder,
        body: { ...v1, description: 'Edited: now with a note.' },
      });
      expect(again).toMatchObject({ status: 200, body: { version: 2, created: false } });
      const versions = await sim.call<{ items: { version: number }[] }>('/drills/v1/scenarios/versioned/versions', {
        token: who.viewer,
      });
      expect(versions.body.items.map((v) => v.version)).toEqual([2, 1]);

      const builtin = await sim.call<ErrorBody>('/drills/v1/scenarios', {
        token: who.responder,
        body: { ...scenario('payments-latency', 'high') },
      });
      expect(builtin.status).toBe(409);
    });

    it('lets viewers read but not write scenarios', async () => {
      const res = await sim.call('/drills/v1/scenarios', { token: who.viewer, body: scenario('viewer-one', 'medium') });
      expect(res.status).toBe(403);
    });
  });

  describe('approval', () => {
    let proposed: Run;

    it('holds a high-severity staging drill for approval, and fires nothing yet', async () => {
      const res = await propose({ scenario: 'checkout-high' });
      expect(res.status).toBe(201);
      proposed = res.body;
      expect(proposed).toMatchObject({
        state: 'awaiting_approval',
        environment: 'staging',
        severity: 'high',
        targets: ['pagerduty'],
        approval: { required: true, approvedBy: null },
      });
      expect(proposed.approval.reasons[0]).toContain('high');
      await new Promise((r) => setTimeout(r, 1500));
      expect(pdAlerts(proposed.id)).toEqual([]);
    });

    it('refuses approval by the requester (403), and audits it', async () => {
      const own = await propose({ scenario: 'checkout-high' }, who.lead);
      expect(own.status).toBe(201);
      const res = await sim.call<ErrorBody>(`/drills/v1/runs/${own.body.id}/approve`, {
        method: 'POST',
        token: who.lead,
      });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain('you proposed this run');
      expect(await audit(`?runId=${own.body.id}&outcome=denied`)).toEqual([
        expect.objectContaining({
          actor: { subject: 'lin-lead', name: 'lin-lead' },
          action: 'run_approve',
          outcome: 'denied',
        }),
      ]);
      expect((await run(own.body.id)).state).toBe('awaiting_approval');
    });

    it('refuses an approver whose sign-in has no second factor, or is too old (403, audited)', async () => {
      const noMfa = await sim.call<ErrorBody>(`/drills/v1/runs/${proposed.id}/approve`, {
        method: 'POST',
        token: who.approverNoMfa,
      });
      expect(noMfa.status).toBe(403);
      expect(noMfa.body.error.message).toContain('multi-factor');
      const stale = await sim.call<ErrorBody>(`/drills/v1/runs/${proposed.id}/approve`, {
        method: 'POST',
        token: who.approverStale,
      });
      expect(stale.status).toBe(403);
      expect(stale.body.error.message).toMatch(/sign-in within the last 15 min; yours was 3 h ago/);
      const denied = await audit(`?runId=${proposed.id}&outcome=denied`);
      expect(denied.map((d) => d.actor.subject).sort()).toEqual(['pat-password-only', 'sam-stale']);
      expect((await run(proposed.id)).state).toBe('awaiting_approval');
    });

    it('refuses a responder without the approver role (403, audited)', async () => {
      const res = await sim.call(`/drills/v1/runs/${proposed.id}/approve`, { method: 'POST', token: who.responder });
      expect(res.status).toBe(403);
      const denied = await audit(`?runId=${proposed.id}&outcome=denied`);
      expect(denied.some((d) => d.actor.subject === 'ada-responder' && d.action === 'run_approve')).toBe(true);
    });

    it('starts on approval by a second person with MFA: alerts reach PagerDuty with the run id', async () => {
      const res = await sim.call<Run>(`/drills/v1/runs/${proposed.id}/approve`, {
        method: 'POST',
        token: who.approver,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ state: 'running', approval: { approvedBy: { subject: 'grace-approver' } } });
      const alerts = await until('both alerts at PagerDuty', async () => {
        const found = pdAlerts(proposed.id);
        return found.length === 2 ? found : undefined;
      });
      const errors = alerts.find((a) => a.dedupKey === `drill:${proposed.id}:checkout-errors`);
      expect(errors).toMatchObject({
        status: 'triggered',
        severity: 'error',
        summary: '[DRILL] Checkout error rate above 5%',
        customDetails: expect.objectContaining({
          drill: true,
          drill_run_id: proposed.id,
          drill_scenario: 'checkout-high',
        }),
      });
      const shown = await waitForRun(
        proposed.id,
        'both steps fired',
        (r) => r.steps.filter((s) => s.state === 'fired').length === 2,
      );
      expect(shown.alerts.map((a) => [a.key, a.state])).toEqual([
        ['checkout-errors', 'firing'],
        ['gateway-latency', 'firing'],
      ]);
      expect(shown.alerts[0]?.labels).toMatchObject({
        drill: 'true',
        drill_run_id: proposed.id,
        environment: 'staging',
      });
    });

    it('accepts acr as MFA evidence too', async () => {
      const other = await propose({ scenario: 'checkout-high' });
      const res = await sim.call<Run>(`/drills/v1/runs/${other.body.id}/approve`, {
        method: 'POST',
        token: who.approverAcr,
      });
      expect(res.status).toBe(200);
      await sim.call(`/drills/v1/runs/${other.body.id}/abort`, {
        token: who.responder,
        body: { reason: 'only checking the approval' },
      });
    });

    it('aborting resolves everything the run fired and skips the rest of its timeline', async () => {
      const res = await sim.call<Run>(`/drills/v1/runs/${proposed.id}/abort`, {
        token: who.responder,
        body: { reason: 'drill practised enough' },
      });
      expect(res.status).toBe(200);
      expect(res.body.state).toBe('aborted');
      await until('every alert resolved at PagerDuty', async () =>
        pdAlerts(proposed.id).every((a) => a.status === 'resolved') ? true : undefined,
      );
      const done = await waitForRun(proposed.id, 'alerts resolved on the run', (r) =>
        r.alerts.every((a) => a.state === 'resolved'),
      );
      expect(done.steps.map((s) => s.state)).toEqual(['fired', 'fired', 'skipped']);
      expect(done.endReason).toBe('aborted: drill practised enough');
      const again = await sim.call(`/drills/v1/runs/${proposed.id}/abort`, {
        token: who.responder,
        body: { reason: 'twice' },
      });
      expect(again.status).toBe(409);
    });

    it('published the run lifecycle on drills, keyed by the run id', async () => {
      const messages = await testKafka(kafkaBrokers).read(drillsTopic, { count: 1000, timeoutMs: 5000 });
      const events = messages
        .filter((m) => m.key === proposed.id)
        .map((m) => JSON.parse(m.value ?? 'null') as EventEnvelope<'drills'>);
      expect(events.map((e) => e.data.kind)).toEqual([
        'proposed',
        'approved',
        'started',
        'step_fired',
        'step_fired',
        'aborted',
      ]);
      expect(
        events.every((e) => e.subject === proposed.id && e.drill && e.data.run.scenario.id === 'checkout-high'),
      ).toBe(true);
      expect(events[2]?.data.run).toMatchObject({ state: 'running', approvedBy: { subject: 'grace-approver' } });
    });
  });

  describe('completion', () => {
    it('completes a run when its timeline is over and everything it fired is resolved', async () => {
      const short = scenario('short-drill', 'medium', {
        timeline: [
          ...scenario('x', 'medium').timeline.slice(0, 2),
          { at: '3s', action: 'change_severity', alert: 'gateway-latency', severity: 'medium' },
          { at: '4s', action: 'resolve', alerts: ['checkout-errors', 'gateway-latency'] },
        ],
      });
      expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: short })).status).toBe(201);
      const started = (await propose({ scenario: 'short-drill' })).body;
      const done = await waitForRun(started.id, 'the run to complete', (r) => r.state === 'completed', 20_000);
      expect(done.endReason).toBe('the timeline ended and everything it fired is resolved');
      expect(done.steps.map((s) => s.state)).toEqual(['fired', 'fired', 'fired', 'fired']);
      expect(done.alerts.map((a) => [a.key, a.severity, a.state])).toEqual([
        ['checkout-errors', 'medium', 'resolved'],
        ['gateway-latency', 'medium', 'resolved'],
      ]);
      expect(pagerduty.alert(`drill:${started.id}:gateway-latency`)).toMatchObject({
        status: 'resolved',
        severity: 'warning',
        triggers: 2,
      });
    });
  });

  describe('production', () => {
    it('needs an explicit opt-in and a reason (400 naming them)', async () => {
      const res = await propose({ scenario: 'checkout-medium', environment: 'production' });
      expect(res.status).toBe(400);
      expect(res.body.error.details?.issues?.map((i) => i.path).sort()).toEqual(['productionOptIn', 'reason']);
    });

    it('is refused (403, audited) where the deployment does not allow production drills', async () => {
      const res = await propose({
        scenario: 'checkout-medium',
        environment: 'production',
        productionOptIn: true,
        reason: 'quarterly game day with the payments team',
      });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain('production drills are switched off');
      const denied = await audit('?outcome=denied');
      expect(
        denied.some((d) => d.action === 'run_propose' && d.detail.includes('production drills are switched off')),
      ).toBe(true);
    });
  });

  describe('kill switch', () => {
    it('only approvers may engage it', async () => {
      const res = await sim.call('/drills/v1/kill-switch/engage', {
        token: who.responder,
        body: { reason: 'testing' },
      });
      expect(res.status).toBe(403);
    });

    it('stops every running drill, resolves what they fired, refuses new runs with 409, and re-arms', async () => {
      const a = (await propose({ scenario: 'checkout-medium' })).body;
      const b = (await propose({ scenario: 'checkout-medium' })).body;
      const waiting = (await propose({ scenario: 'checkout-high' })).body;
      expect([a.state, b.state, waiting.state]).toEqual(['running', 'running', 'awaiting_approval']);
      await until('both runs firing at PagerDuty', async () =>
        pdAlerts(a.id).length === 2 && pdAlerts(b.id).length === 2 ? true : undefined,
      );

      const engaged = await sim.call<{ engaged: boolean; stoppedRuns: string[] }>('/drills/v1/kill-switch/engage', {
        token: who.approver,
        body: { reason: 'a real incident started' },
      });
      expect(engaged.status).toBe(200);
      expect(engaged.body.engaged).toBe(true);
      // Every open run, including proposals still waiting for an approver.
      expect(engaged.body.stoppedRuns).toEqual(expect.arrayContaining([a.id, b.id, waiting.id]));
      const open = await sim.call<{ items: Run[] }>('/drills/v1/runs?state=running,awaiting_approval', {
        token: who.viewer,
      });
      expect(open.body.items).toEqual([]);
      const started = Date.now();
      await until(
        'every alert of both runs resolved at PagerDuty',
        async () => ([...pdAlerts(a.id), ...pdAlerts(b.id)].every((x) => x.status === 'resolved') ? true : undefined),
        10_000,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      for (const id of [a.id, b.id, waiting.id]) {
        const r = await run(id);
        expect(r.state).toBe('aborted');
        expect(r.endReason).toBe('kill switch engaged: a real incident started');
      }

      const refused = await propose({ scenario: 'checkout-medium' });
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain('kill switch is engaged');
      const state = await sim.call<{ engaged: boolean; changedBy: { subject: string } }>('/drills/v1/kill-switch', {
        token: who.viewer,
      });
      expect(state.body).toMatchObject({ engaged: true, changedBy: { subject: 'grace-approver' } });
      expect((await audit('?outcome=denied')).some((d) => d.action === 'run_propose' && d.detail.includes('409'))).toBe(
        true,
      );

      const rearmed = await sim.call<{ engaged: boolean }>('/drills/v1/kill-switch/rearm', {
        token: who.approver,
        body: { reason: 'incident over' },
      });
      expect(rearmed.body.engaged).toBe(false);
      const after = await propose({ scenario: 'checkout-medium' });
      expect(after.status).toBe(201);
      await sim.call(`/drills/v1/runs/${after.body.id}/abort`, { token: who.responder, body: { reason: 'clean up' } });
    });
  });

  describe('a failing target', () => {
    it('fails the run at the step that failed, says why, and resolves what was already fired', async () => {
      const res = await propose({ scenario: 'two-steps' }).catch(() => undefined);
      expect(res?.status).toBe(404);
      const twoSteps = scenario('two-steps', 'medium', {
        timeline: [
          ...scenario('x', 'medium').timeline.slice(0, 1),
          {
            at: '3s',
            action: 'fire',
            alert: 'second',
            name: 'SecondAlert',
            severity: 'low',
            summary: 'Second alert',
            service: 'checkout',
          },
        ],
      });
      expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: twoSteps })).status).toBe(201);
      await quietExcept('none');
      const started = (await propose({ scenario: 'two-steps' })).body;
      await until('the first alert at PagerDuty', async () => (pdAlerts(started.id).length === 1 ? true : undefined));
      // The second step's trigger is refused: PagerDuty's 400 is not retried.
      pagerduty.failNext({
        status: 400,
        body: { status: 'invalid event', message: 'Event object is invalid', errors: ['payload.summary is too long'] },
      });
      const failed = await waitForRun(started.id, 'the run to fail', (r) => r.state === 'failed');
      expect(failed.failure).toEqual({
        step: 1,
        target: 'pagerduty',
        error: expect.stringContaining('PagerDuty Events answered 400'),
      });
      expect(failed.steps.map((s) => [s.state, s.failedTarget])).toEqual([
        ['fired', null],
        ['failed', 'pagerduty'],
      ]);
      expect(failed.endReason).toContain('step 2 (fire at 3s) failed at pagerduty');
      const settled = await waitForRun(started.id, 'the first alert resolved', (r) =>
        r.alerts.some((a) => a.key === 'checkout-errors' && a.state === 'resolved'),
      );
      expect(settled.alerts.find((a) => a.key === 'second')?.state).toBe('refused');
      expect(pagerduty.alert(`drill:${started.id}:checkout-errors`)?.status).toBe('resolved');
      expect(pagerduty.requests.filter((r) => r.status === 400)).toHaveLength(1);
    });

    it('retries a rate-limited event (429) and goes on', async () => {
      await quietExcept('none');
      pagerduty.failNext({ status: 429, headers: { 'retry-after': '0' } });
      const started = (await propose({ scenario: 'checkout-medium' })).body;
      await until('both alerts at PagerDuty despite the 429', async () =>
        pdAlerts(started.id).length === 2 ? true : undefined,
      );
      expect((await run(started.id)).state).toBe('running');
      await sim.call(`/drills/v1/runs/${started.id}/abort`, { token: who.responder, body: { reason: 'clean up' } });
    });
  });

  describe('access and observability', () => {
    it('refuses requests without a token (401) and audits them', async () => {
      const res = await sim.call('/drills/v1/runs', { token: null });
      expect(res.status).toBe(401);
      const rows = await audit('?outcome=denied');
      expect(
        rows.some((r) => r.actor.subject === 'anonymous' && r.detail.startsWith('GET /drills/v1/runs refused (401)')),
      ).toBe(true);
    });

    it('keeps an audit log that nobody can rewrite, not even the role that owns it', async () => {
      expect(await refusalOf(databaseUrl, "update simulator.audit_log set detail = 'nothing happened'")).toContain(
        'append-only',
      );
      expect(await refusalOf(databaseUrl, 'delete from simulator.audit_log')).toContain('append-only');
      expect(await refusalOf(databaseUrl, 'truncate simulator.audit_log')).toContain('append-only');
    });

    it('keeps the audit log for approvers only', async () => {
      expect((await sim.call('/drills/v1/audit', { token: who.responder })).status).toBe(403);
    });

    it('says where drills can go and what needs approval', async () => {
      const res = await sim.call<{ targets: Record<string, string[]>; productionAllowed: boolean }>(
        '/drills/v1/settings',
        {
          token: who.viewer,
        },
      );
      expect(res.body).toMatchObject({ targets: { staging: ['pagerduty'], production: [] }, productionAllowed: false });
    });

    it('exposes drill metrics', async () => {
      const text = await (await fetch(`${sim.url}/metrics`)).text();
      expect(text).toMatch(/drill_runs_started_total\{[^}]*environment="staging"[^}]*\} [1-9]/);
      expect(text).toMatch(/drill_alerts_sent_total\{[^}]*target="pagerduty"[^}]*action="fire"[^}]*outcome="ok"/);
      expect(text).toMatch(/drill_kill_switch_engaged\{[^}]*\} 0/);
      expect(text).toMatch(/drill_refusals_total\{[^}]*action="run_approve"[^}]*status="403"/);
    });
  });
});
