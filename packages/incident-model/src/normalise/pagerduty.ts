import { z } from 'zod';
import type { Actor, IncidentEvent, IncidentEventChange } from '../events.js';
import type { IncidentEventKind } from '../incident.js';
import {
  type Assignee,
  INCIDENT_LIMITS,
  type IncidentSnapshot,
  incidentIdFor,
  slugifyService,
  type Urgency,
  urgencyForSeverity,
} from '../incident.js';
import { severityFromName } from '../severity.js';
import type { NormaliseContext, NormaliseResult } from './types.js';
import {
  boundedEventId,
  boundedLabels,
  boundedText,
  boundedTitle,
  emit,
  firstText,
  invalid,
  isDrillTitle,
  linkOrNull,
  links,
  neverThrow,
  ProviderTimestamp,
  toIssues,
  truncate,
  urlOrNull,
} from './util.js';

/** PagerDuty Webhooks v3 incident event types → our event kinds (all carry the incident in `data`). */
export const PAGERDUTY_INCIDENT_EVENT_KINDS: Readonly<Record<string, IncidentEventKind>> = {
  'incident.triggered': 'triggered',
  'incident.acknowledged': 'acknowledged',
  'incident.unacknowledged': 'unacknowledged',
  'incident.resolved': 'resolved',
  'incident.reopened': 'reopened',
  'incident.escalated': 'escalated',
  'incident.reassigned': 'reassigned',
  'incident.delegated': 'delegated',
  'incident.priority_updated': 'priority_changed',
};

const NOTE_EVENT_TYPE = 'incident.annotated';

const IGNORED_REASONS: Readonly<Record<string, string>> = {
  'incident.responder.added': 'responder requests do not change the incident state',
  'incident.responder.replied': 'responder replies do not change the incident state',
  'incident.status_update_published': 'status updates are stakeholder communication, not incident state',
};

const Head = z.looseObject({
  event: z.looseObject({ event_type: z.string().min(1) }),
});

const Reference = z.looseObject({
  id: z.string().nullish(),
  type: z.string().nullish(),
  summary: z.string().nullish(),
  html_url: z.string().nullish(),
});
type Reference = z.infer<typeof Reference>;

const IncidentData = z.looseObject({
  id: z.string().min(1).max(INCIDENT_LIMITS.providerId),
  type: z.string().nullish(),
  html_url: z.string().nullish(),
  number: z.number().int().nullish(),
  status: z.string().nullish(),
  incident_key: z.string().max(INCIDENT_LIMITS.dedupKey).nullish(),
  created_at: ProviderTimestamp.nullish(),
  title: z.string(),
  urgency: z.string().nullish(),
  service: Reference.nullish(),
  assignees: z.array(Reference).nullish(),
  escalation_policy: Reference.nullish(),
  teams: z.array(Reference).nullish(),
  priority: Reference.nullish(),
  // Not documented for webhooks (the REST API's incident has it): taken when it is a level, else ignored.
  escalation_level: z.unknown().optional(),
  conference_bridge: z
    .looseObject({ conference_url: z.string().nullish(), conference_number: z.string().nullish() })
    .nullish(),
});

const NoteData = z.looseObject({
  type: z.string().nullish(),
  id: z.string().nullish(),
  content: z.string(),
  trimmed: z.boolean().nullish(),
  incident: z.looseObject({
    id: z.string().min(1).max(INCIDENT_LIMITS.providerId),
    summary: z.string().nullish(),
    html_url: z.string().nullish(),
  }),
});

const eventShape = {
  id: z.string().min(1).max(INCIDENT_LIMITS.eventId),
  event_type: z.string(),
  resource_type: z.string().nullish(),
  occurred_at: ProviderTimestamp,
  agent: Reference.nullish(),
};

const IncidentWebhook = z.looseObject({ event: z.looseObject({ ...eventShape, data: IncidentData }) });
const NoteWebhook = z.looseObject({ event: z.looseObject({ ...eventShape, data: NoteData }) });

