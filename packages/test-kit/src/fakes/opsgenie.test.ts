import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpsgenie, startFakeOpsgenie } from './opsgenie.js';

const KEY = 'fake-genie-key';
let fake: FakeOpsgenie;
beforeEach(async () => {
  fake = await startFakeOpsgenie({ apiKey: KEY, alerts: ['A1'] });
  fake.addAlert('A2', { tinyId: '42', alias: 'db-down' });
});
afterEach(async () => {
  await fake.stop();
});

async function call(method: string, path: string, body?: unknown, key = KEY) {
  const res = await fetch(`${fake.url}${path}`, {
    method,
    headers: { authorization: `GenieKey ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe(startFakeOpsgenie.name, () => {
  it('accepts an action with 202 and reports it processed after one 404 poll', async () => {
    const accepted = await call('POST', '/v2/alerts/A1/acknowledge?identifierType=id', { user: 'u', source: 's' });

    expect(accepted).toEqual({
      status: 202,
      body: { result: 'Request will be processed', took: expect.any(Number), requestId: expect.any(String) },
    });
    const poll = `/v2/alerts/requests/${accepted.body.requestId}`;
    expect((await call('GET', poll)).status).toBe(404);
    const done = await call('GET', poll);
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({
      success: true,
      isSuccess: true,
      action: 'Acknowledge',
      status: 'Acknowledged',
      alertId: 'A1',
    });
    expect(fake.alert('A1')?.acknowledged).toBe(true);
  });

  it('answers 401 Could not authenticate for a wrong key', async () => {
    const res = await call('POST', '/v2/alerts/A1/close', {}, 'other');
    expect(res).toEqual({
      status: 401,
      body: { message: 'Could not authenticate', took: 0.002, requestId: expect.any(String) },
    });
  });

  it('rejects an unknown identifierType with 422', async () => {
    expect((await call('POST', '/v2/alerts/A1/close?identifierType=name', {})).status).toBe(422);
  });

  it('finds alerts by tiny id and alias', async () => {
    await call('POST', '/v2/alerts/42/acknowledge?identifierType=tiny', {});
    await call('POST', '/v2/alerts/db-down/close?identifierType=alias', {});
    expect(fake.alert('A2')).toMatchObject({ acknowledged: true, status: 'closed' });
  });

  it.each([{}, { escalation: {} }, { escalation: { id: '' } }, { escalation: 'esc-1' }])(
    'rejects an escalation without id or name (%o) with 422',
    async (body) => {
      expect((await call('POST', '/v2/alerts/A1/escalate', body)).status).toBe(422);
    },
  );

  it('rejects unknown body fields with 422', async () => {
    expect((await call('POST', '/v2/alerts/A1/acknowledge', { usr: 'typo' })).status).toBe(422);
  });

  it('reports an unknown alert as a failed request', async () => {
    const accepted = await call('POST', '/v2/alerts/NOPE/close', {});
    await call('GET', `/v2/alerts/requests/${accepted.body.requestId}`);
    const done = await call('GET', `/v2/alerts/requests/${accepted.body.requestId}`);
    expect(done.body.data).toMatchObject({ isSuccess: false, status: 'Alert does not exist' });
  });

  it('can make a request never confirm', async () => {
    fake.failNextProcessing('never-confirms');
    const accepted = await call('POST', '/v2/alerts/A1/close', {});
    for (let i = 0; i < 5; i += 1) {
      expect((await call('GET', `/v2/alerts/requests/${accepted.body.requestId}`)).status).toBe(404);
    }
    expect(fake.alert('A1')?.status).toBe('open');
  });
});
