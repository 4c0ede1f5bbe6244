import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventEnvelope, topicName } from '@micro-oncall/incident-model';
import {
  createTestDatabase,
  type FakePagerDutyEvents,
  freePort,
  type LocalIssuer,
  startFakePagerDutyEvents,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../scripts/lib/platform.js';
import { assertPlatformRunning, CATALOGUE_FILE, eventually, failOnServiceStop } from './helpers.js';

type IncidentEventMessage = EventEnvelope<'incident-events'>;

const SCENARIO = {
  id: 'checkout-through-ingest',
  name: 'Checkout errors through our own pipeline',
  description: 'One alert through webhook-ingest and PagerDuty Events at once.',
  team: 'storefront',
  runbook: { url: 'https://runbooks.example.com/storefront/checkout', checklist: ['Acknowledge the incident'] },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'checkout-errors',
      name: 'CheckoutErrorRateHigh',
      severity: 'medium',
      summary: 'Checkout error rate above 5%',
      service: 'checkout',
    },
    { at: '20m', action: 'resolve', alerts: 'all' },
  ],
};

/**
 * A drill end to end through our own pipeline: the simulator sends an Alertmanager webhook to
 * webhook-ingest (with the receiver's basic auth, as Alertmanager would) and a PagerDuty Events v2
 * trigger to a fake PagerDuty; the incident event on Kafka carries the run id.
 */