/** What a PagerDuty v3 webhook must look like to be normalised (documentation and API contracts). */
export const PagerDutyWebhookPayload = z.union([IncidentWebhook, NoteWebhook]);

function actorFrom(agent: Reference | null | undefined): Actor {
  if (!agent) return { type: 'system', id: null, name: null };
  const id = boundedText(agent.id, INCIDENT_LIMITS.actorField);
  const name = boundedText(agent.summary, INCIDENT_LIMITS.actorField);
  if (agent.type === 'user_reference' || agent.type === 'user') return { type: 'user', id, name };
  // service_reference (Events API / integrations), api tokens, apps and anything new.
  return { type: 'integration', id, name: name ?? boundedText(agent.type, INCIDENT_LIMITS.actorField) };
}

function summaries(refs: readonly Reference[] | null | undefined): string | null {
  if (!refs || refs.length === 0) return null;
  const names = refs.map((ref) => firstText(ref.summary, ref.id)).filter((name): name is string => name !== null);
  return names.length > 0 ? names.join(', ') : null;
}

function severityAndUrgency(data: z.infer<typeof IncidentData>): Pick<IncidentSnapshot, 'severity' | 'urgency'> {
  const fromPriority = severityFromName(data.priority?.summary);
  const urgency: Urgency | null = data.urgency === 'high' || data.urgency === 'low' ? data.urgency : null;
  if (fromPriority !== null) {
    return { severity: fromPriority, urgency: urgency ?? urgencyForSeverity(fromPriority) };
  }
  // No usable priority: PagerDuty's urgency is the only signal. Unknown urgency counts as high (page people).
  return urgency === 'low' ? { severity: 'low', urgency: 'low' } : { severity: 'high', urgency: 'high' };
}

function assigneesFrom(refs: readonly Reference[]): Assignee[] {
  const assignees: Assignee[] = [];
  for (const ref of refs) {
    const name = firstText(ref.summary, ref.id);
    if (name === null) continue;
    assignees.push({
      id: boundedText(firstText(ref.id), INCIDENT_LIMITS.actorField),
      name: truncate(name, INCIDENT_LIMITS.actorField),
    });
  }
  return assignees.slice(0, INCIDENT_LIMITS.assignees);
}

/** What an incident event says changed, from the incident as PagerDuty sends it after the change. */
function changeFor(
  kind: IncidentEventKind,
  data: z.infer<typeof IncidentData>,
  snapshot: IncidentSnapshot,
): IncidentEventChange | undefined {
  const assignees = data.assignees ? { assignees: snapshot.assignees ?? [] } : {};
  const policyName = boundedText(
    firstText(data.escalation_policy?.summary, data.escalation_policy?.id),
    INCIDENT_LIMITS.actorField,
  );
  const policy = policyName === null ? {} : { escalationPolicy: policyName };
  const level = data.escalation_level;
  const escalationLevel =
    typeof level === 'number' && Number.isInteger(level) && level >= 1 && level <= 1000
      ? { escalationLevel: level }
      : {};
  switch (kind) {
    case 'escalated':
      return { ...assignees, ...policy, ...escalationLevel };
    case 'delegated':
      return { ...policy, ...assignees };
    case 'reassigned':
      return assignees;
    case 'priority_changed':
      return { priority: { to: snapshot.providerSeverity ?? null } };
    default:
      return undefined;
  }
}

