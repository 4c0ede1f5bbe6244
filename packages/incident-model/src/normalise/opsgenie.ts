import { z } from 'zod';
import type { Actor, IncidentEvent, IncidentEventChange } from '../events.js';
import type { IncidentEventKind } from '../incident.js';
import {
  type Assignee,
  INCIDENT_LIMITS,
  type IncidentSnapshot,
  incidentIdFor,
  slugifyService,
  urgencyForSeverity,
} from '../incident.js';
import { DEFAULT_SEVERITY, severityFromName } from '../severity.js';
import { isoFromEpochMs, isoFromRfc3339 } from '../time.js';
import type { NormaliseContext, NormaliseResult } from './types.js';
import {
  boundedEventId,
  boundedLabels,
  boundedText,
  boundedTitle,
  emit,
  firstText,
  invalid,
  invalidAt,
  neverThrow,
  sha256Hex,
  toIssues,
  truncate,
} from './util.js';

/** Opsgenie outgoing-webhook actions → our event kinds. Delete and custom actions are ignored. */
export const OPSGENIE_ACTION_KINDS: Readonly<Record<string, IncidentEventKind>> = {
  Create: 'triggered',
  Acknowledge: 'acknowledged',
  UnAcknowledge: 'unacknowledged',
  Close: 'resolved',
  Escalate: 'escalated',
  AddNote: 'note_added',
  TakeOwnership: 'reassigned',
  AssignOwnership: 'reassigned',
  AddRecipient: 'updated',
  AddTeam: 'updated',
  AddTags: 'updated',
  RemoveTags: 'updated',
};

/** Tags that mark an alert as drill traffic (compared case-insensitively). */
export const OPSGENIE_DRILL_TAGS = ['drill', 'micro-oncall:drill'] as const;

const Head = z.looseObject({ action: z.string().min(1) });

// Opsgenie sends epoch numbers; nanoseconds exceed 2^53, so JSON parsing already rounds them (to
// 256 ns), which still tells two events apart. Digit strings are accepted defensively.
const EpochNumber = z.union([z.number().nonnegative(), z.string().regex(/^\d{1,22}$/)]);
type EpochNumber = z.infer<typeof EpochNumber>;

const Alert = z.looseObject({
  alertId: z.string().min(1).max(INCIDENT_LIMITS.providerId),
  message: z.string(),
  tags: z.array(z.string()).nullish(),
  teams: z.array(z.string()).nullish(),
  recipients: z.array(z.string()).nullish(),
  username: z.string().nullish(),
  userId: z.string().nullish(),
  source: z.string().nullish(),
  alias: z.string().max(INCIDENT_LIMITS.dedupKey).nullish(),
  tinyId: z.string().nullish(),
  entity: z.string().nullish(),
  createdAt: EpochNumber.nullish(),
  updatedAt: EpochNumber.nullish(),
  note: z.string().nullish(),
  owner: z.string().nullish(),
  priority: z.string().nullish(),
});

const Webhook = z.looseObject({
  action: z.string().min(1),
  alert: Alert,
  source: z.looseObject({ name: z.string().nullish(), type: z.string().nullish() }).nullish(),
  integrationId: z.string().nullish(),
  integrationName: z.string().nullish(),
  escalationName: z.string().nullish(),
});
type Webhook = z.infer<typeof Webhook>;

/** What an Opsgenie outgoing webhook must look like to be normalised (API contracts). */
export const OpsgenieWebhookPayload = Webhook;

/** Digits of an epoch value, without exponent notation. */
function epochDigits(value: EpochNumber): string {
  return typeof value === 'string' ? value : BigInt(Math.trunc(value)).toString();
}

// updatedAt is documented in nanoseconds. Values below 10^14 cannot be nanoseconds of any date after
// 1970-01-02 but are milliseconds up to year 5138, so they are read as milliseconds (defensive).
const NS_THRESHOLD = 1e14;

function updatedAtIso(value: EpochNumber): string | null {
  const n = Number(value);
  return isoFromEpochMs(n < NS_THRESHOLD ? n : n / 1e6);
}

function tagValue(tags: readonly string[], prefix: string): string | null {
  for (const tag of tags) {
    if (tag.toLowerCase().startsWith(prefix)) {
      const value = tag.slice(prefix.length).trim();
      if (value.length > 0) return value;
    }
  }
  return null;
}

function actorFrom(alert: Webhook['alert']): Actor | null {
  const id = boundedText(firstText(alert.userId), INCIDENT_LIMITS.actorField);
  const name = boundedText(firstText(alert.username), INCIDENT_LIMITS.actorField);
  if (alert.username === 'System') return { type: 'system', id, name };
  if (id === null && name === null) return null;
  return { type: 'user', id, name };
}

