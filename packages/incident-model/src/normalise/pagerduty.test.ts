import { describe, expect, it } from 'vitest';
import { pagerDutyIncidentEvent, pagerDutyNoteEvent, pagerDutyServiceEvent } from '../fixtures/index.js';
import { incidentIdFor } from '../incident.js';
import { normalisePagerDuty, PAGERDUTY_INCIDENT_EVENT_KINDS } from './pagerduty.js';
import { copy, ctx, issuePaths, onlyEvent } from './test-helpers.js';

describe(normalisePagerDuty.name, () => {
  it.each(Object.entries(PAGERDUTY_INCIDENT_EVENT_KINDS))(
    'maps %s to a %s event with a snapshot',
    (eventType, kind) => {
      const payload = pagerDutyIncidentEvent({ eventType, incidentId: 'PGR0VU2', eventId: 'evt-1' });
      const event = onlyEvent(normalisePagerDuty(payload, ctx));
      expect(event).toMatchObject({
        eventId: 'pagerduty:evt-1',
        kind,
        providerEventType: eventType,
        provider: 'pagerduty',
        providerId: 'PGR0VU2',
        incidentId: incidentIdFor('pagerduty', 'PGR0VU2'),
        dedupKey: payload.event.data.incident_key,
        occurredAt: payload.event.occurred_at,
        note: null,
        drill: false,
      });
      expect(event.snapshot).not.toBeNull();
    },
  );

  it('maps the incident data to a snapshot', () => {
    const payload = pagerDutyIncidentEvent({
      serviceName: 'Payments API (EU)',
      priority: 'P1',
      title: 'Card auth failing',
    });
    const { snapshot } = onlyEvent(normalisePagerDuty(payload, ctx));
    const data = payload.event.data;
    expect(snapshot).toEqual({
      title: 'Card auth failing',
      service: 'payments-api-eu',
      severity: 'critical',
      providerSeverity: 'P1',
      assignees: [{ id: 'PTUXL6G', name: 'Grace Hopper' }],
      urgency: 'high',
      labels: {
        pagerduty_service_id: data.service.id,
        pagerduty_service: 'Payments API (EU)',
        escalation_policy: 'Payments — primary',
        escalation_policy_id: 'PUS0KTE',
        incident_number: '4217',
        incident_key: data.incident_key,
        priority: 'P1',
        teams: 'Payments',
        assignees: 'Grace Hopper',
      },
      links: [
        { href: data.html_url, text: 'PagerDuty' },
        { href: 'https://meet.acme.example/payments-war-room', text: 'Conference bridge' },
      ],
      providerUrl: data.html_url,
      createdAt: '2025-11-20T09:14:03.000Z',
    });
  });

  it.each([
    ['P0', 'high', 'critical', 'high'],
    ['P1', 'high', 'critical', 'high'],
    ['P2', 'high', 'high', 'high'],
    ['P3', 'high', 'medium', 'high'],
    ['P4', 'low', 'low', 'low'],
    ['P5', 'low', 'info', 'low'],
    [null, 'high', 'high', 'high'],
    [null, 'low', 'low', 'low'],
  ] as const)('with priority %s and urgency %s gives severity %s', (priority, urgency, severity, expectedUrgency) => {
    const { snapshot } = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ priority, urgency }), ctx));
    expect(snapshot).toMatchObject({ severity, urgency: expectedUrgency, providerSeverity: priority });
  });

  it('never shows a P0 incident below a P1 one (P0 used to fall back to urgency)', () => {
    const severity = (priority: 'P0' | 'P1') =>
      onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ priority, urgency: 'low' }), ctx)).snapshot?.severity;
    expect(severity('P0')).toBe('critical');
    expect(severity('P1')).toBe('critical');
  });

  it('reads custom priority names that are severity words, and keeps the name verbatim', () => {
    const payload = copy(pagerDutyIncidentEvent({ urgency: 'low' }));
    Object.assign(payload.event.data.priority!, { summary: 'High' });
    expect(onlyEvent(normalisePagerDuty(payload, ctx)).snapshot).toMatchObject({
      severity: 'high',
      providerSeverity: 'High',
    });
  });

  it('falls back to urgency when the account uses custom priority names it cannot read', () => {
    const payload = copy(pagerDutyIncidentEvent({ urgency: 'low' }));
    Object.assign(payload.event.data.priority!, { summary: 'SEV-2' });
    expect(onlyEvent(normalisePagerDuty(payload, ctx)).snapshot).toMatchObject({
      severity: 'low',
      providerSeverity: 'SEV-2',
    });
  });

  it('says what an escalation, a reassignment, a delegation and a priority change changed', () => {
    const change = (
      eventType: string,
      edit: (data: ReturnType<typeof pagerDutyIncidentEvent>['event']['data']) => void = () => {},
    ) => {
      const payload = copy(
        pagerDutyIncidentEvent({ eventType, priority: 'P1', assignee: { id: 'PLEVEL2', name: 'Lin Level-Two' } }),
      );
      edit(payload.event.data);
      return onlyEvent(normalisePagerDuty(payload, ctx)).change;
    };
    const lin = [{ id: 'PLEVEL2', name: 'Lin Level-Two' }];
    expect(change('incident.escalated')).toEqual({ assignees: lin, escalationPolicy: 'Payments — primary' });
    expect(change('incident.escalated', (data) => Object.assign(data, { escalation_level: 2 }))).toEqual({
      assignees: lin,
      escalationPolicy: 'Payments — primary',
      escalationLevel: 2,
    });
    expect(change('incident.escalated', (data) => Object.assign(data, { escalation_level: 'two' }))).not.toHaveProperty(
      'escalationLevel',
    );
    expect(change('incident.reassigned')).toEqual({ assignees: lin });
    expect(change('incident.delegated')).toEqual({ escalationPolicy: 'Payments — primary', assignees: lin });
    expect(change('incident.priority_updated')).toEqual({ priority: { to: 'P1' } });
    expect(change('incident.priority_updated', (data) => Object.assign(data, { priority: null }))).toEqual({
      priority: { to: null },
    });
    expect(change('incident.acknowledged')).toBeUndefined();
  });

  it('uses the incident id as dedup key when there is no incident_key', () => {
    const event = onlyEvent(
      normalisePagerDuty(pagerDutyIncidentEvent({ incidentKey: null, incidentId: 'PABC123' }), ctx),
    );
    expect(event.dedupKey).toBe('PABC123');
    expect(event.snapshot?.labels).not.toHaveProperty('incident_key');
  });

  it('maps the agent to the actor', () => {
    const byUser = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ eventType: 'incident.acknowledged' }), ctx));
    expect(byUser.actor).toEqual({ type: 'user', id: 'PXPGF42', name: 'Ada Lovelace' });
    const byIntegration = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ agent: 'service' }), ctx));
    expect(byIntegration.actor).toMatchObject({ type: 'integration', name: 'payments-api' });
    const bySystem = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ agent: null }), ctx));
    expect(bySystem.actor).toEqual({ type: 'system', id: null, name: null });
  });

  it('maps incident.annotated to note_added on the same incident, without a snapshot', () => {
    const payload = pagerDutyNoteEvent({ incidentId: 'PGR0VU2', eventId: 'note-evt', content: 'Rolled back.' });
    const event = onlyEvent(normalisePagerDuty(payload, ctx));
    expect(event).toMatchObject({
      eventId: 'pagerduty:note-evt',
      kind: 'note_added',
      providerEventType: 'incident.annotated',
      providerId: 'PGR0VU2',
      incidentId: onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PGR0VU2' }), ctx)).incidentId,
      dedupKey: 'PGR0VU2',
      note: 'Rolled back.',
      snapshot: null,
      actor: { type: 'user', id: 'PXPGF42', name: 'Ada Lovelace' },
    });
  });

  it('cuts an over-long note to 10 000 characters', () => {
    const event = onlyEvent(normalisePagerDuty(pagerDutyNoteEvent({ content: 'n'.repeat(20_000) }), ctx));
    expect(event.note).toHaveLength(10_000);
    expect(event.note?.endsWith('…')).toBe(true);
  });

  it('gives identical events for a replayed payload and distinct ids for distinct events', () => {
    const payload = pagerDutyIncidentEvent({ eventType: 'incident.acknowledged' });
    const first = normalisePagerDuty(payload, ctx);
    expect(normalisePagerDuty(JSON.parse(JSON.stringify(payload)), { receivedAt: '2025-11-21T00:00:00.000Z' })).toEqual(
      first,
    );
    const resolved = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ eventType: 'incident.resolved' }), ctx));
    expect(resolved.eventId).not.toBe(onlyEvent(first).eventId);
  });

  it.each([
    'incident.responder.added',
    'incident.responder.replied',
    'incident.status_update_published',
    'incident.conference_bridge.updated',
    'incident.custom_field_values.updated',
  ])('ignores %s and names the type', (eventType) => {
    const result = normalisePagerDuty(pagerDutyIncidentEvent({ eventType }), ctx);
    expect(result).toMatchObject({ outcome: 'ignored', eventType });
    expect(result.outcome === 'ignored' && result.reason.length).toBeGreaterThan(0);
  });

  it.each(['service.created', 'service.updated', 'service.deleted'] as const)('ignores %s', (eventType) => {
    expect(normalisePagerDuty(pagerDutyServiceEvent(eventType), ctx)).toMatchObject({
      outcome: 'ignored',
      eventType,
      reason: expect.stringContaining('service'),
    });
  });

  it.each([
    [
      'a missing incident id',
      (p: Payload) => delete (p.event.data as Partial<Payload['event']['data']>).id,
      'event.data.id',
    ],
    ['a numeric title', (p: Payload) => Object.assign(p.event.data, { title: 42 }), 'event.data.title'],
    [
      'an unparseable occurred_at',
      (p: Payload) => Object.assign(p.event, { occurred_at: 'yesterday' }),
      'event.occurred_at',
    ],
    ['a missing event id', (p: Payload) => delete (p.event as Partial<Payload['event']>).id, 'event.id'],
    [
      'a missing event type',
      (p: Payload) => delete (p.event as Partial<Payload['event']>).event_type,
      'event.event_type',
    ],
    [
      'assignees not a list',
      (p: Payload) => Object.assign(p.event.data, { assignees: 'Grace' }),
      'event.data.assignees',
    ],
    [
      'an over-long incident_key',
      (p: Payload) => Object.assign(p.event.data, { incident_key: 'k'.repeat(513) }),
      'event.data.incident_key',
    ],
  ])('rejects %s with the field path', (_, mutate, path) => {
    const payload = copy(pagerDutyIncidentEvent());
    mutate(payload);
    expect(issuePaths(normalisePagerDuty(payload, ctx))).toContain(path);
  });

  it('rejects a note event without content', () => {
    const payload = copy(pagerDutyNoteEvent());
    delete (payload.event.data as { content?: string }).content;
    expect(issuePaths(normalisePagerDuty(payload, ctx))).toEqual(['event.data.content']);
  });

  it.each([null, 'text', [], 42, {}, { event: null }])('rejects the non-webhook body %j', (body) => {
    expect(normalisePagerDuty(body, ctx).outcome).toBe('invalid');
  });

  it('cuts an over-long title to 1024 characters ending in an ellipsis', () => {
    const title = `Latency ${'x'.repeat(5000)}`;
    const { snapshot } = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ title }), ctx));
    expect(snapshot?.title).toHaveLength(1024);
    expect(snapshot?.title).toBe(`${title.slice(0, 1023)}…`);
  });

  it('marks [DRILL] incidents as drills, whatever the case', () => {
    expect(onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ title: '[drill] DB failover' }), ctx)).drill).toBe(
      true,
    );
    expect(onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ title: 'DB failover [DRILL]' }), ctx)).drill).toBe(
      false,
    );
    expect(onlyEvent(normalisePagerDuty(pagerDutyNoteEvent({ title: '[DRILL] DB failover' }), ctx)).drill).toBe(true);
  });

  it('normalises provider timestamps with offsets to UTC', () => {
    const event = onlyEvent(
      normalisePagerDuty(pagerDutyIncidentEvent({ occurredAt: '2025-11-20T10:14:05.118+01:00' }), ctx),
    );
    expect(event.occurredAt).toBe('2025-11-20T09:14:05.118Z');
  });

  it('accepts unknown extra fields', () => {
    const payload = copy(pagerDutyIncidentEvent()) as Payload & { extra?: unknown };
    Object.assign(payload.event.data, { body: { details: 'x' }, future_field: [1, 2] });
    expect(normalisePagerDuty(payload, ctx).outcome).toBe('events');
  });
});

