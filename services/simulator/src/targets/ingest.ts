import { createHash } from 'node:crypto';
import { alertmanagerFingerprint, DRILL_RUN_ID_LABEL, type Severity } from '@micro-oncall/incident-model';
import { signPagerDuty } from '@micro-oncall/incident-model/signatures';
import { createHttpClient, type Logger } from '@micro-oncall/service-kit';
import type { DrillAlert, DrillTarget } from './types.js';

export type IngestTargetOptions = {
  /** webhook-ingest's base URL. */
  url: string;
  timeoutMs: number;
  retries: number;
  logger: Logger;
} & ({ format: 'alertmanager'; basicAuth?: string; token?: string } | { format: 'pagerduty'; secret: string });

/** Go's zero time: Alertmanager's `endsAt` of an alert that is still firing. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Our severity → the priority names most PagerDuty accounts use (webhook-ingest maps them back). */
const PRIORITY: Readonly<Record<Severity, string>> = {
  critical: 'P1',
  high: 'P2',
  medium: 'P3',
  low: 'P4',
  info: 'P5',
};

/** A stable UUID-shaped id from `parts` (a repeated delivery of one event keeps its id). */
function stableUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A PagerDuty-looking id (`Q` + 13 upper-case characters) for the drill's incident. */
function pagerDutyIdFor(dedupKey: string): string {
  return `Q${createHash('sha256').update(dedupKey).digest('hex').slice(0, 13).toUpperCase()}`;
}

/**
 * Our own webhook-ingest, sent exactly what the provider would send and authenticated the way
 * that provider does: an Alertmanager webhook receiver payload (version 4) with the receiver's
 * basic auth or bearer token, or a PagerDuty v3 webhook signed with the subscription secret
 * (`X-PagerDuty-Signature: v1=<hmac>`). Deliveries are deduplicated by webhook-ingest (event
 * ids are stable per alert state), so repeating one is harmless.
 */
export function createIngestTarget(opts: IngestTargetOptions): DrillTarget {
  const authorization =
    opts.format === 'alertmanager'
      ? opts.basicAuth
        ? `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`
        : `Bearer ${opts.token ?? ''}`
      : undefined;
  const client = createHttpClient({
    name: 'webhook-ingest',
    baseUrl: opts.url,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    logger: opts.logger,
  });

  const sendAlertmanager = (status: 'firing' | 'resolved', alert: DrillAlert, endsAt: string) => {
    const alerts = [
      {
        status,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: alert.startsAt,
        endsAt,
        generatorURL: '',
        fingerprint: alertmanagerFingerprint(alert.labels),
      },
    ];
    return client.request({
      method: 'POST',
      path: '/v1/webhooks/alertmanager',
      headers: { authorization: authorization! },
      idempotent: true,
      body: {
        version: '4',
        groupKey: `{}:{${DRILL_RUN_ID_LABEL}="${alert.runId}"}`,
        truncatedAlerts: 0,
        status,
        receiver: 'micro-oncall-simulator',
        groupLabels: { [DRILL_RUN_ID_LABEL]: alert.runId },
        commonLabels: alert.labels,
        commonAnnotations: alert.annotations,
        externalURL: '',
        alerts,
      },
    });
  };

  const sendPagerDuty = (
    eventType: 'incident.triggered' | 'incident.priority_updated' | 'incident.resolved',
    alert: DrillAlert,
  ) => {
    const id = pagerDutyIdFor(alert.dedupKey);
    const service = { id: `P${id.slice(1, 7)}`, type: 'service_reference', summary: alert.service };
    const priority = PRIORITY[alert.severity];
    const body = JSON.stringify({
      event: {
        id: stableUuid(alert.dedupKey, eventType, alert.severity),
        event_type: eventType,
        resource_type: 'incident',
        occurred_at: new Date().toISOString(),
        agent: null,
        client: { name: 'micro-oncall simulator' },
        data: {
          id,
          type: 'incident',
          status: eventType === 'incident.resolved' ? 'resolved' : 'triggered',
          incident_key: alert.dedupKey,
          created_at: alert.startsAt,
          title: alert.annotations.summary,
          urgency: alert.severity === 'critical' || alert.severity === 'high' ? 'high' : 'low',
          resolve_reason: null,
          service,
          assignees: [],
          teams: [],
          priority: { id: `P${priority}`, type: 'priority_reference', summary: priority },
        },
      },
    });
    const secret = opts.format === 'pagerduty' ? opts.secret : '';
    return client.request({
      method: 'POST',
      path: '/v1/webhooks/pagerduty',
      // Signed over `body`; the client serialises the parsed copy back to exactly these bytes.
      headers: { 'x-pagerduty-signature': signPagerDuty(body, secret), 'content-type': 'application/json' },
      body: JSON.parse(body) as unknown,
      idempotent: true,
    });
  };

  return {
    kind: 'ingest',
    async fire(alert, previous) {
      if (opts.format === 'pagerduty') {
        await sendPagerDuty(previous ? 'incident.priority_updated' : 'incident.triggered', alert);
        return;
      }
      // Alertmanager: a new label set is a new alert; the old one resolves.
      if (previous) await sendAlertmanager('resolved', previous, new Date().toISOString());
      await sendAlertmanager('firing', alert, GO_ZERO_TIME);
    },
    async resolve(alert, previous) {
      if (opts.format === 'pagerduty') {
        await sendPagerDuty('incident.resolved', alert);
        return;
      }
      if (previous) await sendAlertmanager('resolved', previous, new Date().toISOString());
      await sendAlertmanager('resolved', alert, new Date().toISOString());
    },
  };
}
