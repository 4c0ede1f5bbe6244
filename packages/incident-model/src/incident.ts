import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type Severity, SeverityWithLegacyNames } from './severity.js';
import { IsoDateTime } from './time.js';

export const Provider = z.enum(['pagerduty', 'opsgenie', 'alertmanager', 'generic']);
export type Provider = z.infer<typeof Provider>;

export const IncidentStatus = z.enum(['triggered', 'acknowledged', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const Urgency = z.enum(['high', 'low']);
export type Urgency = z.infer<typeof Urgency>;

export const INCIDENT_LIMITS = {
  title: 1024,
  service: 128,
  labelKey: 256,
  labelValue: 2048,
  links: 20,
  linkHref: 2048,
  linkText: 512,
  providerUrl: 2048,
  providerId: 256,
  dedupKey: 512,
  eventId: 256,
  providerEventType: 128,
  actorField: 256,
  note: 10_000,
  providerSeverity: 128,
  assignees: 20,
  /** An Alertmanager group key (longer ones are carried as a digest, see the normaliser). */
  groupKey: 512,
} as const;

/** `inc_` + 24 lowercase hex characters, see {@link incidentIdFor}. */
export const INCIDENT_ID_PATTERN = /^inc_[0-9a-f]{24}$/;

/** An incident id ({@link INCIDENT_ID_PATTERN}). */
export const IncidentId = z.string().regex(INCIDENT_ID_PATTERN);
export type IncidentId = z.infer<typeof IncidentId>;

/** A service slug: lowercase, starts with a letter or digit, then letters, digits, `.`, `_`, `-`. */
export const ServiceSlug = z
  .string()
  .min(1)
  .max(INCIDENT_LIMITS.service)
  .regex(/^[a-z0-9][a-z0-9._-]*$/);

export const Link = z.object({
  href: z.string().min(1).max(INCIDENT_LIMITS.linkHref),
  text: z.string().max(INCIDENT_LIMITS.linkText),
});
export type Link = z.infer<typeof Link>;

/** Someone an incident is assigned to, as the provider names them. */
export const Assignee = z.object({
  /** The provider's id for them (a PagerDuty user id), when it sends one. */
  id: z.string().max(INCIDENT_LIMITS.actorField).nullable(),
  /** Their name as the provider shows it (or their id when it sends no name). */
  name: z.string().min(1).max(INCIDENT_LIMITS.actorField),
});
export type Assignee = z.infer<typeof Assignee>;

/** The incident's descriptive fields as the provider reported them at one event. */
export const IncidentSnapshot = z.object({
  title: z.string().min(1).max(INCIDENT_LIMITS.title),
  service: ServiceSlug,
  /** Our severity (`critical` … `info`); `p0`…`p4` from before ADR 0008 are read as what they meant. */
  severity: SeverityWithLegacyNames,
  /**
   * The provider's own name for the priority or severity, verbatim: the PagerDuty or Opsgenie
   * priority (`P1`, or an account's custom name), the Alertmanager `severity` label. Null when the
   * provider sent none. Shown beside `severity` so nobody has to translate. Absent before ADR 0008.
   */
  providerSeverity: z.string().max(INCIDENT_LIMITS.providerSeverity).nullable().optional(),
  /**
   * Who the incident is assigned to at this event: PagerDuty's assignees, the Opsgenie owner;
   * empty when nobody is. Absent from providers that have no assignment (Alertmanager) and before ADR 0008.
   */
  assignees: z.array(Assignee).max(INCIDENT_LIMITS.assignees).optional(),
  urgency: Urgency,
  labels: z.record(z.string().max(INCIDENT_LIMITS.labelKey), z.string().max(INCIDENT_LIMITS.labelValue)),
  links: z.array(Link).max(INCIDENT_LIMITS.links),
  providerUrl: z.string().max(INCIDENT_LIMITS.providerUrl).nullable(),
  createdAt: IsoDateTime,
});
export type IncidentSnapshot = z.infer<typeof IncidentSnapshot>;

/** Who the incident is: our id, derived deterministically from the provider's own id. */
export const IncidentIdentity = z.object({
  id: IncidentId,
  provider: Provider,
  providerId: z.string().min(1).max(INCIDENT_LIMITS.providerId),
  dedupKey: z.string().min(1).max(INCIDENT_LIMITS.dedupKey),
});
export type IncidentIdentity = z.infer<typeof IncidentIdentity>;

/** The current state of an incident: identity + latest snapshot + status (the escalation projection). */
export const Incident = z.object({
  ...IncidentIdentity.shape,
  ...IncidentSnapshot.shape,
  status: IncidentStatus,
  updatedAt: IsoDateTime,
  drill: z.boolean(),
});
export type Incident = z.infer<typeof Incident>;

/** Urgency implied by a severity when the provider gives none: critical and high page people (high), the rest wait (low). */
export function urgencyForSeverity(severity: Severity): Urgency {
  return severity === 'critical' || severity === 'high' ? 'high' : 'low';
}

/**
 * Our incident id: `inc_` + the first 24 hex characters of sha256(provider + '\n' + providerId).
 * Deterministic, so every event about one provider incident maps to one id — and one Kafka key.
 */
export function incidentIdFor(provider: Provider, providerId: string): string {
  const digest = createHash('sha256').update(`${provider}\n${providerId}`, 'utf8').digest('hex');
  return `inc_${digest.slice(0, 24)}`;
}

/**
 * A provider's service name → a slug: lowercase ASCII, accents dropped, every run of other
 * characters → one `-`, no leading or trailing dashes, at most 128 characters, `unknown` when empty.
 */
export function slugifyService(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, INCIDENT_LIMITS.service)
    .replace(/-+$/, '');
  return slug.length > 0 ? slug : 'unknown';
}

/** What happened to an incident, in the canonical model (the `kind` of an incident event). */
export const IncidentEventKind = z.enum([
  'triggered',
  'acknowledged',
  'unacknowledged',
  'resolved',
  'reopened',
  'escalated',
  'reassigned',
  'delegated',
  'priority_changed',
  'note_added',
  'updated',
]);
export type IncidentEventKind = z.infer<typeof IncidentEventKind>;

/**
 * The status an incident has after an event of `kind`. Kinds that do not change the status
 * (escalated, reassigned, note_added, …) keep `current`; an incident first seen through one of
 * them is taken to be open ('triggered').
 */
export function statusAfter(current: IncidentStatus | null, kind: IncidentEventKind): IncidentStatus {
  switch (kind) {
    case 'triggered':
    case 'reopened':
    case 'unacknowledged':
      return 'triggered';
    case 'acknowledged':
      return 'acknowledged';
    case 'resolved':
      return 'resolved';
    default:
      return current ?? 'triggered';
  }
}
