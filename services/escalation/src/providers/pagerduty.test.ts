import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  ConflictError,
  createLogger,
  DependencyUnavailableError,
  InputError,
  type ServiceError,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { type FakePagerDuty, startFakePagerDuty } from '@micro-oncall/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPagerDutyActions } from './pagerduty.js';
import type { ActionContext, ActionRequest } from './types.js';

const TOKEN = `pd-token-${randomBytes(12).toString('base64url')}`;
const users = [
  { id: 'PALICE1', email: 'alice@example.com' },
  { id: 'PBOTUSR', email: 'oncall-bot@example.com' },
];

function ctx(email: string | null = 'alice@example.com'): ActionContext {
  return { actor: { subject: 'user-1', email, name: 'Alice' }, requestId: 'req-1' };
}

function capturingLogger() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ service: 'pagerduty-test', level: 'debug', destination }), raw };
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the action to fail');
}

let fake: FakePagerDuty;
beforeEach(async () => {
  fake = await startFakePagerDuty({ token: TOKEN, users, incidents: ['Q2VU6LUZKJ7CQT'] });
});
afterEach(async () => {
  await fake.stop();
});

function actions(overrides: { token?: string; timeoutMs?: number } = {}) {
  const { logger, raw } = capturingLogger();
  const pd = createPagerDutyActions({
    baseUrl: fake.url,
    token: overrides.token ?? TOKEN,
    fromEmail: 'oncall-bot@example.com',
    logger,
    http: { timeoutMs: overrides.timeoutMs ?? 2000, retries: 2, backoff: { initialMs: 1, maxMs: 10 } },
  });
  return { pd, raw };
}

const incident = { providerId: 'Q2VU6LUZKJ7CQT', title: 'Checkout is down' };
const perform = (request: ActionRequest, context = ctx(), overrides = {}) =>
  actions(overrides).pd.perform(incident, request, context);

