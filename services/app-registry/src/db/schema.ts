import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgSchema,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Control, DecisionSummary, Endpoint, Reason } from '../model.js';
import { discoveryCandidates } from './discovery-schema.js';

/** Everything app-registry stores lives in its own schema; no other service reads it. */
export const appRegistrySchema = pgSchema('app_registry');

// Enums first.
export const appState = appRegistrySchema.enum('app_state', [
  'refused',
  'held',
  'pending_approval',
  'active',
  'idle',
  'disabled',
  'archived',
  'purged',
]);
export const riskTier = appRegistrySchema.enum('risk_tier', ['low', 'medium', 'high']);
export const appRuntime = appRegistrySchema.enum('app_runtime', [
  'serverless_function',
  'wasm',
  'container',
  'low_code',
  'saas_connector',
  'other',
]);
export const appImpact = appRegistrySchema.enum('app_impact', [
  'business_critical',
  'business_helpful',
  'experimental',
]);
export const appExposure = appRegistrySchema.enum('app_exposure', [
  'internal_network',
  'authenticated_api',
  'public_url',
]);
export const appSla = appRegistrySchema.enum('app_sla', ['best_effort', 'business_hours', 'always_on']);
export const appOrigin = appRegistrySchema.enum('app_origin', ['api', 'import', 'backstage', 'discovery']);
export const decisionOutcome = appRegistrySchema.enum('decision_outcome', [
  'approve',
  'needs_approval',
  'refuse',
  'hold',
  'approved',
  'rejected',
]);
export const auditOutcome = appRegistrySchema.enum('audit_outcome', ['allowed', 'denied', 'failed']);
export const evidenceKind = appRegistrySchema.enum('evidence_kind', ['sbom', 'secret_scan', 'dependency_scan', 'sso']);
export const exceptionStatus = appRegistrySchema.enum('exception_status', ['pending', 'approved', 'rejected']);

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * One row per app: the projection every read uses. Rows are never deleted: a purged app keeps
 * a tombstone (id, name, owners, tier) so that its history and audit still say what it was.
 * `version` is the optimistic-concurrency token (ETag); `search_text` is written by the service
 * (name, purpose, owners, tags, repository, hosts) and indexed as `search`.
 */
