import { INCIDENT_ID_PATTERN } from '@micro-oncall/incident-model';
import { InputError, keysetPaging, requireRole, TimestampCursorKey } from '@micro-oncall/service-kit';
import { and, eq, gte, lte, or, type SQL } from 'drizzle-orm';
import { type Response, Router } from 'express';
import { z } from 'zod';
import type { AuditWriter } from '../audit.js';
import { auditLog, auditOutcomeEnum } from '../db/schema.js';
import type { AuditRow, EscalationDb } from '../db/types.js';

/** Newest first (index audit_log_at_idx; the id breaks ties). */
const paging = keysetPaging(auditLog, { sort: 'at', id: 'id' }, { sort: TimestampCursorKey, id: z.uuid() });

const AuditFilters = z.object({
  actor: z.string().min(1).max(256).optional(),
  incidentId: z.string().regex(INCIDENT_ID_PATTERN, 'not an incident id').optional(),
  action: z.string().min(1).max(64).optional(),
  outcome: z.enum(auditOutcomeEnum.enumValues).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export const AuditQuery = AuditFilters.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: paging.param.optional(),
}).strict();
type AuditQuery = z.infer<typeof AuditQuery>;

/** Body of POST /v1/audit/export: the list's filters and the format. */
export const AuditExportRequest = AuditFilters.extend({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
}).strict();

/** Rows per query of an export: also about the most an export holds in memory. */
const EXPORT_PAGE = 500;

function conditions(q: z.infer<typeof AuditFilters> & Pick<AuditQuery, 'cursor'>): SQL | undefined {
  const where: SQL[] = [];
  if (q.actor)
    where.push(
      or(eq(auditLog.actorSubject, q.actor), eq(auditLog.actorEmail, q.actor), eq(auditLog.actorName, q.actor))!,
    );
  if (q.incidentId) where.push(eq(auditLog.incidentId, q.incidentId));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.outcome) where.push(eq(auditLog.outcome, q.outcome));
  if (q.from) where.push(gte(auditLog.at, q.from));
  if (q.to) where.push(lte(auditLog.at, q.to));
  if (q.cursor) where.push(paging.after(q.cursor));
  return where.length > 0 ? and(...where) : undefined;
}

function present(row: AuditRow) {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: { subject: row.actorSubject, name: row.actorName, email: row.actorEmail },
    action: row.action,
    incidentId: row.incidentId,
    outcome: row.outcome,
    provider: row.provider,
    providerStatus: row.providerStatus,
    providerRequestId: row.providerRequestId,
    detail: row.detail,
    requestId: row.requestId,
    actionId: row.actionId,
  };
}

const CSV_COLUMNS = [
  'id',
  'at',
  'actor_subject',
  'actor_name',
  'actor_email',
  'action',
  'incident_id',
  'outcome',
  'provider',
  'provider_status',
  'provider_request_id',
  'detail',
  'request_id',
] as const;

/** RFC 4180 quoting; a leading =,+,-,@ is prefixed with ' so spreadsheets do not run it as a formula. */
function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(row: AuditRow): string {
  const r = present(row);
  return `${[r.id, r.at, r.actor.subject, r.actor.name, r.actor.email, r.action, r.incidentId, r.outcome, r.provider, r.providerStatus, r.providerRequestId, r.detail, r.requestId].map(csvCell).join(',')}\r\n`;
}

/**
 * Writes `chunk`; when the client's buffer is full, waits until it drains (or the client goes
 * away), so a slow client makes the export wait instead of the server buffering the log.
 * False when the client is gone.
 */
async function writeWithBackpressure(res: Response, chunk: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
  return !res.destroyed;
}

/**
 * GET /v1/audit (admin): newest first, filtered, keyset-paged.
 * POST /v1/audit/export (admin; JSON body: the filters and `format` jsonl|csv): every matching
 * row, streamed page by page at the client's pace. A POST, so that a cookie-authenticated export
 * needs the CSRF token (the export is itself audited: a cross-site link must not write rows).
 */
export function createAuditRouter(deps: { db: EscalationDb; audit: AuditWriter }): Router {
  const router = Router();

  const parse = (query: unknown) => {
    const parsed = AuditQuery.safeParse(query);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
    return parsed.data;
  };

  router.get('/v1/audit', requireRole('admin'), async (req, res) => {
    const q = parse(req.query);
    const rows = await deps.db
      .select()
      .from(auditLog)
      .where(conditions(q))
      .orderBy(...paging.orderBy)
      .limit(q.limit + 1);
    const page = paging.page(rows, q.limit);
    res.json({ items: page.items.map(present), nextCursor: page.nextCursor });
  });

  router.post('/v1/audit/export', requireRole('admin'), async (req, res: Response) => {
    const parsed = AuditExportRequest.safeParse(req.body ?? {});
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'export request');
    const { format, ...filters } = parsed.data;
    await deps.audit({
      actor: req.principal!,
      action: 'audit_export',
      outcome: 'succeeded',
      detail: `exported the audit log as ${format}`,
      requestId: req.id,
      request: parsed.data,
    });
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${format}"`,
    );
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'csv' && !(await writeWithBackpressure(res, `${CSV_COLUMNS.join(',')}\r\n`))) return;
    let cursor: AuditQuery['cursor'];
    for (;;) {
      const rows = await deps.db
        .select()
        .from(auditLog)
        .where(conditions({ ...filters, cursor }))
        .orderBy(...paging.orderBy)
        .limit(EXPORT_PAGE);
      if (rows.length > 0) {
        const chunk = rows
          .map((row) => (format === 'csv' ? csvLine(row) : `${JSON.stringify(present(row))}\n`))
          .join('');
        if (!(await writeWithBackpressure(res, chunk))) return; // the client went away
      }
      const last = rows[rows.length - 1];
      if (rows.length < EXPORT_PAGE || !last) break;
      cursor = paging.positionOf(last);
    }
    res.end();
  });

  return router;
}
