import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncidentActionEnvelope, incidentIdFor, topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  type AlertmanagerConfig,
  createTestDatabase,
  type LocalAlertmanager,
  type LocalIssuer,
  startAlertmanager,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service as escalationService } from '../services/escalation/src/index.js';
import { service as webhookIngest } from '../services/webhook-ingest/src/index.js';
import { CATALOGUE_FILE, eventually } from './helpers.js';

/**
 * Acting on Alertmanager incidents, end to end with nothing faked: alerts posted to a real
 * Alertmanager reach webhook-ingest through its webhook receiver and become escalation incidents;
 * a responder's acknowledgement becomes a silence in that Alertmanager (API v2) and resolving
 * expires it.
 */

interface ApiAlert {
  labels: Record<string, string>;
  fingerprint: string;
  startsAt: string;
  status: { state: 'unprocessed' | 'active' | 'suppressed'; silencedBy: string[] };
}
interface ApiSilence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  createdBy: string;
  comment: string;
  startsAt: string;
  endsAt: string;
  status: { state: 'active' | 'expired' | 'pending' };
}
interface IncidentView {
  status: string;
  events: {
    kind: string;
    actor: { type: string; id: string | null; name: string | null } | null;
    note: string | null;
  }[];
}
interface AuditItem {
  action: string;
  outcome: string;
  actor: { subject: string };
  provider: string | null;
  providerRequestId: string | null;
  detail: string;
  actionId: string | null;
}

const RECEIVER = 'micro-oncall';
const password = randomBytes(24).toString('hex');

let am: LocalAlertmanager;
let ingest: RunningService;
let escalation: RunningService;
let issuer: LocalIssuer;
let secretDir: string;
let namespace: string;
let responder: string;
let admin: string;

