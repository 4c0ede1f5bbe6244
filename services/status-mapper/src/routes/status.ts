import { InputError, requireRole } from '@micro-oncall/service-kit';
import { asc } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import type { Mapping } from '../config/mapping.js';
import * as schema from '../db/schema.js';
import { internalStatus } from '../internal-status.js';
import { iso, readState } from '../read.js';
import type { Db } from '../store.js';
import { sendWithEtag } from './etag.js';

export const ComponentsQuery = z.strictObject({
  unmapped: z.enum(['true', 'false']).optional(),
});

/**
 * GET /status/internal (viewer): provider conditions per internal service, with a weak ETag
 * (If-None-Match → 304). GET /status/v1/sources and /status/v1/components (viewer): the sources and what they said;
 * POST /status/v1/sources/poll (responder): poll every page now.
 */
export function createStatusRouter(deps: { db: Db; mapping: () => Mapping; pollNow: () => Promise<string> }): Router {
  const router = Router();

  router.get('/status/internal', requireRole('viewer'), async (req, res) => {
    const state = await readState(deps.db);
    const services = internalStatus(deps.mapping(), state.components, state.incidents);
    sendWithEtag(req, res, JSON.stringify({ services }), 'application/json');
  });

  router.get('/status/v1/sources', requireRole('viewer'), async (_req, res) => {
    const pages = await deps.db.select().from(schema.pages).orderBy(asc(schema.pages.id));
    res.json({
      items: pages.map((p) => ({
        id: p.id,
        /** statuspage | aws-health; an aws-health source fed by EventBridge alone has no url and is never polled. */
        kind: p.kind,
        provider: p.provider,
        url: p.url,
        intervalSeconds: p.intervalSeconds,
        providerPageId: p.providerPageId,
        pageName: p.pageName,
        indicator: p.indicator,
        lastPolledAt: iso(p.lastPolledAt),
        lastSuccessAt: iso(p.lastSuccessAt),
        nextDueAt: iso(p.nextDueAt),
        failing:
          p.consecutiveFailures > 0
            ? { since: iso(p.failingSince), reason: p.lastError, consecutiveFailures: p.consecutiveFailures }
            : null,
        staleSince: iso(p.staleSince),
      })),
    });
  });

  // Operators' "poll now" (and the tests' trigger): every page, whatever its next time, once.
  router.post('/status/v1/sources/poll', requireRole('responder'), async (_req, res) => {
    res.status(202).json({ jobId: await deps.pollNow() });
  });

  router.get('/status/v1/components', requireRole('viewer'), async (req, res) => {
    const query = ComponentsQuery.safeParse(req.query);
    if (!query.success) throw InputError.fromZod(query.error, 'query');
    const { components } = await readState(deps.db);
    const mapping = deps.mapping();
    const items = components
      .map((c) => ({
        ...c,
        services: mapping.servicesFor({ pageId: c.pageId, id: c.id, name: c.name, group: c.group }),
      }))
      .filter((c) => (query.data.unmapped === 'true' ? c.services.length === 0 : true));
    res.json({ items });
  });

  return router;
}
