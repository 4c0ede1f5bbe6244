import { randomBytes } from 'node:crypto';
import { type FakePagerDutyEvents, type LocalIssuer, startFakePagerDutyEvents } from '@micro-oncall/test-kit';
import { FlagdCore, MemoryStorage } from '@openfeature/flagd-core';
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

/*
 * The simulator as flagd's HTTP sync source (ADR 0018), tested against flagd's own evaluator:
 * what GET /drills/v1/flags/staging serves is loaded into @openfeature/flagd-core with strict
 * validation against flagd's flag schema, and evaluated as an application would, with its
 * service in the evaluation context.
 */

type People = Awaited<ReturnType<typeof people>>;

/** A medium drill (no approval) that degrades payments-api for ten minutes unless it ends first. */
const scenario = {
  id: 'payments-degraded',
  name: 'Payments degraded',
  description: 'Payments slows down and loses its database.',
  team: 'payments',
  runbook: { url: 'https://runbooks.example.com/payments/degraded', checklist: ['Acknowledge'] },
  maxDurationMinutes: 30,
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'slow',
      name: 'PaymentsLatencyHigh',
      severity: 'medium',
      summary: 'Payments p99 above 2 s',
      service: 'payments-api',
    },
    { at: 0, action: 'degrade', service: 'payments-api', fault: 'latency', latencyMs: 1500 },
    { at: 0, action: 'degrade', service: 'payments-api', fault: 'error_rate', errorRate: 0.2 },
    { at: 0, action: 'degrade', service: 'payments-api', fault: 'dependency_off', dependency: 'postgres' },
    { at: '10m', action: 'resolve', alerts: 'all' },
  ],
};

describe('the drill flag source for flagd', () => {
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let sim: Simulator;
  let who: People;
  const flagToken = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    const stack = await testStack('simulator-flags');
    issuer = stack.issuer;
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
      FLAG_SOURCE_TOKEN: flagToken,
    });
    who = await people(issuer);
    expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: scenario })).status).toBe(201);
  });

  afterAll(async () => {
    await sim?.running.stop();
    await pagerduty?.stop();
    await issuer?.stop();
  });

  /** GET the flags as flagd's HTTP sync does. */
  const fetchFlags = (environment = 'staging', headers: Record<string, string> = {}) =>
    fetch(`${sim.url}/drills/v1/flags/${environment}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${flagToken}`, ...headers },
    });

  /** What an application of `service` sees once flagd has synced the served document. */
  const evaluate = async (service: string, environment = 'staging') => {
    const res = await fetchFlags(environment);
    expect(res.status).toBe(200);
    const storage = new MemoryStorage(console);
    // strict: a document flagd's schema refuses throws here.
    storage.setConfigurations(await res.text(), true);
    const flagd = new FlagdCore(storage);
    return {
      latencyMs: flagd.resolveNumberEvaluation('drill-latency-ms', -1, { service }).value,
      errorRate: flagd.resolveNumberEvaluation('drill-error-rate', -1, { service }).value,
      postgresOff: flagd.resolveBooleanEvaluation('drill-dependency-off', true, { service, dependency: 'postgres' })
        .value,
    };
  };
  const OFF = { latencyMs: 0, errorRate: 0, postgresOff: false };
  const DEGRADED = { latencyMs: 1500, errorRate: 0.2, postgresOff: true };

  const startRun = async () => {
    const res = await sim.call<Run>('/drills/v1/runs', { token: who.responder, body: { scenario: scenario.id } });
    expect(res.status).toBe(201);
    expect(res.body.state).toBe('running');
    // The degrade steps are fired (recorded) like any other step.
    return until('the degrade steps fired', async () => {
      const run = (await sim.call<Run>(`/drills/v1/runs/${res.body.id}`, { token: who.viewer })).body;
      const degrades = run.steps.filter((s) => s.action === 'degrade');
      return degrades.length === 3 && degrades.every((s) => s.state === 'fired') ? run : undefined;
    });
  };

  it('refuses flagd without the token, or with a wrong one (401), and audits each refusal', async () => {
    const none = await fetch(`${sim.url}/drills/v1/flags/staging`);
    expect(none.status).toBe(401);
    const wrong = await fetchFlags('staging', { authorization: `Bearer ${randomBytes(24).toString('base64url')}` });
    expect(wrong.status).toBe(401);
    // A user's sign-in is not the flag source's token.
    expect((await fetchFlags('staging', { authorization: `Bearer ${who.approver}` })).status).toBe(401);
    const audit = await sim.call<{ items: { action: string; outcome: string; actor: { subject: string } }[] }>(
      '/drills/v1/audit?outcome=denied',
      { token: who.approver },
    );
    const refusals = audit.body.items.filter((row) => row.action === 'flags_read');
    expect(refusals).toHaveLength(3);
    expect(refusals.every((r) => r.actor.subject === 'anonymous' && r.outcome === 'denied')).toBe(true);
    expect((await fetchFlags('testing')).status).toBe(400);
  });

  it('serves every flag off before a run, on for the degraded service during it, off after an abort', async () => {
    expect(await evaluate('payments-api')).toEqual(OFF);
    const run = await startRun();
    expect(await evaluate('payments-api')).toEqual(DEGRADED);
    // Only the degraded service, only the dependency named, only the run's environment.
    expect(await evaluate('checkout')).toEqual(OFF);
    expect(await evaluate('payments-api', 'production')).toEqual(OFF);

    const aborted = await sim.call<Run>(`/drills/v1/runs/${run.id}/abort`, {
      token: who.responder,
      body: { reason: 'practised enough' },
    });
    expect(aborted.body.state).toBe('aborted');
    expect(await evaluate('payments-api')).toEqual(OFF);
  });

  it('turns every flag off when the kill switch is engaged', async () => {
    await startRun();
    expect(await evaluate('payments-api')).toEqual(DEGRADED);
    const engaged = await sim.call('/drills/v1/kill-switch/engage', {
      token: who.approver,
      body: { reason: 'real incident in payments' },
    });
    expect(engaged.status).toBe(200);
    expect(await evaluate('payments-api')).toEqual(OFF);
    await sim.call('/drills/v1/kill-switch/rearm', { token: who.approver, body: { reason: 'incident over' } });
    expect(await evaluate('payments-api')).toEqual(OFF);
  });

  it('answers 304 to If-None-Match while nothing changed, and the new document once something did', async () => {
    const first = await fetchFlags();
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await fetchFlags('staging', { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const run = await startRun();
    const changed = await fetchFlags('staging', { 'if-none-match': etag! });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    await sim.call(`/drills/v1/runs/${run.id}/abort`, { token: who.responder, body: { reason: 'done here' } });
  });

  it('refuses a degrade step that lacks its setting (400 naming the field)', async () => {
    const bad = structuredClone(scenario);
    bad.id = 'payments-degraded-bad';
    bad.timeline[1] = { at: 0, action: 'degrade', service: 'payments-api', fault: 'latency' } as never;
    const res = await sim.call<ErrorBody>('/drills/v1/scenarios', { token: who.responder, body: bad });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.issues?.map((i) => i.path)).toEqual(['timeline.1.latencyMs']);
  });
});
