import { createHmac } from 'node:crypto';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';

export interface DemoCredentials {
  pagerdutySecret: string;
  opsgenieToken: string;
  alertmanagerBasic: string;
}

/** Provider ids of the demo incidents, so the fake provider APIs know them. */
export const DEMO_PAGERDUTY_INCIDENTS = ['PDEMO01', 'PDEMO02', 'PDEMO03'];
export const DEMO_OPSGENIE_ALERTS = ['demo-og-1'];

/**
 * Demo incidents for `npm start`, sent through webhook-ingest exactly as the providers would
 * (signed, authenticated), so the demo exercises the real path end to end. Every time is relative
 * to `epoch`, the first start of this checkout's platform, so a restart sends the very same
 * deliveries (same event ids) and the platform drops them as replays: restarts add nothing.
 */
export async function sendDemoIncidents(ingestUrl: string, creds: DemoCredentials, epoch: number): Promise<number> {
  const minutesAgo = (m: number) => new Date(epoch - m * 60_000).toISOString();
  const requests: { path: string; body: unknown; headers: (raw: string) => Record<string, string> }[] = [];
  const pd = (body: unknown) =>
    requests.push({
      path: '/v1/webhooks/pagerduty',
      body,
      headers: (raw) => ({
        'x-pagerduty-signature': `v1=${createHmac('sha256', creds.pagerdutySecret).update(raw).digest('hex')}`,
      }),
    });
  const og = (body: unknown) =>
    requests.push({
      path: '/v1/webhooks/opsgenie',
      body,
      headers: () => ({ authorization: `Bearer ${creds.opsgenieToken}` }),
    });
  const am = (body: unknown) =>
    requests.push({
      path: '/v1/webhooks/alertmanager',
      body,
      headers: () => ({ authorization: `Basic ${Buffer.from(creds.alertmanagerBasic).toString('base64')}` }),
    });

  // Every event of one PagerDuty incident carries the whole incident, so each repeats it.
  type PdEventType = 'incident.triggered' | 'incident.acknowledged' | 'incident.resolved';
  const pdIncident =
    (
      incidentId: string,
      incidentNumber: number,
      title: string,
      priority: 'P1' | 'P3' | 'P4',
      createdMinutesAgo: number,
      assignee: { id: string; name: string },
      urgency: 'high' | 'low' = 'high',
    ) =>
    (eventType: PdEventType, minutes: number) =>
      pd(
        pagerDutyIncidentEvent({
          incidentId,
          incidentNumber,
          title,
          priority,
          urgency,
          assignee,
          eventType,
          occurredAt: minutesAgo(minutes),
          createdAt: minutesAgo(createdMinutesAgo),
        }),
      );
  const ada = { id: 'PDEV001', name: 'Ada Responder' };
  const grace = { id: 'PGRACE1', name: 'Grace Hopper' };
  const cards = pdIncident('PDEMO01', 4301, 'Card authorisations failing for 12% of EU traffic', 'P1', 14, ada);
  cards('incident.triggered', 14);
  cards('incident.acknowledged', 11);
  pdIncident(
    'PDEMO02',
    4302,
    'Refund queue backlog above 10k messages',
    'P3',
    45,
    grace,
    'low',
  )('incident.triggered', 45);
  const settlement = pdIncident('PDEMO03', 4303, 'Settlement batch finished late', 'P4', 180, grace);
  settlement('incident.triggered', 180);
  settlement('incident.resolved', 150);
  og(
    opsgenieWebhook({
      alertId: 'demo-og-1',
      alias: 'checkout-5xx',
      message: 'Checkout 5xx rate above 5% for 10 minutes',
      priority: 'P2',
      createdAtMs: epoch - 6 * 60_000,
      updatedAtNs: (epoch - 6 * 60_000) * 1e6,
    }),
  );
  am(
    alertmanagerWebhook({
      alerts: [
        {
          labels: { alertname: 'SearchIndexLagHigh', service: 'search', severity: 'warning' },
          annotations: { summary: 'Search index lag above 15 minutes' },
          startsAt: minutesAgo(3),
        },
        {
          labels: { alertname: 'KafkaDiskUsageHigh', service: 'event-bus', severity: 'critical' },
          annotations: { summary: 'Kafka broker disk usage above 90% (not in the catalogue: unowned)' },
          startsAt: minutesAgo(2),
        },
      ],
    }),
  );
  am(
    alertmanagerWebhook({
      alerts: [
        {
          labels: { alertname: 'SyntheticCheckoutProbe', service: 'checkout', severity: 'critical', drill: 'true' },
          annotations: { summary: '[DRILL] Synthetic checkout probe failing' },
          startsAt: minutesAgo(1),
        },
      ],
    }),
  );

  let accepted = 0;
  for (const r of requests) {
    const raw = JSON.stringify(r.body);
    const res = await fetch(`${ingestUrl}${r.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...r.headers(raw) },
      body: raw,
    });
    if (res.status !== 202) throw new Error(`demo webhook ${r.path} answered ${res.status}: ${await res.text()}`);
    accepted += 1;
  }
  return accepted;
}