function incidentEvent(body: z.infer<typeof IncidentWebhook>, kind: IncidentEventKind): NormaliseResult {
  const { event } = body;
  const data = event.data;
  const title = boundedTitle(data.title, data.number != null ? `Incident #${data.number}` : null, data.id);
  const snapshot: IncidentSnapshot = {
    title,
    service: slugifyService(firstText(data.service?.summary, data.service?.id) ?? ''),
    ...severityAndUrgency(data),
    providerSeverity: boundedText(firstText(data.priority?.summary), INCIDENT_LIMITS.providerSeverity),
    assignees: assigneesFrom(data.assignees ?? []),
    labels: boundedLabels([
      ['pagerduty_service_id', data.service?.id],
      ['pagerduty_service', data.service?.summary],
      ['escalation_policy', data.escalation_policy?.summary],
      ['escalation_policy_id', data.escalation_policy?.id],
      ['incident_number', data.number != null ? String(data.number) : null],
      ['incident_key', data.incident_key],
      ['priority', data.priority?.summary],
      ['teams', summaries(data.teams)],
      ['assignees', summaries(data.assignees)],
    ]),
    links: links(
      linkOrNull(data.html_url, 'PagerDuty'),
      linkOrNull(data.conference_bridge?.conference_url, 'Conference bridge'),
    ),
    providerUrl: urlOrNull(data.html_url),
    createdAt: data.created_at ?? event.occurred_at,
  };
  const result: IncidentEvent = {
    eventId: boundedEventId('pagerduty', event.id),
    kind,
    providerEventType: event.event_type,
    occurredAt: event.occurred_at,
    incidentId: incidentIdFor('pagerduty', data.id),
    provider: 'pagerduty',
    providerId: data.id,
    dedupKey: firstText(data.incident_key) ?? data.id,
    actor: actorFrom(event.agent),
    note: null,
    drill: isDrillTitle(data.title),
    snapshot,
  };
  const change = changeFor(kind, data, snapshot);
  if (change !== undefined && Object.keys(change).length > 0) result.change = change;
  return emit([result]);
}

function noteEvent(body: z.infer<typeof NoteWebhook>): NormaliseResult {
  const { event } = body;
  const incident = event.data.incident;
  const result: IncidentEvent = {
    eventId: boundedEventId('pagerduty', event.id),
    kind: 'note_added',
    providerEventType: event.event_type,
    occurredAt: event.occurred_at,
    incidentId: incidentIdFor('pagerduty', incident.id),
    provider: 'pagerduty',
    providerId: incident.id,
    // The note carries only an incident reference, not its incident_key.
    dedupKey: incident.id,
    actor: actorFrom(event.agent),
    note: truncate(event.data.content, INCIDENT_LIMITS.note),
    // An incident_reference's summary is the incident title.
    drill: isDrillTitle(incident.summary),
    snapshot: null,
  };
  return emit([result]);
}

/**
 * PagerDuty Webhooks v3 → incident events. One webhook carries one event. Incident state changes
 * and notes are mapped; other event types (responders, status updates, services, anything new) are
 * reported as 'ignored'. Never throws.
 */
export function normalisePagerDuty(body: unknown, _ctx: NormaliseContext): NormaliseResult {
  return neverThrow(() => {
    const head = Head.safeParse(body);
    if (!head.success) return invalid(toIssues(head.error));
    const eventType = head.data.event.event_type;

    const kind = Object.hasOwn(PAGERDUTY_INCIDENT_EVENT_KINDS, eventType)
      ? PAGERDUTY_INCIDENT_EVENT_KINDS[eventType]
      : undefined;
    if (kind !== undefined) {
      const parsed = IncidentWebhook.safeParse(body);
      return parsed.success ? incidentEvent(parsed.data, kind) : invalid(toIssues(parsed.error));
    }
    if (eventType === NOTE_EVENT_TYPE) {
      const parsed = NoteWebhook.safeParse(body);
      return parsed.success ? noteEvent(parsed.data) : invalid(toIssues(parsed.error));
    }
    const shownType = truncate(eventType, INCIDENT_LIMITS.providerEventType);
    const reason =
      (Object.hasOwn(IGNORED_REASONS, eventType) ? IGNORED_REASONS[eventType] : undefined) ??
      (eventType.startsWith('service.')
        ? 'service configuration changes are not incident events'
        : `PagerDuty event type ${JSON.stringify(shownType)} is not an incident change micro-oncall models`);
    return { outcome: 'ignored', eventType: shownType, reason };
  });
}