export const apps = appRegistrySchema.table(
  'apps',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    purpose: text('purpose').notNull().default(''),
    ownerName: text('owner_name'),
    ownerContact: text('owner_contact'),
    ownerSubject: text('owner_subject'),
    teamName: text('team_name').notNull(),
    teamContact: text('team_contact').notNull(),
    state: appState('state').notNull(),
    stateChangedAt: ts('state_changed_at').notNull(),
    runtime: appRuntime('runtime').notNull(),
    environments: text('environments').array().notNull().default(sql`'{}'::text[]`),
    repository: text('repository'),
    endpoints: jsonb('endpoints').$type<Endpoint[]>().notNull().default(sql`'[]'::jsonb`),
    idpClientIds: text('idp_client_ids').array().notNull().default(sql`'{}'::text[]`),
    cloudResourceIds: text('cloud_resource_ids').array().notNull().default(sql`'{}'::text[]`),
    dataClasses: text('data_classes').array().notNull().default(sql`'{}'::text[]`),
    impact: appImpact('impact').notNull(),
    exposure: appExposure('exposure').notNull(),
    namespace: text('namespace'),
    dedicatedNamespace: boolean('dedicated_namespace').notNull().default(false),
    publicStorage: boolean('public_storage').notNull().default(false),
    costCentre: text('cost_centre'),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    template: text('template'),
    sla: appSla('sla').notNull().default('best_effort'),
    /** From the latest policy decision; null while none could be made (held). */
    riskScore: integer('risk_score'),
    tier: riskTier('tier'),
    decision: jsonb('decision').$type<DecisionSummary>(),
    /** Required controls missing, failing or violated (not excepted) in the latest decision. */
    openViolations: integer('open_violations').notNull().default(0),
    approvedTier: riskTier('approved_tier'),
    approvedBy: text('approved_by'),
    approvedAt: ts('approved_at'),
    /** Who registered it (an approver may not approve their own request). */
    requestedBy: text('requested_by').notNull(),
    lifecycleExemptUntil: ts('lifecycle_exempt_until'),
    lastActivityAt: ts('last_activity_at').notNull(),
    disabledAt: ts('disabled_at'),
    archivedAt: ts('archived_at'),
    /** archived_at + the restore window: the purge is due after it. */
    purgeAfter: ts('purge_after'),
    origin: appOrigin('origin').notNull().default('api'),
    /** Where it came from: a Backstage entity ref, an import file, a discovery source (issue 13). */
    originRef: text('origin_ref'),
    searchText: text('search_text').notNull().default(''),
    search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('simple'::regconfig, search_text)`),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    version: integer('version').notNull().default(1),
  },
  (t) => [
    // A purged app's name may be used again.
    uniqueIndex('apps_name_key').on(t.name).where(sql`state <> 'purged'`),
    // A list filtered by several states is read one state at a time in the sort's order (query.ts).
    index('apps_state_activity_id_idx').on(t.state, t.lastActivityAt, t.id),
    index('apps_state_name_idx').on(t.state, t.name, t.id),
    index('apps_state_changed_idx').on(t.state, t.stateChangedAt),
    index('apps_purge_after_idx').on(t.purgeAfter).where(sql`state = 'archived'`),
    index('apps_disabled_at_idx').on(t.disabledAt).where(sql`state = 'disabled'`),
    index('apps_team_idx').on(t.teamName),
    // The list's team and owner filters are case-insensitive: lower(...) = lower($1).
    index('apps_team_lower_idx').on(sql`lower(team_name)`, t.name, t.id),
    index('apps_owner_name_lower_idx').on(sql`lower(owner_name)`),
    index('apps_owner_contact_lower_idx').on(sql`lower(owner_contact)`),
    index('apps_tier_idx').on(t.tier),
    index('apps_created_idx').on(t.createdAt, t.id),
    index('apps_updated_idx').on(t.updatedAt, t.id),
    index('apps_activity_idx').on(t.lastActivityAt, t.id),
    index('apps_risk_idx').on(sql`coalesce(risk_score, -1)`, t.id),
    index('apps_search_idx').using('gin', t.search),
    index('apps_tags_idx').using('gin', t.tags),
    index('apps_data_classes_idx').using('gin', t.dataClasses),
    index('apps_environments_idx').using('gin', t.environments),
    // Ready for discovery (issue 13): matching by client id, resource id and host.
    index('apps_idp_clients_idx').using('gin', t.idpClientIds),
    index('apps_cloud_resources_idx').using('gin', t.cloudResourceIds),
    index('apps_endpoints_idx').using('gin', sql`endpoints jsonb_path_ops`),
  ],
);

/**
 * The free-text search's words in name order: one row per app and distinct word, where a word is
 * a lexeme of `apps.search` up to its first ASCII character that is neither a letter nor a digit
 * (`refund-tracker-7.apps.example.com` → `refund`). A prefix a user types (letters and digits
 * only) begins a lexeme exactly when it begins that lexeme's word, so
 * `word ^@ 'refund'` finds the same apps as `search @@ 'refund:*'`. A list searched for one word
 * and sorted by name reads the matches' (name, id) from this index alone, sorted, instead of one
 * table page per match (query.ts). Written only by statement triggers on `apps` (migration 0004),
 * in the writing transaction.
 */
export const appWords = appRegistrySchema.table(
  'app_words',
  {
    word: text('word').notNull(),
    name: text('name').notNull(),
    appId: text('app_id').notNull(),
  },
  // Byte order ("C"), like a tsquery prefix: `word ^@ $1` becomes a range on this index.
  (t) => [index('app_words_word_idx').on(sql`word COLLATE "C"`, t.name, t.appId)],
);

/**
 * Append-only: every change to an app (who, what changed as a JSON diff, when), written in the
 * transaction of the change. A trigger refuses UPDATE, DELETE and TRUNCATE; the runtime role may
 * only insert and select.
 */
export const appHistory = appRegistrySchema.table(
  'app_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    appId: text('app_id').notNull(),
    at: ts('at').notNull(),
    actorSubject: text('actor_subject').notNull(),
    actorName: text('actor_name'),
    /** created, updated, imported, decided, approved, rejected, evidence, exception, state_changed, purged … */
    action: text('action').notNull(),
    /** `{ field: { from, to } }` */
    changes: jsonb('changes').$type<Record<string, { from: unknown; to: unknown }>>().notNull(),
    detail: text('detail'),
    requestId: text('request_id'),
  },
  (t) => [
    index('app_history_app_idx').on(t.appId, t.id),
    foreignKey({ name: 'app_history_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('restrict'),
  ],
);

/**
 * Append-only: every decision (the policy's, an approver's), every refusal of a request (401,
 * 403, self-approval) and every lifecycle transition, with the outcome.
 */
export const auditLog = appRegistrySchema.table(
  'audit_log',
  {
    id: uuid('id').primaryKey(),
    at: ts('at').notNull(),
    actorSubject: text('actor_subject').notNull(),
    actorName: text('actor_name'),
    action: text('action').notNull(),
    outcome: auditOutcome('outcome').notNull(),
    appId: text('app_id'),
    detail: text('detail').notNull(),
    requestId: text('request_id'),
    /** What was asked for, as validated (never a credential). */
    request: jsonb('request'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_app_idx').on(t.appId, t.at),
    index('audit_log_actor_idx').on(t.actorSubject, t.at),
  ],
);

/** Append-only: every decision on an app, the policy's (approve, needs_approval, refuse, hold) and an approver's. */
export const decisions = appRegistrySchema.table(
  'decisions',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id').notNull(),
    at: ts('at').notNull(),
    outcome: decisionOutcome('outcome').notNull(),
    /** `policy`, or the approver's subject. */
    decidedBy: text('decided_by').notNull(),
    tier: riskTier('tier'),
    score: integer('score'),
    policyVersion: text('policy_version'),
    reasons: jsonb('reasons').$type<Reason[]>().notNull(),
    controls: jsonb('controls').$type<Control[]>().notNull(),
    comment: text('comment'),
  },
  (t) => [
    index('decisions_app_idx').on(t.appId, t.at),
    foreignKey({ name: 'decisions_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('restrict'),
  ],
);

/**
 * Evidence posted by pipelines with the app's token: a summary of the document (never the
 * document itself) and its sha256. The latest of each kind counts.
 */
export const evidence = appRegistrySchema.table(
  'evidence',
  {
    id: uuid('id').primaryKey(),
    /** Arrival order (times can tie): the latest of a kind is the one with the highest. */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    appId: text('app_id').notNull(),
    kind: evidenceKind('kind').notNull(),
    /** CycloneDX, SPDX, SARIF, oidc-client */
    format: text('format').notNull(),
    receivedAt: ts('received_at').notNull(),
    summary: jsonb('summary').$type<Record<string, unknown>>().notNull(),
    sha256: text('sha256').notNull(),
    tokenId: uuid('token_id'),
  },
  (t) => [
    index('evidence_app_kind_idx').on(t.appId, t.kind, t.seq),
    foreignKey({ name: 'evidence_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('cascade'),
  ],
);

/** App-scoped tokens for pipelines: only their sha256 is stored; one live token per app. */
export const appTokens = appRegistrySchema.table(
  'app_tokens',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: ts('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    revokedAt: ts('revoked_at'),
    lastUsedAt: ts('last_used_at'),
  },
  (t) => [
    index('app_tokens_app_idx').on(t.appId),
    foreignKey({ name: 'app_tokens_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('cascade'),
  ],
);

/** A time-limited exception to one control of one app: requested, then approved by someone else. */
export const controlExceptions = appRegistrySchema.table(
  'control_exceptions',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id').notNull(),
    control: text('control').notNull(),
    reason: text('reason').notNull(),
    status: exceptionStatus('status').notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: ts('requested_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
  },
  (t) => [
    index('control_exceptions_app_idx').on(t.appId, t.status),
    foreignKey({ name: 'control_exceptions_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete(
      'cascade',
    ),
  ],
);

/**
 * Notices to owners, written in the transaction that causes them and delivered afterwards by the
 * lifecycle job (at least once): a disabled app's owner hears of it even if Slack was down. A
 * notice is about an app or, when discovery flags one nobody registered, a discovered candidate.
 */
export const notifications = appRegistrySchema.table(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id'),
    candidateId: uuid('candidate_id'),
    kind: text('kind').notNull(),
    title: text('title').notNull(),
    text: text('text').notNull(),
    createdAt: ts('created_at').notNull(),
    sentAt: ts('sent_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [
    index('notifications_unsent_idx').on(t.createdAt).where(sql`sent_at is null`),
    foreignKey({ name: 'notifications_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('cascade'),
    foreignKey({
      name: 'notifications_candidate_fk',
      columns: [t.candidateId],
      foreignColumns: [discoveryCandidates.id],
    }).onDelete('cascade'),
    check('notifications_subject_check', sql`(app_id is null) <> (candidate_id is null)`),
  ],
);

/** Applied event ids: a redelivered event changes nothing. */
export const appliedEvents = appRegistrySchema.table('applied_events', {
  eventId: text('event_id').primaryKey(),
  appliedAt: ts('applied_at').notNull().defaultNow(),
});

export const ownershipTaskStatus = appRegistrySchema.enum('ownership_task_status', ['open', 'resolved', 'cancelled']);

/** Someone who could own an app whose owner left: its team, people who edited it lately, owners of the team's other apps. */
export interface OwnerCandidate {
  /** `team`: the app's team; `recent_editor`: changed the app lately; `co_owner`: owns another app of the team. */
  why: 'team' | 'recent_editor' | 'co_owner';
  name: string;
  contact: string | null;
  subject: string | null;
}

/**
 * An app without an owner has exactly one open task (unique index) until someone is assigned:
 * opened when the owner leaves (an identity-provider deactivation, an import or an edit that
 * drops them) or when an app is registered without one. Resolved by assigning an owner.
 */
export const ownershipTasks = appRegistrySchema.table(
  'ownership_tasks',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id').notNull(),
    status: ownershipTaskStatus('status').notNull().default('open'),
    /** owner_deactivated, owner_dropped_by_import, owner_removed, no_owner */
    reason: text('reason').notNull(),
    detail: text('detail').notNull(),
    previousOwner: jsonb('previous_owner').$type<{ name: string; contact: string | null; subject: string | null }>(),
    candidates: jsonb('candidates').$type<OwnerCandidate[]>().notNull().default(sql`'[]'::jsonb`),
    openedAt: ts('opened_at').notNull(),
    openedBy: text('opened_by').notNull(),
    resolvedAt: ts('resolved_at'),
    resolvedBy: text('resolved_by'),
    newOwner: jsonb('new_owner').$type<{ name: string; contact: string; subject: string | null }>(),
  },
  (t) => [
    uniqueIndex('ownership_tasks_open_key').on(t.appId).where(sql`status = 'open'`),
    index('ownership_tasks_status_idx').on(t.status, t.openedAt),
    foreignKey({ name: 'ownership_tasks_app_fk', columns: [t.appId], foreignColumns: [apps.id] }).onDelete('cascade'),
  ],
);

/**
 * People the identity provider reported as deactivated (by event id: a redelivered event changes
 * nothing). They are never proposed as candidates and cannot be assigned as owners.
 */
export const identityEvents = appRegistrySchema.table(
  'identity_events',
  {
    eventId: text('event_id').primaryKey(),
    /** okta, scim */
    source: text('source').notNull(),
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    email: text('email'),
    displayName: text('display_name'),
    occurredAt: ts('occurred_at').notNull(),
    receivedAt: ts('received_at').notNull(),
  },
  (t) => [index('identity_events_subject_idx').on(t.subject), index('identity_events_email_idx').on(t.email)],
);

/** One row per UTC day: the governance counts as the lifecycle sweep last saw them that day (the trend). */
export const governanceSnapshots = appRegistrySchema.table('governance_snapshots', {
  day: text('day').primaryKey(),
  takenAt: ts('taken_at').notNull(),
  counts: jsonb('counts')
    .$type<{
      total: number;
      byState: Record<string, number>;
      onTemplate: number | null;
      openViolations: number;
      openOwnershipTasks: number;
    }>()
    .notNull(),
});

// Cost (issue 13): imports, daily cost, quotas, increase requests and anomalies.
export * from './cost-schema.js';
// Discovery (issue 13): its runs, cursors, candidates and their ownership tasks.
export * from './discovery-schema.js';
