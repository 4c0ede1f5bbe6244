import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppRegistryChange } from './app-registry.js';
import {
  EVENT_SCHEMAS,
  envelopeFor,
  type IncidentAction,
  IncidentActionEnvelope,
  type IncidentEvent,
  IncidentEventEnvelope,
  incidentActionEnvelope,
  incidentEventEnvelope,
} from './events.js';
import { drillRunEvent } from './fixtures/drills.js';
import { incidentIdFor } from './incident.js';
import { ProviderStatusChange } from './provider-status.js';

const incidentId = incidentIdFor('pagerduty', 'Q2VU6LUZKJ7CQT');

function anEvent(overrides: Partial<IncidentEvent> = {}): IncidentEvent {
  return {
    eventId: 'pagerduty:4d6cc031-0d55-4c6f-abfa-93cc9aaa2e8a',
    kind: 'acknowledged',
    providerEventType: 'incident.acknowledged',
    occurredAt: '2025-11-20T09:16:05.118Z',
    incidentId,
    provider: 'pagerduty',
    providerId: 'Q2VU6LUZKJ7CQT',
    dedupKey: 'payments-latency',
    actor: { type: 'user', id: 'PXPGF42', name: 'Ada Lovelace' },
    note: null,
    drill: false,
    snapshot: {
      title: 'Payment authorisation latency above 2s',
      service: 'payments-api',
      severity: 'high',
      providerSeverity: 'P2',
      assignees: [{ id: 'PTUXL6G', name: 'Grace Hopper' }],
      urgency: 'high',
      labels: { incident_number: '4217' },
      links: [{ href: 'https://acme.pagerduty.com/incidents/Q2VU6LUZKJ7CQT', text: 'PagerDuty' }],
      providerUrl: 'https://acme.pagerduty.com/incidents/Q2VU6LUZKJ7CQT',
      createdAt: '2025-11-20T09:14:03.000Z',
    },
    ...overrides,
  };
}

function anAction(overrides: Partial<IncidentAction> = {}): IncidentAction {
  return {
    actionId: '0b9d4c1e-6f2a-4d8b-9c3e-5a7f1e2d3c4b',
    incidentId,
    provider: 'pagerduty',
    providerId: 'Q2VU6LUZKJ7CQT',
    action: 'acknowledge',
    actor: { type: 'user', id: 'user-17', name: 'Grace Hopper' },
    outcome: 'succeeded',
    detail: null,
    requestedAt: '2025-11-20T09:16:00.000Z',
    completedAt: '2025-11-20T09:16:00.412Z',
    ...overrides,
  };
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe(incidentEventEnvelope.name, () => {
  it('wraps an event as a CloudEvent keyed by the incident and identified by the event id', () => {
    const event = anEvent({ drill: true });
    const envelope = incidentEventEnvelope(event, {
      source: '/webhook-ingest/pagerduty',
      time: '2025-11-20T09:16:05.300Z',
      traceparent: TRACEPARENT,
    });
    expect(envelope).toEqual({
      specversion: '1.0',
      id: event.eventId,
      source: '/webhook-ingest/pagerduty',
      type: 'io.microoncall.incident.acknowledged',
      time: '2025-11-20T09:16:05.300Z',
      subject: incidentId,
      datacontenttype: 'application/json',
      data: event,
      traceparent: TRACEPARENT,
      drill: true,
    });
    expect(IncidentEventEnvelope.parse(envelope)).toEqual(envelope);
  });

  it('stamps the current time and leaves traceparent out when none is given', () => {
    const before = Date.now();
    const envelope = incidentEventEnvelope(anEvent(), { source: '/test' });
    expect(Date.parse(envelope.time)).toBeGreaterThanOrEqual(before);
    expect('traceparent' in envelope).toBe(false);
    expect(IncidentEventEnvelope.safeParse(envelope).success).toBe(true);
  });

  it.each([
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['upper case', TRACEPARENT.toUpperCase()],
  ])('rejects a traceparent with %s', (_, traceparent) => {
    const envelope = incidentEventEnvelope(anEvent(), { source: '/test', traceparent });
    expect(IncidentEventEnvelope.safeParse(envelope).success).toBe(false);
  });

  it('rejects an envelope whose event breaks the model', () => {
    const envelope = incidentEventEnvelope(anEvent({ incidentId: 'inc_123' }), { source: '/test' });
    const result = IncidentEventEnvelope.safeParse(envelope);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['data', 'incidentId']);
  });

  it('carries what an event changed, and refuses a change that breaks the model', () => {
    const escalated = anEvent({
      kind: 'escalated',
      change: {
        assignees: [{ id: 'PLEVEL2', name: 'Lin' }],
        escalationPolicy: 'Payments — primary',
        escalationLevel: 2,
      },
    });
    const envelope = incidentEventEnvelope(escalated, { source: '/test' });
    expect(IncidentEventEnvelope.parse(envelope).data.change).toEqual(escalated.change);
    const broken = incidentEventEnvelope(anEvent({ change: { escalationLevel: 0 } }), { source: '/test' });
    expect(IncidentEventEnvelope.safeParse(broken).error?.issues[0]?.path).toEqual([
      'data',
      'change',
      'escalationLevel',
    ]);
  });

  it('reads events written before ADR 0008: severity p0…p4, no providerSeverity, assignees or change', () => {
    const { providerSeverity: _p, assignees: _a, ...oldSnapshot } = anEvent().snapshot!;
    const old = incidentEventEnvelope(anEvent({ snapshot: { ...oldSnapshot, severity: 'p1' as never } }), {
      source: '/test',
    });
    const parsed = IncidentEventEnvelope.parse(JSON.parse(JSON.stringify(old)));
    expect(parsed.data.snapshot).toEqual({ ...oldSnapshot, severity: 'high' });
    expect(parsed.data).not.toHaveProperty('change');
  });

  it('reads events written before ADR 0019 (no group key) and carries a group key and a manual grouping', () => {
    const before = IncidentEventEnvelope.parse(
      JSON.parse(JSON.stringify(incidentEventEnvelope(anEvent(), { source: '/t' }))),
    );
    expect(before.data).not.toHaveProperty('groupKey');
    const grouped = anEvent({
      kind: 'updated',
      snapshot: null,
      groupKey: '{}:{alertname="PodCrashLooping"}',
      change: { group: { id: 'grp_0123456789abcdef01234567' } },
    });
    const parsed = IncidentEventEnvelope.parse(
      JSON.parse(JSON.stringify(incidentEventEnvelope(grouped, { source: '/t' }))),
    );
    expect(parsed.data).toMatchObject({
      groupKey: grouped.groupKey,
      change: { group: { id: grouped.change!.group!.id } },
    });
    const split = anEvent({ kind: 'updated', snapshot: null, change: { group: { id: null } } });
    expect(IncidentEventEnvelope.safeParse(incidentEventEnvelope(split, { source: '/t' })).success).toBe(true);
    const tooLong = anEvent({ groupKey: 'k'.repeat(513) });
    expect(IncidentEventEnvelope.safeParse(incidentEventEnvelope(tooLong, { source: '/t' })).success).toBe(false);
  });

  it('accepts a note event without snapshot', () => {
    const envelope = incidentEventEnvelope(anEvent({ kind: 'note_added', snapshot: null, note: 'rolled back' }), {
      source: '/test',
    });
    expect(IncidentEventEnvelope.safeParse(envelope).success).toBe(true);
  });
});

