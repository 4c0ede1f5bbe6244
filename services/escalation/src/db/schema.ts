import {
  type Actor,
  type Assignee,
  type ComponentStatus,
  type DrillRunState,
  type IncidentEventKind,
  IncidentStatus,
  type Link,
  Provider,
  type ProviderIncidentRef,
  Severity,
  Urgency,
} from '@micro-oncall/incident-model';
import { sessionsTable } from '@micro-oncall/service-kit/session-table';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const escalation = pgSchema('escalation');

/**
 * A zod enum's values as the non-empty tuple drizzle's `enum()` takes. The order is the zod
 * enum's, which is the order of the PostgreSQL type's labels in the migrations: reordering or
 * renaming a value in incident-model needs a migration here.
 */
const labels = <T extends string>(zodEnum: { options: T[] }) => zodEnum.options as [T, ...T[]];

export const providerEnum = escalation.enum('provider', labels(Provider));
export const statusEnum = escalation.enum('incident_status', labels(IncidentStatus));
export const severityEnum = escalation.enum('severity', labels(Severity));
export const urgencyEnum = escalation.enum('urgency', labels(Urgency));
/**
 * Escalation's own: how an audited attempt ended (not an incident-model value). `pending` is
 * written before a provider is called and followed by the action's outcome (same action_id);
 * `unknown` means the provider may have carried the action out but no answer said so; `denied`
 * is a request refused for want of authentication or permission. New labels go at the end
 * (PostgreSQL appends them).
 */
export const auditOutcomeEnum = escalation.enum('audit_outcome', [
  'succeeded',
  'failed',
  'denied',
  'pending',
  'unknown',
]);

/** Orders every change of an incident row: the live feed resumes from the last number a client saw. */
export const incidentChangeSeq = escalation.sequence('incident_change_seq');

/** Short human incident numbers (`#123`), drawn once when escalation first stores an incident. */
export const incidentNumberSeq = escalation.sequence('incident_number_seq');

/**
 * Current state of each incident: a projection of incident_events that a replay of the
 * topic could rebuild. Descriptive fields follow the newest snapshot, status follows the newest
 * status-changing event (by the provider's occurrence time), so late or repeated deliveries
 * converge on the same state.
 */
