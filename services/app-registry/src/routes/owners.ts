import { requireRole } from '@micro-oncall/service-kit';
import express, { Router } from 'express';
import { z } from 'zod';
import type { Governance } from '../governance.js';
import { Contact } from '../model.js';
import type { Ownership } from '../ownership.js';
import { actorOf, parse } from './apps.js';

export const OwnershipTasksQuery = z
  .object({
    status: z.enum(['open', 'resolved', 'cancelled']).default('open'),
    /** `app`: apps without an owner; `candidate`: discovered apps nobody registered. Both when absent. */
    kind: z.enum(['app', 'candidate']).optional(),
    appId: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();

/** The new owner of an app whose ownership task is open (a candidate, or anyone still at the identity provider). */
export const AssignOwnerBody = z
  .object({
    owner: Contact,
    /** Their subject at the identity provider: they may restore the app, and their deactivation is noticed. */
    ownerSubject: z.string().trim().min(1).max(256).nullable().default(null),
  })
  .strict();

/**
 * Ownership tasks (viewer lists, responder assigns) and the governance view (viewer): signed-in
 * routes under /apps/v1.
 */
export function createOwnersRouter(deps: { ownership: Ownership; governance: Governance }): Router {
  const router = Router();

  router.get('/apps/v1/ownership-tasks', requireRole('viewer'), async (req, res) => {
    const q = parse(OwnershipTasksQuery, req.query, 'query');
    res.json({ items: await deps.ownership.list(q) });
  });

  router.get('/apps/v1/ownership-tasks/:taskId', requireRole('viewer'), async (req, res) => {
    res.json(await deps.ownership.get(String(req.params.taskId)));
  });

  router.post(
    '/apps/v1/ownership-tasks/:taskId/assign',
    requireRole('responder'),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const body = parse(AssignOwnerBody, req.body, 'owner');
      const result = await deps.ownership.assign(String(req.params.taskId), body, actorOf(req.principal!), {
        requestId: req.id,
      });
      res.setHeader('ETag', `"v${result.app.version}"`).json(result);
    },
  );

  router.get('/apps/v1/governance', requireRole('viewer'), async (_req, res) => {
    res.json(await deps.governance.view());
  });

  return router;
}
