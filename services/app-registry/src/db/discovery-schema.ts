import { sql } from 'drizzle-orm';
import {
  bigint,
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

/*
 * Discovery (issue 13): runs over the configured sources, the cursor of every file read, and the
 * candidates — what the sources show that no registered app matches — with their evidence.
 */

// schema.ts re-exports this module, so it may not import from there (the cycle would read its
// tables before they exist): the same schema, declared again.
const appRegistrySchema = pgSchema('app_registry');

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

export const discoveryTrigger = appRegistrySchema.enum('discovery_trigger', ['schedule', 'manual', 'stream']);
/** succeeded: every source read; partial: some source failed or some line could not be read; failed: none could be read. */
export const discoveryRunStatus = appRegistrySchema.enum('discovery_run_status', [
  'running',
  'succeeded',
  'partial',
  'failed',
]);
export const candidateTaskStatus = appRegistrySchema.enum('candidate_task_status', ['open', 'resolved', 'cancelled']);
export const candidateState = appRegistrySchema.enum('candidate_state', ['open', 'registered', 'dismissed']);

/** A line a source could not read: the file (relative to the source), its 1-based line, what was wrong. */
export interface DiscoveryReadError {
  file: string;
  line: number;
  message: string;
}

/** One source's part of a run's report. */
export interface SourceReport {
  source: string;
  /** The files read (changed or new since the last run). */
  files: number;
  linesRead: number;
  sightings: number;
  /** Distinct registered apps whose activity this run saw. */
  appsMatched: number;
  newCandidates: number;
  /** Lines (or whole files) that could not be read; `errorList` keeps the first ones. */
  errors: number;
  errorList: DiscoveryReadError[];
  /** The source as a whole could not be read (its folder is missing, …): the other sources still ran. */
  failed: string | null;
}

export interface RunTotals {
  linesRead: number;
  sightings: number;
  appsMatched: number;
  newCandidates: number;
  flagged: number;
  errors: number;
}

/** One discovery run: the daily job's or one asked for, with its report per source. */
export const discoveryRuns = appRegistrySchema.table(
  'discovery_runs',
  {
    id: uuid('id').primaryKey(),
    trigger: discoveryTrigger('trigger').notNull(),
    /** The person who asked for it, or `discovery-schedule`. */
    requestedBy: text('requested_by').notNull(),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at'),
    status: discoveryRunStatus('status').notNull().default('running'),
    totals: jsonb('totals')
      .$type<RunTotals>()
      .notNull()
      .default(sql`'{"linesRead":0,"sightings":0,"appsMatched":0,"newCandidates":0,"flagged":0,"errors":0}'::jsonb`),
    sources: jsonb('sources').$type<SourceReport[]>().notNull().default(sql`'[]'::jsonb`),
    /** Why the run as a whole failed (not a source's failure: those are in `sources`). */
    error: text('error'),
  },
  (t) => [index('discovery_runs_started_idx').on(t.startedAt, t.id)],
);

/**
 * Where each file of each source was read up to. A run resumes after `line` and commits the
 * cursor in the transaction of the results it read, so no line counts twice. A file whose first
 * bytes changed (`head`) or that shrank was rotated or replaced: it is read again from its start.
 */
export const discoveryCursors = appRegistrySchema.table(
  'discovery_cursors',
  {
    source: text('source').notNull(),
    file: text('file').notNull(),
    /** Lines (or records) consumed so far. */
    line: integer('line').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    /** sha256 of the file's first bytes when it was first read. */
    head: text('head').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [primaryKey({ name: 'discovery_cursors_pkey', columns: [t.source, t.file] })],
);

/**
 * Where each configured identity provider's app inventory was listed up to (idp/inventory.ts
 * `IdpCursor`: each item reported, with its version). Written in the transaction of the
 * provider's results, so an app registration is reported once, when it is new or changed.
 */
export const discoveryIdpCursors = appRegistrySchema.table('discovery_idp_cursors', {
  /** The provider's source name: `okta`, `entra`, `google`, `github:<org>`. */
  provider: text('provider').primaryKey(),
  cursor: jsonb('cursor').$type<{ v: 1; seen: Record<string, string> }>().notNull(),
  updatedAt: ts('updated_at').notNull(),
});

/** Who created or deployed a candidate, and who calls it, counted. */
export interface CallerCount {
  who: string;
  count: number;
  /** Creators only: what they did (`create` wins over a later `deploy`). */
  action?: string;
}

/** A source line that shows the candidate. */
export interface CandidateEvidence {
  source: string;
  format: string;
  action: string;
  at: string;
  file: string;
  line: number;
  text: string;
}

/**
 * Something the sources show that no registered app matches: an endpoint host, a cloud resource
 * or an identity-provider client, unique by kind and key. Flagged once it is still open a day
 * after it was first seen; the flag opens its ownership task.
 */
export const discoveryCandidates = appRegistrySchema.table(
  'discovery_candidates',
  {
    id: uuid('id').primaryKey(),
    /** The sighting's kind: function, container-app, api-gateway, bucket, cdn, endpoint, idp-client, saas. */
    kind: text('kind').notNull(),
    /** `host:<host>`, `resource:<id>` or `client:<id>`: what a registered app would be matched by. */
    key: text('key').notNull(),
    label: text('label').notNull(),
    match: jsonb('match').$type<{ host?: string; resourceId?: string; clientId?: string }>().notNull(),
    sources: text('sources').array().notNull().default(sql`'{}'::text[]`),
    firstSeenAt: ts('first_seen_at').notNull(),
    lastSeenAt: ts('last_seen_at').notNull(),
    sightings: bigint('sightings', { mode: 'number' }).notNull().default(0),
    /** Who created or deployed it (audit logs), most frequent first. */
    creators: jsonb('creators').$type<CallerCount[]>().notNull().default(sql`'[]'::jsonb`),
    /** Who calls it (access logs), most frequent first, capped. */
    topCallers: jsonb('top_callers').$type<CallerCount[]>().notNull().default(sql`'[]'::jsonb`),
    /** The first source lines that showed it, capped. */
    evidence: jsonb('evidence').$type<CandidateEvidence[]>().notNull().default(sql`'[]'::jsonb`),
    suggestedOwner: text('suggested_owner'),
    /** creator, deployer or caller */
    suggestedOwnerWhy: text('suggested_owner_why'),
    flaggedAt: ts('flagged_at'),
    state: candidateState('state').notNull().default('open'),
    taskId: uuid('task_id'),
    /** The app it was registered as (apps are never deleted: a purged one keeps its tombstone). */
    appId: text('app_id'),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    dismissReason: text('dismiss_reason'),
    /**
     * When a run first found it (the service's clock): the 24 hours before it is flagged count
     * from here, not from the evidence's own times (a month-old log found today is not overdue).
     */
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('discovery_candidates_kind_key').on(t.kind, t.key),
    index('discovery_candidates_state_seen_idx').on(t.state, t.lastSeenAt, t.id),
    // The flag sweep: open, not flagged yet, discovered before the cutoff.
    index('discovery_candidates_unflagged_idx').on(t.createdAt).where(sql`state = 'open' and flagged_at is null`),
  ],
);

/** Someone who could own a discovered candidate: who created or deployed it, or who calls it most. */
export interface CandidateOwner {
  why: 'creator' | 'deployer' | 'caller';
  name: string;
  count: number;
}

/**
 * The ownership task of a flagged candidate. Ownership tasks (ownership_tasks) belong to an app
 * (a foreign key) and a candidate is not one yet, so its task lives here, with the same model:
 * open until the candidate is registered (resolved) or dismissed (cancelled).
 */
export const candidateOwnershipTasks = appRegistrySchema.table(
  'candidate_ownership_tasks',
  {
    id: uuid('id').primaryKey(),
    candidateId: uuid('candidate_id').notNull(),
    status: candidateTaskStatus('status').notNull().default('open'),
    /** unregistered_discovered */
    reason: text('reason').notNull(),
    detail: text('detail').notNull(),
    candidates: jsonb('candidates').$type<CandidateOwner[]>().notNull().default(sql`'[]'::jsonb`),
    openedAt: ts('opened_at').notNull(),
    openedBy: text('opened_by').notNull(),
    resolvedAt: ts('resolved_at'),
    resolvedBy: text('resolved_by'),
    /** registered as <app id>, or the dismissal's reason */
    resolution: text('resolution'),
  },
  (t) => [
    uniqueIndex('candidate_ownership_tasks_open_key').on(t.candidateId).where(sql`status = 'open'`),
    index('candidate_ownership_tasks_status_idx').on(t.status, t.openedAt),
    foreignKey({
      name: 'candidate_ownership_tasks_candidate_fk',
      columns: [t.candidateId],
      foreignColumns: [discoveryCandidates.id],
    }).onDelete('cascade'),
  ],
);