export const incidents = escalation.table(
  'incidents',
  {
    id: text('id').primaryKey(),
    /**
     * The incident's short number here (`#123`, what responders say aloud), from
     * incident_number_seq when the row is first inserted, never changed. Not the provider's own
     * number: incidents from every provider share one sequence. Migration 0009 numbered the
     * incidents that existed then in the order they were first seen.
     */
    number: bigint('number', { mode: 'number' }).notNull().default(sql`nextval('escalation.incident_number_seq')`),
    provider: providerEnum('provider').notNull(),
    providerId: text('provider_id').notNull(),
    dedupKey: text('dedup_key').notNull(),
    title: text('title').notNull(),
    service: text('service').notNull(),
    severity: severityEnum('severity').notNull(),
    /** The provider's own priority or severity name, verbatim (`P1`, `warning`), shown beside ours. */
    providerSeverity: text('provider_severity'),
    /** Who the incident is assigned to at the provider (empty: nobody, or a provider without assignment). */
    assignees: jsonb('assignees').$type<Assignee[]>().notNull().default([]),
    urgency: urgencyEnum('urgency').notNull(),
    status: statusEnum('status').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    links: jsonb('links').$type<Link[]>().notNull(),
    providerUrl: text('provider_url'),
    /**
     * A verified drill: its run id matches a run the simulator registered that was active when the
     * incident was first seen (drills.ts). Never set by a marker alone.
     */
    drill: boolean('drill').notNull().default(false),
    /** Some event of the incident said "drill" (`[drill]` title, `drill=true` label or tag, a run id). */
    drillMarker: boolean('drill_marker').notNull().default(false),
    /** The drill run id its alerts carry (`drill_run_id` label, Opsgenie tag, `drill:<run>:…` dedup key). */
    drillRunId: text('drill_run_id'),
    /** Why a drill marker was not believed (the incident is treated as real); null when not marked or verified. */
    unverifiedDrillMarker: text('unverified_drill_marker'),
    /** When its first event was received (the envelope's time): the time its drill run must have been active. */
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull(),
    /** Occurrence time of the newest event applied. */
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull(),
    snapshotAt: timestamp('snapshot_at', { withTimezone: true, mode: 'string' }).notNull(),
    statusAt: timestamp('status_at', { withTimezone: true, mode: 'string' }).notNull(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, mode: 'string' }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'string' }),
    /** Newest trigger, reopen or unacknowledge: the start of the current episode. */
    triggeredAt: timestamp('triggered_at', { withTimezone: true, mode: 'string' }),
    lastEventKind: text('last_event_kind').$type<IncidentEventKind>().notNull(),
    /**
     * The group of related alerts it belongs to (incident_groups, ADR 0019); null: on its own.
     * Decided when the incident is first seen (grouping.ts) or by a responder's merge or split.
     */
    groupId: text('group_id'),
    /** A responder merged or split it by hand: no grouping rule moves it any more. */
    groupPinned: boolean('group_pinned').notNull().default(false),
    /** Value of incident_change_seq at this row's last change (the live feed's event id). */
    changeSeq: bigint('change_seq', { mode: 'number' }).notNull(),
    /** When this row last changed here (maintained by the ORM / the projector). */
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date().toISOString()),
  },
  (t) => [
    index('incidents_status_updated_idx').on(t.status, t.updatedAt),
    index('incidents_service_idx').on(t.service),
    index('incidents_severity_idx').on(t.severity),
    index('incidents_updated_id_idx').on(t.updatedAt, t.id),
    index('incidents_change_seq_idx').on(t.changeSeq),
    index('incidents_drill_run_idx').on(t.drillRunId),
    uniqueIndex('incidents_number_idx').on(t.number),
    index('incidents_group_idx').on(t.groupId),
  ],
);

/**
 * Groups of related alerts (ADR 0019): the incidents of one Alertmanager group key, or of one
 * alertname and service, whose alerts started within the grouping window of each other. A group
 * formed by a rule has its `key` and the span of its members' start times, and its id derives
 * from its earliest member, so a replay of the topic forms the same groups. A group formed by a
 * responder's merge has no key: no rule adds to it.
 */
