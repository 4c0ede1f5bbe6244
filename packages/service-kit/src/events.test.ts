import { randomUUID } from 'node:crypto';
import { type IncidentAction, type IncidentEvent, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  consumerMetrics,
  contextFromTraceparent,
  createEventMessages,
  createMetricsRegistry,
  type IncomingMessage,
  topicsFor,
  typedBatchHandler,
} from './index.js';

const messages = createEventMessages({ service: 'test-service', topics: topicsFor('unit') });

function incidentEvent(): IncidentEvent {
  const result = normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PTYPED1' }), {
    receivedAt: '2026-12-01T10:00:00.000Z',
  });
  if (result.outcome !== 'events') throw new Error('fixture did not normalise');
  return result.events[0]!;
}

function action(overrides: Partial<IncidentAction> = {}): IncidentAction {
  return {
    actionId: randomUUID(),
    incidentId: incidentEvent().incidentId,
    provider: 'pagerduty',
    providerId: 'PTYPED1',
    action: 'acknowledge',
    actor: { type: 'user', id: 'ada', name: 'Ada' },
    outcome: 'succeeded',
    detail: null,
    requestedAt: '2026-12-01T10:00:00.000Z',
    completedAt: '2026-12-01T10:00:01.000Z',
    ...overrides,
  };
}

const incoming = (value: string | null, headers: Record<string, string> = {}, offset = '0'): IncomingMessage => ({
  topic: 'unit.incident-events.v1',
  partition: 0,
  offset,
  key: 'k',
  value: value === null ? null : Buffer.from(value),
  headers,
  timestamp: '0',
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe(createEventMessages.name, () => {
  it('builds the CloudEvents envelope from the topic contract: id, type, subject as key, drill', () => {
    const event = incidentEvent();
    const { topic, message } = messages.message('incident-events', event);
    const envelope = JSON.parse(String(message.value));
    expect(topic).toBe('unit.incident-events.v1');
    expect(message.key).toBe(event.incidentId);
    expect(envelope).toMatchObject({
      specversion: '1.0',
      id: event.eventId,
      type: `io.microoncall.incident.${event.kind}`,
      subject: event.incidentId,
      source: '/test-service',
      drill: event.drill,
      data: { eventId: event.eventId },
    });
    expect(message.headers?.['content-type']).toBe('application/cloudevents+json');
  });

  it('takes the drill flag from the producer where the payload has none, and insists on it', () => {
    const { message } = messages.message('incident-actions', action(), { drill: true });
    expect(JSON.parse(String(message.value)).drill).toBe(true);
    expect(() => messages.message('incident-actions', action())).toThrow(/must say whether the event is a drill/);
  });

  it('refuses to publish a payload that breaks the contract, naming the field', () => {
    expect(() =>
      messages.message('incident-actions', action({ incidentId: 'nope' as IncidentAction['incidentId'] }), {
        drill: false,
      }),
    ).toThrow(/invalid incident-actions event: data\.incidentId/);
  });

  it('carries the active trace context in the envelope and as a Kafka header', () => {
    const { message } = context.with(contextFromTraceparent(TRACEPARENT), () =>
      messages.message('incident-actions', action(), { drill: false }),
    );
    expect(message.headers?.traceparent).toBe(TRACEPARENT);
    expect(JSON.parse(String(message.value)).traceparent).toBe(TRACEPARENT);
  });
});

describe(typedBatchHandler.name, () => {
  it('hands valid events to the handler and dead-letters the rest with a reason, counting them', async () => {
    const registry = createMetricsRegistry('unit');
    const metrics = consumerMetrics(registry);
    const seen: string[] = [];
    const handler = typedBatchHandler(
      'incident-events',
      async (events) => {
        seen.push(...events.map((e) => e.data.eventId));
        return { rejected: [] };
      },
      metrics,
    );
    const good = messages.message('incident-events', incidentEvent()).message;
    const { rejected } = await handler([
      incoming(String(good.value), {}, '1'),
      incoming('{not json', {}, '2'),
      incoming(JSON.stringify({ specversion: '1.0' }), {}, '3'),
      incoming(null, {}, '4'),
    ]);
    expect(seen).toEqual([incidentEvent().eventId]);
    expect(rejected.map((r) => [r.message.offset, r.reason.split(':')[0]])).toEqual([
      ['2', 'value is not JSON'],
      ['3', 'not a valid incident event'],
      ['4', 'empty message value'],
    ]);
    expect(await registry.getSingleMetricAsString('events_invalid_total')).toContain(
      'events_invalid_total{topic="unit.incident-events.v1",service="unit"} 3',
    );
  });

  it("runs the handler inside the producer's trace, so a trace continues across Kafka", async () => {
    const produced = context.with(contextFromTraceparent(TRACEPARENT), () =>
      messages.message('incident-events', incidentEvent()),
    ).message;
    let traceId: string | undefined;
    const handler = typedBatchHandler('incident-events', async () => {
      traceId = trace.getSpan(context.active())?.spanContext().traceId;
      return { rejected: [] };
    });
    await handler([incoming(String(produced.value), produced.headers ?? {})]);
    expect(traceId).toBe(TRACEPARENT.split('-')[1]);
  });

  it('passes on what the handler could not apply', async () => {
    const good = incoming(String(messages.message('incident-events', incidentEvent()).message.value));
    const handler = typedBatchHandler('incident-events', async (events) => ({
      rejected: events.map((e) => ({ message: e.message, reason: 'the database refused the event' })),
    }));
    expect((await handler([good])).rejected.map((r) => r.reason)).toEqual(['the database refused the event']);
  });
});
