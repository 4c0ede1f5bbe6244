import { z } from 'zod';
import { APP_REGISTRY_TYPE_PREFIX, AppRegistryChange } from './app-registry.js';
import { DRILL_EVENT_TYPE_PREFIX, DrillRunEvent } from './drills.js';
import { Assignee, INCIDENT_LIMITS, IncidentEventKind, IncidentId, IncidentSnapshot, Provider } from './incident.js';
import { PROVIDER_STATUS_TYPE_PREFIX, ProviderStatusChange } from './provider-status.js';
import { IsoDateTime } from './time.js';

export const Actor = z.object({
  type: z.enum(['user', 'system', 'integration']),
  id: z.string().max(INCIDENT_LIMITS.actorField).nullable(),
  name: z.string().max(INCIDENT_LIMITS.actorField).nullable(),
});
export type Actor = z.infer<typeof Actor>;

/**
 * What an event says changed, as far as the provider says it: who the incident went to, along
 * which escalation policy and level, the priority before and after, what the provider left out.
 * Every field is optional and present only when the provider sent it; consumers that do not
 * know a field ignore it.
 */
export const IncidentEventChange = z.object({
  /** Who the incident is assigned to after the event (escalated, reassigned, delegated; Opsgenie ownership). */
  assignees: z.array(Assignee).max(INCIDENT_LIMITS.assignees).optional(),
  /** The escalation policy (PagerDuty) or escalation (Opsgenie `escalationName`) the event went through. */
  escalationPolicy: z.string().min(1).max(INCIDENT_LIMITS.actorField).optional(),
  /** The escalation level reached, when the provider says (1 is the first level). */
  escalationLevel: z.number().int().min(1).max(1000).optional(),
  /**
   * The provider's priority name before and after (verbatim; null: no priority). `from` only when
   * the provider sends it: PagerDuty's `incident.priority_updated` carries the new priority alone,
   * and readers of the history take `from` from the event before.
   */
  priority: z
    .object({
      from: z.string().max(INCIDENT_LIMITS.providerSeverity).nullable().optional(),
      to: z.string().max(INCIDENT_LIMITS.providerSeverity).nullable(),
    })
    .optional(),
  /**
   * Alerts of the same Alertmanager notification that the provider left out (`truncatedAlerts`,
   * the receiver's `max_alerts`): they exist, but no event was sent for them.
   */
  truncatedAlerts: z.number().int().min(1).optional(),
  /**
   * A responder moved the incident into a group of related alerts (`id`) or out of its group
   * (`id` null) by hand (escalation's merge and split, ADR 0019). Consumers that group alerts
   * follow it, and no rule moves the incident again afterwards.
   */
  group: z
    .object({
      id: z
        .string()
        .regex(/^grp_[0-9a-f]{24}$/)
        .nullable(),
    })
    .optional(),
});
export type IncidentEventChange = z.infer<typeof IncidentEventChange>;

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
  /** What the event says changed; absent when it says nothing beyond its kind (and before ADR 0008). */
  change: IncidentEventChange.optional(),
  /**
   * The provider's own grouping of related alerts: the Alertmanager notification's `groupKey`
   * (a `sha256:` digest of it when longer than the limit). Absent from other providers and from
   * events before ADR 0019; consumers that group alerts use it (escalation), the rest ignore it.
   */
  groupKey: z.string().min(1).max(INCIDENT_LIMITS.groupKey).optional(),
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

/**
 * What a topic carries and how its CloudEvents attributes derive from the payload. One entry per
 * topic kind that has a schema: producers and consumers in every service go through it (the
 * service-kit's typed `publish`/`consume`), so no service builds an envelope by hand.
 */