export const incidentGroups = escalation.table(
  'incident_groups',
  {
    id: text('id').primaryKey(),
    /** What the rule grouped by (grouping.ts groupingKey); null for a group formed by hand. */
    key: text('key'),
    /** The earliest member's start time and id (the group's id derives from them). */
    firstAt: timestamp('first_at', { withTimezone: true, mode: 'string' }).notNull(),
    firstIncidentId: text('first_incident_id').notNull(),
    /** The latest member's start time. */
    lastAt: timestamp('last_at', { withTimezone: true, mode: 'string' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('incident_groups_key_idx').on(t.key, t.firstAt)],
);

/**
 * Append-only history: one row per distinct event id. The primary key is what makes the
 * consumer idempotent: a redelivered event inserts nothing and so changes nothing.
 */
export const incidentEvents = escalation.table(
  'incident_events',
  {
    eventId: text('event_id').primaryKey(),
    incidentId: text('incident_id').notNull(),
    kind: text('kind').$type<IncidentEventKind>().notNull(),
    providerEventType: text('provider_event_type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
    actor: jsonb('actor').$type<Actor | null>(),
    note: text('note'),
    drill: boolean('drill').notNull(),
    envelope: jsonb('envelope').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('incident_events_incident_occurred_idx').on(t.incidentId, t.occurredAt)],
);

/**
 * Append-only record of what people did: sign-ins, provider actions (with the provider's
 * answer) and exports. A trigger (migration 0001) refuses UPDATE and DELETE.
 */
export const auditLog = escalation.table(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    actorSubject: text('actor_subject').notNull(),
    actorName: text('actor_name'),
    actorEmail: text('actor_email'),
    action: text('action').notNull(),
    incidentId: text('incident_id'),
    outcome: auditOutcomeEnum('outcome').notNull(),
    provider: text('provider'),
    providerStatus: integer('provider_status'),
    providerRequestId: text('provider_request_id'),
    detail: text('detail').notNull(),
    requestId: text('request_id').notNull(),
    request: jsonb('request'),
    /** One provider action: its `pending` row and the row(s) with its outcome share it. */
    actionId: uuid('action_id'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_incident_idx').on(t.incidentId, t.at),
    index('audit_log_actor_idx').on(t.actorSubject, t.at),
    index('audit_log_action_idx').on(t.actionId),
  ],
);

/**
 * One row per `Idempotency-Key` a user sent for an incident's action: the first request
 * reserves it (`completed_at` null while the provider is being called) and stores its answer,
 * so a repeat gets that answer instead of a second call to the provider, on any replica and
 * after restarts. Rows older than a day are pruned.
 */
export const actionRequests = escalation.table(
  'action_requests',
  {
    actorSubject: text('actor_subject').notNull(),
    incidentId: text('incident_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    actionId: uuid('action_id').notNull(),
    /** sha256 of the validated request: the same key with another request is refused. */
    requestHash: text('request_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'string' }),
    /** The first request's answer (HTTP status and JSON body), replayed to repeats. */
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
  },
  (t) => [
    primaryKey({ name: 'action_requests_pkey', columns: [t.actorSubject, t.incidentId, t.idempotencyKey] }),
    index('action_requests_created_idx').on(t.createdAt),
  ],
);

/**
 * Browser sessions (service-kit session-store.ts): the cookie holds a random id, this table its
 * hash, so sign-out and revocation take effect at once on every replica.
 */
export const sessions = sessionsTable(escalation);

/** A provider component's source stopped answering: since when, why, and its last good status. */
export interface ProviderStale {
  since: string;
  reason: string;
  lastKnown: ComponentStatus | null;
}

/**
 * Every `provider-status` event applied (or recognised as older than what was applied), by its
 * change id: the primary key makes a redelivered event change nothing. Append-only.
 */
export const providerStatusEvents = escalation.table(
  'provider_status_events',
  {
    changeId: uuid('change_id').primaryKey(),
    componentKey: text('component_key').notNull(),
    observedAt: timestamp('observed_at', { withTimezone: true, mode: 'string' }).notNull(),
    /** False: it arrived after a newer change of its component and was ignored. */
    applied: boolean('applied').notNull(),
    envelope: jsonb('envelope').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('provider_status_events_component_idx').on(t.componentKey, t.observedAt)],
);

/**
 * The newest condition of each provider component escalation heard of, with the internal
 * services it maps to (from the event: status-mapper owns the mapping). A projection of
 * provider_status_events. A component back to operational keeps its row (it affects nothing
 * then), so that a late, older event is recognised by its time and ignored. Live incidents read
 * the rows that are not operational and name their service.
 */
export const providerComponents = escalation.table(
  'provider_components',
  {
    componentKey: text('component_key').primaryKey(),
    provider: text('provider').notNull(),
    pageId: text('page_id').notNull(),
    componentName: text('component_name').notNull(),
    groupName: text('group_name'),
    status: text('status').$type<ComponentStatus>().notNull(),
    /** The provider's own word for the status; null while the source is stale. */
    providerStatus: text('provider_status'),
    /** When the component entered its status (the change's time, or when its source went stale). */
    since: timestamp('since', { withTimezone: true, mode: 'string' }).notNull(),
    stale: jsonb('stale').$type<ProviderStale | null>(),
    /** Unresolved provider incidents naming the component. */
    incidents: jsonb('incidents').$type<ProviderIncidentRef[]>().notNull(),
    services: text('services').array().notNull(),
    /** The change applied last and its time: what a later event is compared with. */
    changeId: uuid('change_id').notNull(),
    observedAt: timestamp('observed_at', { withTimezone: true, mode: 'string' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date().toISOString()),
  },
  (t) => [index('provider_components_services_idx').using('gin', t.services)],
);

export const providerNoteKinds = ['began', 'changed', 'ended'] as const;
export type ProviderNoteKind = (typeof providerNoteKinds)[number];

/**
 * An incident's timeline entries about provider conditions, written when a condition affecting
 * its service began, changed or ended while it was live (and, for a new incident, the conditions
 * already in force when it opened), so the timeline stays as it was seen. Append-only.
 */
export const incidentProviderNotes = escalation.table(
  'incident_provider_notes',
  {
    incidentId: text('incident_id').notNull(),
    changeId: uuid('change_id').notNull(),
    /** When the change was observed (for a condition already in force at opening: since when). */
    at: timestamp('at', { withTimezone: true, mode: 'string' }).notNull(),
    kind: text('kind').$type<ProviderNoteKind>().notNull(),
    componentKey: text('component_key').notNull(),
    provider: text('provider').notNull(),
    componentName: text('component_name').notNull(),
    groupName: text('group_name'),
    /** The condition affecting the service before (null when it began). */
    fromStatus: text('from_status').$type<ComponentStatus>(),
    /** The component's status after (`operational` when it ended by recovering). */
    toStatus: text('to_status').$type<ComponentStatus>().notNull(),
    since: timestamp('since', { withTimezone: true, mode: 'string' }).notNull(),
    stale: jsonb('stale').$type<ProviderStale | null>(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'incident_provider_notes_pkey', columns: [t.incidentId, t.changeId] }),
    index('incident_provider_notes_incident_at_idx').on(t.incidentId, t.at),
  ],
);

/**
 * Who the app-registry says owns each app (`<ns>.app-registry.v1`), by app id: the latest change
 * wins (older ones arriving late are ignored). Escalation compares it with its service catalogue
 * by name and shows where they disagree (ownership drift).
 */
export const registryOwners = escalation.table(
  'registry_owners',
  {
    appId: text('app_id').primaryKey(),
    /** The app's name: a service of the same name (or alias) is the same thing. */
    name: text('name').notNull(),
    ownerPerson: jsonb('owner_person').$type<{ name: string; contact: string } | null>(),
    team: jsonb('team').$type<{ name: string; contact: string }>().notNull(),
    state: text('state').notNull(),
    tier: text('tier'),
    changeId: uuid('change_id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('registry_owners_name_idx').on(t.name)],
);

/** Applied `app-registry` change ids: a redelivered change inserts nothing here and so changes nothing. */
export const appRegistryChanges = escalation.table('app_registry_changes', {
  changeId: uuid('change_id').primaryKey(),
  appId: text('app_id').notNull(),
  occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
});

/**
 * Drill runs as the simulator registered them on `drills` (`<ns>.drills.v1`), by run id: the
 * state after the newest event applied. An incident is a drill only when its run id is here and
 * the run was active (started, not ended) when the incident was first seen.
 */
export const drillRuns = escalation.table('drill_runs', {
  runId: uuid('run_id').primaryKey(),
  state: text('state').$type<DrillRunState>().notNull(),
  scenario: jsonb('scenario').$type<{ id: string; version: number; name: string }>().notNull(),
  team: text('team').notNull(),
  environment: text('environment').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'string' }),
  endedAt: timestamp('ended_at', { withTimezone: true, mode: 'string' }),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
  /** Occurrence time of the newest event applied (older ones arriving late do not move the state back). */
  occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
});

/** Applied `drills` event ids: a redelivered event inserts nothing here and so changes nothing. */
export const drillRunEvents = escalation.table('drill_run_events', {
  eventId: uuid('event_id').primaryKey(),
  runId: uuid('run_id').notNull(),
  kind: text('kind').notNull(),
  occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'string' }).notNull(),
  recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
});
