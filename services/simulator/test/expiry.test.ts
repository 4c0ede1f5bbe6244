import { type FakePagerDutyEvents, type LocalIssuer, startFakePagerDutyEvents } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { people, type Run, routingKey, type Simulator, startSimulator, testStack, until } from './helpers.js';

/** One alert that stays firing: only the expiry (1 minute) ends the run. */
const LINGERING = {
  id: 'lingering-alert',
  name: 'Lingering alert',
  description: 'One alert that nobody resolves: the run ends at its maximum duration.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/storefront/lingering', checklist: ['Notice the alert'] },
  maxDurationMinutes: 1,
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'lingering',
      name: 'LingeringAlert',
      severity: 'medium',
      summary: 'An alert that stays firing',
      service: 'checkout',
    },
    {
      at: '5s',
      action: 'add_related',
      alerts: [
        {
          alert: 'late',
          name: 'LateAlert',
          severity: 'low',
          summary: 'Fired while the simulator was being replaced',
          service: 'checkout',
        },
      ],
    },
  ],
};

describe('simulator restart mid-run', () => {
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let env: Record<string, string>;
  let sim: Simulator | undefined;

  beforeAll(async () => {
    const stack = await testStack('simulator-expiry');
    issuer = stack.issuer;
    const key = routingKey();
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [key] });
    env = {
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: key,
    };
  });

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('fires the steps due while it was down and expires the run on time, resolving everything', async () => {
    const who = await people(issuer);
    sim = await startSimulator(env);
    expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: LINGERING })).status).toBe(201);
    const proposed = await sim.call<Run>('/drills/v1/runs', {
      token: who.responder,
      body: { scenario: 'lingering-alert' },
    });
    expect(proposed.body.state).toBe('running');
    const runId = proposed.body.id;
    const expiresAt = Date.parse(proposed.body.expiresAt);
    await until('the first alert at PagerDuty', async () =>
      pagerduty.alert(`drill:${runId}:lingering`)?.status === 'triggered' ? true : undefined,
    );

    // The only replica goes away mid-run; a new instance (same database) takes over.
    await sim.running.stop();
    sim = undefined;
    await new Promise((r) => setTimeout(r, 8000));
    expect(pagerduty.alert(`drill:${runId}:late`)).toBeUndefined();
    sim = await startSimulator(env);
    const current = sim;

    // The step that fell due while no instance ran is fired by the new one.
    await until(
      'the step that fell due while no instance ran',
      async () => (pagerduty.alert(`drill:${runId}:late`)?.status === 'triggered' ? true : undefined),
      60_000,
    );
    // At expiry everything is resolved, within a few seconds of the time the run was given.
    await until(
      'both alerts resolved by the expiry',
      async () =>
        pagerduty.alert(`drill:${runId}:lingering`)?.status === 'resolved' &&
        pagerduty.alert(`drill:${runId}:late`)?.status === 'resolved'
          ? true
          : undefined,
      60_000,
    );
    const resolvedAt = Date.now();
    expect(resolvedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(resolvedAt - expiresAt).toBeLessThan(10_000);
    const ended = (await current.call<Run>(`/drills/v1/runs/${runId}`, { token: who.viewer })).body;
    expect(ended).toMatchObject({
      state: 'expired',
      endReason: 'reached its maximum duration of 1 min',
      secondsLeft: null,
    });
    expect(ended.alerts.map((a) => a.state)).toEqual(['resolved', 'resolved']);
  }, 150_000);
});
