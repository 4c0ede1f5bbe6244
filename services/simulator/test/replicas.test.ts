import { type FakePagerDutyEvents, type LocalIssuer, startFakePagerDutyEvents } from '@micro-oncall/test-kit';
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

const SCENARIO = {
  id: 'two-replicas',
  name: 'Two replicas',
  description: 'Alerts that stay firing until something stops the run.',
  team: 'platform',
  runbook: { url: 'https://runbooks.example.com/platform/replicas', checklist: ['Watch'] },
  timeline: [
    { at: 0, action: 'fire', alert: 'first', name: 'First', severity: 'medium', summary: 'First', service: 'edge' },
    { at: '2s', action: 'fire', alert: 'second', name: 'Second', severity: 'low', summary: 'Second', service: 'edge' },
  ],
};

describe('simulator on two replicas', () => {
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let a: Simulator;
  let b: Simulator;

  beforeAll(async () => {
    const stack = await testStack('simulator-replicas');
    issuer = stack.issuer;
    const key = routingKey();
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [key] });
    const env = {
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: key,
    };
    [a, b] = await Promise.all([startSimulator(env), startSimulator(env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.running.stop(), b?.running.stop()]);
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('shares runs and the kill switch: engaged on one replica, the other stops and refuses too', async () => {
    const who = await people(issuer);
    expect((await a.call('/drills/v1/scenarios', { token: who.responder, body: SCENARIO })).status).toBe(201);
    const run = (await a.call<Run>('/drills/v1/runs', { token: who.responder, body: { scenario: SCENARIO.id } })).body;
    await until('both alerts at PagerDuty, fired once each', async () =>
      pagerduty.alerts().filter((x) => x.dedupKey.startsWith(`drill:${run.id}:`)).length === 2 ? true : undefined,
    );
    expect(
      pagerduty.events.filter((e) => e.action === 'trigger' && e.dedupKey.startsWith(`drill:${run.id}:`)),
    ).toHaveLength(2);

    const engaged = await b.call<{ stoppedRuns: string[] }>('/drills/v1/kill-switch/engage', {
      token: who.approver,
      body: { reason: 'checking replicas' },
    });
    expect(engaged.body.stoppedRuns).toEqual([run.id]);
    await until('both alerts resolved', async () =>
      pagerduty
        .alerts()
        .filter((x) => x.dedupKey.startsWith(`drill:${run.id}:`))
        .every((x) => x.status === 'resolved')
        ? true
        : undefined,
    );
    const refused = await a.call<ErrorBody>('/drills/v1/runs', {
      token: who.responder,
      body: { scenario: SCENARIO.id },
    });
    expect(refused.status).toBe(409);
    expect((await a.call<{ engaged: boolean }>('/drills/v1/kill-switch', { token: who.viewer })).body.engaged).toBe(
      true,
    );

    await a.call('/drills/v1/kill-switch/rearm', { token: who.approver, body: { reason: 'done checking' } });
    expect((await b.call<{ engaged: boolean }>('/drills/v1/kill-switch', { token: who.viewer })).body.engaged).toBe(
      false,
    );
  });
});