describe(incidentActionEnvelope.name, () => {
  it('wraps an action with the drill flag of its incident', () => {
    const action = anAction();
    const envelope = incidentActionEnvelope(action, {
      source: '/escalation',
      drill: true,
      time: '2025-11-20T09:16:01.000Z',
    });
    expect(envelope).toMatchObject({
      id: action.actionId,
      type: 'io.microoncall.incident-action.acknowledge',
      subject: incidentId,
      drill: true,
      data: action,
    });
    expect(IncidentActionEnvelope.parse(envelope)).toEqual(envelope);
  });

  it('requires a UUID action id', () => {
    const envelope = incidentActionEnvelope(anAction({ actionId: 'ack-1' }), { source: '/escalation', drill: false });
    expect(IncidentActionEnvelope.safeParse(envelope).success).toBe(false);
  });
});

describe('EVENT_SCHEMAS', () => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const samples = {
    'incident-events': () =>
      incidentEventEnvelope(anEvent({ kind: 'priority_changed', change: { priority: { to: 'P2' } } }), {
        source: '/test',
        traceparent: TRACEPARENT,
      }),
    'incident-actions': () => incidentActionEnvelope(anAction(), { source: '/test', drill: false }),
    'provider-status': () => envelopeFor('provider-status', aProviderStatusChange(), { source: '/test', drill: false }),
    drills: () => envelopeFor('drills', drillRunEvent(), { source: '/test' }),
    'app-registry': () => envelopeFor('app-registry', anAppRegistryChange(), { source: '/test', drill: false }),
  } as const;
  /** A payload field each topic's schema must refuse when broken. */
  const broken: Record<keyof typeof EVENT_SCHEMAS, Record<string, unknown>> = {
    'incident-events': { incidentId: 'not-an-id' },
    'incident-actions': { incidentId: 'not-an-id' },
    'provider-status': { changeId: 'not-a-uuid' },
    drills: { kind: 'paused' },
    'app-registry': { tier: 'extreme' },
  };

  it.each(Object.keys(EVENT_SCHEMAS) as Array<keyof typeof EVENT_SCHEMAS>)(
    'generates a JSON Schema for %s that accepts a real envelope and rejects a broken one',
    (topic) => {
      const jsonSchema = z.toJSONSchema(EVENT_SCHEMAS[topic], { io: 'output' });
      expect(jsonSchema.type).toBe('object');
      expect(jsonSchema.required).toEqual(
        expect.arrayContaining(['specversion', 'id', 'source', 'type', 'data', 'drill']),
      );
      const validate = ajv.compile(jsonSchema);
      const envelope = samples[topic]();
      expect(validate(JSON.parse(JSON.stringify(envelope)))).toBe(true);
      expect(validate({ ...envelope, specversion: '0.3' })).toBe(false);
      expect(validate({ ...envelope, data: { ...envelope.data, ...broken[topic] } })).toBe(false);
    },
  );

  it('documents the severity words alone: producers write no p0…p4', () => {
    const validate = ajv.compile(z.toJSONSchema(EVENT_SCHEMAS['incident-events'], { io: 'output' }));
    const envelope = JSON.parse(JSON.stringify(samples['incident-events']()));
    envelope.data.snapshot.severity = 'p1';
    expect(validate(envelope)).toBe(false);
  });

  it('also generates input-side JSON Schemas', () => {
    for (const schema of Object.values(EVENT_SCHEMAS)) {
      expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
    }
  });
});

