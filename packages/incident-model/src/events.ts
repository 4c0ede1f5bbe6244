import { z } from 'zod';
import { INCIDENT_LIMITS, IncidentId, IncidentSnapshot, Provider } from './incident.js';
import { IsoDateTime } from './time.js';

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

export const Actor = z.object({
  type: z.enum(['user', 'system', 'integration']),
  id: z.string().max(INCIDENT_LIMITS.actorField).nullable(),
  name: z.string().max(INCIDENT_LIMITS.actorField).nullable(),
});
export type Actor = z.infer<typeof Actor>;

/** One thing that happened to one provider incident, normalised. Payload of `incident-events`. */
export const IncidentEvent = z.object({
  /** Provider-derived and stable across redeliveries: the idempotency key of every consumer. */
  eventId: z.string().min(1).max(INCIDENT_LIMITS.eventId),
  kind: IncidentEventKind,
  /** The provider's own name for what happened (`incident.acknowledged`, `Acknowledge`, `firing`). */
  providerEventType: z.string().max(INCIDENT_LIMITS.providerEventType),
  occurredAt: IsoDateTime,
  incidentId: IncidentId,
  provider: Provider,
  providerId: z.string().min(1).max(INCIDENT_LIMITS.providerId),
  dedupKey: z.string().min(1).max(INCIDENT_LIMITS.dedupKey),
  actor: Actor.nullable(),
  note: z.string().max(INCIDENT_LIMITS.note).nullable(),
  drill: z.boolean(),
  /** Null only where the provider does not send the incident (PagerDuty `incident.annotated`). */
  snapshot: IncidentSnapshot.nullable(),
});
export type IncidentEvent = z.infer<typeof IncidentEvent>;

/** W3C Trace Context `traceparent` (version 00 layout; version ff and all-zero ids are invalid). */
export const TRACEPARENT_PATTERN = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * A CloudEvents 1.0 event in structured JSON mode around `dataSchema`, with our two extensions:
 * `traceparent` (distributed tracing) and `drill` (true for synthetic drill traffic).
 * Plain object schema (no transforms or refinements) so `z.toJSONSchema` can document it.
 */
export function cloudEventSchema<T extends z.ZodType>(dataSchema: T) {
  return z.object({
    specversion: z.literal('1.0'),
    id: z.string().min(1).max(256),
    source: z.string().min(1).max(512),
    type: z.string().min(1).max(256),
    time: IsoDateTime,
    subject: z.string(),
    datacontenttype: z.literal('application/json'),
    data: dataSchema,
    traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
    drill: z.boolean(),
  });
}

export const IncidentEventEnvelope = cloudEventSchema(IncidentEvent);
export type IncidentEventEnvelope = z.infer<typeof IncidentEventEnvelope>;

export const INCIDENT_EVENT_TYPE_PREFIX = 'io.microoncall.incident.';

export type EnvelopeOptions = {
  /** CloudEvents `source`, a URI reference naming the producer, e.g. `/webhook-ingest/pagerduty`. */
  source: string;
  /** Defaults to now. */
  time?: string;
  traceparent?: string;
};

/**
 * Wraps an incident event for `incident-events`: id = eventId (so redeliveries are recognisable),
 * type = `io.microoncall.incident.<kind>`, subject = incidentId (also the Kafka key), drill = event.drill.
 */
export function incidentEventEnvelope(event: IncidentEvent, opts: EnvelopeOptions): IncidentEventEnvelope {
  return {
    specversion: '1.0',
    id: event.eventId,
    source: opts.source,
    type: `${INCIDENT_EVENT_TYPE_PREFIX}${event.kind}`,
    time: opts.time ?? new Date().toISOString(),
    subject: event.incidentId,
    datacontenttype: 'application/json',
    data: event,
    ...(opts.traceparent === undefined ? {} : { traceparent: opts.traceparent }),
    drill: event.drill,
  };
}

export const IncidentActionKind = z.enum(['acknowledge', 'escalate', 'reassign', 'resolve', 'note']);
export type IncidentActionKind = z.infer<typeof IncidentActionKind>;

/** What we asked a provider to do about an incident, and how it went. Payload of `incident-actions`. */
export const IncidentAction = z.object({
  actionId: z.uuid(),
  incidentId: IncidentId,
  provider: Provider,
  providerId: z.string().min(1).max(INCIDENT_LIMITS.providerId),
  action: IncidentActionKind,
  actor: Actor,
  outcome: z.enum(['succeeded', 'failed']),
  detail: z.string().max(2000).nullable(),
  requestedAt: IsoDateTime,
  completedAt: IsoDateTime,
});
export type IncidentAction = z.infer<typeof IncidentAction>;

export const IncidentActionEnvelope = cloudEventSchema(IncidentAction);
export type IncidentActionEnvelope = z.infer<typeof IncidentActionEnvelope>;

export const INCIDENT_ACTION_TYPE_PREFIX = 'io.microoncall.incident-action.';

/**
 * Wraps an action for `incident-actions`: id = actionId, type = `io.microoncall.incident-action.<action>`,
 * subject = incidentId. The action carries no drill flag of its own, so the caller passes the
 * incident's (`opts.drill`).
 */
export function incidentActionEnvelope(
  action: IncidentAction,
  opts: EnvelopeOptions & { drill: boolean },
): IncidentActionEnvelope {
  return {
    specversion: '1.0',
    id: action.actionId,
    source: opts.source,
    type: `${INCIDENT_ACTION_TYPE_PREFIX}${action.action}`,
    time: opts.time ?? new Date().toISOString(),
    subject: action.incidentId,
    datacontenttype: 'application/json',
    data: action,
    ...(opts.traceparent === undefined ? {} : { traceparent: opts.traceparent }),
    drill: opts.drill,
  };
}

/** Envelope schema per topic kind, for validation on both sides and for generated JSON Schema contracts. */
export const EVENT_SCHEMAS = {
  'incident-events': IncidentEventEnvelope,
  'incident-actions': IncidentActionEnvelope,
} as const satisfies Record<'incident-events' | 'incident-actions', z.ZodType>;
