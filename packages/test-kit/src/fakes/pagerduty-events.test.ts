import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakePagerDutyEvents, startFakePagerDutyEvents } from './pagerduty-events.js';

const KEY = randomBytes(16).toString('hex');
let fake: FakePagerDutyEvents;
beforeEach(async () => {
  fake = await startFakePagerDutyEvents({ routingKeys: [KEY] });
});
afterEach(async () => {
  await fake.stop();
});

async function enqueue(event: unknown, contentType = 'application/json') {
  const res = await fetch(`${fake.url}/v2/enqueue`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof event === 'string' ? event : JSON.stringify(event),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const trigger = (overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) => ({
  routing_key: KEY,
  event_action: 'trigger',
  dedup_key: 'drill-1/payments-latency',
  payload: {
    summary: '[DRILL] Payments p99 latency above 2 s',
    source: 'simulator',
    severity: 'error',
    custom_details: { drill_run_id: 'run-1' },
    ...payload,
  },
  ...overrides,
});

describe(startFakePagerDutyEvents.name, () => {
  it('triggers, then resolves, the alert its dedup key names (202 with the key)', async () => {
    expect(await enqueue(trigger())).toEqual({
      status: 202,
      body: { status: 'success', message: 'Event processed', dedup_key: 'drill-1/payments-latency' },
    });
    expect(fake.alert('drill-1/payments-latency')).toMatchObject({
      status: 'triggered',
      severity: 'error',
      customDetails: { drill_run_id: 'run-1' },
    });
    const res = await enqueue({ routing_key: KEY, event_action: 'resolve', dedup_key: 'drill-1/payments-latency' });
    expect(res.status).toBe(202);
    expect(fake.alert('drill-1/payments-latency')?.status).toBe('resolved');
    expect(fake.events.map((e) => e.action)).toEqual(['trigger', 'resolve']);
  });

  it('updates an open alert on a second trigger and makes up a dedup key when none is sent', async () => {
    await enqueue(trigger());
    await enqueue(trigger({}, { severity: 'critical' }));
    expect(fake.alert('drill-1/payments-latency')).toMatchObject({ severity: 'critical', triggers: 2 });
    const { dedup_key: _omitted, ...rest } = trigger();
    const res = await enqueue(rest);
    expect(res.body.dedup_key).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['a routing key of the wrong length', trigger({ routing_key: 'short' }), 'Length of'],
    ['an unknown routing key', trigger({ routing_key: 'x'.repeat(32) }), 'not a known integration key'],
    ['an unknown action', trigger({ event_action: 'snooze' }), "'event_action'"],
    ['a resolve without dedup key', { routing_key: KEY, event_action: 'resolve' }, "'dedup_key' is required"],
    ['a trigger without payload', { routing_key: KEY, event_action: 'trigger' }, "'payload' is required"],
    ['a trigger without summary', trigger({}, { summary: undefined }), "'payload.summary'"],
    ['a trigger without source', trigger({}, { source: '' }), "'payload.source'"],
    ['an unknown severity', trigger({}, { severity: 'high' }), "'payload.severity'"],
    ['custom_details that are not an object', trigger({}, { custom_details: 'x' }), "'payload.custom_details'"],
    ['an unknown field', trigger({ priority: 'P1' }), "Unknown field 'priority'"],
    ['an image over http', trigger({ images: [{ src: 'http://x.invalid/a.png' }] }), "'images'"],
  ])('refuses %s with 400 and says why', async (_what, event, error) => {
    const res = await enqueue(event);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 'invalid event', message: 'Event object is invalid' });
    expect((res.body.errors as string[]).join('; ')).toContain(error);
    expect(fake.events).toEqual([]);
  });

  it('refuses a body that is not JSON and another path', async () => {
    expect((await enqueue('{', 'application/json')).status).toBe(400);
    expect((await enqueue(trigger(), 'text/plain')).status).toBe(400);
    const res = await fetch(`${fake.url}/v2/alerts`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  it('answers an injected 429 with its throttle body, then works again', async () => {
    fake.failNext({ status: 429 });
    expect((await enqueue(trigger())).status).toBe(429);
    expect((await enqueue(trigger())).status).toBe(202);
  });
});
