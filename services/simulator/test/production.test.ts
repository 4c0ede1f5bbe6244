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

const scenario = (id: string, environment: 'staging' | 'production') => ({
  id,
  name: `Low-severity ${environment} drill`,
  description: 'One informational alert.',
  team: 'payments',
  environment,
  runbook: { url: 'https://runbooks.example.com/payments/info', checklist: ['Notice it'] },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'note',
      name: 'DrillNote',
      severity: 'info',
      summary: 'A note',
      service: 'payments-api',
    },
  ],
});

describe('simulator where production drills are allowed', () => {
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let sim: Simulator;
  let stagingKey: string;
  let productionKey: string;

  beforeAll(async () => {
    const stack = await testStack('simulator-prod');
    issuer = stack.issuer;
    stagingKey = routingKey();
    productionKey = routingKey();
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [stagingKey, productionKey] });
    sim = await startSimulator({
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      PRODUCTION_DRILLS_ALLOWED: 'true',
      PAGERDUTY_EVENTS_URL: pagerduty.url,
      PAGERDUTY_ROUTING_KEY: stagingKey,
      PAGERDUTY_PRODUCTION_ROUTING_KEY: productionKey,
    });
  });

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  it('runs a production scenario only with opt-in, reason and an approver, at the production service, audited', async () => {
    const who = await people(issuer);
    for (const s of [scenario('info-staging', 'staging'), scenario('info-production', 'production')]) {
      expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: s })).status).toBe(201);
    }
    const production = { environment: 'production', productionOptIn: true, reason: 'quarterly game day with payments' };

    const wrong = await sim.call<ErrorBody>('/drills/v1/runs', {
      token: who.responder,
      body: { scenario: 'info-staging', ...production },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details?.issues?.[0]?.path).toBe('environment');

    const proposed = await sim.call<Run & { productionReason: string }>('/drills/v1/runs', {
      token: who.responder,
      body: { scenario: 'info-production', ...production },
    });
    expect(proposed.status).toBe(201);
    // An info alert would start at once in staging; production always waits for an approver.
    expect(proposed.body).toMatchObject({
      state: 'awaiting_approval',
      environment: 'production',
      productionReason: 'quarterly game day with payments',
      approval: { required: true, reasons: ['it targets production'] },
    });
    const runId = proposed.body.id;
    expect((await sim.call(`/drills/v1/runs/${runId}/approve`, { method: 'POST', token: who.approver })).status).toBe(
      200,
    );
    const alert = await until('the alert at the production PagerDuty service', async () =>
      pagerduty.alert(`drill:${runId}:note`),
    );
    expect(alert).toMatchObject({
      routingKey: productionKey,
      customDetails: expect.objectContaining({ environment: 'production' }),
    });

    const audit = await sim.call<{ items: { action: string; outcome: string; detail: string; runId: string }[] }>(
      `/drills/v1/audit?runId=${runId}`,
      { token: who.approver },
    );
    expect(audit.body.items.map((a) => [a.action, a.outcome])).toEqual([
      ['run_approve', 'succeeded'],
      ['run_propose', 'succeeded'],
    ]);
    expect(audit.body.items[1]?.detail).toContain('proposed a production run of info-production');
    await sim.call(`/drills/v1/runs/${runId}/abort`, { token: who.responder, body: { reason: 'game day over' } });
    await until('the production alert resolved', async () =>
      pagerduty.alert(`drill:${runId}:note`)?.status === 'resolved' ? true : undefined,
    );
  });
});
