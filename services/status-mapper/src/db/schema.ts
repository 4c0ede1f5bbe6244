import { sql } from 'drizzle-orm';
import {
  bigserial,
  foreignKey,
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

/** Everything status-mapper stores lives in its own schema; no other service reads it. */
export const statusMapperSchema = pgSchema('status_mapper');

export const componentStatus = statusMapperSchema.enum('component_status', [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'unknown',
]);
export const observationSource = statusMapperSchema.enum('observation_source', ['poll', 'webhook', 'aws']);
/** What a source is (config/sources.ts): a Statuspage v2 page, or AWS Health. */
export const sourceKind = statusMapperSchema.enum('source_kind', ['statuspage', 'aws-health']);

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });
const updatedAt = () =>
  ts('updated_at')
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date().toISOString());

/**
 * One row per configured status page (the sources file is the truth; start-up syncs it here).
 * The poll job claims due, unclaimed rows with FOR UPDATE SKIP LOCKED and sets `claimed_until`,
 * so several replicas (or a forced poll beside a tick) never poll one page at once.
 */
export const pages = statusMapperSchema.table(
  'pages',
  {
    id: text('id').primaryKey(),
    kind: sourceKind('kind').notNull().default('statuspage'),
    provider: text('provider').notNull(),
    /** What is polled: the page's summary.json, or the AWS Health API endpoint; null when nothing is (EventBridge only). */
    url: text('url'),
    /** Null for a source that is never polled (AWS Health fed by EventBridge only): the poll job skips it. */
    intervalSeconds: integer('interval_seconds'),
    jitterSeconds: integer('jitter_seconds').notNull(),
    /** Statuspage `page.id`, learned from the first good summary (webhooks name it). */
    providerPageId: text('provider_page_id'),
    pageName: text('page_name'),
    indicator: text('indicator'),
    nextDueAt: ts('next_due_at').notNull().defaultNow(),
    /** Set while a replica polls the page (the claim); cleared when the outcome is written, or lapses. */
    claimedUntil: ts('claimed_until'),
    etag: text('etag'),
    lastModified: text('last_modified'),
    /**
     * Hash of the last good summary.json as read (store.ts, summaryHash): a poll that brings the
     * same one back only moves this row. Null when something else wrote the page's components or
     * incidents since (a webhook): the next poll then compares in full.
     */
    summaryHash: text('summary_hash'),
    lastPolledAt: ts('last_polled_at'),
    lastSuccessAt: ts('last_success_at'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    failingSince: ts('failing_since'),
    lastError: text('last_error'),
    /** Set once the page has failed for the configured number of polls: its components read `unknown`. */
    staleSince: ts('stale_since'),
    updatedAt: updatedAt(),
  },
  (t) => [index('pages_next_due_at_idx').on(t.nextDueAt), index('pages_provider_page_id_idx').on(t.providerPageId)],
);

/** Current condition of every provider component (a projection of `provider-status`). */
export const components = statusMapperSchema.table(
  'components',
  {
    pageId: text('page_id').notNull(),
    componentId: text('component_id').notNull(),
    /** `<page id>/<component id>`: the event subject and Kafka key. */
    key: text('key').notNull(),
    name: text('name').notNull(),
    groupId: text('group_id'),
    groupName: text('group_name'),
    /** What we say now: the provider's status, or `unknown` while the page is stale. */
    status: componentStatus('status').notNull(),
    statusSince: ts('status_since').notNull(),
    /** The last status the provider itself reported (kept beside `unknown` while stale). */
    reportedStatus: componentStatus('reported_status').notNull(),
    providerStatus: text('provider_status'),
    reportedAt: ts('reported_at').notNull(),
    source: observationSource('source').notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ name: 'components_pkey', columns: [t.pageId, t.componentId] }),
    foreignKey({ name: 'components_page_id_fkey', columns: [t.pageId], foreignColumns: [pages.id] }).onDelete(
      'cascade',
    ),
    uniqueIndex('components_key_key').on(t.key),
  ],
);

/** Append-only history of condition changes: from → to, when, from which source. */
export const componentChanges = statusMapperSchema.table(
  'component_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    changeId: uuid('change_id').notNull(),
    componentKey: text('component_key').notNull(),
    pageId: text('page_id').notNull(),
    fromStatus: componentStatus('from_status'),
    toStatus: componentStatus('to_status').notNull(),
    providerStatus: text('provider_status'),
    staleSince: ts('stale_since'),
    reason: text('reason'),
    source: observationSource('source').notNull(),
    observedAt: ts('observed_at').notNull(),
  },
  (t) => [
    uniqueIndex('component_changes_change_id_key').on(t.changeId),
    index('component_changes_component_key_idx').on(t.componentKey, t.id),
  ],
);

/** Provider incidents as last seen (unresolved ones come with every summary.json). */
export const providerIncidents = statusMapperSchema.table(
  'provider_incidents',
  {
    pageId: text('page_id').notNull(),
    incidentId: text('incident_id').notNull(),
    name: text('name').notNull(),
    status: text('status').notNull(),
    impact: text('impact').notNull(),
    shortlink: text('shortlink'),
    /** The provider's own identifier when `incident_id` is derived from it (the AWS Health event ARN). */
    externalRef: text('external_ref'),
    /** When the provider says it starts and ends (AWS Health startTime/endTime). */
    startsAt: ts('starts_at'),
    endsAt: ts('ends_at'),
    latestUpdate: text('latest_update'),
    componentIds: jsonb('component_ids').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    providerUpdatedAt: ts('provider_updated_at'),
    firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
    /** Set when the provider resolved it, or when it left the page's unresolved list. */
    resolvedAt: ts('resolved_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ name: 'provider_incidents_pkey', columns: [t.pageId, t.incidentId] }),
    foreignKey({ name: 'provider_incidents_page_id_fkey', columns: [t.pageId], foreignColumns: [pages.id] }).onDelete(
      'cascade',
    ),
    index('provider_incidents_open_idx').on(t.pageId).where(sql`resolved_at is null`),
  ],
);
