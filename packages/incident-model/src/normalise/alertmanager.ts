import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IncidentEvent } from '../events.js';
import {
  INCIDENT_LIMITS,
  type IncidentSnapshot,
  incidentIdFor,
  slugifyService,
  urgencyForSeverity,
} from '../incident.js';
import { DEFAULT_SEVERITY, severityFromName } from '../severity.js';
import { alertmanagerFingerprint } from './fingerprint.js';
import type { NormaliseContext, NormaliseResult, ValidationIssue } from './types.js';
import {
  boundedEventId,
  boundedLabels,
  boundedText,
  boundedTitle,
  emit,
  firstText,
  invalid,
  linkOrNull,
  links,
  MAX_ISSUES,
  neverThrow,
  ProviderTimestamp,
  toIssues,
  urlOrNull,
} from './util.js';

const AlertStatus = z.enum(['firing', 'resolved']);

const Alert = z.looseObject({
  status: AlertStatus.nullish(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).nullish(),
  startsAt: ProviderTimestamp,
  endsAt: ProviderTimestamp.nullish(),
  generatorURL: z.string().nullish(),
  fingerprint: z.string().min(1).max(64).nullish(),
});
type Alert = z.infer<typeof Alert>;

const Webhook = z.looseObject({
  version: z.literal('4'),
  status: AlertStatus.nullish(),
  receiver: z.string().nullish(),
  groupKey: z.string().nullish(),
  externalURL: z.string().nullish(),
  /** Alerts of the group left out of this notification (the receiver's `max_alerts`). */
  truncatedAlerts: z.number().int().min(0).nullish(),
  alerts: z.array(Alert).min(1),
});
type Webhook = z.infer<typeof Webhook>;

/** What an Alertmanager webhook (version 4) must look like to be normalised (API contracts). */
export const AlertmanagerWebhookPayload = Webhook;

function toEvent(webhook: Webhook, alert: Alert, index: number): IncidentEvent | ValidationIssue {
  const status = alert.status ?? webhook.status;
  if (!status) return { path: `alerts.${index}.status`, message: 'Invalid input: expected "firing" or "resolved"' };
  if (status === 'resolved' && !alert.endsAt) {
    return { path: `alerts.${index}.endsAt`, message: 'A resolved alert needs endsAt' };
  }
  const fingerprint = alert.fingerprint ?? alertmanagerFingerprint(alert.labels);
  const labels = alert.labels;
  const annotations = alert.annotations ?? {};
  const severity = severityFromName(labels.severity) ?? DEFAULT_SEVERITY;
  const occurredAt = status === 'resolved' ? (alert.endsAt as string) : alert.startsAt;

  const snapshot: IncidentSnapshot = {
    title: boundedTitle(annotations.summary, annotations.description, labels.alertname, `Alert ${fingerprint}`),
    service: slugifyService(firstText(labels.service, labels.app, labels.job) ?? ''),
    severity,
    providerSeverity: boundedText(firstText(labels.severity), INCIDENT_LIMITS.providerSeverity),
    urgency: urgencyForSeverity(severity),
    labels: boundedLabels(Object.entries(labels)),
    links: links(
      linkOrNull(alert.generatorURL, 'Source'),
      linkOrNull(annotations.runbook_url, 'Runbook'),
      linkOrNull(webhook.externalURL, 'Alertmanager'),
    ),
    providerUrl: urlOrNull(webhook.externalURL),
    createdAt: alert.startsAt,
  };

  // Alertmanager re-sends a firing alert every group_interval with the same startsAt: same event id.
  const episode = status === 'resolved' ? `${alert.startsAt}:${alert.endsAt}` : alert.startsAt;
  // Said on every event of the notification: each incident's timeline shows that others were left out.
  const truncatedAlerts = webhook.truncatedAlerts ?? 0;
  const groupKey = boundedGroupKey(webhook.groupKey);
  return {
    eventId: boundedEventId('alertmanager', `${fingerprint}:${status}:${episode}`),
    kind: status === 'resolved' ? 'resolved' : 'triggered',
    providerEventType: status,
    occurredAt,
    incidentId: incidentIdFor('alertmanager', fingerprint),
    provider: 'alertmanager',
    providerId: fingerprint,
    dedupKey: fingerprint,
    actor: { type: 'integration', id: null, name: 'Alertmanager' },
    note: null,
    drill: labels.drill === 'true',
    snapshot,
    ...(truncatedAlerts > 0 ? { change: { truncatedAlerts } } : {}),
    ...(groupKey ? { groupKey } : {}),
  };
}

/**
 * The notification's group key as the event carries it: verbatim when it fits the limit, else a
 * `sha256:` digest of it (still one value per group, never cut into another group's key).
 */
function boundedGroupKey(groupKey: string | null | undefined): string | null {
  if (!groupKey) return null;
  if (groupKey.length <= INCIDENT_LIMITS.groupKey) return groupKey;
  return `sha256:${createHash('sha256').update(groupKey, 'utf8').digest('hex')}`;
}

/**
 * Alertmanager webhook (version "4") → one incident event per alert: firing → triggered,
 * resolved → resolved. An empty `alerts` array, or any invalid alert, makes the payload invalid.
 * `truncatedAlerts` > 0 is carried on every event as `change.truncatedAlerts`, the notification's
 * `groupKey` as `groupKey` (escalation groups the alerts by it). Never throws.
 */
export function normaliseAlertmanager(body: unknown, _ctx: NormaliseContext): NormaliseResult {
  return neverThrow(() => {
    const parsed = Webhook.safeParse(body);
    if (!parsed.success) return invalid(toIssues(parsed.error));
    const events: IncidentEvent[] = [];
    const issues: ValidationIssue[] = [];
    for (const [index, alert] of parsed.data.alerts.entries()) {
      const result = toEvent(parsed.data, alert, index);
      if ('eventId' in result) events.push(result);
      else issues.push(result);
    }
    return issues.length > 0 ? invalid(issues.slice(0, MAX_ISSUES)) : emit(events);
  });
}
