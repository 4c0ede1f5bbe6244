import { randomUUID } from 'node:crypto';
import { ConflictError, InputError, type Logger, NotAllowedError, NotFoundError } from '@micro-oncall/service-kit';
import { and, asc, desc, eq, gte, inArray, isNotNull, lt, ne, type SQL, sql } from 'drizzle-orm';
import * as costSchema from '../db/cost-schema.js';
import * as schema from '../db/schema.js';
import type { Actor, Clock, Db, Executor, Meta } from '../types.js';
import { type AnomalySettings, addDays, assessDay, baselineOf } from './anomaly.js';
import { type AttributionSettings, createAggregation, createAttribution, type DailyCost } from './attribution.js';
import { formatDecimal, nanosOf, parseDecimal, toNumber } from './money.js';
import { ANOMALY_NOTICE, derivedId, monthOf, monthRange, QUOTA_NOTICE, WEEKLY_REPORT_NOTICE } from './notices.js';
import { CostFileError, type CostFormat, readCostFile } from './readers.js';

/*
 * Cost: cost files imported (FOCUS, CUR) into daily cost per app, team and environment; quotas
 * with alerts at 80 % and 100 % once a month each; quota increase requests an approver decides;
 * anomalies against each app's own baseline; the chargeback per team; a weekly report per app to
 * its owners. Alerts, anomalies and reports are owner notices (src/notify.ts), so they reach
 * Slack, the webhook and email like the lifecycle's.
 *
 * An import reads the file (streaming) into daily sums inside one transaction, with the import's
 * record and audit entry, replacing the earlier rows of the same billing accounts and days
 * (exports are restated; importing a file twice changes nothing): a file with anything wrong is
 * refused whole and the transaction rolled back, so nothing of it is stored. Memory is bounded:
 * past COST_IMPORT_MEMORY_ROWS daily rows the partial sums go to a scratch table, and reading
 * waits for each such write (the upload is paused meanwhile).
 */

const { costImports, dailyCosts, costQuotas, costQuotaAlerts, costQuotaRequests, costAnomalies } = costSchema;
const a = schema.apps;
/** Daily rows per statement when an import's rows fit in memory (no spill). */
const INSERT_BATCH = 20_000;

/** The import's scratch table: partial daily sums, dropped with the transaction. */
const SPILL_TABLE = sql`create temporary table cost_import_spill (
  day date not null, app_id text, resource_id text, team text, environment text,
  service_category text not null, currency text not null, account text not null,
  cost numeric(24, 9) not null, lines integer not null
) on commit drop`;

/**
 * Daily rows as one statement with one array parameter per column (unnest): a handful of
 * parameters however many rows, where a multi-row VALUES list would build, send and parse 11 per
 * row (drizzle's builder alone spends ~0.1 ms of CPU per row on those). `into` is the scratch
 * table (partial sums) or the import's daily rows.
 */
function unnestInsert(rows: readonly DailyCost[], into: { spill: true } | { importId: string }): SQL {
  const column = <T>(pick: (r: DailyCost) => T) => sql.param(rows.map(pick));
  const values = sql`unnest(${column((r) => r.day)}::date[], ${column((r) => r.appId)}::text[],
      ${column((r) => r.resourceId)}::text[], ${column((r) => r.team)}::text[],
      ${column((r) => r.environment)}::text[], ${column((r) => r.serviceCategory)}::text[],
      ${column((r) => r.currency)}::text[], ${column((r) => r.account)}::text[],
      ${column((r) => formatDecimal(r.cost))}::numeric[], ${column((r) => r.lines)}::int[])`;
  if ('spill' in into) return sql`insert into cost_import_spill select * from ${values}`;
  return sql`insert into ${dailyCosts}
      (import_id, day, app_id, resource_id, team, environment, service_category, currency, account, cost, lines)
    select ${into.importId}::uuid, v.* from ${values} as v`;
}

/** The spilled partial sums, summed into the import's daily rows. */
const spillSum = (importId: string): SQL => sql`insert into ${dailyCosts}
    (import_id, day, app_id, resource_id, team, environment, service_category, currency, account, cost, lines)
  select ${importId}::uuid, day, app_id, resource_id, team, environment, service_category, currency, account,
    sum(cost), sum(lines)::int
  from cost_import_spill
  group by day, app_id, resource_id, team, environment, service_category, currency, account`;

export interface CostSettings {
  attribution: AttributionSettings;
  /** Daily rows an import keeps in memory before it spills them (COST_IMPORT_MEMORY_ROWS). */
  importMemoryRows: number;
  anomaly: AnomalySettings;
}

type AuditEntry = {
  actor: Actor;
  action: string;
  outcome: 'allowed' | 'denied' | 'failed';
  appId?: string | null;
  detail: string;
  requestId?: string | null;
  request?: unknown;
};