function aProviderStatusChange(): ProviderStatusChange {
  return {
    changeId: '3f1c2b7a-6d5e-4f80-9a1b-2c3d4e5f6a7b',
    provider: 'Cloudflare',
    page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
    component: { key: 'cloudflare/cdn1', id: 'cdn1', name: 'CDN Edge', group: null },
    status: { from: 'operational', to: 'major_outage', providerStatus: 'major_outage', stale: null },
    incidents: [],
    services: ['api-gateway', 'frontend'],
    observedAt: '2025-11-20T08:01:02.000Z',
    source: 'poll',
  };
}

describe('provider-status contract', () => {
  it('keys and types the event by component and new condition', () => {
    const envelope = envelopeFor('provider-status', aProviderStatusChange(), {
      source: '/status-mapper',
      drill: false,
    });
    expect(envelope).toMatchObject({
      id: '3f1c2b7a-6d5e-4f80-9a1b-2c3d4e5f6a7b',
      subject: 'cloudflare/cdn1',
      type: 'io.microoncall.provider-status.major_outage',
      drill: false,
    });
    expect(EVENT_SCHEMAS['provider-status'].parse(envelope)).toEqual(envelope);
  });

  it('reads an event from before `services` existed as mapping to no service (not dead-lettered)', () => {
    const { services: _services, ...older } = aProviderStatusChange();
    const envelope = {
      ...envelopeFor('provider-status', aProviderStatusChange(), { source: '/t', drill: false }),
      data: older,
    };
    const parsed = EVENT_SCHEMAS['provider-status'].safeParse(envelope);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.data.services).toEqual([]);
  });

  it('refuses service names that are not service slugs', () => {
    const change = { ...aProviderStatusChange(), services: ['Not A Slug'] };
    expect(ProviderStatusChange.safeParse(change).success).toBe(false);
  });

  it('refuses a status outside the known ones (unknown has its own value)', () => {
    const change = aProviderStatusChange();
    const bad = { ...change, status: { ...change.status, to: 'sort_of_down' } };
    expect(ProviderStatusChange.safeParse(bad).success).toBe(false);
  });
});

function anAppRegistryChange(): AppRegistryChange {
  return {
    changeId: '7c0e4a2b-1d3f-4e5a-8b6c-9d0e1f2a3b4c',
    kind: 'state_changed',
    app: { id: 'app_01hq3v7k2m9x8c4d5e6f7g8h9j', name: 'expense-approvals' },
    owner: {
      person: { name: 'Grace Hopper', contact: 'grace@example.com' },
      team: { name: 'finance-tools', contact: '#finance-tools' },
    },
    tier: 'medium',
    state: { from: 'idle', to: 'disabled' },
    reason: 'idle for 14 days (grace before disabling for tier medium)',
    actor: { type: 'system', id: 'lifecycle-sweep' },
    occurredAt: '2026-11-20T08:00:00.000Z',
  };
}

describe('app-registry contract', () => {
  it('keys the event by app id and types it by the kind of change', () => {
    const envelope = envelopeFor('app-registry', anAppRegistryChange(), { source: '/app-registry', drill: false });
    expect(envelope).toMatchObject({
      id: '7c0e4a2b-1d3f-4e5a-8b6c-9d0e1f2a3b4c',
      subject: 'app_01hq3v7k2m9x8c4d5e6f7g8h9j',
      type: 'io.microoncall.app-registry.state_changed',
      drill: false,
    });
    expect(EVENT_SCHEMAS['app-registry'].parse(envelope)).toEqual(envelope);
  });

  it('refuses a state outside the lifecycle, and a registration without a team', () => {
    const change = anAppRegistryChange();
    expect(AppRegistryChange.safeParse({ ...change, state: { from: 'idle', to: 'deleted' } }).success).toBe(false);
    expect(AppRegistryChange.safeParse({ ...change, owner: { person: null } }).success).toBe(false);
    expect(AppRegistryChange.safeParse({ ...change, owner: { ...change.owner, person: null } }).success).toBe(true);
  });
});
