import { requireRole } from '@micro-oncall/service-kit';
import { desc } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Router } from 'express';
import * as schema from '../db/schema.js';

/** GET /v1/activity (viewer): incidents seen per service, busiest first. */
export function createActivityRouter(deps: { db: NodePgDatabase<typeof schema> }): Router {
  const router = Router();
  router.get('/v1/activity', requireRole('viewer'), async (_req, res) => {
    const items = await deps.db
      .select()
      .from(schema.serviceActivity)
      .orderBy(desc(schema.serviceActivity.incidents), schema.serviceActivity.service)
      .limit(500);
    res.json({ items });
  });
  return router;
}
