import { describe, expect, it } from 'vitest';
import { alertmanagerWebhook } from '../fixtures/index.js';
import { incidentIdFor } from '../incident.js';
import { normaliseAlertmanager } from './alertmanager.js';
import { alertmanagerFingerprint } from './fingerprint.js';
import { copy, ctx, eventsOf, issuePaths, onlyEvent } from './test-helpers.js';

type Payload = ReturnType<typeof alertmanagerWebhook>;

describe(normaliseAlertmanager.name, () => {
  it('emits one event per alert: firing as triggered, resolved as resolved', () => {
    const payload = alertmanagerWebhook({ alerts: [{ status: 'firing' }, { status: 'resolved' }, {}] });
    const events = eventsOf(normaliseAlertmanager(payload, ctx));
    expect(events.map((event) => [event.kind, event.providerEventType])).toEqual([
      ['triggered', 'firing'],
      ['resolved', 'resolved'],
      ['triggered', 'firing'],
    ]);
    expect(new Set(events.map((event) => event.incidentId)).size).toBe(3);
  });

  it('identifies the incident by the alert fingerprint', () => {
    const payload = alertmanagerWebhook({ alerts: [{ fingerprint: '3b5f1a9c2d7e4f60' }] });
    expect(onlyEvent(normaliseAlertmanager(payload, ctx))).toMatchObject({
      eventId: 'alertmanager:3b5f1a9c2d7e4f60:firing:2025-11-20T09:13:33.214Z',
      provider: 'alertmanager',
      providerId: '3b5f1a9c2d7e4f60',
      dedupKey: '3b5f1a9c2d7e4f60',
      incidentId: incidentIdFor('alertmanager', '3b5f1a9c2d7e4f60'),
      occurredAt: '2025-11-20T09:13:33.214Z',
      actor: { type: 'integration', id: null, name: 'Alertmanager' },
    });
  });

  it('computes the fingerprint like Alertmanager when it is missing', () => {
    const withFingerprint = onlyEvent(normaliseAlertmanager(alertmanagerWebhook(), ctx));
    const without = onlyEvent(normaliseAlertmanager(alertmanagerWebhook({ alerts: [{ fingerprint: null }] }), ctx));
    expect(without.providerId).toBe(withFingerprint.providerId);
    expect(without.providerId).toBe(alertmanagerFingerprint(alertmanagerWebhook().alerts[0]!.labels));
  });

  it('gives a re-sent firing alert the same event id even when annotations and group fields changed', () => {
    const first = alertmanagerWebhook({ alerts: [{}, { labels: { instance: 'b' } }] });
    const repeat = copy(first);
    repeat.alerts.reverse();
    repeat.alerts[1]!.annotations.summary = 'Checkout error rate above 7%';
    repeat.groupKey = '{}:{alertname="other"}';
    const ids = (payload: Payload) =>
      eventsOf(normaliseAlertmanager(payload, ctx))
        .map((event) => event.eventId)
        .sort();
    expect(ids(repeat)).toEqual(ids(first));
  });

  it('gives a new firing episode and its resolution distinct event ids', () => {
    const firing = onlyEvent(normaliseAlertmanager(alertmanagerWebhook(), ctx));
    const resolved = onlyEvent(normaliseAlertmanager(alertmanagerWebhook({ status: 'resolved' }), ctx));
    const refiring = onlyEvent(
      normaliseAlertmanager(alertmanagerWebhook({ alerts: [{ startsAt: '2025-11-20T11:00:00.000Z' }] }), ctx),
    );
    expect(resolved.eventId).toBe(
      `alertmanager:${firing.providerId}:resolved:2025-11-20T09:13:33.214Z:2025-11-20T09:28:33.214Z`,
    );
    expect(resolved.occurredAt).toBe('2025-11-20T09:28:33.214Z');
    expect(new Set([firing.eventId, resolved.eventId, refiring.eventId]).size).toBe(3);
    expect(refiring.incidentId).toBe(firing.incidentId);
  });

  it('maps labels and annotations to a snapshot', () => {
    const payload = alertmanagerWebhook();
    expect(onlyEvent(normaliseAlertmanager(payload, ctx)).snapshot).toEqual({
      title: 'Checkout error rate above 5%',
      service: 'checkout',
      severity: 'critical',
      providerSeverity: 'critical',
      urgency: 'high',
      labels: payload.alerts[0]!.labels,
      links: [
        { href: payload.alerts[0]!.generatorURL, text: 'Source' },
        { href: 'https://runbooks.acme.example/checkout/high-error-rate', text: 'Runbook' },
        { href: 'http://alertmanager.monitoring.svc:9093', text: 'Alertmanager' },
      ],
      providerUrl: 'http://alertmanager.monitoring.svc:9093',
      createdAt: '2025-11-20T09:13:33.214Z',
    });
  });

  it.each([
    ['the summary', {}, 'Checkout error rate above 5%'],
    [
      'the description',
      { summary: undefined },
      'POST /checkout has returned 5xx for more than 5% of requests for 10 minutes.',
    ],
    ['the alert name', { summary: undefined, description: undefined }, 'CheckoutHighErrorRate'],
  ])('takes the title from %s', (_, annotations, title) => {
    const payload = alertmanagerWebhook({ alerts: [{ annotations }] });
    expect(onlyEvent(normaliseAlertmanager(payload, ctx)).snapshot?.title).toBe(title);
  });

  it.each([
    ['service', { service: 'Checkout API', app: 'web', job: 'node' }, 'checkout-api'],
    ['app', { service: undefined, app: 'web', job: 'node' }, 'web'],
    ['job', { service: undefined, app: undefined, job: 'node-exporter' }, 'node-exporter'],
    ['nothing', { service: undefined, app: undefined, job: undefined }, 'unknown'],
  ])('takes the service from %s', (_, labels, service) => {
    const payload = alertmanagerWebhook({ alerts: [{ labels }] });
    expect(onlyEvent(normaliseAlertmanager(payload, ctx)).snapshot?.service).toBe(service);
  });

  it.each([
    ['critical', 'critical', 'high'],
    ['error', 'high', 'high'],
    ['warning', 'medium', 'low'],
    ['info', 'info', 'low'],
    ['P1', 'critical', 'high'],
    ['page-me', 'medium', 'low'],
    [undefined, 'medium', 'low'],
  ])('maps severity label %s to %s / %s', (severity, expected, urgency) => {
    const payload = alertmanagerWebhook({ alerts: [{ labels: { severity } }] });
    expect(onlyEvent(normaliseAlertmanager(payload, ctx)).snapshot).toMatchObject({
      severity: expected,
      providerSeverity: severity ?? null,
      urgency,
    });
  });

  it('says on every event when Alertmanager left alerts out of the notification (truncatedAlerts)', () => {
    const payload = { ...alertmanagerWebhook({ alerts: [{}, { labels: { instance: 'db-2' } }] }), truncatedAlerts: 12 };
    expect(eventsOf(normaliseAlertmanager(payload, ctx)).map((event) => event.change)).toEqual([
      { truncatedAlerts: 12 },
      { truncatedAlerts: 12 },
    ]);
    const complete = { ...alertmanagerWebhook(), truncatedAlerts: 0 };
    expect(onlyEvent(normaliseAlertmanager(complete, ctx)).change).toBeUndefined();
  });

  it('carries the notification group key on every event so the alerts of one group can be shown together', () => {
    const payload = alertmanagerWebhook({
      alerts: [
        { labels: { alertname: 'PodCrashLooping', pod: 'api-1' } },
        { labels: { alertname: 'PodCrashLooping', pod: 'api-2' } },
      ],
    });
    expect(eventsOf(normaliseAlertmanager(payload, ctx)).map((event) => event.groupKey)).toEqual([
      '{}:{alertname="PodCrashLooping"}',
      '{}:{alertname="PodCrashLooping"}',
    ]);
    const withoutKey = { ...alertmanagerWebhook(), groupKey: null };
    expect(onlyEvent(normaliseAlertmanager(withoutKey, ctx))).not.toHaveProperty('groupKey');
  });

  it('carries a group key longer than the limit as a digest, the same for every alert of the group', () => {
    const long = `{}:{alertname="x", pod=~"${'a'.repeat(600)}"}`;
    const keys = eventsOf(
      normaliseAlertmanager(
        { ...alertmanagerWebhook({ alerts: [{}, { labels: { pod: 'b' } }] }), groupKey: long },
        ctx,
      ),
    ).map((event) => event.groupKey);
    expect(keys[0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('marks alerts labelled drill="true" as drills', () => {
    const payload = alertmanagerWebhook({ alerts: [{ labels: { drill: 'true' } }, { labels: { drill: 'false' } }] });
    expect(eventsOf(normaliseAlertmanager(payload, ctx)).map((event) => event.drill)).toEqual([true, false]);
  });

  it('falls back to the group status when an alert has none', () => {
    const payload = copy(alertmanagerWebhook({ status: 'resolved' }));
    delete (payload.alerts[0] as { status?: string }).status;
    expect(onlyEvent(normaliseAlertmanager(payload, ctx)).kind).toBe('resolved');
  });

  it.each([
    ['another version', (p: Payload) => Object.assign(p, { version: '3' }), 'version'],
    ['no alerts', (p: Payload) => Object.assign(p, { alerts: [] }), 'alerts'],
    [
      'a label that is not text',
      (p: Payload) => Object.assign(p.alerts[0]!.labels, { severity: 2 }),
      'alerts.0.labels.severity',
    ],
    ['an unknown alert status', (p: Payload) => Object.assign(p.alerts[0]!, { status: 'pending' }), 'alerts.0.status'],
    ['a missing startsAt', (p: Payload) => delete (p.alerts[0] as { startsAt?: string }).startsAt, 'alerts.0.startsAt'],
    [
      'a resolved alert without endsAt',
      (p: Payload) => {
        Object.assign(p.alerts[0]!, { status: 'resolved' });
        delete (p.alerts[0] as { endsAt?: string }).endsAt;
      },
      'alerts.0.endsAt',
    ],
    [
      'an alert without any status',
      (p: Payload) => {
        delete (p as { status?: string }).status;
        delete (p.alerts[0] as { status?: string }).status;
      },
      'alerts.0.status',
    ],
  ])('rejects %s with the field path', (_, mutate, path) => {
    const payload = copy(alertmanagerWebhook());
    mutate(payload);
    expect(issuePaths(normaliseAlertmanager(payload, ctx))).toContain(path);
  });

  it('rejects the whole payload when one of several alerts is invalid', () => {
    const payload = copy(alertmanagerWebhook({ alerts: [{}, {}] }));
    Object.assign(payload.alerts[1]!, { labels: 'x' });
    expect(issuePaths(normaliseAlertmanager(payload, ctx))).toEqual(['alerts.1.labels']);
  });

  it('cuts an over-long summary and label values', () => {
    const payload = alertmanagerWebhook({
      alerts: [{ annotations: { summary: 's'.repeat(2000) }, labels: { pod: 'p'.repeat(5000) } }],
    });
    const { snapshot } = onlyEvent(normaliseAlertmanager(payload, ctx));
    expect(snapshot?.title).toHaveLength(1024);
    expect(snapshot?.labels.pod).toHaveLength(2048);
  });

  it('drops links too long to be usable rather than cutting them', () => {
    const payload = alertmanagerWebhook({ alerts: [{ generatorURL: `http://prom/${'q'.repeat(3000)}` }] });
    const texts = onlyEvent(normaliseAlertmanager(payload, ctx)).snapshot?.links.map((link) => link.text);
    expect(texts).toEqual(['Runbook', 'Alertmanager']);
  });
});
