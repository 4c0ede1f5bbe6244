import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IncidentActionEnvelope,
  normaliseAlertmanager,
  normaliseOpsgenie,
  normalisePagerDuty,
  topicName,
} from '@micro-oncall/incident-model';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  type FakeOpsgenie,
  type FakePagerDuty,
  type FakeSlack,
  startFakeOpsgenie,
  startFakePagerDuty,
  startFakeSlack,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

const receivedAt = new Date().toISOString();

describe('escalation actions through the providers', () => {
  let esc: TestEscalation;
  let service: RunningService;
  let pagerduty: FakePagerDuty;
  let opsgenie: FakeOpsgenie;
  let slack: FakeSlack;
  let kafka: TestEscalation['kafka'];
  let namespace: string;
  let responder: string;
  let admin: string;
  const pd = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PACT1' }), { receivedAt }));
  const og = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ alertId: 'og-act-1' }), { receivedAt }));
  const am = onlyEvent(normaliseAlertmanager(alertmanagerWebhook(), { receivedAt }));

  const act = async (incidentId: string, body: unknown, token = responder) => {
    const res = await fetch(`${service.url}/v1/incidents/${incidentId}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { detail?: string; error?: { code: string; message: string } },
    };
  };
  const auditFor = async (incidentId: string) => {
    const res = await fetch(`${service.url}/v1/audit?incidentId=${incidentId}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    return (
      (await res.json()) as {
        items: {
          action: string;
          outcome: string;
          detail: string;
          actor: { subject: string };
          providerStatus: number | null;
        }[];
      }
    ).items;
  };

  beforeAll(async () => {
    pagerduty = await startFakePagerDuty({
      token: 'pd-test-token-123',
      users: [{ id: 'PADA001', email: 'ada@example.com' }],
      incidents: ['PACT1'],
    });
    opsgenie = await startFakeOpsgenie({ apiKey: 'og-test-key-12345', alerts: ['og-act-1'] });
    slack = await startFakeSlack();
    const secret = (name: string, value: string) => {
      const path = join(mkdtempSync(join(tmpdir(), 'mo-actions-')), name);
      writeFileSync(path, value, { mode: 0o600 });
      return path;
    };
    esc = await startTestEscalation('actions', () => ({
      PAGERDUTY_API_URL: pagerduty.url,
      PAGERDUTY_API_TOKEN_FILE: secret('pd', 'pd-test-token-123'),
      PAGERDUTY_FROM_EMAIL: 'ada@example.com',
      OPSGENIE_API_URL: opsgenie.url,
      OPSGENIE_API_KEY_FILE: secret('og', 'og-test-key-12345'),
      PROVIDER_TIMEOUT_MS: '500',
      SLACK_WEBHOOK_URL_FILE: secret('slack', slack.url),
      PUBLIC_URL: 'https://oncall.example.com',
    }));
    ({ service, kafka, namespace } = esc);
    responder = await esc.issuer.token({ sub: 'ada', email: 'ada@example.com', name: 'Ada', roles: ['responder'] });
    admin = await esc.issuer.token({ sub: 'alex', roles: ['admin'] });
    await esc.publish([pd, og, am]);
    for (const e of [pd, og, am]) await esc.applied(e.incidentId, responder);
  });

  afterAll(async () => {
    await esc?.stop();
    await Promise.all([pagerduty?.stop(), opsgenie?.stop(), slack?.stop()]);
  });

  it('acknowledges at PagerDuty with the documented request, audits it and publishes the result', async () => {
    const res = await act(pd.incidentId, { action: 'acknowledge' });
    expect(res.status).toBe(200);
    expect(pagerduty.incident('PACT1')?.status).toBe('acknowledged');
    const put = pagerduty.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe('/incidents/PACT1');
    expect(put.headers.from).toBe('ada@example.com');
    expect(put.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
    expect(put.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });

    const audit = await auditFor(pd.incidentId);
    expect(audit[0]).toMatchObject({
      action: 'acknowledge',
      outcome: 'succeeded',
      actor: { subject: 'ada' },
      providerStatus: 200,
    });

    const messages = await kafka.read(topicName('incident-actions', namespace), { count: 1, timeoutMs: 10_000 });
    const envelope = IncidentActionEnvelope.parse(JSON.parse(messages[0]!.value!));
    expect(envelope.data).toMatchObject({
      incidentId: pd.incidentId,
      action: 'acknowledge',
      outcome: 'succeeded',
      actor: { id: 'ada' },
    });
  });

  it('escalates an Opsgenie alert and answers only after Opsgenie confirmed the request', async () => {
    const res = await act(og.incidentId, { action: 'escalate', escalationName: 'Checkout escalation' });
    expect(res.status).toBe(200);
    expect(opsgenie.requests.some((r) => r.method === 'GET' && r.path.startsWith('/v2/alerts/requests/'))).toBe(true);
  });

  it('reports a provider refusal plainly, records it as failed and changes nothing', async () => {
    pagerduty.failNext({
      status: 400,
      body: { error: { message: 'Invalid Input Provided', code: 2001, errors: ['Incident Already Resolved'] } },
    });
    const res = await act(pd.incidentId, { action: 'resolve' });
    expect(res.status).toBe(502);
    expect(res.body.error?.message).toMatch(/PagerDuty answered 400/);
    expect(pagerduty.incident('PACT1')?.status).toBe('acknowledged');
    const [latest] = await auditFor(pd.incidentId);
    expect(latest).toMatchObject({ action: 'resolve', outcome: 'failed', providerStatus: 400 });
  });

  it('answers 503 when the provider does not answer, and never reports the action as done', async () => {
    pagerduty.failNext({ delayMs: 2000, times: 4 });
    const res = await act(pd.incidentId, { action: 'note', note: 'still looking' });
    expect(res.status).toBe(503);
    const [latest] = await auditFor(pd.incidentId);
    expect(latest).toMatchObject({ action: 'note', outcome: 'failed' });
  });

  it('refuses actions on Alertmanager incidents with 409 and an explanation', async () => {
    const res = await act(am.incidentId, { action: 'acknowledge' });
    expect(res.status).toBe(409);
    expect(res.body.error?.message).toMatch(/alertmanager/);
  });

  it('rejects a malformed action with 400 naming the field, without calling the provider', async () => {
    const before = pagerduty.requests.length;
    const res = await act(pd.incidentId, { action: 'escalate', level: 'high' });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/level/);
    expect(pagerduty.requests.length).toBe(before);
  });

  it('posts a Slack notice for a new high-severity incident and for an escalation made here', async () => {
    const texts = () => slack.messages.map((m) => JSON.stringify(m));
    // The PagerDuty fixture's incident is P2 → p1: a new high-severity incident.
    expect(texts().some((t) => t.includes(pd.snapshot!.title.slice(0, 30)))).toBe(true);
    expect(texts().some((t) => t.includes(`https://oncall.example.com/incidents/${pd.incidentId}`))).toBe(true);
    const before = slack.messages.length;
    expect((await act(og.incidentId, { action: 'escalate', escalationName: 'Checkout escalation' })).status).toBe(200);
    await until('the escalation notice', async () => (slack.messages.length > before ? true : undefined));
    expect(JSON.stringify(slack.messages.at(-1))).toMatch(/Escalated/);
  });

  it('exports the audit log as CSV and JSON Lines, and audits the export', async () => {
    const get = (format: string) =>
      fetch(`${service.url}/v1/audit/export?format=${format}&incidentId=${pd.incidentId}`, {
        headers: { authorization: `Bearer ${admin}` },
      });
    const csv = await get('csv');
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'id,at,actor_subject,actor_name,actor_email,action,incident_id,outcome,provider,provider_status,provider_request_id,detail,request_id',
    );
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const jsonl = (await (await get('jsonl')).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; outcome: string });
    expect(jsonl.map((r) => `${r.action}:${r.outcome}`)).toEqual(
      expect.arrayContaining(['acknowledge:succeeded', 'resolve:failed']),
    );
    const exports = await fetch(`${service.url}/v1/audit?action=audit_export`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(((await exports.json()) as { items: unknown[] }).items).toHaveLength(2);
  });
});