describe(createPagerDutyActions.name, () => {
  it('acknowledges with the documented PUT, headers and body', async () => {
    const outcome = await perform({ action: 'acknowledge' });

    expect(outcome).toEqual({
      detail: 'PagerDuty acknowledged incident Q2VU6LUZKJ7CQT',
      providerRequestId: null,
      providerStatus: 200,
    });
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req).toMatchObject({ method: 'PUT', path: '/incidents/Q2VU6LUZKJ7CQT', status: 200 });
    expect(req!.headers).toMatchObject({
      authorization: '[redacted]',
      accept: 'application/vnd.pagerduty+json;version=2',
      'content-type': 'application/json',
      from: 'alice@example.com',
    });
    expect(req!.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.status).toBe('acknowledged');
  });

  it('adds the note after acknowledging when one is given', async () => {
    const outcome = await perform({ action: 'acknowledge', note: 'looking into it' });

    expect(outcome.detail).toBe('PagerDuty acknowledged incident Q2VU6LUZKJ7CQT and added the note');
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /incidents/Q2VU6LUZKJ7CQT',
      'POST /incidents/Q2VU6LUZKJ7CQT/notes',
    ]);
    expect(fake.requests[1]!.body).toEqual({ note: { content: 'looking into it' } });
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.notes).toEqual([
      expect.objectContaining({ content: 'looking into it', user: { id: 'PALICE1', type: 'user_reference' } }),
    ]);
  });

  it('says the acknowledgement went through when only the note fails', async () => {
    fake.failNext({}); // the PUT goes through
    fake.failNext({ status: 400 }); // the note is refused

    const error = await rejection(perform({ action: 'acknowledge', note: 'n' }));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe(
      'PagerDuty acknowledged incident Q2VU6LUZKJ7CQT, but the note could not be added: PagerDuty answered 400: Invalid Input Provided',
    );
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.status).toBe('acknowledged');
  });

  it('resolves with the note as the resolution', async () => {
    const outcome = await perform({ action: 'resolve', note: 'rolled back' });

    expect(outcome.detail).toBe('PagerDuty resolved incident Q2VU6LUZKJ7CQT with a resolution note');
    expect(fake.requests[0]!.body).toEqual({
      incident: { type: 'incident_reference', status: 'resolved', resolution: 'rolled back' },
    });
    expect(fake.incident('Q2VU6LUZKJ7CQT')).toMatchObject({ status: 'resolved', resolution: 'rolled back' });
  });

  it('escalates to a level with escalation_level', async () => {
    const outcome = await perform({ action: 'escalate', level: 2 });

    expect(outcome.detail).toBe('PagerDuty escalated incident Q2VU6LUZKJ7CQT to level 2');
    expect(fake.requests[0]!.body).toEqual({ incident: { type: 'incident_reference', escalation_level: 2 } });
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.escalation_level).toBe(2);
  });

  it('delegates to another escalation policy', async () => {
    const outcome = await perform({ action: 'escalate', escalationPolicyId: 'PEPDBA1' });

    expect(outcome.detail).toBe('PagerDuty delegated incident Q2VU6LUZKJ7CQT to escalation policy PEPDBA1');
    expect(fake.requests[0]!.body).toEqual({
      incident: {
        type: 'incident_reference',
        escalation_policy: { id: 'PEPDBA1', type: 'escalation_policy_reference' },
      },
    });
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.escalation_policy.id).toBe('PEPDBA1');
  });

  it('refuses an escalation without level or policy id, without calling PagerDuty', async () => {
    const error = await rejection(perform({ action: 'escalate', escalationName: 'DBA team' }));

    expect(error).toBeInstanceOf(InputError);
    expect(error.status).toBe(400);
    expect(error.message).toBe('PagerDuty needs an escalation level or an escalation policy id');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses an escalation name next to a level, which PagerDuty cannot express', async () => {
    const error = await rejection(perform({ action: 'escalate', level: 2, escalationName: 'DBA team' }));

    expect(error).toBeInstanceOf(InputError);
    expect(fake.requests).toHaveLength(0);
  });

  it('reassigns with one user_reference assignment', async () => {
    const outcome = await perform({ action: 'reassign', userId: 'PBOTUSR' });

    expect(outcome.detail).toBe('PagerDuty reassigned incident Q2VU6LUZKJ7CQT to user PBOTUSR');
    expect(fake.requests[0]!.body).toEqual({
      incident: { type: 'incident_reference', assignments: [{ assignee: { id: 'PBOTUSR', type: 'user_reference' } }] },
    });
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.assignments).toEqual([
      { assignee: { id: 'PBOTUSR', type: 'user_reference' } },
    ]);
  });

  it('adds a note with POST /incidents/{id}/notes', async () => {
    const outcome = await perform({ action: 'note', note: 'customer impact confirmed' });

    expect(outcome).toMatchObject({ detail: 'PagerDuty added a note to incident Q2VU6LUZKJ7CQT', providerStatus: 201 });
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/incidents/Q2VU6LUZKJ7CQT/notes',
      body: { note: { content: 'customer impact confirmed' } },
    });
  });

  it('sends the configured From when the actor has no email', async () => {
    await perform({ action: 'acknowledge' }, ctx(null));

    expect(fake.requests[0]!.headers.from).toBe('oncall-bot@example.com');
  });

  it.each([
    ['a dot-dot segment', '..'],
    ['a slash and a space', 'Q/1 x'],
    ['a query string', 'Q2VU6LUZKJ7CQT?x=1'],
    ['lower-case letters', 'q2vu6luzkj7cqt'],
    ['nothing', ''],
  ])('refuses an incident id with %s before calling PagerDuty (409)', async (_what, providerId) => {
    const error = await rejection(actions().pd.perform({ providerId, title: 't' }, { action: 'acknowledge' }, ctx()));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.status).toBe(409);
    expect(error.message).toBe(
      `this incident's PagerDuty id ${JSON.stringify(providerId)} is not a valid PagerDuty id (upper-case letters and digits, like Q2VU6LUZKJ7CQT); act on it in PagerDuty itself`,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it.each<[string, ActionRequest, string]>([
    ['user', { action: 'reassign', userId: '../users/PALICE1' }, 'user "../users/PALICE1"'],
    ['escalation policy', { action: 'escalate', escalationPolicyId: 'pepdba1' }, 'escalation policy "pepdba1"'],
  ])("refuses the %s id outside PagerDuty's alphabet before calling PagerDuty (400)", async (_what, req, named) => {
    const error = await rejection(perform(req));

    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      `${named} is not a valid PagerDuty id: expected upper-case letters and digits, like Q2VU6LUZKJ7CQT`,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it('fails with 502 quoting PagerDuty when the actor is not a PagerDuty user', async () => {
    const error = await rejection(perform({ action: 'acknowledge' }, ctx('stranger@example.com')));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(502);
    expect(error.message).toBe('PagerDuty answered 400: Invalid Input Provided: Requester User Not Found');
    expect(error.details).toEqual({ provider: 'PagerDuty', status: 400 });
    expect(fake.requests).toHaveLength(1);
  });

  it('fails with 502 when the token is refused, without revealing it', async () => {
    const { pd, raw } = actions({ token: 'wrong-token-value' });
    const error = await rejection(pd.perform(incident, { action: 'resolve' }, ctx()));

    expect(error.message).toBe('PagerDuty answered 401: Unauthorized');
    expect(error.status).toBe(502);
    expect([error.message, ...raw].join('\n')).not.toContain('wrong-token-value');
  });

  it('fails with 502 for an incident PagerDuty does not know', async () => {
    const error = await rejection(
      actions().pd.perform({ providerId: 'PUNKNOWN', title: 't' }, { action: 'acknowledge' }, ctx()),
    );

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).upstreamStatus).toBe(404);
  });

  it('fails with 502 when reassigning to a user PagerDuty does not know', async () => {
    const error = await rejection(perform({ action: 'reassign', userId: 'PNOBODY' }));

    expect(error.message).toBe('PagerDuty answered 400: Invalid Input Provided: Assignee User Not Found');
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.assignments).toEqual([]);
  });

  it('retries a rate-limited request and then succeeds', async () => {
    fake.failNext({ status: 429, headers: { 'ratelimit-reset': '0' } });

    const outcome = await perform({ action: 'acknowledge' });

    expect(outcome.providerStatus).toBe(200);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('fails with 502 when PagerDuty keeps answering 5xx, after the retries', async () => {
    fake.failNext({ status: 500, times: 3 });

    const error = await rejection(perform({ action: 'acknowledge' }));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe('PagerDuty answered 500: Internal Server Error');
    expect(fake.requests).toHaveLength(3);
    expect(fake.incident('Q2VU6LUZKJ7CQT')?.status).toBe('triggered');
  });

  it('fails with 503 when PagerDuty does not answer in time', async () => {
    fake.failNext({ delayMs: 400, times: 3 });

    const error = await rejection(perform({ action: 'acknowledge' }, ctx(), { timeoutMs: 50 }));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.status).toBe(503);
    expect(error.message).toBe('PagerDuty did not answer within 50 ms (3 attempts)');
  });
});