export interface TopicContract<D extends z.ZodType> {
  /** The payload schema (`data`). */
  data: D;
  /** The envelope schema: validated by producers before sending and by consumers on receipt. */
  envelope: ReturnType<typeof cloudEventSchema<D>>;
  /** CloudEvents `id`: stable across redeliveries, the consumers' idempotency key. */
  id(data: z.output<D>): string;
  /** CloudEvents `type`. */
  type(data: z.output<D>): string;
  /** CloudEvents `subject`, also the Kafka key: one subject's events stay in order. */
  subject(data: z.output<D>): string;
  /** The `drill` extension when the payload says it itself; otherwise the producer says. */
  drill?(data: z.output<D>): boolean;
}

function topicContract<D extends z.ZodType>(contract: Omit<TopicContract<D>, 'envelope'>): TopicContract<D> {
  return { ...contract, envelope: cloudEventSchema(contract.data) };
}

export const TOPIC_CONTRACTS = {
  'incident-events': topicContract({
    data: IncidentEvent,
    id: (e) => e.eventId,
    type: (e) => `${INCIDENT_EVENT_TYPE_PREFIX}${e.kind}`,
    subject: (e) => e.incidentId,
    drill: (e) => e.drill,
  }),
  'incident-actions': topicContract({
    data: IncidentAction,
    id: (a) => a.actionId,
    type: (a) => `${INCIDENT_ACTION_TYPE_PREFIX}${a.action}`,
    subject: (a) => a.incidentId,
  }),
  'provider-status': topicContract({
    data: ProviderStatusChange,
    id: (c) => c.changeId,
    type: (c) => `${PROVIDER_STATUS_TYPE_PREFIX}${c.status.to}`,
    subject: (c) => c.component.key,
  }),
  drills: topicContract({
    data: DrillRunEvent,
    id: (e) => e.eventId,
    type: (e) => `${DRILL_EVENT_TYPE_PREFIX}${e.kind}`,
    subject: (e) => e.run.id,
    // Everything on `drills` is about synthetic traffic.
    drill: () => true,
  }),
  'app-registry': topicContract({
    data: AppRegistryChange,
    id: (c) => c.changeId,
    type: (c) => `${APP_REGISTRY_TYPE_PREFIX}${c.kind}`,
    subject: (c) => c.app.id,
  }),
};

/** Topic kinds that have a payload schema (and so can be published and consumed). */
export type EventKind = keyof typeof TOPIC_CONTRACTS;
export type EventData<K extends EventKind> = z.output<(typeof TOPIC_CONTRACTS)[K]['data']>;
export type EventEnvelope<K extends EventKind> = z.output<(typeof TOPIC_CONTRACTS)[K]['envelope']>;

export function isEventKind(kind: string): kind is EventKind {
  return Object.hasOwn(TOPIC_CONTRACTS, kind);
}

/**
 * The envelope for `data` on topic `kind`. `drill` is required where the payload does not carry
 * it (an action inherits its incident's flag) and ignored where it does.
 */
export function envelopeFor<K extends EventKind>(
  kind: K,
  data: EventData<K>,
  opts: EnvelopeOptions & { drill?: boolean },
): EventEnvelope<K> {
  const contract = TOPIC_CONTRACTS[kind] as unknown as TopicContract<z.ZodType<EventData<K>>>;
  const drill = contract.drill ? contract.drill(data) : opts.drill;
  if (drill === undefined) throw new Error(`${kind}: the producer must say whether the event is a drill`);
  return {
    specversion: '1.0',
    id: contract.id(data),
    source: opts.source,
    type: contract.type(data),
    time: opts.time ?? new Date().toISOString(),
    subject: contract.subject(data),
    datacontenttype: 'application/json',
    data,
    ...(opts.traceparent === undefined ? {} : { traceparent: opts.traceparent }),
    drill,
  } as EventEnvelope<K>;
}

/** Envelope schema per topic kind, for validation on both sides and for generated JSON Schema contracts. */
export const EVENT_SCHEMAS = Object.fromEntries(
  Object.entries(TOPIC_CONTRACTS).map(([kind, contract]) => [kind, contract.envelope]),
) as { [K in EventKind]: (typeof TOPIC_CONTRACTS)[K]['envelope'] };
