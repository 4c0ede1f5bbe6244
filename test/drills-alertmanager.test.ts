import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventEnvelope, topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  ALERTMANAGER_VERSION,
  createTestDatabase,
  type LocalAlertmanager,
  type LocalIssuer,
  startAlertmanager,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service as simulator } from '../services/simulator/src/index.js';
import { service as webhookIngest } from '../services/webhook-ingest/src/index.js';

/**
 * A drill through a real Prometheus Alertmanager, as a real alert travels: the simulator posts
 * its alerts to Alertmanager's API v2 (and keeps re-sending them while they fire), Alertmanager's
 * webhook receiver delivers them to webhook-ingest with the receiver's basic auth, and
 * webhook-ingest publishes incident events that carry the run id. The kill switch resolves them.
 */

type IncidentEventMessage = EventEnvelope<'incident-events'>;
interface ApiAlert {
  labels: Record<string, string>;
  fingerprint: string;
  endsAt: string;
  status: { state: string };
}
interface Run {
  id: string;
  state: string;
  alerts: { key: string; target: string; state: string }[];
}

const SCENARIO = {
  id: 'payments-through-alertmanager',
  name: 'Payments latency through Alertmanager',
  description: 'A high-severity latency alert and a related checkout alert, through Alertmanager.',
  team: 'payments',
  runbook: { url: 'https://runbooks.example.com/payments/latency', checklist: ['Acknowledge', 'Fail over'] },
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'payments-latency',
      name: 'PaymentsLatencyHigh',
      severity: 'high',
      summary: 'Card authorisation p99 above 2 s',
      service: 'payments-api',
    },
    {
      at: '1s',
      action: 'add_related',
      alerts: [
        {
          alert: 'checkout-timeouts',
          name: 'CheckoutTimeouts',
          severity: 'medium',
          summary: 'Checkout requests time out',
          service: 'checkout',
        },
      ],
    },
    { at: '20m', action: 'resolve', alerts: 'all' },
  ],
};

