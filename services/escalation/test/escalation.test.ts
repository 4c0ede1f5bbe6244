import { dlqTopicName, incidentEventEnvelope, incidentIdFor, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import type { RunningService } from '@micro-oncall/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

function pagerDutyEvent(incident: string, overrides: Parameters<typeof pagerDutyIncidentEvent>[0] = {}) {
  return onlyEvent(
    normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: incident, ...overrides }), {
      receivedAt: new Date().toISOString(),
    }),
  );
}

describe('escalation service', () => {
  let esc: TestEscalation;
  let service: RunningService;
  let token: string;
  let kafka: TestEscalation['kafka'];
  let topic: string;
  const api = async (path: string) => {
    const res = await esc.get(path, token);
    return res as { status: number; body: Record<string, unknown> & { items?: { id: string }[] } };
  };
  const publish = (values: { key: string; value: string }[]) => kafka.publish(topic, values);

  beforeAll(async () => {
    esc = await startTestEscalation('esc');
    ({ service, kafka, eventsTopic: topic } = esc);
    token = await esc.issuer.token({ sub: 'tester', roles: ['viewer'] });
  });

  afterAll(async () => {
    await esc?.stop();
  });

  it('applies each distinct event once, whatever the delivery order and repetition', async () => {
    const events = [
      pagerDutyEvent('PESC1', { occurredAt: '2025-11-20T09:00:00.000Z' }),
      pagerDutyEvent('PESC1', { eventType: 'incident.acknowledged', occurredAt: '2025-11-20T09:05:00.000Z' }),
      pagerDutyEvent('PESC1', { eventType: 'incident.resolved', occurredAt: '2025-11-20T09:30:00.000Z' }),
    ];
    const deliveries = [events[2]!, events[0]!, events[2]!, events[1]!, events[0]!, events[2]!];
    await publish(
      deliveries.map((e) => ({
        key: e.incidentId,
        value: JSON.stringify(incidentEventEnvelope(e, { source: '/test' })),
      })),
    );
    const id = incidentIdFor('pagerduty', 'PESC1');
    const detail = await until('three history entries', async () => {
      const res = await api(`/v1/incidents/${id}`);
      return res.status === 200 && (res.body.events as unknown[]).length === 3 ? res.body : undefined;
    });
    expect((detail.incident as { status: string }).status).toBe('resolved');
    expect((detail.events as { kind: string }[]).map((e) => e.kind)).toEqual(['triggered', 'acknowledged', 'resolved']);
  });

  it('sends a poison message to the dead-letter topic with its reason and keeps consuming', async () => {
    const good = pagerDutyEvent('PESC2');
    await publish([
      { key: 'poison', value: '{"specversion":"1.0","data":{"not":"an incident event"}}' },
      { key: good.incidentId, value: JSON.stringify(incidentEventEnvelope(good, { source: '/test' })) },
    ]);
    await until('the event after the poison message', async () => {
      const res = await api(`/v1/incidents/${good.incidentId}`);
      return res.status === 200 ? res : undefined;
    });
    const [dead] = await kafka.read(dlqTopicName(topic), { count: 1, timeoutMs: 10_000 });
    expect(dead?.key).toBe('poison');
    expect(dead?.headers['x-dlq-reason']).toMatch(/not a valid incident event/);
  });

  it('dead-letters an event the database cannot store instead of retrying it forever', async () => {
    const nul = pagerDutyEvent('PESCNUL');
    const poisoned = { ...nul, snapshot: { ...nul.snapshot!, title: 'disk\u0000full' } };
    const after = pagerDutyEvent('PESCNUL2');
    await publish(
      [poisoned, after].map((e) => ({
        key: e.incidentId,
        value: JSON.stringify(incidentEventEnvelope(e, { source: '/test' })),
      })),
    );
    await until('the event after the unstorable one', async () => {
      const res = await api(`/v1/incidents/${after.incidentId}`);
      return res.status === 200 ? res : undefined;
    });
    expect((await api(`/v1/incidents/${nul.incidentId}`)).status).toBe(404);
    const dead = await kafka.read(dlqTopicName(topic), { count: 2, timeoutMs: 10_000 });
    expect(dead.map((m) => m.headers['x-dlq-reason'])).toContainEqual(expect.stringMatching(/database refused/));
  });

  it('filters by status, severity and service and pages with a cursor', async () => {
    const batch = [
      pagerDutyEvent('PESC3', { priority: 'P1', serviceName: 'search', occurredAt: '2025-11-21T10:00:00.000Z' }),
      pagerDutyEvent('PESC4', { priority: 'P3', serviceName: 'search', occurredAt: '2025-11-21T10:01:00.000Z' }),
      pagerDutyEvent('PESC5', { priority: 'P3', serviceName: 'search', occurredAt: '2025-11-21T10:02:00.000Z' }),
    ];
    await publish(
      batch.map((e) => ({ key: e.incidentId, value: JSON.stringify(incidentEventEnvelope(e, { source: '/test' })) })),
    );
    await until('three search incidents', async () => {
      const res = await api('/v1/incidents?service=search');
      return res.body.items?.length === 3 ? res : undefined;
    });
    // PagerDuty P3 is our medium; the provider's name stays beside it.
    const medium = await api('/v1/incidents?service=search&severity=medium');
    expect(medium.body.items?.map((i) => i.id).sort()).toEqual([batch[1]!.incidentId, batch[2]!.incidentId].sort());
    expect(medium.body.items).toContainEqual(
      expect.objectContaining({ severity: 'medium', providerSeverity: 'P3', urgency: 'high' }),
    );
    const legacy = await api('/v1/incidents?service=search&severity=p2');
    expect(legacy.status).toBe(400);
    expect(JSON.stringify(legacy.body)).toMatch(/critical/);

    const first = await api('/v1/incidents?service=search&limit=2');
    expect(first.body.items?.map((i) => i.id)).toEqual([batch[2]!.incidentId, batch[1]!.incidentId]);
    const second = await api(`/v1/incidents?service=search&limit=2&cursor=${first.body.nextCursor as string}`);
    expect(second.body.items?.map((i) => i.id)).toEqual([batch[0]!.incidentId]);
    expect(second.body.nextCursor).toBeNull();

    const resolved = await api('/v1/incidents?service=search&status=resolved');
    expect(resolved.body.items).toEqual([]);
  });

  it('shows who the incident is assigned to and what each event changed, priority from and to', async () => {
    const at = (minute: number) => `2025-11-22T10:0${minute}:00.000Z`;
    const lin = { id: 'PLEVEL2', name: 'Lin Level-Two' };
    const history = [
      pagerDutyEvent('PESCCHG', { priority: 'P3', occurredAt: at(0) }),
      pagerDutyEvent('PESCCHG', { eventType: 'incident.priority_updated', priority: 'P1', occurredAt: at(1) }),
      pagerDutyEvent('PESCCHG', { eventType: 'incident.escalated', priority: 'P1', assignee: lin, occurredAt: at(2) }),
    ];
    await publish(
      history.map((e) => ({ key: e.incidentId, value: JSON.stringify(incidentEventEnvelope(e, { source: '/test' })) })),
    );
    const id = incidentIdFor('pagerduty', 'PESCCHG');
    const detail = await until('the escalation in the history', async () => {
      const res = await api(`/v1/incidents/${id}`);
      return res.status === 200 && (res.body.events as unknown[]).length === 3 ? res.body : undefined;
    });
    expect(detail.incident).toMatchObject({ severity: 'critical', providerSeverity: 'P1', assignees: [lin] });
    expect(
      (detail.events as { kind: string; change: unknown }[]).map(({ kind, change }) => ({ kind, change })),
    ).toEqual([
      { kind: 'triggered', change: null },
      { kind: 'priority_changed', change: { priority: { from: 'P3', to: 'P1' } } },
      { kind: 'escalated', change: { assignees: [lin], escalationPolicy: 'Payments — primary' } },
    ]);
    const listed = await api('/v1/incidents?q=PESCCHG');
    expect(listed.body.items).toEqual([expect.objectContaining({ id, assignees: [lin], providerSeverity: 'P1' })]);
  });

  it('answers 400 naming the parameter for a bad filter, and 404 for an unknown incident', async () => {
    const badStatus = await api('/v1/incidents?status=open');
    expect(badStatus.status).toBe(400);
    expect(JSON.stringify(badStatus.body)).toMatch(/status/);
    const unknownParam = await api('/v1/incidents?colour=red');
    expect(unknownParam.status).toBe(400);
    const badCursor = await api('/v1/incidents?cursor=abc');
    expect(badCursor.status).toBe(400);
    expect((await api('/v1/incidents/not-an-id')).status).toBe(400);
    expect((await api(`/v1/incidents/${incidentIdFor('pagerduty', 'NOPE')}`)).status).toBe(404);
  });

  it('reports ready with every component healthy', async () => {
    const res = await fetch(`${service.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: { healthy: true }, 'incident-events-consumer': { healthy: true }, kafka: { healthy: true } },
    });
  });

  it('streams changes live and still shuts down cleanly with a stream open', async () => {
    const res = await fetch(`${service.url}/v1/stream`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        text += decoder.decode(value);
      }
    };
    await readUntil(/event: ready/);
    const live = pagerDutyEvent('PESCLIVE');
    await publish([{ key: live.incidentId, value: JSON.stringify(incidentEventEnvelope(live, { source: '/test' })) }]);
    await readUntil(new RegExp(live.incidentId));
    expect(text).toMatch(/id: \d+\nevent: incident\ndata: /);
    // The last test: stopping must end the open stream instead of waiting for it.
    await expect(service.stop()).resolves.toBeUndefined();
    const rest = await reader.read().catch(() => ({ done: true }));
    expect(rest.done).toBe(true);
  });
});