async function amApi<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${am.url}/api/v2${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

const filter = (alertname: string) => `filter=${encodeURIComponent(`alertname="${alertname}"`)}`;
const listed = async (alertname: string) => (await amApi<ApiAlert[]>('GET', `/alerts?${filter(alertname)}`)).body;
const silencesOf = async (alertname: string) =>
  (await amApi<ApiSilence[]>('GET', `/silences?${filter(alertname)}`)).body;

async function act(incidentId: string, body: unknown) {
  const res = await fetch(`${escalation.url}/v1/incidents/${incidentId}/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${responder}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { outcome?: string; detail?: string; error: { code: string; message: string } },
  };
}

async function incident(id: string): Promise<IncidentView | undefined> {
  const res = await fetch(`${escalation.url}/v1/incidents/${id}`, {
    headers: { authorization: `Bearer ${responder}` },
  });
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { incident: { status: string }; events: IncidentView['events'] };
  return { status: body.incident.status, events: body.events };
}

async function audit(incidentId: string): Promise<AuditItem[]> {
  const res = await fetch(`${escalation.url}/v1/audit?incidentId=${incidentId}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  return ((await res.json()) as { items: AuditItem[] }).items;
}

/** Fires an alert through Alertmanager and waits for its incident in escalation. */
async function fire(labels: Record<string, string>) {
  await amApi('POST', '/alerts', [{ labels, annotations: { summary: `${labels.alertname} on ${labels.pod}` } }]);
  const alert = await eventually('the alert in Alertmanager', async () => (await listed(labels.alertname!))[0]);
  const incidentId = incidentIdFor('alertmanager', alert.fingerprint);
  await eventually(`incident ${incidentId} in escalation`, () => incident(incidentId));
  return { incidentId, fingerprint: alert.fingerprint };
}

const unique = () => randomBytes(3).toString('hex');

/** Successful checks of the silenced alerts so far (escalation's metrics). */
async function checksSoFar(outcome: 'ok' | 'failed' = 'ok'): Promise<number> {
  const text = await (await fetch(`${escalation.url}/metrics`)).text();
  const line = new RegExp(`^alertmanager_silence_checks_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(
    text,
  );
  return Number(line?.[1] ?? 0);
}

beforeAll(async () => {
  const stack = inject('stack');
  namespace = uniqueNamespace('am-actions');
  issuer = await startLocalIssuer();
  secretDir = mkdtempSync(join(tmpdir(), 'am-actions-'));
  const secret = (name: string, content: string) => {
    const path = join(secretDir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  // A cold run builds Alertmanager first (about 2 minutes on 2 cores; cached afterwards).
  am = await startAlertmanager({ config: { receivers: [{ name: RECEIVER }] } });
  const shared = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    HOST: '127.0.0.1',
    PORT: '0',
    KAFKA_BROKERS: stack.kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: namespace,
  };
  ingest = await webhookIngest.run(
    webhookIngest.loadConfig({
      ...shared,
      DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'am_actions_ingest'),
      ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: secret('ingest', `alertmanager:${password}`),
    }),
  );
  escalation = await escalationService.run(
    escalationService.loadConfig({
      ...shared,
      DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'am_actions_escalation'),
      KAFKA_CONSUMER_GROUP: `${namespace}-escalation`,
      SERVICE_CATALOGUE_FILE: CATALOGUE_FILE,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      ALERTMANAGER_URL: am.url,
      // Checked every second here: well within the route's group_interval below.
      ALERTMANAGER_SILENCE_CHECK_SECONDS: '1',
      // This Alertmanager started moments ago and has every alert the tests sent it.
      ALERTMANAGER_RESTART_GRACE_SECONDS: '0',
    }),
  );
  await am.reload({
    receivers: [
      {
        name: RECEIVER,
        webhook_configs: [
          {
            url: `${ingest.url}/v1/webhooks/alertmanager`,
            send_resolved: true,
            http_config: { basic_auth: { username: 'alertmanager', password_file: secret('am', password) } },
          },
        ],
      },
    ],
    // A resolution reaches the receiver at the group's next notification (see the resolve test).
    route: { group_interval: '10s' },
  } satisfies AlertmanagerConfig);
  responder = await issuer.token({
    sub: 'ada',
    roles: ['responder'],
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    email_verified: true,
  });
  admin = await issuer.token({ sub: 'root', roles: ['admin'] });
}, 600_000);

afterAll(async () => {
  await escalation?.stop();
  await ingest?.stop();
  await am?.stop();
  await issuer?.stop();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

describe('acting on Alertmanager incidents', () => {
  it('acknowledging silences the alert in Alertmanager; resolving expires the silence', async () => {
    const alertname = `CheckoutLatencyHigh_${unique()}`;
    const labels = { alertname, service: 'checkout', severity: 'critical', pod: 'checkout-1' };
    const { incidentId, fingerprint } = await fire(labels);

    const acked = await act(incidentId, { action: 'acknowledge' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ outcome: 'succeeded' });
    expect(acked.body.detail).toMatch(new RegExp(`^Alertmanager silenced alert ${fingerprint} until .+ \\(silence `));

    const [silence] = await silencesOf(alertname);
    expect(silence).toMatchObject({
      status: { state: 'active' },
      createdBy: 'ada@example.com',
      comment: `Acknowledged in micro-oncall by Ada Lovelace, incident ${incidentId}`,
    });
    expect(silence!.matchers).toEqual(
      ['alertname', 'pod', 'service', 'severity'].map((name) => ({
        name,
        value: labels[name as keyof typeof labels],
        isRegex: false,
        isEqual: true,
      })),
    );
    // Four hours by default.
    const lasts = Date.parse(silence!.endsAt) - Date.parse(silence!.startsAt);
    expect(lasts).toBeGreaterThan(4 * 3600_000 - 60_000);
    expect(lasts).toBeLessThanOrEqual(4 * 3600_000);
    const suppressed = await eventually('the alert to be silenced', async () => {
      const [alert] = await listed(alertname);
      return alert?.status.state === 'suppressed' ? alert : undefined;
    });
    expect(suppressed.status.silencedBy).toEqual([silence!.id]);
    // Alertmanager notifies nothing about a silence: escalation records the acknowledgement itself.
    const ackedIncident = await eventually('the incident to be acknowledged', async () => {
      const now = await incident(incidentId);
      return now?.status === 'acknowledged' ? now : undefined;
    });
    expect(ackedIncident.events.find((e) => e.kind === 'acknowledged')).toMatchObject({
      actor: { type: 'user', name: 'Ada Lovelace' },
    });

    // On record like any action: pending, then the outcome with the silence id; and on the topic.
    const rows = await audit(incidentId);
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['acknowledge', 'succeeded'],
      ['acknowledge', 'pending'],
    ]);
    expect(rows[0]).toMatchObject({
      provider: 'alertmanager',
      providerRequestId: silence!.id,
      actor: { subject: 'ada' },
    });
    const [message] = await testKafka(inject('stack').kafkaBrokers).read(topicName('incident-actions', namespace), {
      count: 1,
      timeoutMs: 10_000,
    });
    expect(IncidentActionEnvelope.parse(JSON.parse(message!.value!)).data).toMatchObject({
      incidentId,
      provider: 'alertmanager',
      action: 'acknowledge',
      outcome: 'succeeded',
    });

    const resolved = await act(incidentId, { action: 'resolve' });
    expect(resolved.status).toBe(200);
    expect(resolved.body.detail).toBe(
      `Alertmanager expired silence ${silence!.id} of alert ${fingerprint}; it resolves when its source stops firing it`,
    );
    expect((await amApi<ApiSilence>('GET', `/silence/${silence!.id}`)).body.status.state).toBe('expired');
    await eventually('the alert to notify again', async () =>
      (await listed(alertname))[0]?.status.state === 'active' ? true : undefined,
    );
    // No longer silenced, so no longer acknowledged: the alert may still fire.
    await eventually('the incident to be triggered again', async () =>
      (await incident(incidentId))?.status === 'triggered' ? true : undefined,
    );
    // Nothing left to expire: said plainly.
    const again = await act(incidentId, { action: 'resolve' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/no silence from micro-oncall is in force/);
  });

  // Alertmanager does not notify the resolution of a silenced alert: escalation sees the alert gone
  // from Alertmanager's API, resolves the incident itself and expires the silence (ADR 0017).
  it('resolves a silenced incident when its alert resolves at the source, without anyone acting, and expires the silence', {
    timeout: 240_000,
  }, async () => {
    const alertname = `PaymentsErrors_${unique()}`;
    const labels = { alertname, service: 'payments', severity: 'critical', pod: 'payments-3' };
    const { incidentId, fingerprint } = await fire(labels);
    const acked = await act(incidentId, { action: 'acknowledge', note: 'Rolling back the deploy' });
    expect(acked.status).toBe(200);
    const [silence] = await silencesOf(alertname);
    expect(silence).toMatchObject({ status: { state: 'active' }, comment: 'Rolling back the deploy' });

    // The source stops firing it (as Prometheus does: the same alert with an end time).
    const [firing] = await listed(alertname);
    // Ended now, but never before it started (a fast run acknowledges within the same second).
    const resolvedAt = new Date(Math.max(Date.now(), Date.parse(firing!.startsAt) + 1)).toISOString();
    const posted = await amApi('POST', '/alerts', [{ labels, startsAt: firing!.startsAt, endsAt: resolvedAt }]);
    expect(posted.status).toBe(200);

    const resolved = await eventually(
      'the incident to be resolved in escalation',
      async () => {
        const now = await incident(incidentId);
        return now?.status === 'resolved' ? now : undefined;
      },
      90_000,
    );
    // Said in its history: who resolved it and how it was known (the history is written only by
    // escalation's consumer of incident-events: the event went through the topic).
    const resolution = resolved.events.find((e) => e.kind === 'resolved');
    expect(resolution).toMatchObject({
      actor: { type: 'system', id: 'escalation', name: "escalation, observed in Alertmanager's API" },
    });
    expect(resolution!.note).toContain(`Alertmanager no longer lists alert ${fingerprint}`);
    await eventually(
      'the silence to be expired',
      async () =>
        (await amApi<ApiSilence>('GET', `/silence/${silence!.id}`)).body.status.state === 'expired' ? true : undefined,
      30_000,
    );
    const rows = await audit(incidentId);
    expect(rows.find((r) => r.action === 'resolve')).toMatchObject({
      outcome: 'succeeded',
      actor: { subject: 'system:escalation' },
      provider: 'alertmanager',
    });
    expect(rows.find((r) => r.action === 'expire_silence')).toMatchObject({
      outcome: 'succeeded',
      actor: { subject: 'system:escalation' },
      providerRequestId: silence!.id,
    });

    // Alertmanager's own resolved notification may follow once the silence is gone: the incident
    // stays resolved, with one resolution of ours, however often the check runs.
    const checked = await checksSoFar();
    await eventually(
      'three more checks',
      async () => ((await checksSoFar()) >= checked + 3 ? true : undefined),
      60_000,
    );
    const after = await incident(incidentId);
    expect(after?.status).toBe('resolved');
    expect(after!.events.filter((e) => e.actor?.id === 'escalation')).toHaveLength(1);
    expect((await audit(incidentId)).filter((r) => r.action === 'resolve')).toHaveLength(1);
  });

  it('leaves a silenced incident acknowledged, not resolved, while its alert keeps firing', async () => {
    const alertname = `LedgerLag_${unique()}`;
    const labels = { alertname, service: 'ledger', severity: 'warning', pod: 'ledger-1' };
    const { incidentId } = await fire(labels);
    const before = await incident(incidentId);
    expect((await act(incidentId, { action: 'acknowledge' })).status).toBe(200);
    const [silence] = await silencesOf(alertname);
    expect(silence?.status.state).toBe('active');
    await eventually('the alert to be silenced', async () =>
      (await listed(alertname))[0]?.status.state === 'suppressed' ? true : undefined,
    );
    await eventually('the incident to be acknowledged', async () =>
      (await incident(incidentId))?.status === 'acknowledged' ? true : undefined,
    );

    // Several checks see the silenced alert still firing (its source keeps sending it).
    const checked = await checksSoFar();
    await amApi('POST', '/alerts', [{ labels }]);
    await eventually(
      'three more checks',
      async () => ((await checksSoFar()) >= checked + 3 ? true : undefined),
      60_000,
    );

    // Acknowledged the Alertmanager way (silenced; escalation records the acknowledgement, as
    // Alertmanager has none of its own), and not resolved.
    const now = await incident(incidentId);
    expect(before?.status).toBe('triggered');
    expect(now?.status).toBe('acknowledged');
    expect(now!.events.some((e) => e.kind === 'resolved')).toBe(false);
    expect((await amApi<ApiSilence>('GET', `/silence/${silence!.id}`)).body.status.state).toBe('active');
    expect((await audit(incidentId)).map((r) => r.action)).toEqual(['acknowledge', 'acknowledge']);
  });

  it('refuses escalate, reassign and note with the reason, audited, without calling Alertmanager', async () => {
    const alertname = `DiskFull_${unique()}`;
    const { incidentId } = await fire({ alertname, service: 'ledger', severity: 'warning', pod: 'ledger-0' });

    const escalated = await act(incidentId, { action: 'escalate', level: 2 });
    const reassigned = await act(incidentId, { action: 'reassign', userId: 'PUSER01' });
    const noted = await act(incidentId, { action: 'note', note: 'looking' });

    expect([escalated.status, reassigned.status, noted.status]).toEqual([409, 409, 409]);
    expect(escalated.body.error.message).toMatch(/^Alertmanager has no escalation/);
    expect(reassigned.body.error.message).toMatch(/^Alertmanager has no assignment/);
    expect(noted.body.error.message).toMatch(/keeps no notes/);
    const rows = await audit(incidentId);
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['note', 'failed'],
      ['reassign', 'failed'],
      ['escalate', 'failed'],
    ]);
    expect(await silencesOf(alertname)).toEqual([]);
  });

  it('fails an acknowledgement plainly when Alertmanager is down, audited, with nothing left pending', async () => {
    const alertname = `QueueBacklog_${unique()}`;
    const { incidentId } = await fire({ alertname, service: 'refunds', severity: 'error', pod: 'refunds-2' });
    // One already silenced: its alert cannot be looked up while Alertmanager is down.
    const silenced = await fire({
      alertname: `SearchSlow_${unique()}`,
      service: 'search',
      severity: 'error',
      pod: 's-0',
    });
    expect((await act(silenced.incidentId, { action: 'acknowledge' })).status).toBe(200);
    const failedBefore = await checksSoFar('failed');
    await am.stop();

    const acked = await act(incidentId, { action: 'acknowledge' });

    expect(acked.status).toBe(503);
    expect(acked.body.error).toMatchObject({ code: 'dependency_unavailable' });
    expect(acked.body.error.message).toMatch(/Alertmanager could not be reached \(ECONNREFUSED\)/);
    const rows = await audit(incidentId);
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['acknowledge', 'failed'],
      ['acknowledge', 'pending'],
    ]);
    expect(rows[0]!.actionId).toBe(rows[1]!.actionId);
    expect(rows[0]!.detail).toMatch(/Alertmanager could not be reached/);

    // An alert that cannot be looked up is not taken as resolved: the checks fail, loudly, and
    // the silenced incident stays as it was.
    await eventually(
      'two failed checks',
      async () => ((await checksSoFar('failed')) >= failedBefore + 2 ? true : undefined),
      60_000,
    );
    expect(await (await fetch(`${escalation.url}/metrics`)).text()).toMatch(
      /^alertmanager_silence_check_failing(\{[^}]*\})? 1$/m,
    );
    const still = await incident(silenced.incidentId);
    expect(still?.status).not.toBe('resolved');
    expect(still!.events.some((e) => e.kind === 'resolved')).toBe(false);
  });
});
