import { incidentIdFor } from '@micro-oncall/incident-model';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, getJson, pagerDutySignature, postJson, startTestPlatform, type TestPlatform } from './helpers.js';

type Incident = { id: string; title: string; service: string; status: string; severity: string; provider: string };
type Ownership = { owned: boolean; owners: string[]; oncall: string | null; fallback: { name: string } };
type Detail = {
  incident: Incident;
  ownership: Ownership;
  events: { eventId: string; kind: string; change: Record<string, unknown> | null }[];
};

describe('webhook → Kafka → escalation pipeline', () => {
  let p: TestPlatform;
  const ingest = (path: string) => `${p.service('webhook-ingest').url}${path}`;
  const incident = (id: string) => getJson<Detail>(`${p.service('escalation').url}/v1/incidents/${id}`, p.viewerToken);
  const waitForEvents = (id: string, count: number) =>
    eventually(`${count} events on ${id}`, async () => {
      const res = await incident(id);
      return res.status === 200 && res.body.events.length >= count ? res.body : undefined;
    });

  const sendPagerDuty = (payload: unknown, secret = p.secrets.pagerduty) => {
    const body = JSON.stringify(payload);
    return postJson(ingest('/v1/webhooks/pagerduty'), body, {
      'x-pagerduty-signature': pagerDutySignature(body, secret),
    });
  };

  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(async () => {
    await p?.stopAll();
  });

  it('turns a signed PagerDuty v3 webhook into an owned incident readable through the API', async () => {
    const res = await sendPagerDuty(
      pagerDutyIncidentEvent({ incidentId: 'PD0E2E1', title: 'Card payments failing', priority: 'P1' }),
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'accepted', duplicates: 0 });

    const id = incidentIdFor('pagerduty', 'PD0E2E1');
    const detail = await waitForEvents(id, 1);
    expect(detail.incident).toMatchObject({
      title: 'Card payments failing',
      service: 'payments-api',
      status: 'triggered',
      severity: 'critical',
      providerSeverity: 'P1',
      provider: 'pagerduty',
    });
    expect(detail.ownership).toMatchObject({ owned: true, oncall: '@payments-oncall' });
    expect(detail.ownership.owners).toContain('alice@example.com');
  });

  it('follows the incident through acknowledge and resolve in order', async () => {
    for (const eventType of ['incident.acknowledged', 'incident.resolved'] as const) {
      const occurredAt =
        eventType === 'incident.acknowledged' ? '2025-11-20T09:20:00.000Z' : '2025-11-20T09:40:00.000Z';
      const res = await sendPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PD0E2E1', eventType, occurredAt }));
      expect(res.status).toBe(202);
    }
    const detail = await waitForEvents(incidentIdFor('pagerduty', 'PD0E2E1'), 3);
    expect(detail.incident.status).toBe('resolved');
    expect(detail.events.map((e) => e.kind)).toEqual(['triggered', 'acknowledged', 'resolved']);
  });

  it('accepts an Opsgenie webhook with its bearer token and maps the owner from the service tag', async () => {
    const res = await postJson(ingest('/v1/webhooks/opsgenie'), opsgenieWebhook({ alertId: 'og-e2e-1' }), {
      authorization: `Bearer ${p.secrets.opsgenie}`,
    });
    expect(res.status).toBe(202);
    const detail = await waitForEvents(incidentIdFor('opsgenie', 'og-e2e-1'), 1);
    expect(detail.incident).toMatchObject({ service: 'checkout', provider: 'opsgenie', status: 'triggered' });
    expect(detail.ownership).toMatchObject({ owned: true, oncall: '@storefront-oncall' });
  });

  it('splits an Alertmanager group into one incident per alert, authenticated by basic auth', async () => {
    const payload = {
      ...alertmanagerWebhook({
        alerts: [
          { labels: { alertname: 'DiskFull', service: 'search', instance: 'search-1' } },
          { labels: { alertname: 'DiskFull', service: 'ledger', instance: 'ledger-1' } },
        ],
      }),
      // Alertmanager's max_alerts left four more alerts of the group out of this notification.
      truncatedAlerts: 4,
    };
    const truncatedCounter = async () => {
      const text = await (await fetch(ingest('/metrics'))).text();
      return Number(/^webhook_alerts_truncated_total(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const truncatedBefore = await truncatedCounter();
    const basic = Buffer.from(`${p.secrets.alertmanagerUser}:${p.secrets.alertmanagerPassword}`).toString('base64');
    const res = await postJson(ingest('/v1/webhooks/alertmanager'), payload, { authorization: `Basic ${basic}` });
    expect(res.status).toBe(202);
    const ids = (res.body!.events as { incidentId: string }[]).map((e) => e.incidentId);
    expect(ids).toHaveLength(2);

    const [search, ledger] = await Promise.all(ids.map((id) => waitForEvents(id, 1)));
    expect(search!.incident.service).toBe('search');
    expect(search!.ownership.owned).toBe(true);
    // A service the catalogue does not know is kept, marked unowned, with the fallback to call.
    expect(ledger!.incident.service).toBe('ledger');
    expect(ledger!.ownership).toMatchObject({ owned: false, owners: [], fallback: { name: 'SRE on-call' } });
    // Nothing is dropped silently: each timeline says alerts were left out, and ingest counts them once.
    expect(search!.events[0]?.change).toEqual({ truncatedAlerts: 4 });
    expect(await truncatedCounter()).toBe(truncatedBefore + 4);

    const list = await getJson<{ items: Incident[] }>(
      `${p.service('escalation').url}/v1/incidents?status=triggered&limit=50`,
      p.viewerToken,
    );
    expect(list.status).toBe(200);
    expect(list.body.items.map((i) => i.id)).toEqual(expect.arrayContaining(ids));
  });

  it('drops replays: the same webhook delivered again publishes nothing and adds no history', async () => {
    const payload = pagerDutyIncidentEvent({ incidentId: 'PD0E2E2', title: 'Replay me' });
    const first = await sendPagerDuty(payload);
    expect(first.status).toBe(202);
    const id = incidentIdFor('pagerduty', 'PD0E2E2');
    await waitForEvents(id, 1);
    for (let i = 0; i < 3; i += 1) {
      const again = await sendPagerDuty(payload);
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ status: 'accepted', duplicates: 1, events: [] });
    }
    // A later distinct event proves the consumer has caught up past anything the replays could have sent.
    await sendPagerDuty(
      pagerDutyIncidentEvent({
        incidentId: 'PD0E2E2',
        eventType: 'incident.acknowledged',
        occurredAt: '2025-11-20T10:00:00.000Z',
      }),
    );
    const detail = await waitForEvents(id, 2);
    expect(detail.events.map((e) => e.kind)).toEqual(['triggered', 'acknowledged']);
  });

  it('rejects a bad signature with 401 and stores nothing', async () => {
    const payload = pagerDutyIncidentEvent({ incidentId: 'PD0E2EBAD', title: 'Forged' });
    const res = await sendPagerDuty(payload, 'not-the-secret');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'unauthenticated' } });

    // A signed event sent afterwards on the same topic arrives; the forged one never does.
    await sendPagerDuty(pagerDutyIncidentEvent({ incidentId: 'PD0E2EGOOD' }));
    await waitForEvents(incidentIdFor('pagerduty', 'PD0E2EGOOD'), 1);
    const forged = await incident(incidentIdFor('pagerduty', 'PD0E2EBAD'));
    expect(forged.status).toBe(404);
  });

  it('refuses the incident API without a valid bearer token', async () => {
    const res = await fetch(`${p.service('escalation').url}/v1/incidents`);
    expect(res.status).toBe(401);
    const noRole = await p.issuer.token({ sub: 'nobody', roles: [] });
    expect((await getJson(`${p.service('escalation').url}/v1/incidents`, noRole)).status).toBe(403);
  });
});