function normalise(body: Webhook, kind: IncidentEventKind, ctx: NormaliseContext): NormaliseResult {
  const { alert, action } = body;
  const tags = alert.tags ?? [];

  let updatedAt: string | null = null;
  if (alert.updatedAt != null) {
    updatedAt = updatedAtIso(alert.updatedAt);
    if (updatedAt === null) return invalidAt('alert.updatedAt', 'Timestamp out of range');
  }
  let createdAt: string | null = null;
  if (alert.createdAt != null) {
    createdAt = isoFromEpochMs(Number(alert.createdAt));
    if (createdAt === null) return invalidAt('alert.createdAt', 'Timestamp out of range');
  }
  const occurredAt = updatedAt ?? createdAt ?? isoFromRfc3339(ctx.receivedAt);
  if (occurredAt === null) return invalidAt('ctx.receivedAt', 'Invalid RFC 3339 timestamp');

  // Opsgenie has no event id. updatedAt (ns) tells two Acknowledge events of one alert apart; without
  // it, a digest of what the event says keeps replays identical and different events distinct.
  const distinguisher =
    alert.updatedAt != null
      ? epochDigits(alert.updatedAt)
      : `h${sha256Hex(
          JSON.stringify([
            alert.createdAt ?? null,
            alert.username ?? null,
            alert.userId ?? null,
            alert.note ?? null,
            alert.owner ?? null,
            alert.priority ?? null,
            tags,
            alert.teams ?? null,
            alert.recipients ?? null,
            alert.message,
          ]),
        ).slice(0, 32)}`;

  const severity =
    severityFromName(alert.priority) ?? severityFromName(tagValue(tags, 'severity:')) ?? DEFAULT_SEVERITY;
  const owner = firstText(alert.owner);
  const assignees: Assignee[] = owner === null ? [] : [{ id: null, name: truncate(owner, INCIDENT_LIMITS.actorField) }];
  const lowerTags = tags.map((tag) => tag.trim().toLowerCase());
  const drillTags: readonly string[] = OPSGENIE_DRILL_TAGS;

  const snapshot: IncidentSnapshot = {
    title: boundedTitle(alert.message, alert.alias, alert.alertId),
    service: slugifyService(firstText(tagValue(tags, 'service:'), alert.entity, alert.teams?.[0]) ?? ''),
    severity,
    providerSeverity: boundedText(firstText(alert.priority), INCIDENT_LIMITS.providerSeverity),
    assignees,
    urgency: urgencyForSeverity(severity),
    labels: boundedLabels([
      ['opsgenie_tiny_id', alert.tinyId],
      ['opsgenie_alias', alert.alias],
      ['opsgenie_entity', firstText(alert.entity)],
      ['opsgenie_source', firstText(alert.source)],
      ['opsgenie_integration', firstText(body.integrationName)],
      ['opsgenie_owner', firstText(alert.owner)],
      ['opsgenie_priority', firstText(alert.priority)],
      ['opsgenie_escalation', firstText(body.escalationName)],
      ['opsgenie_teams', alert.teams && alert.teams.length > 0 ? alert.teams.join(', ') : null],
      ['opsgenie_tags', tags.length > 0 ? tags.join(', ') : null],
    ]),
    links: [],
    providerUrl: null,
    createdAt: createdAt ?? occurredAt,
  };

  const event: IncidentEvent = {
    eventId: boundedEventId('opsgenie', `${alert.alertId}:${action}:${distinguisher}`),
    kind,
    providerEventType: action,
    occurredAt,
    incidentId: incidentIdFor('opsgenie', alert.alertId),
    provider: 'opsgenie',
    providerId: alert.alertId,
    dedupKey: firstText(alert.alias) ?? alert.alertId,
    actor: actorFrom(alert),
    note: boundedText(firstText(alert.note), INCIDENT_LIMITS.note),
    drill: lowerTags.some((tag) => drillTags.includes(tag)),
    snapshot,
  };
  const change = changeFor(action, body, assignees);
  if (change !== undefined) event.change = change;
  return emit([event]);
}

/** What an action says changed: the escalation it went through, the owner it went to. */
function changeFor(action: string, body: Webhook, assignees: Assignee[]): IncidentEventChange | undefined {
  if (action === 'Escalate') {
    const escalation = boundedText(firstText(body.escalationName), INCIDENT_LIMITS.actorField);
    return escalation === null ? undefined : { escalationPolicy: escalation };
  }
  if (action === 'TakeOwnership' || action === 'AssignOwnership') return { assignees };
  return undefined;
}

/**
 * Opsgenie outgoing webhook → incident events. Every mapped action carries the alert, so every event
 * has a snapshot. `Delete` and custom actions are reported as 'ignored'. Never throws.
 */
export function normaliseOpsgenie(body: unknown, ctx: NormaliseContext): NormaliseResult {
  return neverThrow(() => {
    const head = Head.safeParse(body);
    if (!head.success) return invalid(toIssues(head.error));
    const action = head.data.action;
    const kind = Object.hasOwn(OPSGENIE_ACTION_KINDS, action) ? OPSGENIE_ACTION_KINDS[action] : undefined;
    if (kind === undefined) {
      const shown = truncate(action, INCIDENT_LIMITS.providerEventType);
      return {
        outcome: 'ignored',
        eventType: shown,
        reason:
          action === 'Delete'
            ? 'a deleted alert is gone from Opsgenie, not resolved; the incident keeps its last state'
            : `Opsgenie action ${JSON.stringify(shown)} is a custom or unmodelled action`,
      };
    }
    const parsed = Webhook.safeParse(body);
    return parsed.success ? normalise(parsed.data, kind, ctx) : invalid(toIssues(parsed.error));
  });
}
