import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  createLogger,
  DependencyUnavailableError,
  InputError,
  type ServiceError,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { type FakeOpsgenie, startFakeOpsgenie } from '@micro-oncall/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpsgenieActions } from './opsgenie.js';
import type { ActionContext, ActionRequest } from './types.js';

const API_KEY = randomUUID();
const logger = createLogger({ service: 'opsgenie-test', level: 'silent' });
const ctx: ActionContext = { actor: { subject: 'user-1', email: 'alice@example.com', name: 'Alice' }, requestId: 'r1' };
const alert = { providerId: 'a1b2-c3', title: 'Checkout is down' };

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the action to fail');
}

let fake: FakeOpsgenie | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function setup(opts: { processingPolls?: number; attempts?: number; apiKey?: string; timeoutMs?: number } = {}) {
  fake = await startFakeOpsgenie({
    apiKey: API_KEY,
    alerts: [alert.providerId],
    processingPolls: opts.processingPolls,
  });
  const og = createOpsgenieActions({
    baseUrl: fake.url,
    apiKey: opts.apiKey ?? API_KEY,
    logger,
    confirm: { attempts: opts.attempts ?? 5, intervalMs: 5 },
    http: { timeoutMs: opts.timeoutMs ?? 2000, retries: 2, backoff: { initialMs: 1, maxMs: 10 } },
  });
  return { og, fake };
}

const actionPaths = (f: FakeOpsgenie) => f.requests.map((r) => `${r.method} ${r.path}`);

