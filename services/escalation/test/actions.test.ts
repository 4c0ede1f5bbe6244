import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  IncidentActionEnvelope,
  incidentIdFor,
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
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

const receivedAt = new Date().toISOString();

const temporaryDir = temporaryDirectories();

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

  const act = async (incidentId: string, body: unknown, token = responder, headers: Record<string, string> = {}) => {
    const res = await fetch(`${service.url}/v1/incidents/${incidentId}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      replayed: res.headers.get('idempotent-replayed'),
      body: (await res.json()) as {
        actionId?: string;
        detail?: string;
        error?: { code: string; message: string; details?: { actionId?: string } };
      },
    };
  };
  type AuditItem = {
    action: string;
    outcome: string;
    detail: string;
    actor: { subject: string };
    incidentId: string | null;
    providerStatus: number | null;
    actionId: string | null;
  };
  const auditFor = async (incidentId: string) => {
    const res = await fetch(`${service.url}/v1/audit?incidentId=${incidentId}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    return ((await res.json()) as { items: AuditItem[] }).items;
  };
  /** The rows of one action, newest first. */
  const auditOf = async (incidentId: string, actionId: string) =>
    (await auditFor(incidentId)).filter((row) => row.actionId === actionId);
  /** Runs SQL in this escalation's database (as the test's superuser). */
  const sqlInDb = async (text: string) => {
    const client = new pg.Client({ connectionString: esc.databaseUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  const providerCalls = (fake: { requests: { method: string }[] }, method: string) =>
    fake.requests.filter((r) => r.method === method).length;

  beforeAll(async () => {
    pagerduty = await startFakePagerDuty({
      token: 'pd-test-token-123',
      users: [{ id: 'PADA001', email: 'ada@example.com' }],
      incidents: ['PACT1'],
    });
    opsgenie = await startFakeOpsgenie({ apiKey: 'og-test-key-12345', alerts: ['og-act-1'] });
    slack = await startFakeSlack();
    const secret = (name: string, value: string) => {
      const path = join(temporaryDir('mo-actions-'), name);
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
      ACTION_DEADLINE_MS: '3000',
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
    pagerduty.failNext({ delayMs: 2000 });
    const notesBefore = pagerduty.incident('PACT1')!.notes.length;
    const posts = providerCalls(pagerduty, 'POST');
    const res = await act(pd.incidentId, { action: 'note', note: 'still looking' });
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('outcome_unknown');
    expect(res.body.error?.message).toMatch(
      /^PagerDuty did not answer within 500 ms\. The request may have reached PagerDuty, so whether the note took effect is unknown/,
    );
    const [latest] = await auditFor(pd.incidentId);
    expect(latest).toMatchObject({ action: 'note', outcome: 'unknown' });
    // The fake carries the note out after its delay: sent once, it is added once.
    await until('the delayed note', async () =>
      pagerduty.incident('PACT1')!.notes.length > notesBefore ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pagerduty.incident('PACT1')!.notes.length).toBe(notesBefore + 1);
    expect(providerCalls(pagerduty, 'POST')).toBe(posts + 1);
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

  describe('the audit log records every attempt', () => {
    it('records actions refused before reaching a provider (409, 404, 400) as failed, with the reason', async () => {
      const unknownIncident = incidentIdFor('pagerduty', 'PNOSUCH1');
      expect((await act(am.incidentId, { action: 'acknowledge' })).status).toBe(409);
      expect((await act(unknownIncident, { action: 'resolve' })).status).toBe(404);
      expect((await act(pd.incidentId, { action: 'escalate', level: 'high' })).status).toBe(400);

      expect((await auditFor(am.incidentId))[0]).toMatchObject({
        action: 'acknowledge',
        outcome: 'failed',
        actor: { subject: 'ada' },
        detail: expect.stringMatching(/no alertmanager API is configured for actions/),
      });
      expect((await auditFor(unknownIncident))[0]).toMatchObject({
        action: 'resolve',
        outcome: 'failed',
        detail: `incident ${unknownIncident} not found`,
      });
      expect((await auditFor(pd.incidentId))[0]).toMatchObject({
        action: 'escalate',
        outcome: 'failed',
        detail: expect.stringMatching(/^invalid action: .*level/),
      });
    });

    it("records a viewer's refused action as denied, with the action attempted and why", async () => {
      const viewer = await esc.issuer.token({ sub: 'vic', roles: ['viewer'] });
      const res = await act(pd.incidentId, { action: 'resolve', note: 'fixed' }, viewer);
      expect(res.status).toBe(403);
      const [latest] = await auditFor(pd.incidentId);
      expect(latest).toMatchObject({
        action: 'resolve',
        outcome: 'denied',
        actor: { subject: 'vic' },
        detail: `POST /v1/incidents/${pd.incidentId}/actions refused: this action needs the responder role`,
      });
      expect(JSON.stringify(latest)).not.toContain(viewer);
    });

    it('writes a pending row before the provider answers, then the outcome under the same action id', async () => {
      opsgenie.failNext({}); // the note is accepted…
      opsgenie.failNext({ status: 404, times: 2 }); // …and confirmed a second later
      const answer = act(og.incidentId, { action: 'note', note: 'pending first' });
      const pending = await until('the pending row', async () => {
        const [latest] = await auditFor(og.incidentId);
        return latest?.outcome === 'pending' ? latest : undefined;
      });
      expect(pending).toMatchObject({ action: 'note', detail: 'asked Opsgenie to add a note' });
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body.actionId).toBe(pending.actionId);
      expect((await auditOf(og.incidentId, pending.actionId!)).map((r) => r.outcome)).toEqual(['succeeded', 'pending']);
    });

    it('sends nothing to the provider when the attempt cannot be put on record', async () => {
      await sqlInDb(
        `alter table escalation.audit_log add constraint test_refuse_pending check (outcome <> 'pending') not valid`,
      );
      try {
        const before = pagerduty.requests.length;
        const res = await act(pd.incidentId, { action: 'note', note: 'not on record' });
        expect(res.status).toBe(503);
        expect(res.body.error?.message).toMatch(/^the note was not sent to PagerDuty: it could not be recorded/);
        expect(pagerduty.requests.length).toBe(before);
      } finally {
        await sqlInDb('alter table escalation.audit_log drop constraint test_refuse_pending');
      }
    });

    it('answers 200 with the provider result when recording the outcome fails after the provider acted', async () => {
      await sqlInDb(
        `alter table escalation.audit_log add constraint test_refuse_success check (outcome <> 'succeeded') not valid`,
      );
      const key = { 'idempotency-key': `record-fails-${Date.now()}` };
      const notesBefore = pagerduty.incident('PACT1')!.notes.length;
      let actionId: string | undefined;
      try {
        const res = await act(pd.incidentId, { action: 'note', note: 'done, but not recorded' }, responder, key);
        expect(res.status).toBe(200);
        expect(res.body.detail).toBe('PagerDuty added a note to incident PACT1');
        actionId = res.body.actionId;
      } finally {
        await sqlInDb('alter table escalation.audit_log drop constraint test_refuse_success');
      }
      expect(pagerduty.incident('PACT1')!.notes.length).toBe(notesBefore + 1);
      // The attempt is on record as pending; a retry of the click learns the outcome, without a second note.
      expect((await auditOf(pd.incidentId, actionId!)).map((r) => r.outcome)).toEqual(['pending']);
      const repeat = await act(pd.incidentId, { action: 'note', note: 'done, but not recorded' }, responder, key);
      expect(repeat).toMatchObject({ status: 200, replayed: 'true', body: { actionId } });
      expect(pagerduty.incident('PACT1')!.notes.length).toBe(notesBefore + 1);
    });
  });

  describe('Idempotency-Key and the action deadline', () => {
    it('answers a repeat with the first answer, without calling the provider again', async () => {
      const key = { 'idempotency-key': crypto.randomUUID() };
      const posts = providerCalls(pagerduty, 'POST');
      const first = await act(pd.incidentId, { action: 'note', note: 'only once' }, responder, key);
      const again = await act(pd.incidentId, { action: 'note', note: 'only once' }, responder, key);

      expect(first.status).toBe(200);
      expect(first.replayed).toBeNull();
      expect(again).toEqual({ ...first, replayed: 'true' });
      expect(providerCalls(pagerduty, 'POST')).toBe(posts + 1);
      // A repeat is the same attempt: one pending row and one outcome.
      expect((await auditOf(pd.incidentId, first.body.actionId!)).map((r) => r.outcome)).toEqual([
        'succeeded',
        'pending',
      ]);
    });

    it('refuses the same key for a different request, and a malformed key', async () => {
      const key = { 'idempotency-key': crypto.randomUUID() };
      expect((await act(pd.incidentId, { action: 'note', note: 'first' }, responder, key)).status).toBe(200);
      const other = await act(pd.incidentId, { action: 'note', note: 'second' }, responder, key);
      expect(other.status).toBe(400);
      expect(other.body.error?.message).toMatch(/was already used for a different request/);
      const malformed = await act(pd.incidentId, { action: 'note', note: 'x' }, responder, {
        'idempotency-key': 'no spaces allowed here',
      });
      expect(malformed.status).toBe(400);
      expect(malformed.body.error?.message).toMatch(/^Idempotency-Key: /);
    });

    it('answers 409 to a repeat while the first is still in flight', async () => {
      const key = { 'idempotency-key': crypto.randomUUID() };
      opsgenie.failNext({}); // accepted…
      opsgenie.failNext({ status: 404, times: 3 }); // …and confirmed after about two seconds
      const first = act(og.incidentId, { action: 'note', note: 'in flight' }, responder, key);
      await until('the pending row', async () =>
        (await auditFor(og.incidentId))[0]?.outcome === 'pending' ? true : undefined,
      );
      const concurrent = await act(og.incidentId, { action: 'note', note: 'in flight' }, responder, key);
      expect(concurrent.status).toBe(409);
      expect(concurrent.body.error?.message).toMatch(/still in progress/);
      expect((await first).status).toBe(200);
    });

    it('answers "outcome unknown" at the deadline, then records the outcome that comes later', async () => {
      const key = { 'idempotency-key': crypto.randomUUID() };
      opsgenie.failNext({}); // the escalation is accepted…
      opsgenie.failNext({ status: 404, times: 7 }); // …and confirmed only after the 3 s deadline
      const posts = providerCalls(opsgenie, 'POST');
      const started = Date.now();

      const res = await act(og.incidentId, { action: 'escalate', escalationName: 'Late escalation' }, responder, key);

      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(4500); // the confirmation takes over 4 s
      expect(res.body.error?.code).toBe('outcome_unknown');
      expect(res.body.error?.message).toMatch(
        /^Opsgenie did not confirm the escalate within 3000 ms\. The request may have reached Opsgenie, so whether the escalate took effect is unknown/,
      );
      const actionId = res.body.error?.details?.actionId;
      expect((await auditOf(og.incidentId, actionId!)).map((r) => r.outcome)).toEqual(['unknown', 'pending']);
      expect(
        (await act(og.incidentId, { action: 'escalate', escalationName: 'Late escalation' }, responder, key)).status,
      ).toBe(409);

      const outcomes = await until('the late outcome', async () => {
        const rows = await auditOf(og.incidentId, actionId!);
        return rows.length === 3 ? rows.map((r) => r.outcome) : undefined;
      });
      expect(outcomes).toEqual(['succeeded', 'unknown', 'pending']);
      const repeat = await act(
        og.incidentId,
        { action: 'escalate', escalationName: 'Late escalation' },
        responder,
        key,
      );
      expect(repeat).toMatchObject({ status: 200, replayed: 'true', body: { actionId, outcome: 'succeeded' } });
      expect(providerCalls(opsgenie, 'POST')).toBe(posts + 1);
    });
  });

  it('posts a Slack notice for a new high-severity incident and for an escalation made here', async () => {
    const texts = () => slack.messages.map((m) => JSON.stringify(m));
    // The PagerDuty fixture's incident is P2, our high: a new high-severity incident.
    expect(texts().some((t) => t.includes(pd.snapshot!.title.slice(0, 30)))).toBe(true);
    expect(texts().some((t) => t.includes(`https://oncall.example.com/incidents/${pd.incidentId}`))).toBe(true);
    const before = slack.messages.length;
    expect((await act(og.incidentId, { action: 'escalate', escalationName: 'Checkout escalation' })).status).toBe(200);
    await until('the escalation notice', async () => (slack.messages.length > before ? true : undefined));
    expect(JSON.stringify(slack.messages.at(-1))).toMatch(/Escalated/);
  });

  it('exports the audit log as CSV and JSON Lines, and audits the export', async () => {
    const get = (format: string) =>
      fetch(`${service.url}/v1/audit/export`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format, incidentId: pd.incidentId }),
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
