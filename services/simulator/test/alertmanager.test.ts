import {
  ALERTMANAGER_VERSION,
  type LocalAlertmanager,
  type LocalIssuer,
  startAlertmanager,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { people, type Run, type Simulator, startSimulator, testStack, until } from './helpers.js';

const SCENARIO = {
  id: 'edge-shedding',
  name: 'Edge shedding load',
  description: 'The edge sheds load; the alert is raised, then stays firing until stopped.',
  team: 'platform',
  runbook: { url: 'https://runbooks.example.com/platform/edge', checklist: ['Steer traffic'] },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'shedding',
      name: 'EdgeLoadShedding',
      severity: 'medium',
      summary: 'Edge is shedding 12% of requests',
      service: 'edge-gateway',
      labels: { region: 'eu-central-1' },
    },
    { at: '2s', action: 'change_severity', alert: 'shedding', severity: 'high' },
  ],
};

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/**
 * The Alertmanager target against a real Alertmanager (its API v2; notifications are not the
 * point here, see test/drills-alertmanager.test.ts for the whole path): the run's alerts are
 * active while it runs, a severity change is a new label set, firing alerts are re-sent before
 * their endsAt passes, and abort leaves none active.
 */
describe(`simulator → Alertmanager ${ALERTMANAGER_VERSION} API v2`, () => {
  let issuer: LocalIssuer;
  let am: LocalAlertmanager;
  let sim: Simulator;

  /** The run's alerts Alertmanager lists (resolved ones are not listed). */
  const active = async (runId: string) => {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(`drill_run_id="${runId}"`)}`);
    return (await res.json()) as ApiAlert[];
  };

  beforeAll(async () => {
    const stack = await testStack('simulator-am');
    issuer = stack.issuer;
    // A receiver that notifies nobody: this test reads Alertmanager's API only.
    am = await startAlertmanager({ config: { receivers: [{ name: 'nobody' }] } });
    sim = await startSimulator({
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: stack.namespace,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      ALERTMANAGER_URL: am.url,
      // endsAt is 4 × 2 s ahead: without the resend job the alert would resolve within 8 s.
      ALERTMANAGER_RESEND_SECONDS: '2',
      APPROVAL_SEVERITY_THRESHOLD: 'critical',
    });
  }, 600_000);

  afterAll(async () => {
    await sim?.running.stop();
    await am?.stop();
    await issuer?.stop();
  });

  it("keeps the run's alerts active by re-sending them, follows the severity change, and leaves none after abort", async () => {
    const who = await people(issuer);
    expect((await sim.call('/drills/v1/scenarios', { token: who.responder, body: SCENARIO })).status).toBe(201);
    const run = (await sim.call<Run>('/drills/v1/runs', { token: who.responder, body: { scenario: SCENARIO.id } }))
      .body;
    expect(run).toMatchObject({ state: 'running', targets: ['alertmanager'] });

    const raised = await until('the alert raised to high in Alertmanager', async () => {
      const found = await active(run.id);
      return found.length === 1 && found[0]?.labels.severity === 'high' ? found[0] : undefined;
    });
    expect(raised.labels).toMatchObject({
      alertname: 'EdgeLoadShedding',
      service: 'edge-gateway',
      region: 'eu-central-1',
      environment: 'staging',
      drill: 'true',
      drill_scenario: SCENARIO.id,
    });
    expect(raised.annotations.summary).toBe('[DRILL] Edge is shedding 12% of requests');

    // Twice the time an alert lasts without being sent again: still active, with a later endsAt.
    await new Promise((r) => setTimeout(r, 16_000));
    const later = await active(run.id);
    expect(later).toHaveLength(1);
    expect(Date.parse(later[0]!.endsAt)).toBeGreaterThan(Date.parse(raised.endsAt));
    expect(later[0]!.startsAt).toBe(raised.startsAt);

    expect(
      (await sim.call(`/drills/v1/runs/${run.id}/abort`, { token: who.responder, body: { reason: 'seen enough' } }))
        .status,
    ).toBe(200);
    await until('no alert of the run active in Alertmanager', async () =>
      (await active(run.id)).length === 0 ? true : undefined,
    );
    // Nothing sends it again after the abort: it stays resolved.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await active(run.id)).toEqual([]);
  }, 60_000);
});