describe(createOpsgenieActions.name, () => {
  it('acknowledges with the documented POST and confirms it through the request status', async () => {
    const { og, fake } = await setup();

    const outcome = await og.perform(alert, { action: 'acknowledge', note: 'on it' }, ctx);

    const [post, ...polls] = fake.requests;
    expect(post).toMatchObject({
      method: 'POST',
      path: '/v2/alerts/a1b2-c3/acknowledge',
      query: { identifierType: 'id' },
      headers: { authorization: '[redacted]', 'content-type': 'application/json' },
      body: { user: 'alice@example.com', source: 'micro-oncall', note: 'on it' },
      status: 202,
    });
    const requestId = outcome.providerRequestId;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(polls.map((p) => `${p.method} ${p.path} ${p.status}`)).toEqual([
      `GET /v2/alerts/requests/${requestId} 404`,
      `GET /v2/alerts/requests/${requestId} 200`,
    ]);
    expect(outcome).toEqual({
      detail: 'Opsgenie acknowledged alert a1b2-c3',
      providerRequestId: requestId,
      providerStatus: 202,
    });
    expect(fake.alert('a1b2-c3')).toMatchObject({
      acknowledged: true,
      notes: [{ note: 'on it', user: 'alice@example.com' }],
    });
  });

  it('resolves by closing the alert', async () => {
    const { og, fake } = await setup();

    const outcome = await og.perform(alert, { action: 'resolve' }, ctx);

    expect(outcome.detail).toBe('Opsgenie closed alert a1b2-c3');
    expect(fake.requests[0]).toMatchObject({
      path: '/v2/alerts/a1b2-c3/close',
      body: { user: 'alice@example.com', source: 'micro-oncall' },
    });
    expect(fake.alert('a1b2-c3')?.status).toBe('closed');
  });

  it.each([
    [{ escalationPolicyId: 'esc-42' }, { id: 'esc-42' }, 'esc-42'],
    [{ escalationName: 'DBA escalation' }, { name: 'DBA escalation' }, 'DBA escalation'],
  ])('escalates to %o as escalation %o', async (target, escalation, named) => {
    const { og, fake } = await setup();

    const outcome = await og.perform(alert, { action: 'escalate', ...target }, ctx);

    expect(outcome.detail).toBe(`Opsgenie escalated alert a1b2-c3 to escalation ${named}`);
    expect(fake.requests[0]).toMatchObject({
      path: '/v2/alerts/a1b2-c3/escalate',
      body: { escalation, user: 'alice@example.com', source: 'micro-oncall' },
    });
    expect(fake.alert('a1b2-c3')?.escalations).toEqual([{ escalation, user: 'alice@example.com', note: null }]);
  });

  it('adds a note', async () => {
    const { og, fake } = await setup();

    const outcome = await og.perform(alert, { action: 'note', note: 'db failover done' }, ctx);

    expect(outcome.detail).toBe('Opsgenie added a note to alert a1b2-c3');
    expect(fake.requests[0]).toMatchObject({
      path: '/v2/alerts/a1b2-c3/notes',
      body: { user: 'alice@example.com', source: 'micro-oncall', note: 'db failover done' },
    });
  });

  it('names the actor by email, else name, else subject', async () => {
    const { og, fake } = await setup();
    const actor = (email: string | null, name: string | null) => ({
      actor: { subject: 'sub-9', email, name },
      requestId: 'r',
    });

    await og.perform(alert, { action: 'note', note: 'a' }, actor(null, 'Bob'));
    await og.perform(alert, { action: 'note', note: 'b' }, actor(null, null));

    const users = fake.requests.filter((r) => r.method === 'POST').map((r) => (r.body as { user: string }).user);
    expect(users).toEqual(['Bob', 'sub-9']);
  });

  it.each<[string, ActionRequest]>([
    ['a level', { action: 'escalate', level: 2 }],
    ['no escalation', { action: 'escalate' }],
    ['both an id and a name', { action: 'escalate', escalationPolicyId: 'e1', escalationName: 'n' }],
    ['a reassignment', { action: 'reassign', userId: 'u1' }],
  ])('refuses %s with 400 without calling Opsgenie', async (_what, request) => {
    const { og, fake } = await setup();

    const error = await rejection(og.perform(alert, request, ctx));

    expect(error).toBeInstanceOf(InputError);
    expect(error.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('says plainly that reassignment is not supported', async () => {
    const { og } = await setup();
    const error = await rejection(og.perform(alert, { action: 'reassign', userId: 'u1' }, ctx));
    expect(error.message).toMatch(/^Reassigning Opsgenie alerts is not supported here/);
  });

  it('waits while Opsgenie is still processing the request', async () => {
    const { og, fake } = await setup({ processingPolls: 3, attempts: 5 });

    await og.perform(alert, { action: 'acknowledge' }, ctx);

    expect(actionPaths(fake).filter((p) => p.startsWith('GET'))).toHaveLength(4);
  });

  it('fails with 502 and Opsgenie status text when the request failed', async () => {
    const { og, fake } = await setup();
    fake.failNextProcessing('fails', { status: 'Alert is already closed' });

    const error = await rejection(og.perform(alert, { action: 'resolve' }, ctx));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(502);
    expect(error.message).toBe('Opsgenie could not close alert a1b2-c3: Alert is already closed');
    expect(fake.alert('a1b2-c3')?.status).toBe('open');
  });

  it.each([
    ['a dot-dot segment', '..'],
    ['a slash', 'a1b2/c3'],
    ['a space', 'a1b2 c3'],
    ['a query string', 'a1b2-c3?identifierType=alias'],
  ])('refuses an alert id with %s before calling Opsgenie (409)', async (_what, providerId) => {
    const { og, fake } = await setup();

    const error = await rejection(og.perform({ providerId, title: 't' }, { action: 'acknowledge' }, ctx));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.status).toBe(409);
    expect(error.message).toBe(
      `this incident's Opsgenie id ${JSON.stringify(providerId)} is not a valid Opsgenie id (letters, digits and dashes, like 70413a06-38d6-4c85-92b8-5ebc900d42e2); act on it in Opsgenie itself`,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it("does not put a request id outside Opsgenie's alphabet into the polling URL", async () => {
    const { og, fake } = await setup();
    fake.failNext({ status: 202, body: { result: 'Request will be processed', took: 0.001, requestId: '..' } });

    const error = await rejection(og.perform(alert, { action: 'acknowledge' }, ctx));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe('Opsgenie answered 202 without a usable request id');
    expect(actionPaths(fake)).toEqual(['POST /v2/alerts/a1b2-c3/acknowledge']);
  });

  it('fails with 502 when the alert does not exist', async () => {
    const { og } = await setup();

    const error = await rejection(og.perform({ providerId: 'nope', title: 't' }, { action: 'acknowledge' }, ctx));

    expect(error.message).toBe('Opsgenie could not acknowledge alert nope: Alert does not exist');
  });

  it('fails with 502 rather than report success when Opsgenie never confirms', async () => {
    const { og, fake } = await setup({ attempts: 4 });
    fake.failNextProcessing('never-confirms');

    const error = await rejection(og.perform(alert, { action: 'acknowledge' }, ctx));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe(
      'Opsgenie accepted the request but did not confirm it within 20 ms; check the alert in Opsgenie',
    );
    expect(actionPaths(fake).filter((p) => p.startsWith('GET'))).toHaveLength(4);
  });

  it('keeps polling through a passing outage of the requests endpoint', async () => {
    const { og, fake } = await setup({ processingPolls: 0 });
    fake.failNext({}); // the acknowledge goes through
    fake.failNext({ status: 503, times: 3 }); // the first poll fails after its retries

    const outcome = await og.perform(alert, { action: 'acknowledge' }, ctx);

    expect(outcome.detail).toBe('Opsgenie acknowledged alert a1b2-c3');
    expect(fake.requests.map((r) => r.status)).toEqual([202, 503, 503, 503, 200]);
  });

  it('fails with 502 when the API key is refused', async () => {
    const { og, fake } = await setup({ apiKey: 'not-the-key' });

    const error = await rejection(og.perform(alert, { action: 'acknowledge' }, ctx));

    expect(error.message).toBe('Opsgenie answered 401: Could not authenticate');
    expect(fake.requests).toHaveLength(1);
  });

  it('fails with 503 when Opsgenie does not answer in time', async () => {
    const { og, fake } = await setup({ timeoutMs: 50 });
    fake.failNext({ delayMs: 400, times: 3 });

    const error = await rejection(og.perform(alert, { action: 'acknowledge' }, ctx));

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(fake.alert('a1b2-c3')?.acknowledged).toBe(false);
  });
});

describe('who is on call for an Opsgenie alert', () => {
  const make = (defaultSchedule?: string) =>
    createOpsgenieActions({
      baseUrl: fake!.url,
      apiKey: API_KEY,
      logger,
      http: { timeoutMs: 2000, retries: 0 },
      ...(defaultSchedule ? { defaultSchedule } : {}),
    });

  it("asks the Who is On Call API for the schedule the alert's team owns, with full names", async () => {
    fake = await startFakeOpsgenie({ apiKey: API_KEY });
    const answer = await make('Platform on-call').onCallForTeams!(['checkout-team', 'checkout']);
    expect(answer).toEqual({
      schedule: {
        id: 'd1c2b3a4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
        name: 'Checkout on-call',
        chosenBy: 'team',
        team: 'checkout',
      },
      items: [
        {
          level: 1,
          user: { id: 'b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4', name: 'Grace Hopper', email: 'grace.hopper@example.com' },
          schedule: 'Checkout on-call',
          end: null,
        },
      ],
    });
    const call = fake.requests.find((r) => r.path.endsWith('/on-calls'));
    expect(call?.path).toBe('/v2/schedules/d1c2b3a4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/on-calls');
    expect(call?.query).toEqual({ scheduleIdentifierType: 'id', flat: 'false' });
  });

  it('falls back to the configured schedule by name, and says when none applies', async () => {
    fake = await startFakeOpsgenie({ apiKey: API_KEY });
    const fallback = await make('Platform on-call').onCallForTeams!(['sre']);
    expect(fallback.schedule).toMatchObject({ name: 'Platform on-call', chosenBy: 'default' });
    expect(fallback.items.map((o) => o.user.name)).toEqual(['Alan Turing', 'Katherine Johnson']);
    expect(fake.requests.at(-2)?.query).toMatchObject({ scheduleIdentifierType: 'name' });

    const unknown = await make().onCallForTeams!(['sre']);
    expect(unknown).toEqual({
      schedule: null,
      reason:
        'No enabled Opsgenie schedule is owned by sre and no default schedule is configured (OPSGENIE_ONCALL_SCHEDULE): who is on call for it cannot be known here',
      items: [],
    });
  });

  it('names the setting when the configured schedule does not exist', async () => {
    fake = await startFakeOpsgenie({ apiKey: API_KEY });
    const error = await rejection(make('Night rota').onCallForTeams!([]));
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe('Opsgenie has no schedule named "Night rota": check OPSGENIE_ONCALL_SCHEDULE');
  });
});
