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

export const AuditQuery = z
  .object({
    actor: z.string().min(1).max(256).optional(),
    incidentId: z.string().regex(INCIDENT_ID_PATTERN, 'not an incident id').optional(),
    action: z.string().min(1).max(64).optional(),
    outcome: z.enum(auditOutcomeEnum.enumValues).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: paging.param.optional(),
    format: z.enum(['jsonl', 'csv']).optional(),
  })
  .strict();
type AuditQuery = z.infer<typeof AuditQuery>;

function conditions(q: AuditQuery): SQL | undefined {
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

/**
 * GET /v1/audit (admin): newest first, filtered, keyset-paged.
 * GET /v1/audit/export?format=jsonl|csv (admin): every matching row, streamed; the export
 * itself is audited.
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

  router.get('/v1/audit/export', requireRole('admin'), async (req, res: Response) => {
    const q = parse(req.query);
    const format = q.format ?? 'jsonl';
    await deps.audit({
      actor: req.principal!,
      action: 'audit_export',
      outcome: 'succeeded',
      detail: `exported the audit log as ${format}`,
      requestId: req.id,
      request: { ...req.query },
    });
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${format}"`,
    );
    if (format === 'csv') res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    let cursor = q.cursor;
    for (;;) {
      const rows = await deps.db
        .select()
        .from(auditLog)
        .where(conditions({ ...q, cursor }))
        .orderBy(...paging.orderBy)
        .limit(1000);
      for (const row of rows) {
        if (format === 'csv') {
          const r = present(row);
          res.write(
            `${[r.id, r.at, r.actor.subject, r.actor.name, r.actor.email, r.action, r.incidentId, r.outcome, r.provider, r.providerStatus, r.providerRequestId, r.detail, r.requestId].map(csvCell).join(',')}\r\n`,
          );
        } else {
          res.write(`${JSON.stringify(present(row))}\n`);
        }
      }
      const last = rows[rows.length - 1];
      if (rows.length < 1000 || !last) break;
      cursor = paging.positionOf(last);
    }
    res.end();
  });

  return router;
}