type Payload = ReturnType<typeof pagerDutyIncidentEvent>;

describe(`${normalisePagerDuty.name} with NUL characters`, () => {
  it('replaces U+0000 in provider text, which PostgreSQL could never store', () => {
    const result = normalisePagerDuty(pagerDutyIncidentEvent({ title: 'disk\u0000full' }), {
      receivedAt: '2025-11-20T09:14:06.000Z',
    });
    expect(result.outcome).toBe('events');
    if (result.outcome !== 'events') return;
    expect(result.events[0]?.snapshot?.title).toBe('disk\uFFFDfull');
    expect(JSON.stringify(result.events)).not.toContain('\\u0000');
  });
});

describe(`${normalisePagerDuty.name} with lone surrogates`, () => {
  it('replaces lone UTF-16 surrogates, which PostgreSQL refuses in text and jsonb', () => {
    const result = normalisePagerDuty(pagerDutyIncidentEvent({ title: 'half \uD800 pair' }), {
      receivedAt: '2025-11-20T09:14:06.000Z',
    });
    expect(result.outcome).toBe('events');
    if (result.outcome !== 'events') return;
    expect(result.events[0]?.snapshot?.title).toBe('half \uFFFD pair');
  });

  it('makes the echoed type of an ignored event storable', () => {
    const payload = pagerDutyIncidentEvent({ eventType: 'service.\uD800\u0000' });
    const result = normalisePagerDuty(payload, { receivedAt: '2025-11-20T09:14:06.000Z' });
    expect(result.outcome).toBe('ignored');
    if (result.outcome !== 'ignored') return;
    expect(result.eventType).toBe('service.\uFFFD\uFFFD');
  });
});