describe('drill → webhook-ingest → Kafka', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let pagerduty: FakePagerDutyEvents;
  let incidentsTopic: string;
  let kafkaBrokers: string;
  let responder: string;
  let smokeToken: string;
  let dir: string;

  const simulator = (path: string, body?: unknown) =>
    fetch(`${platform.service('simulator').url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${responder}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const incidentEvents = async (runId: string) =>
    (await testKafka(kafkaBrokers).read(incidentsTopic, { count: 1000, timeoutMs: 3000 }))
      .map((m) => JSON.parse(m.value ?? 'null') as IncidentEventMessage)
      .filter((e) => e.data.snapshot?.labels.drill_run_id === runId);

  beforeAll(async () => {
    const stack = inject('stack');
    kafkaBrokers = stack.kafkaBrokers;
    const namespace = uniqueNamespace('drills');
    incidentsTopic = topicName('incident-events', namespace);
    issuer = await startLocalIssuer();
    responder = await issuer.token({ sub: 'ada-responder', name: 'Ada', roles: ['responder'] });
    smokeToken = await issuer.token({ sub: 'helm-smoke-test', name: 'helm test', roles: ['responder', 'viewer'] });
    const routingKey = randomBytes(16).toString('hex');
    pagerduty = await startFakePagerDutyEvents({ routingKeys: [routingKey] });
    dir = mkdtempSync(join(tmpdir(), 'mo-drills-'));
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const ingestPort = await freePort();
    platform = await startPlatform({
      databaseUrl: await createTestDatabase(stack.databaseUrl, 'drills'),
      kafkaBrokers,
      namespace,
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: {
        'pagerduty-webhook-secrets': file('pagerduty', randomBytes(24).toString('hex')),
        'opsgenie-webhook-token': file('opsgenie', randomBytes(24).toString('hex')),
        'alertmanager-webhook-basic-auth': file('alertmanager', `alertmanager:${randomBytes(24).toString('hex')}`),
        'pagerduty-routing-key': file('routing-key', routingKey),
      },
      urls: { 'webhook-ingest': `http://127.0.0.1:${ingestPort}`, 'pagerduty-events': pagerduty.url },
      files: { 'service-catalogue': CATALOGUE_FILE },
      ports: { 'webhook-ingest': ingestPort },
      // escalation for the smoke check (the drill must reach it); the other test needs only ingest.
      only: ['webhook-ingest', 'escalation', 'simulator'],
      logLevel: 'error',
      nodeEnv: 'test',
      onFatal: failOnServiceStop,
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await pagerduty?.stop();
    await issuer?.stop();
    assertPlatformRunning();
  });

  it('turns a drill into an incident event that carries the run id, and resolves it on abort', async () => {
    expect((await simulator('/drills/v1/scenarios', SCENARIO)).status).toBe(201);
    const res = await simulator('/drills/v1/runs', { scenario: SCENARIO.id, targets: ['ingest', 'pagerduty'] });
    expect(res.status).toBe(201);
    const run = (await res.json()) as { id: string; state: string };
    expect(run.state).toBe('running');

    const [triggered] = await eventually(
      'the drill incident on Kafka',
      async () => {
        const found = await incidentEvents(run.id);
        return found.length > 0 ? found : undefined;
      },
      30_000,
    );
    expect(triggered?.data).toMatchObject({
      kind: 'triggered',
      provider: 'alertmanager',
      drill: true,
      snapshot: {
        title: '[DRILL] Checkout error rate above 5%',
        service: 'checkout',
        severity: 'medium',
        labels: { drill: 'true', drill_run_id: run.id, drill_scenario: SCENARIO.id, environment: 'staging' },
      },
    });
    expect(triggered?.drill).toBe(true);
    expect(pagerduty.alert(`drill:${run.id}:checkout-errors`)).toMatchObject({
      status: 'triggered',
      customDetails: expect.objectContaining({ drill_run_id: run.id }),
    });

    expect((await simulator(`/drills/v1/runs/${run.id}/abort`, { reason: 'pipeline checked' })).status).toBe(200);
    const kinds = await eventually(
      'the drill incident resolved on Kafka',
      async () => {
        const found = (await incidentEvents(run.id)).map((e) => e.data.kind);
        return found.includes('resolved') ? found : undefined;
      },
      30_000,
    );
    expect(kinds).toEqual(['triggered', 'resolved']);
    expect(pagerduty.alert(`drill:${run.id}:checkout-errors`)?.status).toBe('resolved');
  });

  /**
   * What `helm test` runs after a deployment (charts/micro-oncall/templates/tests/smoke-test.yaml):
   * the simulator's smoke script, as a process with the Pod's environment, against this platform.
   */
  it('passes the helm test smoke check: every service ready, a drill through ingest and escalation that resolves itself', async () => {
    const tokenFile = join(dir, 'smoke-token');
    writeFileSync(tokenFile, smokeToken, { mode: 0o600 });
    const services = ['webhook-ingest', 'escalation', 'simulator'].map((n) => `${n}=${platform.service(n).url}`);
    const smoke = (extra: string[] = []) =>
      new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'src/smoke.ts'],
          {
            cwd: new URL('../services/simulator/', import.meta.url).pathname,
            env: {
              PATH: process.env.PATH,
              SMOKE_SERVICES: [...services, ...extra].join(','),
              SMOKE_TOKEN_FILE: tokenFile,
              SMOKE_TIMEOUT_SECONDS: '60',
            },
            timeout: 90_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
        );
      });

    const passed = await smoke();
    expect(passed.output).toMatch(/^ok {3}webhook-ingest ready$/m);
    expect(passed.output).toMatch(/^ok {3}escalation ready$/m);
    expect(passed.output).toMatch(/^ok {3}simulator ready$/m);
    expect(passed.output).toMatch(/^ok {3}escalation shows incident \S+ as a verified drill of the run$/m);
    expect(passed.output).toContain('ok   the drill resolved itself (escalation shows the incident resolved)');
    expect(passed.output).toContain('ok   the drill run completed');
    expect(passed.output.trim().split('\n').at(-1)).toBe('smoke check passed');
    expect(passed.code).toBe(0);

    // A service that does not answer fails the check, in words, before any drill is started.
    const failed = await smoke([`status-mapper=http://127.0.0.1:${await freePort()}`]);
    expect(failed.code).toBe(1);
    expect(failed.output).toMatch(/^FAIL status-mapper is not reachable at http:\/\/127\.0\.0\.1:\d+: /m);
    expect(failed.output).not.toContain('drill');
  }, 120_000);
});
