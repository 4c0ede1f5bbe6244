import { sql } from 'drizzle-orm';
import {
  bigserial,
  date,
  doublePrecision,
  index,
  integer,
  numeric,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/*
 * Cost (migration 0006): the imported cost files, the daily cost they sum to, quotas and the
 * alerts they sent, quota increase requests and the anomalies found. Amounts are numeric with nine
 * decimals (exact; src/cost/money.ts). Re-exported by schema.ts, so drizzle-kit and the service
 * see them with the rest; the schema object is declared again here (same name) rather than
 * imported, so that the two modules do not import each other.
 */
const appRegistry = pgSchema('app_registry');

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });
const money = (name: string) => numeric(name, { precision: 24, scale: 9 });

export const costFormat = appRegistry.enum('cost_format', ['focus', 'cur', 'cur2']);
export const quotaScope = appRegistry.enum('quota_scope', ['team', 'owner', 'environment']);
export const quotaRequestStatus = appRegistry.enum('quota_request_status', ['pending', 'approved', 'rejected']);

/** One row per imported cost file: who, when, what it held. */
export const costImports = appRegistry.table(
  'cost_imports',
  {
    id: uuid('id').primaryKey(),
    at: ts('at').notNull(),
    actorSubject: text('actor_subject').notNull(),
    actorName: text('actor_name'),
    format: costFormat('format').notNull(),
    fileName: text('file_name'),
    rows: integer('rows').notNull(),
    currency: text('currency').notNull(),
    total: money('total').notNull(),
    /** The part no app claims (no app tag, no known resource id). */
    untagged: money('untagged').notNull(),
    firstDay: date('first_day', { mode: 'string' }).notNull(),
    lastDay: date('last_day', { mode: 'string' }).notNull(),
    accounts: text('accounts').array().notNull().default(sql`'{}'::text[]`),
    /** Daily cost rows the file summed to. */
    dailyRows: integer('daily_rows').notNull(),
    /** Daily cost rows of earlier imports (same accounts and days) this one replaced. */
    replacedRows: integer('replaced_rows').notNull().default(0),
  },
  (t) => [index('cost_imports_at_idx').on(t.at)],
);

/**
 * The daily cost, summed per (day, app or none, resource, team, environment, service category,
 * currency, billing account) at import. A later file with the same accounts and days replaces
 * these rows (a restated export), so importing a file again changes nothing.
 */
export const dailyCosts = appRegistry.table(
  'daily_costs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    importId: uuid('import_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    /** Null: untagged cost. */
    appId: text('app_id'),
    resourceId: text('resource_id'),
    team: text('team'),
    environment: text('environment'),
    serviceCategory: text('service_category').notNull(),
    currency: text('currency').notNull(),
    account: text('account').notNull(),
    cost: money('cost').notNull(),
    lines: integer('lines').notNull(),
  },
  (t) => [
    index('daily_costs_day_idx').on(t.day),
    index('daily_costs_app_day_idx').on(t.appId, t.day),
    index('daily_costs_team_day_idx').on(t.team, t.day),
    index('daily_costs_account_day_idx').on(t.account, t.day),
  ],
);

/** A monthly quota for a team, an owner (their contact) or an environment, in one currency. */
export const costQuotas = appRegistry.table(
  'cost_quotas',
  {
    id: uuid('id').primaryKey(),
    scope: quotaScope('scope').notNull(),
    subject: text('subject').notNull(),
    monthlyAmount: money('monthly_amount').notNull(),
    currency: text('currency').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [uniqueIndex('cost_quotas_scope_subject_uq').on(t.scope, t.subject, t.currency)],
);

/** The alerts a quota sent: at 80 % and at 100 %, once per month each (the key). */
export const costQuotaAlerts = appRegistry.table(
  'cost_quota_alerts',
  {
    quotaId: uuid('quota_id')
      .notNull()
      .references(() => costQuotas.id, { onDelete: 'cascade' }),
    /** YYYY-MM */
    month: text('month').notNull(),
    level: integer('level').notNull(),
    at: ts('at').notNull(),
    /** What the scope had cost then. */
    used: money('used').notNull(),
  },
  (t) => [primaryKey({ columns: [t.quotaId, t.month, t.level] })],
);

/** A request to raise a quota, with its justification; an approver (not the requester) decides. */
export const costQuotaRequests = appRegistry.table(
  'cost_quota_requests',
  {
    id: uuid('id').primaryKey(),
    quotaId: uuid('quota_id')
      .notNull()
      .references(() => costQuotas.id, { onDelete: 'cascade' }),
    amount: money('amount').notNull(),
    justification: text('justification').notNull(),
    status: quotaRequestStatus('status').notNull().default('pending'),
    requestedBy: text('requested_by').notNull(),
    requestedByName: text('requested_by_name'),
    requestedAt: ts('requested_at').notNull(),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    comment: text('comment'),
  },
  (t) => [index('cost_quota_requests_status_idx').on(t.status, t.requestedAt)],
);

/** A day an app cost unusually much against its own baseline (src/cost/anomaly.ts). */
export const costAnomalies = appRegistry.table(
  'cost_anomalies',
  {
    id: uuid('id').primaryKey(),
    appId: text('app_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    currency: text('currency').notNull(),
    cost: money('cost').notNull(),
    median: money('median').notNull(),
    mad: money('mad').notNull(),
    /** The robust z-score; Infinity over a perfectly flat baseline. */
    score: doublePrecision('score').notNull(),
    detectedAt: ts('detected_at').notNull(),
  },
  (t) => [
    uniqueIndex('cost_anomalies_app_day_uq').on(t.appId, t.day, t.currency),
    index('cost_anomalies_day_idx').on(t.day),
  ],
);
