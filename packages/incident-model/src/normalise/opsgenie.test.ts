import { describe, expect, it } from 'vitest';
import { opsgenieWebhook } from '../fixtures/index.js';
import { incidentIdFor } from '../incident.js';
import { normaliseOpsgenie, OPSGENIE_ACTION_KINDS } from './opsgenie.js';
import { copy, ctx, issuePaths, onlyEvent } from './test-helpers.js';

type Payload = ReturnType<typeof opsgenieWebhook>;

describe(normaliseOpsgenie.name, () => {
  it.each(Object.entries(OPSGENIE_ACTION_KINDS))('maps %s to a %s event with a snapshot', (action, kind) => {
    const payload = opsgenieWebhook({
      action,
      alertId: 'a-1',
      alias: 'checkout-5xx',
      updatedAtNs: 1_763_630_163_512_000_000,
    });
    const event = onlyEvent(normaliseOpsgenie(payload, ctx));
    expect(event).toMatchObject({
      eventId: `opsgenie:a-1:${action}:1763630163512000000`,
      kind,
      providerEventType: action,
      provider: 'opsgenie',
      providerId: 'a-1',
      incidentId: incidentIdFor('opsgenie', 'a-1'),
      dedupKey: 'checkout-5xx',
      occurredAt: '2025-11-20T09:16:03.512Z',
    });
    expect(event.snapshot).toMatchObject({ title: payload.alert.message, service: 'checkout' });
  });

  it('maps the alert to a snapshot', () => {
    const payload = opsgenieWebhook({ priority: 'P1', tags: ['service:Payments API', 'team:payments'] });
    expect(onlyEvent(normaliseOpsgenie(payload, ctx)).snapshot).toEqual({
      title: 'Checkout error rate above 5% for 10 minutes',
      service: 'payments-api',
      severity: 'critical',
      providerSeverity: 'P1',
      assignees: [],
      urgency: 'high',
      labels: {
        opsgenie_tiny_id: '1791',
        opsgenie_alias: 'checkout-error-rate',
        opsgenie_entity: 'checkout',
        opsgenie_source: 'Prometheus',
        opsgenie_integration: 'Micro-oncall webhook',
        opsgenie_priority: 'P1',
        opsgenie_teams: 'checkout-team',
        opsgenie_tags: 'service:Payments API, team:payments',
      },
      links: [],
      providerUrl: null,
      createdAt: '2025-11-20T09:14:03.512Z',
    });
  });

  it('tells two acknowledgements of one alert apart by updatedAt, and replays by nothing', () => {
    const first = opsgenieWebhook({ action: 'Acknowledge', updatedAtNs: 1_763_630_163_512_000_000 });
    const second = opsgenieWebhook({ action: 'Acknowledge', updatedAtNs: 1_763_630_763_512_000_000 });
    const a = onlyEvent(normaliseOpsgenie(first, ctx));
    expect(onlyEvent(normaliseOpsgenie(second, ctx)).eventId).not.toBe(a.eventId);
    expect(normaliseOpsgenie(JSON.parse(JSON.stringify(first)), ctx)).toEqual(normaliseOpsgenie(first, ctx));
  });

  it('derives a stable event id when updatedAt is missing', () => {
    const note1 = opsgenieWebhook({ action: 'AddNote', updatedAtNs: null, note: 'first' });
    const note2 = opsgenieWebhook({ action: 'AddNote', updatedAtNs: null, note: 'second' });
    const id1 = onlyEvent(normaliseOpsgenie(note1, ctx)).eventId;
    expect(onlyEvent(normaliseOpsgenie(copy(note1), { receivedAt: '2030-01-01T00:00:00.000Z' })).eventId).toBe(id1);
    expect(onlyEvent(normaliseOpsgenie(note2, ctx)).eventId).not.toBe(id1);
    expect(id1).toMatch(/^opsgenie:70413a06-38d6-4c85-92b8-5ebc900d42e2:AddNote:h[0-9a-f]{32}$/);
  });

  it('takes occurredAt from updatedAt, else createdAt, else the receive time', () => {
    const withUpdated = opsgenieWebhook({ updatedAtNs: 1_763_630_100_000_000_000 });
    expect(onlyEvent(normaliseOpsgenie(withUpdated, ctx)).occurredAt).toBe('2025-11-20T09:15:00.000Z');
    const withCreated = opsgenieWebhook({ updatedAtNs: null });
    expect(onlyEvent(normaliseOpsgenie(withCreated, ctx)).occurredAt).toBe('2025-11-20T09:14:03.512Z');
    const neither = copy(withCreated) as Partial<Payload['alert']> & Payload;
    delete (neither.alert as Partial<Payload['alert']>).createdAt;
    const event = onlyEvent(normaliseOpsgenie(neither, ctx));
    expect(event.occurredAt).toBe(ctx.receivedAt);
    expect(event.snapshot?.createdAt).toBe(ctx.receivedAt);
  });

  it('reads an updatedAt in milliseconds as milliseconds', () => {
    const payload = opsgenieWebhook({ updatedAtNs: 1_763_630_100_000 });
    expect(onlyEvent(normaliseOpsgenie(payload, ctx)).occurredAt).toBe('2025-11-20T09:15:00.000Z');
  });

  it('uses the alert id as dedup key when there is no alias', () => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ alias: null, alertId: 'x-9' }), ctx)).dedupKey).toBe('x-9');
  });

  it.each([
    ['a service: tag', { tags: ['env:prod', 'Service:Billing'], entity: 'ledger', teams: ['finance'] }, 'billing'],
    ['the entity', { tags: ['env:prod'], entity: 'Ledger Core', teams: ['finance'] }, 'ledger-core'],
    ['the first team', { tags: [], entity: '', teams: ['Finance Ops', 'sre'] }, 'finance-ops'],
    ['nothing', { tags: [], entity: '', teams: [] }, 'unknown'],
  ])('takes the service from %s', (_, overrides, service) => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook(overrides), ctx)).snapshot?.service).toBe(service);
  });

  it.each([
    ['priority first', { priority: 'P5', tags: ['severity:critical'] }, 'info', 'low'],
    ['a severity: tag without priority', { priority: null, tags: ['severity:critical'] }, 'critical', 'high'],
    ['a priority name in a severity: tag', { priority: null, tags: ['severity:P2'] }, 'high', 'high'],
    ['the default without either', { priority: null, tags: ['env:prod'] }, 'medium', 'low'],
  ] as const)('takes the severity from %s', (_, overrides, severity, urgency) => {
    const event = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ ...overrides, tags: [...overrides.tags] }), ctx));
    expect(event.snapshot).toMatchObject({ severity, urgency, providerSeverity: overrides.priority });
  });

  it.each([
    ['P1', 'critical'],
    ['P2', 'high'],
    ['P3', 'medium'],
    ['P4', 'low'],
    ['P5', 'info'],
  ] as const)('names priority %s %s and keeps the priority beside it', (priority, severity) => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ priority }), ctx)).snapshot).toMatchObject({
      severity,
      providerSeverity: priority,
    });
  });

  it('takes the owner as the assignee, and says who an ownership change went to', () => {
    const owned = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'AssignOwnership' }), ctx));
    const grace = [{ id: null, name: 'grace.hopper@acme.example' }];
    expect(owned.snapshot?.assignees).toEqual(grace);
    expect(owned.change).toEqual({ assignees: grace });
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'TakeOwnership' }), ctx)).change).toEqual({
      assignees: grace,
    });
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Acknowledge' }), ctx)).change).toBeUndefined();
  });

  it('says which escalation an Escalate went through', () => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Escalate' }), ctx)).change).toEqual({
      escalationPolicy: 'checkout_escalation',
    });
  });

  it.each([
    [['drill'], true],
    [['Micro-Oncall:Drill', 'service:checkout'], true],
    [['service:checkout', 'drills-team'], false],
  ])('with tags %j is drill=%s', (tags, drill) => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ tags }), ctx)).drill).toBe(drill);
  });

  it('maps System as the system actor and people as users', () => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Create' }), ctx)).actor).toEqual({
      type: 'system',
      id: null,
      name: 'System',
    });
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Acknowledge' }), ctx)).actor).toMatchObject({
      type: 'user',
      name: 'Grace Hopper',
    });
  });

  it('carries the note of AddNote', () => {
    const event = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'AddNote', note: 'Rolled back' }), ctx));
    expect(event).toMatchObject({ kind: 'note_added', note: 'Rolled back' });
  });

  it.each(['Delete', 'RunDiagnostics', 'create'])('ignores the action %s and names it', (action) => {
    expect(normaliseOpsgenie(opsgenieWebhook({ action }), ctx)).toMatchObject({
      outcome: 'ignored',
      eventType: action,
    });
  });

  it.each([
    ['a missing alertId', (p: Payload) => delete (p.alert as Partial<Payload['alert']>).alertId, 'alert.alertId'],
    ['tags that are not a list', (p: Payload) => Object.assign(p.alert, { tags: 'drill' }), 'alert.tags'],
    ['a tag that is not text', (p: Payload) => Object.assign(p.alert, { tags: ['ok', 7] }), 'alert.tags.1'],
    ['a missing message', (p: Payload) => delete (p.alert as Partial<Payload['alert']>).message, 'alert.message'],
    ['a missing alert', (p: Payload) => delete (p as Partial<Payload>).alert, 'alert'],
    ['a missing action', (p: Payload) => delete (p as Partial<Payload>).action, 'action'],
    [
      'an updatedAt far beyond year 9999',
      (p: Payload) => Object.assign(p.alert, { updatedAt: 1e30 }),
      'alert.updatedAt',
    ],
    ['a negative createdAt', (p: Payload) => Object.assign(p.alert, { createdAt: -5 }), 'alert.createdAt'],
  ])('rejects %s with the field path', (_, mutate, path) => {
    const payload = copy(opsgenieWebhook({ action: 'Acknowledge' }));
    mutate(payload);
    expect(issuePaths(normaliseOpsgenie(payload, ctx))).toContain(path);
  });

  it('cuts an over-long message to 1024 characters', () => {
    const { snapshot } = onlyEvent(normaliseOpsgenie(opsgenieWebhook({ message: 'm'.repeat(3000) }), ctx));
    expect(snapshot?.title).toHaveLength(1024);
    expect(snapshot?.title.endsWith('…')).toBe(true);
  });

  it('falls back to the alias as title when the message is blank', () => {
    expect(onlyEvent(normaliseOpsgenie(opsgenieWebhook({ message: '  ' }), ctx)).snapshot?.title).toBe(
      'checkout-error-rate',
    );
  });
});
