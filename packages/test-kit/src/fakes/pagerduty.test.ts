import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakePagerDuty, PAGERDUTY_MEDIA_TYPE, startFakePagerDuty } from './pagerduty.js';

const TOKEN = 'fake-pd-token';
let fake: FakePagerDuty;
beforeEach(async () => {
  fake = await startFakePagerDuty({ token: TOKEN, users: [{ id: 'PU1', email: 'u1@example.com' }], incidents: ['Q1'] });
});
afterEach(async () => {
  await fake.stop();
});

const goodHeaders = {
  authorization: `Token token=${TOKEN}`,
  accept: PAGERDUTY_MEDIA_TYPE,
  'content-type': 'application/json',
  from: 'u1@example.com',
};

async function put(incident: Record<string, unknown>, headers: Record<string, string> = {}, id = 'Q1') {
  const res = await fetch(`${fake.url}/incidents/${id}`, {
    method: 'PUT',
    headers: { ...goodHeaders, ...headers },
    body: JSON.stringify({ incident }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const invalid = (...errors: string[]) => ({ error: { message: 'Invalid Input Provided', code: 2001, errors } });

describe(startFakePagerDuty.name, () => {
  it('acknowledges, answers the full incident and records the request with the token redacted', async () => {
    const res = await put({ type: 'incident_reference', status: 'acknowledged' });

    expect(res.status).toBe(200);
    expect(res.body.incident).toMatchObject({ id: 'Q1', type: 'incident', status: 'acknowledged', incident_number: 1 });
    expect(fake.incident('Q1')?.status).toBe('acknowledged');
    expect(fake.requests[0]).toMatchObject({ method: 'PUT', path: '/incidents/Q1', status: 200 });
    expect(fake.requests[0]!.headers.authorization).toBe('[redacted]');
  });

  it('answers 401 with PagerDuty error 2006 for a wrong or missing token', async () => {
    for (const authorization of ['Token token=nope', `Bearer ${TOKEN}`, '']) {
      const res = await put({ type: 'incident_reference', status: 'acknowledged' }, { authorization });
      expect(res).toEqual({ status: 401, body: { error: { message: 'Unauthorized', code: 2006 } } });
    }
  });

  it('answers 406 unless Accept is exactly the v2 media type', async () => {
    const res = await put({ type: 'incident_reference', status: 'acknowledged' }, { accept: 'application/json' });
    expect(res.status).toBe(406);
  });

  it('refuses a From that is not a known user', async () => {
    const res = await put({ type: 'incident_reference', status: 'acknowledged' }, { from: 'x@example.com' });
    expect(res).toEqual({ status: 400, body: invalid('Requester User Not Found') });
  });

  it.each([
    ['a wrong type', { type: 'incident', status: 'acknowledged' }],
    ['another status', { type: 'incident_reference', status: 'triggered' }],
    ['a fractional escalation level', { type: 'incident_reference', escalation_level: 1.5 }],
    ['escalation level 0', { type: 'incident_reference', escalation_level: 0 }],
    ['a resolution without resolving', { type: 'incident_reference', status: 'acknowledged', resolution: 'x' }],
    ['an unknown field', { type: 'incident_reference', state: 'acknowledged' }],
    ['no change', { type: 'incident_reference' }],
    ['a bad assignee type', { type: 'incident_reference', assignments: [{ assignee: { id: 'PU1', type: 'user' } }] }],
    [
      'assignments with an escalation policy',
      {
        type: 'incident_reference',
        assignments: [{ assignee: { id: 'PU1', type: 'user_reference' } }],
        escalation_policy: { id: 'P1', type: 'escalation_policy_reference' },
      },
    ],
  ])('answers 400 Invalid Input for %s and changes nothing', async (_what, incident) => {
    const res = await put(incident);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { message: 'Invalid Input Provided', code: 2001 } });
    expect(fake.incident('Q1')).toMatchObject({ status: 'triggered', escalation_level: 1, assignments: [] });
  });

  it('answers 404 for an unknown incident until it is added', async () => {
    expect((await put({ type: 'incident_reference', status: 'resolved' }, {}, 'Q9')).status).toBe(404);
    fake.addIncident('Q9');
    expect((await put({ type: 'incident_reference', status: 'resolved' }, {}, 'Q9')).status).toBe(200);
  });

  it('creates notes with 201 and the requester as user', async () => {
    const res = await fetch(`${fake.url}/incidents/Q1/notes`, {
      method: 'POST',
      headers: goodHeaders,
      body: JSON.stringify({ note: { content: 'hello' } }),
    });

    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ note: { content: 'hello', user: { id: 'PU1', type: 'user_reference' } } });
  });

  it('injects faults in order, with the documented 429 body by default', async () => {
    fake.failNext({ status: 429, times: 2 });

    const first = await put({ type: 'incident_reference', status: 'acknowledged' });
    const second = await put({ type: 'incident_reference', status: 'acknowledged' });
    const third = await put({ type: 'incident_reference', status: 'acknowledged' });

    expect(first).toEqual({ status: 429, body: { error: { message: 'Rate Limit Exceeded', code: 2020 } } });
    expect(second.status).toBe(429);
    expect(third.status).toBe(200);
  });
});