describe(`drill → a real Alertmanager ${ALERTMANAGER_VERSION} → webhook-ingest → Kafka`, () => {
  let am: LocalAlertmanager;
  let ingest: RunningService;
  let sim: RunningService;
  let issuer: LocalIssuer;
  let secretDir: string;
  let incidentsTopic: string;
  let kafkaBrokers: string;

  const api = async <T>(path: string, token: string, body?: unknown) => {
    const res = await fetch(`${sim.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  /** The run's alerts Alertmanager lists (resolved alerts are not listed). */
  const listed = async (runId: string) => {
    const filter = encodeURIComponent(`drill_run_id="${runId}"`);
    const res = await fetch(`${am.url}/api/v2/alerts?filter=${filter}`);
    expect(res.status).toBe(200);
    return (await res.json()) as ApiAlert[];
  };
  const incidentEvents = async (runId: string) =>
    (await testKafka(kafkaBrokers).read(incidentsTopic, { count: 1000, timeoutMs: 2500 }))
      .map((m) => JSON.parse(m.value ?? 'null') as IncidentEventMessage)
      .filter((e) => e.data.snapshot?.labels.drill_run_id === runId);
  async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (Alertmanager log: ${am.logFile})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    const stack = inject('stack');
    kafkaBrokers = stack.kafkaBrokers;
    const namespace = uniqueNamespace('drills-am');
    incidentsTopic = topicName('incident-events', namespace);
    secretDir = mkdtempSync(join(tmpdir(), 'drills-am-'));
    const password = randomBytes(24).toString('hex');
    const file = (name: string, content: string) => {
      const path = join(secretDir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const shared = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
    };
    ingest = await webhookIngest.run(
      webhookIngest.loadConfig({
        ...shared,
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'drills_am_ingest'),
        ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: file('ingest-basic', `alertmanager:${password}`),
      }),
    );
    // A cold run builds Alertmanager first (about 2 minutes; cached afterwards).
    am = await startAlertmanager({
      config: {
        receivers: [
          {
            name: 'micro-oncall',
            webhook_configs: [
              {
                url: `${ingest.url}/v1/webhooks/alertmanager`,
                send_resolved: true,
                http_config: { basic_auth: { username: 'alertmanager', password_file: file('password', password) } },
              },
            ],
          },
        ],
      },
    });
    issuer = await startLocalIssuer();
    sim = await simulator.run(
      simulator.loadConfig({
        ...shared,
        DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'drills_am_simulator'),
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: issuer.audience,
        ALERTMANAGER_URL: am.url,
        // Alerts are sent with endsAt 4 × 2 s ahead: only the resend job keeps them firing.
        ALERTMANAGER_RESEND_SECONDS: '2',
        APPROVAL_SEVERITY_THRESHOLD: 'high',
      }),
    );
  }, 600_000);

  afterAll(async () => {
    await sim?.stop();
    await am?.stop();
    await ingest?.stop();
    await issuer?.stop();
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  });

  it('an approved high-severity drill reaches Kafka with its run id; the kill switch leaves nothing active', async () => {
    const now = Math.floor(Date.now() / 1000);
    const responder = await issuer.token({ sub: 'ada-responder', name: 'Ada', roles: ['responder'] });
    const approver = await issuer.token({
      sub: 'grace-approver',
      name: 'Grace',
      roles: ['approver'],
      amr: ['pwd', 'hwk'],
      auth_time: now,
    });
    expect((await api('/drills/v1/scenarios', responder, SCENARIO)).status).toBe(201);
    const proposed = await api<Run>('/drills/v1/runs', responder, { scenario: SCENARIO.id });
    expect(proposed.body.state).toBe('awaiting_approval');
    const runId = proposed.body.id;
    expect((await api<Run>(`/drills/v1/runs/${runId}/approve`, approver, {})).body.state).toBe('running');

    const active = await until('both alerts active in Alertmanager', async () => {
      const alerts = await listed(runId);
      return alerts.length === 2 ? alerts : undefined;
    });
    expect(active.every((a) => a.status.state === 'active' && a.labels.drill === 'true')).toBe(true);
    expect(active.map((a) => a.labels.alertname).sort()).toEqual(['CheckoutTimeouts', 'PaymentsLatencyHigh']);

    const triggered = await until('both incidents on Kafka, through Alertmanager and webhook-ingest', async () => {
      const events = (await incidentEvents(runId)).filter((e) => e.data.kind === 'triggered');
      return new Set(events.map((e) => e.data.providerId)).size === 2 ? events : undefined;
    });
    for (const event of triggered) {
      expect(event.data).toMatchObject({
        provider: 'alertmanager',
        drill: true,
        snapshot: { labels: { drill_run_id: runId, drill_scenario: SCENARIO.id, environment: 'staging' } },
      });
      expect(active.map((a) => a.fingerprint)).toContain(event.data.providerId);
    }

    // Longer than an alert lasts without being re-sent (8 s): Alertmanager still lists both.
    const firstEnds = Math.max(...active.map((a) => Date.parse(a.endsAt)));
    await new Promise((r) => setTimeout(r, 12_000));
    const still = await listed(runId);
    expect(still).toHaveLength(2);
    expect(Math.min(...still.map((a) => Date.parse(a.endsAt)))).toBeGreaterThan(firstEnds);

    const engaged = await api<{ stoppedRuns: string[] }>('/drills/v1/kill-switch/engage', approver, {
      reason: 'checking the kill switch through Alertmanager',
    });
    expect(engaged.body.stoppedRuns).toEqual([runId]);
    await until(
      'no alert of the run active in Alertmanager',
      async () => ((await listed(runId)).length === 0 ? true : undefined),
      15_000,
    );
    const resolved = await until('both incidents resolved on Kafka', async () => {
      const events = (await incidentEvents(runId)).filter((e) => e.data.kind === 'resolved');
      return new Set(events.map((e) => e.data.providerId)).size === 2 ? events : undefined;
    });
    expect(resolved.every((e) => e.data.drill)).toBe(true);
    const run = await api<Run>(`/drills/v1/runs/${runId}`, responder);
    expect(run.body.state).toBe('aborted');
    expect(run.body.alerts.map((a) => [a.target, a.state])).toEqual([
      ['alertmanager', 'resolved'],
      ['alertmanager', 'resolved'],
    ]);
    await api('/drills/v1/kill-switch/rearm', approver, { reason: 'test over' });
  }, 120_000);
});