export interface CostDeps {
  db: Db;
  clock: Clock;
  settings: CostSettings;
  logger: Logger;
  audit: (tx: Executor, entry: AuditEntry) => Promise<void>;
  /** Notices were written: hand them to their channels (errors are the caller's to log). */
  noticesWritten: () => void;
}

export interface ImportResult {
  id: string;
  format: CostFormat;
  fileName: string | null;
  rows: number;
  currency: string;
  total: string;
  untagged: string;
  attributed: { byTag: number; byResource: number; untagged: number };
  firstDay: string;
  lastDay: string;
  dailyRows: number;
  replacedRows: number;
  quotaAlerts: number;
  anomalies: number;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function createCost(deps: CostDeps) {
  const { db, clock, settings, logger } = deps;
  const nowIso = () => clock().toISOString();

  // ------------------------------------------------------------ import

  async function importFile(
    input: NodeJS.ReadableStream,
    opts: { format?: CostFormat; fileName?: string; actor: Actor } & Meta,
  ): Promise<ImportResult> {
    const apps = await db
      .select({ id: a.id, teamName: a.teamName, cloudResourceIds: a.cloudResourceIds })
      .from(a)
      .where(ne(a.state, 'purged'));
    const aggregation = createAggregation(createAttribution(apps, settings.attribution));
    const id = randomUUID();
    const stored = await db.transaction(async (tx) => {
      // Past settings.importMemoryRows daily rows in memory (50,000 by default, about 25 MB), the
      // partial sums go to a scratch table of this transaction (gone with it, committed or not)
      // and are summed there at the end: a file of few apps, resources and days is summed in
      // memory and written once; a file of a million resource-days is summed by PostgreSQL.
      let spilled = 0;
      const spill = async () => {
        if (spilled === 0) await tx.execute(SPILL_TABLE);
        const rows = aggregation.take();
        await tx.execute(unnestInsert(rows, { spill: true }));
        spilled += rows.length;
      };
      const seen: { currency: string | null } = { currency: null };
      const read = await readCostFile(
        input,
        (line) => {
          seen.currency ??= line.currency;
          if (line.currency !== seen.currency) {
            throw new CostFileError(
              `row ${line.row}, column BillingCurrency: ${line.currency} after ${seen.currency}: import one file per billing currency`,
              { row: line.row, column: 'BillingCurrency' },
            );
          }
          aggregation.add(line);
          return aggregation.pending >= settings.importMemoryRows ? spill() : undefined;
        },
        opts.format ? { format: opts.format } : {},
      );
      const currency = seen.currency;
      if (read.rows === 0 || !currency) throw new CostFileError('the file has a header and no cost lines', {});
      const result = aggregation.result();
      const firstDay = result.days[0]!;
      const lastDay = result.days[result.days.length - 1]!;
      // A restated export: the same accounts' days, imported before, are replaced.
      const replaced = await tx
        .delete(dailyCosts)
        .where(
          and(
            inArray(dailyCosts.account, result.accounts),
            gte(dailyCosts.day, firstDay),
            sql`${dailyCosts.day} <= ${lastDay}::date`,
            inArray(dailyCosts.day, result.days),
          ),
        );
      let dailyRows: number;
      if (spilled === 0) {
        for (let i = 0; i < result.rows.length; i += INSERT_BATCH) {
          await tx.execute(unnestInsert(result.rows.slice(i, i + INSERT_BATCH), { importId: id }));
        }
        dailyRows = result.rows.length;
      } else {
        await spill();
        dailyRows = (await tx.execute(spillSum(id))).rowCount ?? 0;
      }
      const totals = result.totals.get(currency)!;
      await tx.insert(costImports).values({
        id,
        at: nowIso(),
        actorSubject: opts.actor.subject,
        actorName: opts.actor.name,
        format: read.format,
        fileName: opts.fileName ?? null,
        rows: read.rows,
        currency,
        total: formatDecimal(totals.total),
        untagged: formatDecimal(totals.untagged),
        firstDay,
        lastDay,
        accounts: result.accounts,
        dailyRows,
        replacedRows: replaced.rowCount ?? 0,
      });
      await deps.audit(tx, {
        actor: opts.actor,
        action: 'cost_import',
        outcome: 'allowed',
        detail: `imported ${read.format} cost file${opts.fileName ? ` ${opts.fileName}` : ''}: ${read.rows} lines, ${formatDecimal(totals.total, 2)} ${currency} (${formatDecimal(totals.untagged, 2)} untagged), ${firstDay}…${lastDay}`,
        requestId: opts.requestId ?? null,
        request: { format: read.format, file: opts.fileName ?? null, rows: read.rows },
      });
      return {
        format: read.format,
        rows: read.rows,
        currency,
        totals,
        days: result.days,
        attributed: result.lines,
        dailyRows,
        replacedRows: replaced.rowCount ?? 0,
      };
    });
    const { currency, totals, days } = stored;
    const months = [...new Set(days.map(monthOf))];
    const quotaAlerts = await checkQuotas(months);
    const anomalies = await detectAnomalies(days, currency);
    if (quotaAlerts + anomalies > 0) deps.noticesWritten();
    return {
      id,
      format: stored.format,
      fileName: opts.fileName ?? null,
      rows: stored.rows,
      currency,
      total: formatDecimal(totals.total),
      untagged: formatDecimal(totals.untagged),
      attributed: stored.attributed,
      firstDay: days[0]!,
      lastDay: days[days.length - 1]!,
      dailyRows: stored.dailyRows,
      replacedRows: stored.replacedRows,
      quotaAlerts,
      anomalies,
    };
  }

  /** Audits an import refused for its content (the 400 itself is the caller's). */
  async function auditRefusedImport(error: Error, opts: { fileName?: string; actor: Actor } & Meta) {
    await deps.audit(db, {
      actor: opts.actor,
      action: 'cost_import',
      outcome: 'denied',
      detail: `cost file${opts.fileName ? ` ${opts.fileName}` : ''} refused, nothing imported: ${error.message}`,
      requestId: opts.requestId ?? null,
      request: { file: opts.fileName ?? null },
    });
  }

  async function listImports(limit = 50) {
    const rows = await db.select().from(costImports).orderBy(desc(costImports.at)).limit(limit);
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      by: { subject: r.actorSubject, name: r.actorName },
      format: r.format,
      fileName: r.fileName,
      rows: r.rows,
      currency: r.currency,
      total: formatDecimal(nanosOf(r.total)),
      untagged: formatDecimal(nanosOf(r.untagged)),
      firstDay: r.firstDay,
      lastDay: r.lastDay,
      dailyRows: r.dailyRows,
      replacedRows: r.replacedRows,
    }));
  }

  // ------------------------------------------------------------ reports

  function monthWhere(month: string): SQL {
    if (!MONTH.test(month))
      throw new InputError('month must be YYYY-MM', { issues: [{ path: 'month', message: 'YYYY-MM' }] });
    const { from, to } = monthRange(month);
    return and(gte(dailyCosts.day, from), lt(dailyCosts.day, to))!;
  }

  /** A month's cost by app (with the untagged part as one row), by team, environment or service category. */
  async function costs(q: { month: string; by: 'app' | 'team' | 'environment' | 'category'; team?: string }) {
    const where = and(monthWhere(q.month), q.team ? eq(dailyCosts.team, q.team) : undefined);
    const key =
      q.by === 'app'
        ? dailyCosts.appId
        : q.by === 'team'
          ? dailyCosts.team
          : q.by === 'environment'
            ? dailyCosts.environment
            : dailyCosts.serviceCategory;
    const rows = await db
      .select({
        key,
        currency: dailyCosts.currency,
        cost: sql<string>`sum(${dailyCosts.cost})::text`,
        name: sql<string | null>`max(${a.name})`,
        team: sql<string | null>`max(${dailyCosts.team})`,
      })
      .from(dailyCosts)
      .leftJoin(a, eq(a.id, dailyCosts.appId))
      .where(where)
      .groupBy(key, dailyCosts.currency)
      .orderBy(desc(sql`sum(${dailyCosts.cost})`));
    const totals = await monthTotals(where);
    return {
      month: q.month,
      by: q.by,
      items: rows.map((r) => ({
        key: r.key,
        ...(q.by === 'app' ? { name: r.name, team: r.team, untagged: r.key === null } : {}),
        currency: r.currency,
        cost: formatDecimal(nanosOf(r.cost)),
      })),
      totals,
    };
  }

  async function monthTotals(where: SQL | undefined) {
    const rows = await db
      .select({
        currency: dailyCosts.currency,
        total: sql<string>`sum(${dailyCosts.cost})::text`,
        untagged: sql<string>`coalesce(sum(${dailyCosts.cost}) filter (where ${dailyCosts.appId} is null), 0)::text`,
      })
      .from(dailyCosts)
      .where(where)
      .groupBy(dailyCosts.currency)
      .orderBy(asc(dailyCosts.currency));
    return rows.map((r) => ({
      currency: r.currency,
      total: formatDecimal(nanosOf(r.total)),
      untagged: formatDecimal(nanosOf(r.untagged)),
    }));
  }

  /**
   * The chargeback of a month: per team (the app's team; for untagged cost, its team tag), with
   * the untagged part of each; cost no team claims is one row with team null. The rows add up
   * exactly to the month's total.
   */
  async function chargeback(month: string) {
    const where = monthWhere(month);
    const rows = await db
      .select({
        team: dailyCosts.team,
        currency: dailyCosts.currency,
        cost: sql<string>`sum(${dailyCosts.cost})::text`,
        untagged: sql<string>`coalesce(sum(${dailyCosts.cost}) filter (where ${dailyCosts.appId} is null), 0)::text`,
        apps: sql<number>`count(distinct ${dailyCosts.appId})::int`,
      })
      .from(dailyCosts)
      .where(where)
      .groupBy(dailyCosts.team, dailyCosts.currency)
      .orderBy(sql`${dailyCosts.team} is null`, asc(dailyCosts.team), asc(dailyCosts.currency));
    return {
      month,
      teams: rows.map((r) => ({
        team: r.team,
        currency: r.currency,
        cost: formatDecimal(nanosOf(r.cost)),
        untagged: formatDecimal(nanosOf(r.untagged)),
        apps: r.apps,
      })),
      totals: await monthTotals(where),
    };
  }

  // ------------------------------------------------------------ quotas

  const quotaView = (
    q: typeof costQuotas.$inferSelect,
    month: string,
    used: bigint,
    alerts: (typeof costQuotaAlerts.$inferSelect)[],
  ) => {
    const limit = nanosOf(q.monthlyAmount);
    const at = (level: number) => {
      const alert = alerts.find((x) => x.quotaId === q.id && x.month === month && x.level === level);
      return alert ? new Date(alert.at).toISOString() : null;
    };
    return {
      id: q.id,
      scope: q.scope,
      subject: q.subject,
      monthlyAmount: formatDecimal(limit),
      currency: q.currency,
      createdBy: q.createdBy,
      createdAt: new Date(q.createdAt).toISOString(),
      updatedAt: new Date(q.updatedAt).toISOString(),
      month,
      used: formatDecimal(used),
      /** Used / quota in per cent (two decimals). */
      percent: limit > 0n ? Number((used * 10_000n) / limit) / 100 : null,
      /** When the month's alerts went out (null: not yet). */
      alerts: { at80: at(80), at100: at(100) },
    };
  };

  async function alertsOf(month: string, ids?: string[]) {
    return db
      .select()
      .from(costQuotaAlerts)
      .where(and(eq(costQuotaAlerts.month, month), ids ? inArray(costQuotaAlerts.quotaId, ids) : undefined));
  }

  async function viewQuota(id: string, month = currentMonth()) {
    const q = await loadQuota(id);
    return quotaView(q, month, await usage(q, month), await alertsOf(month, [id]));
  }

  /** The daily cost rows in a quota's scope (the owner's: their apps, by contact; joined with apps). */
  const scopeWhere = (q: typeof costQuotas.$inferSelect): SQL =>
    q.scope === 'team'
      ? eq(dailyCosts.team, q.subject)
      : q.scope === 'environment'
        ? eq(dailyCosts.environment, q.subject)
        : sql`lower(${a.ownerContact}) = lower(${q.subject})`;

  /** The cost of a quota's scope in a month (its currency only). */
  async function usage(q: typeof costQuotas.$inferSelect, month: string, tx: Executor = db): Promise<bigint> {
    const scope = scopeWhere(q);
    const [row] = await tx
      .select({ cost: sql<string>`coalesce(sum(${dailyCosts.cost}), 0)::text` })
      .from(dailyCosts)
      .leftJoin(a, eq(a.id, dailyCosts.appId))
      .where(and(monthWhere(month), eq(dailyCosts.currency, q.currency), scope));
    return nanosOf(row?.cost ?? '0');
  }

  const currentMonth = () => nowIso().slice(0, 7);

  async function listQuotas(month = currentMonth()) {
    const rows = await db.select().from(costQuotas).orderBy(asc(costQuotas.scope), asc(costQuotas.subject));
    const alerts = await alertsOf(month);
    const items = [];
    for (const q of rows) items.push(quotaView(q, month, await usage(q, month), alerts));
    return { month, items };
  }

  async function loadQuota(id: string, tx: Executor = db) {
    const [q] = await tx.select().from(costQuotas).where(eq(costQuotas.id, id));
    if (!q) throw new NotFoundError(`no quota ${id}`);
    return q;
  }

  const positive = (amount: string, path: string) => {
    const nanos = parseDecimal(amount);
    if (nanos === null || nanos <= 0n)
      throw new InputError(`${path} must be a positive decimal`, { issues: [{ path, message: 'a positive decimal' }] });
    return formatDecimal(nanos);
  };

  async function createQuota(
    body: { scope: 'team' | 'owner' | 'environment'; subject: string; monthlyAmount: string; currency: string },
    actor: Actor,
    meta: Meta = {},
  ) {
    const id = randomUUID();
    const amount = positive(body.monthlyAmount, 'monthlyAmount');
    const row = await db.transaction(async (tx) => {
      const [created] = await tx
        .insert(costQuotas)
        .values({
          id,
          scope: body.scope,
          subject: body.subject,
          monthlyAmount: amount,
          currency: body.currency,
          createdBy: actor.subject,
          createdAt: nowIso(),
          updatedAt: nowIso(),
        })
        .onConflictDoNothing()
        .returning();
      if (!created)
        throw new ConflictError(`a ${body.scope} quota for ${body.subject} in ${body.currency} exists: change it`);
      await deps.audit(tx, {
        actor,
        action: 'cost_quota_create',
        outcome: 'allowed',
        detail: `quota for ${body.scope} ${body.subject}: ${amount} ${body.currency} a month`,
        requestId: meta.requestId ?? null,
        request: body,
      });
      return created;
    });
    // A quota set below what the month already cost alerts at once.
    if ((await checkQuotas([currentMonth()], [id])) > 0) deps.noticesWritten();
    return viewQuota(row.id);
  }

  async function updateQuota(id: string, body: { monthlyAmount: string }, actor: Actor, meta: Meta = {}) {
    const amount = positive(body.monthlyAmount, 'monthlyAmount');
    await db.transaction(async (tx) => {
      const q = await loadQuota(id, tx);
      await setAmount(tx, q, amount);
      await deps.audit(tx, {
        actor,
        action: 'cost_quota_update',
        outcome: 'allowed',
        detail: `quota for ${q.scope} ${q.subject}: ${formatDecimal(nanosOf(q.monthlyAmount))} → ${amount} ${q.currency} a month`,
        requestId: meta.requestId ?? null,
        request: { id, ...body },
      });
    });
    if ((await checkQuotas([currentMonth()], [id])) > 0) deps.noticesWritten();
    return viewQuota(id);
  }

  /** A new amount; raised, this month's alerts are sent again if the new amount is crossed too. */
  async function setAmount(tx: Executor, q: typeof costQuotas.$inferSelect, amount: string) {
    await tx.update(costQuotas).set({ monthlyAmount: amount, updatedAt: nowIso() }).where(eq(costQuotas.id, q.id));
    if (nanosOf(amount) > nanosOf(q.monthlyAmount)) {
      await tx
        .delete(costQuotaAlerts)
        .where(and(eq(costQuotaAlerts.quotaId, q.id), eq(costQuotaAlerts.month, currentMonth())));
    }
  }

  async function deleteQuota(id: string, actor: Actor, meta: Meta = {}) {
    await db.transaction(async (tx) => {
      const q = await loadQuota(id, tx);
      await tx.delete(costQuotas).where(eq(costQuotas.id, id));
      await deps.audit(tx, {
        actor,
        action: 'cost_quota_delete',
        outcome: 'allowed',
        detail: `quota for ${q.scope} ${q.subject} (${formatDecimal(nanosOf(q.monthlyAmount))} ${q.currency}) removed`,
        requestId: meta.requestId ?? null,
        request: { id },
      });
    });
  }

  /**
   * Checks quotas against the months given: at 80 % and at 100 % of a quota an owner notice goes
   * out, once per month each (reaching 100 % at once sends the 100 % one only). The notice goes
   * with the app that cost most in the quota's scope that month, to its owner and team. Returns
   * the notices written.
   */
  async function checkQuotas(months: string[], only?: string[]): Promise<number> {
    let written = 0;
    const quotas = await db
      .select({ id: costQuotas.id })
      .from(costQuotas)
      .where(only ? inArray(costQuotas.id, only) : undefined);
    for (const month of [...new Set(months)].sort()) {
      for (const { id } of quotas) {
        written += await db.transaction(async (tx) => {
          // One check of a quota at a time (its row locked), so two imports never send an alert twice.
          const [q] = await tx.select().from(costQuotas).where(eq(costQuotas.id, id)).for('update');
          if (!q) return 0;
          const used = await usage(q, month, tx);
          const limit = nanosOf(q.monthlyAmount);
          const level = used >= limit ? 100 : used * 100n >= limit * 80n ? 80 : null;
          if (level === null) return 0;
          const sent = await tx
            .select({ level: costQuotaAlerts.level })
            .from(costQuotaAlerts)
            .where(and(eq(costQuotaAlerts.quotaId, id), eq(costQuotaAlerts.month, month)));
          if (sent.some((x) => x.level === level)) return 0;
          // Past 100 % at once: the 100 % alert only, the 80 % one recorded with it.
          const levels = level === 100 && !sent.some((x) => x.level === 80) ? [80, 100] : [level];
          await tx
            .insert(costQuotaAlerts)
            .values(levels.map((l) => ({ quotaId: id, month, level: l, at: nowIso(), used: formatDecimal(used) })))
            .onConflictDoNothing();
          return quotaNotice(tx, q, month, level, used);
        });
      }
    }
    return written;
  }

  async function quotaNotice(
    tx: Executor,
    q: typeof costQuotas.$inferSelect,
    month: string,
    level: 80 | 100,
    used: bigint,
  ): Promise<number> {
    const scope = scopeWhere(q);
    const [top] = await tx
      .select({ appId: dailyCosts.appId })
      .from(dailyCosts)
      .innerJoin(a, eq(a.id, dailyCosts.appId))
      .where(and(monthWhere(month), eq(dailyCosts.currency, q.currency), scope, isNotNull(dailyCosts.appId)))
      .groupBy(dailyCosts.appId)
      .orderBy(desc(sql`sum(${dailyCosts.cost})`))
      .limit(1);
    const what = `${q.scope} ${q.subject}`;
    const amounts = `${formatDecimal(used, 2)} of ${formatDecimal(nanosOf(q.monthlyAmount), 2)} ${q.currency}`;
    if (!top?.appId) {
      logger.warn({ quota: q.id, month, level }, `cost quota of ${what} at ${level} %: no app in its scope to notice`);
      return 0;
    }
    const inserted = await tx
      .insert(schema.notifications)
      .values({
        id: derivedId(`quota/${q.id}/${month}/${level}`),
        appId: top.appId,
        kind: QUOTA_NOTICE[level],
        title:
          level === 100 ? `Cost quota of ${what} used up for ${month}` : `Cost quota of ${what} at 80 % for ${month}`,
        text:
          `The ${q.scope} ${q.subject} has cost ${amounts} this month (${month}); this app cost the most of it. ` +
          (level === 100
            ? 'The quota is used up: bring the cost down, or ask for an increase with a justification in the Cost page.'
            : 'At this rate the quota will be used up before the month ends; an increase is a request with a justification.'),
        createdAt: nowIso(),
      })
      .onConflictDoNothing()
      .returning({ id: schema.notifications.id });
    return inserted.length;
  }

  // ------------------------------------------------------------ quota increase requests

  const requestView = (r: typeof costQuotaRequests.$inferSelect) => ({
    id: r.id,
    quotaId: r.quotaId,
    amount: formatDecimal(nanosOf(r.amount)),
    justification: r.justification,
    status: r.status,
    requestedBy: { subject: r.requestedBy, name: r.requestedByName },
    requestedAt: new Date(r.requestedAt).toISOString(),
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt ? new Date(r.decidedAt).toISOString() : null,
    comment: r.comment,
  });

  async function requestIncrease(
    quotaId: string,
    body: { amount: string; justification: string },
    actor: Actor,
    meta: Meta = {},
  ) {
    const amount = positive(body.amount, 'amount');
    return db.transaction(async (tx) => {
      const q = await loadQuota(quotaId, tx);
      if (nanosOf(amount) <= nanosOf(q.monthlyAmount)) {
        throw new InputError(
          `amount must be above the quota's ${formatDecimal(nanosOf(q.monthlyAmount))} ${q.currency}: this is a request to increase it`,
          { issues: [{ path: 'amount', message: 'not above the current quota' }] },
        );
      }
      const [row] = await tx
        .insert(costQuotaRequests)
        .values({
          id: randomUUID(),
          quotaId,
          amount,
          justification: body.justification,
          requestedBy: actor.subject,
          requestedByName: actor.name,
          requestedAt: nowIso(),
        })
        .returning();
      await deps.audit(tx, {
        actor,
        action: 'cost_quota_request',
        outcome: 'allowed',
        detail: `asks to raise the quota of ${q.scope} ${q.subject} to ${amount} ${q.currency}: ${body.justification}`,
        requestId: meta.requestId ?? null,
        request: { quotaId, ...body },
      });
      return requestView(row!);
    });
  }

  async function listRequests(status?: 'pending' | 'approved' | 'rejected') {
    const rows = await db
      .select()
      .from(costQuotaRequests)
      .where(status ? eq(costQuotaRequests.status, status) : undefined)
      .orderBy(desc(costQuotaRequests.requestedAt))
      .limit(500);
    return rows.map(requestView);
  }

  /** An approver's decision; never on their own request (403, audited as every refusal). */
  async function decideRequest(
    requestId: string,
    decision: 'approved' | 'rejected',
    comment: string | undefined,
    actor: Actor,
    meta: Meta = {},
  ) {
    const decided = await db.transaction(async (tx) => {
      const [r] = await tx.select().from(costQuotaRequests).where(eq(costQuotaRequests.id, requestId)).for('update');
      if (!r) throw new NotFoundError(`no quota increase request ${requestId}`);
      if (r.requestedBy === actor.subject) {
        throw new NotAllowedError('an approver may not decide their own quota increase request');
      }
      if (r.status !== 'pending') throw new ConflictError(`the request was ${r.status} already`);
      const q = await loadQuota(r.quotaId, tx);
      const [row] = await tx
        .update(costQuotaRequests)
        .set({ status: decision, decidedBy: actor.subject, decidedAt: nowIso(), comment: comment ?? null })
        .where(eq(costQuotaRequests.id, requestId))
        .returning();
      if (decision === 'approved') await setAmount(tx, q, formatDecimal(nanosOf(r.amount)));
      await deps.audit(tx, {
        actor,
        action: decision === 'approved' ? 'cost_quota_request_approve' : 'cost_quota_request_reject',
        outcome: 'allowed',
        detail: `${decision} raising the quota of ${q.scope} ${q.subject} from ${formatDecimal(nanosOf(q.monthlyAmount))} to ${formatDecimal(nanosOf(r.amount))} ${q.currency}${comment ? `: ${comment}` : ''}`,
        requestId: meta.requestId ?? null,
        request: { requestId, decision, comment: comment ?? null },
      });
      return requestView(row!);
    });
    return decided;
  }

  // ------------------------------------------------------------ anomalies

  /**
   * Judges each app's cost on each of `days` against its own baseline (src/cost/anomaly.ts);
   * each anomaly is stored once and noticed once to the app's owners. Returns the anomalies found.
   */
  async function detectAnomalies(days: string[], currency: string): Promise<number> {
    if (days.length === 0) return 0;
    const s = settings.anomaly;
    const from = addDays(days[0]!, -s.windowDays);
    const to = days[days.length - 1]!;
    const sums = await db
      .select({
        appId: dailyCosts.appId,
        day: dailyCosts.day,
        cost: sql<string>`sum(${dailyCosts.cost})::text`,
      })
      .from(dailyCosts)
      .where(
        and(
          isNotNull(dailyCosts.appId),
          eq(dailyCosts.currency, currency),
          gte(dailyCosts.day, from),
          sql`${dailyCosts.day} <= ${to}::date`,
        ),
      )
      .groupBy(dailyCosts.appId, dailyCosts.day);
    const byApp = new Map<string, Map<string, number>>();
    for (const r of sums) {
      const series = byApp.get(r.appId!) ?? new Map<string, number>();
      series.set(r.day, toNumber(nanosOf(r.cost)));
      byApp.set(r.appId!, series);
    }
    // Only an app's first cost day in the window would be a baseline's start: the days before `from` matter too.
    const first = await firstCostDays([...byApp.keys()], currency);
    const found: (typeof costAnomalies.$inferInsert)[] = [];
    /** Anomalies judged against their weekday's usual cost (a weekly rhythm), by id. */
    const byWeekday = new Set<string>();
    for (const [appId, series] of byApp) {
      const start = first.get(appId);
      const withStart = start && start < from && !series.has(start) ? new Map([[start, 0], ...series]) : series;
      for (const day of days) {
        const value = series.get(day);
        if (value === undefined) continue;
        const verdict = assessDay(baselineOf(withStart, day, s.windowDays), value, s);
        if (!verdict.anomalous) continue;
        const id = derivedId(`anomaly/${appId}/${day}/${currency}`);
        if (verdict.baseline === 'weekday') byWeekday.add(id);
        found.push({
          id,
          appId,
          day,
          currency,
          cost: formatDecimal(nanosOf(value.toFixed(9))),
          median: formatDecimal(nanosOf(verdict.median!.toFixed(9))),
          mad: formatDecimal(nanosOf(verdict.mad!.toFixed(9))),
          score: verdict.score!,
          detectedAt: nowIso(),
        });
      }
    }
    if (found.length === 0) return 0;
    return db.transaction(async (tx) => {
      const stored = await tx
        .insert(costAnomalies)
        .values(found)
        .onConflictDoNothing()
        .returning({ id: costAnomalies.id, appId: costAnomalies.appId, day: costAnomalies.day });
      for (const anomaly of stored) {
        const f = found.find((x) => x.id === anomaly.id)!;
        const score = Number.isFinite(f.score) ? `${f.score.toFixed(1)} robust σ` : 'a flat baseline';
        const usual = `${formatDecimal(nanosOf(f.median), 2)} ${currency}`;
        const weekday = WEEKDAYS[new Date(`${anomaly.day}T00:00:00Z`).getUTCDay()];
        const baseline = byWeekday.has(anomaly.id)
          ? `a usual ${weekday} of ${usual} (the median of the ${weekday}s in the ${s.windowDays} days before; ${score} above it)`
          : `a median of ${usual} over the ${s.windowDays} days before (${score} above it)`;
        await tx
          .insert(schema.notifications)
          .values({
            id: anomaly.id,
            appId: anomaly.appId,
            kind: ANOMALY_NOTICE,
            title: `Unusual cost on ${anomaly.day}: ${formatDecimal(nanosOf(f.cost), 2)} ${currency}`,
            text:
              `This app cost ${formatDecimal(nanosOf(f.cost), 2)} ${currency} on ${anomaly.day}, against ${baseline}. ` +
              'Check what changed that day: traffic, a deployment, a loop, a resource left running.',
            createdAt: nowIso(),
          })
          .onConflictDoNothing();
      }
      return stored.length;
    });
  }

  async function firstCostDays(appIds: string[], currency: string) {
    if (appIds.length === 0) return new Map<string, string>();
    const rows = await db
      .select({ appId: dailyCosts.appId, first: sql<string>`min(${dailyCosts.day})::text` })
      .from(dailyCosts)
      .where(and(inArray(dailyCosts.appId, appIds), eq(dailyCosts.currency, currency)))
      .groupBy(dailyCosts.appId);
    return new Map(rows.map((r) => [r.appId!, r.first]));
  }

  async function listAnomalies(q: { month?: string; appId?: string; limit?: number }) {
    const rows = await db
      .select({ anomaly: costAnomalies, name: a.name, team: a.teamName })
      .from(costAnomalies)
      .leftJoin(a, eq(a.id, costAnomalies.appId))
      .where(
        and(
          q.appId ? eq(costAnomalies.appId, q.appId) : undefined,
          q.month
            ? and(gte(costAnomalies.day, monthRange(q.month).from), lt(costAnomalies.day, monthRange(q.month).to))
            : undefined,
        ),
      )
      .orderBy(desc(costAnomalies.day), asc(costAnomalies.appId))
      .limit(q.limit ?? 200);
    return rows.map(({ anomaly: r, name, team }) => ({
      id: r.id,
      appId: r.appId,
      name,
      team,
      day: r.day,
      currency: r.currency,
      cost: formatDecimal(nanosOf(r.cost)),
      median: formatDecimal(nanosOf(r.median)),
      mad: formatDecimal(nanosOf(r.mad)),
      score: Number.isFinite(r.score) ? r.score : null,
      detectedAt: new Date(r.detectedAt).toISOString(),
    }));
  }

  // ------------------------------------------------------------ weekly report

  /**
   * The weekly cost report: to the owners of each app that cost anything in the seven days
   * before `now` (UTC days), its cost against the week before. One notice per app and week.
   */
  async function weeklyReport(now = clock()): Promise<number> {
    const today = now.toISOString().slice(0, 10);
    const from = addDays(today, -7);
    const before = addDays(today, -14);
    const rows = await db
      .select({
        appId: dailyCosts.appId,
        currency: dailyCosts.currency,
        week: sql<string>`coalesce(sum(${dailyCosts.cost}) filter (where ${dailyCosts.day} >= ${from}::date), 0)::text`,
        previous: sql<string>`coalesce(sum(${dailyCosts.cost}) filter (where ${dailyCosts.day} < ${from}::date), 0)::text`,
      })
      .from(dailyCosts)
      .innerJoin(a, and(eq(a.id, dailyCosts.appId), ne(a.state, 'purged')))
      .where(and(gte(dailyCosts.day, before), lt(dailyCosts.day, today)))
      .groupBy(dailyCosts.appId, dailyCosts.currency);
    const values = rows
      .filter((r) => nanosOf(r.week) > 0n)
      .map((r) => {
        const week = nanosOf(r.week);
        const previous = nanosOf(r.previous);
        const change =
          previous > 0n
            ? ` (${week >= previous ? '+' : ''}${Number(((week - previous) * 1000n) / previous) / 10} % on the week before)`
            : '';
        return {
          id: derivedId(`weekly/${r.appId}/${r.currency}/${today}`),
          appId: r.appId!,
          kind: WEEKLY_REPORT_NOTICE,
          title: `Cost last week: ${formatDecimal(week, 2)} ${r.currency}`,
          text: `This app cost ${formatDecimal(week, 2)} ${r.currency} from ${from} to ${addDays(today, -1)}${change}; the week before, ${formatDecimal(previous, 2)} ${r.currency}.`,
          createdAt: now.toISOString(),
        };
      });
    let written = 0;
    for (let i = 0; i < values.length; i += 1000) {
      const inserted = await db
        .insert(schema.notifications)
        .values(values.slice(i, i + 1000))
        .onConflictDoNothing()
        .returning({ id: schema.notifications.id });
      written += inserted.length;
    }
    return written;
  }

  return {
    importFile,
    auditRefusedImport,
    listImports,
    costs,
    chargeback,
    listQuotas,
    createQuota,
    updateQuota,
    deleteQuota,
    checkQuotas,
    requestIncrease,
    listRequests,
    decideRequest,
    detectAnomalies,
    listAnomalies,
    weeklyReport,
  };
}

export type Cost = ReturnType<typeof createCost>;
