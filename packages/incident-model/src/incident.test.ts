import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  Incident,
  IncidentEventKind,
  IncidentId,
  incidentIdFor,
  ServiceSlug,
  slugifyService,
  statusAfter,
} from './incident.js';

describe(incidentIdFor.name, () => {
  it('is inc_ plus the first 24 hex characters of sha256(provider \\n providerId)', () => {
    const expected = createHash('sha256').update('pagerduty\nQ2VU6LUZKJ7CQT').digest('hex').slice(0, 24);
    expect(incidentIdFor('pagerduty', 'Q2VU6LUZKJ7CQT')).toBe(`inc_${expected}`);
    expect(IncidentId.safeParse(incidentIdFor('pagerduty', 'Q2VU6LUZKJ7CQT')).success).toBe(true);
  });

  it('gives the same id every time and different ids for different providers', () => {
    expect(incidentIdFor('opsgenie', 'abc')).toBe(incidentIdFor('opsgenie', 'abc'));
    expect(incidentIdFor('opsgenie', 'abc')).not.toBe(incidentIdFor('alertmanager', 'abc'));
    expect(incidentIdFor('opsgenie', 'abc')).not.toBe(incidentIdFor('opsgenie', 'abd'));
  });
});

describe(slugifyService.name, () => {
  it.each([
    ['payments-api', 'payments-api'],
    ['Payments API (EU)', 'payments-api-eu'],
    ['  --Checkout__Service--  ', 'checkout-service'],
    ['Zahlungsdienst Überweisung', 'zahlungsdienst-uberweisung'],
    ['a.b_c', 'a-b-c'],
    ['', 'unknown'],
    ['🔥🔥', 'unknown'],
  ])('turns %j into %j', (name, slug) => {
    expect(slugifyService(name)).toBe(slug);
  });

  it('cuts to 128 characters without a trailing dash', () => {
    const slug = slugifyService(`${'a'.repeat(127)} b`);
    expect(slug).toBe('a'.repeat(127));
    expect(slugifyService('x'.repeat(500))).toHaveLength(128);
  });

  it('always produces a valid service slug', () => {
    for (const name of ['-', 'ÄÖÜ', '__init__', 'A'.repeat(1000), '\u0000x\u0000']) {
      expect(ServiceSlug.safeParse(slugifyService(name)).success).toBe(true);
    }
  });
});

describe(statusAfter.name, () => {
  it.each([
    [null, 'triggered', 'triggered'],
    ['resolved', 'reopened', 'triggered'],
    ['acknowledged', 'unacknowledged', 'triggered'],
    ['triggered', 'acknowledged', 'acknowledged'],
    ['acknowledged', 'resolved', 'resolved'],
    ['acknowledged', 'escalated', 'acknowledged'],
    ['resolved', 'note_added', 'resolved'],
    [null, 'note_added', 'triggered'],
    [null, 'priority_changed', 'triggered'],
  ] as const)('from %s after %s is %s', (current, kind, expected) => {
    expect(statusAfter(current, kind)).toBe(expected);
  });

  it('keeps the current status for every kind that is not a state transition', () => {
    const transitions = new Set(['triggered', 'reopened', 'unacknowledged', 'acknowledged', 'resolved']);
    for (const kind of IncidentEventKind.options.filter((k) => !transitions.has(k))) {
      expect(statusAfter('acknowledged', kind)).toBe('acknowledged');
    }
  });
});

describe('Incident', () => {
  it('combines identity, snapshot and state', () => {
    const incident = {
      id: incidentIdFor('alertmanager', '24244ea637a7d5cd'),
      provider: 'alertmanager',
      providerId: '24244ea637a7d5cd',
      dedupKey: '24244ea637a7d5cd',
      title: 'Checkout error rate above 5%',
      service: 'checkout',
      severity: 'critical',
      urgency: 'high',
      labels: { alertname: 'CheckoutHighErrorRate' },
      links: [],
      providerUrl: null,
      createdAt: '2025-11-20T09:13:33.214Z',
      status: 'triggered',
      updatedAt: '2025-11-20T09:13:33.214Z',
      drill: false,
    };
    expect(Incident.parse(incident)).toEqual(incident);
    expect(Incident.safeParse({ ...incident, status: 'open' }).success).toBe(false);
    expect(Incident.safeParse({ ...incident, service: 'Checkout' }).success).toBe(false);
  });
});
