import { requireRole } from '@micro-oncall/service-kit';
import { and, desc, eq, type SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Router } from 'express';
import { z } from 'zod';
import * as schema from '../db/schema.js';
import { iso } from '../model.js';
import { parse } from './scenarios.js';

export const AuditQuery = z.strictObject({
  runId: z.uuid().optional(),
  outcome: z.enum(['succeeded', 'denied', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** GET /drills/v1/audit (approver): the simulator's audit log, newest first. */
export function createAuditRouter(deps: { db: NodePgDatabase<typeof schema> }): Router {
  const router = Router();
  router.get('/drills/v1/audit', requireRole('approver'), async (req, res) => {
    const query = parse(AuditQuery, req.query, 'query');
    const filters: SQL[] = [];
    if (query.runId) filters.push(eq(schema.auditLog.runId, query.runId));
    if (query.outcome) filters.push(eq(schema.auditLog.outcome, query.outcome));
    const rows = await deps.db
      .select()
      .from(schema.auditLog)
      .where(filters.length > 0 ? and(...filters) : undefined)
      .orderBy(desc(schema.auditLog.at))
      .limit(query.limit);
    res.json({
      items: rows.map((r) => ({
        id: r.id,
        at: iso(r.at),
        actor: { subject: r.actorSubject, name: r.actorName },
        action: r.action,
        outcome: r.outcome,
        runId: r.runId,
        scenarioId: r.scenarioId,
        detail: r.detail,
        requestId: r.requestId,
        request: r.request,
      })),
    });
  });
  return router;
}
