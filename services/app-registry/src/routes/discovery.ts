import { NotFoundError, requireRole } from '@micro-oncall/service-kit';
import express, { Router } from 'express';
import { z } from 'zod';
import type { Discovery } from '../discovery/index.js';
import { CreateAppBody } from '../model.js';
import { actorOf, parse } from './apps.js';

export const CandidatesQuery = z
  .object({
    state: z.enum(['open', 'registered', 'dismissed']).optional(),
    kind: z
      .enum(['function', 'container-app', 'api-gateway', 'bucket', 'cdn', 'endpoint', 'idp-client', 'saas'])
      .optional(),
    flagged: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export const RunsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(20),
    /** Runs started before this time (the previous page's last `startedAt`). */
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const DismissBody = z.object({ reason: z.string().trim().min(1).max(2000) }).strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Discovery under /apps/v1/discovery (bearer JWT): viewers read candidates and run reports;
 * responders register a candidate (the ordinary onboarding, decided by the policy); approvers
 * dismiss one; admins start a run. A refusal is audited like every other (the refusal hook).
 */
export function createDiscoveryRouter(discovery: Discovery): Router {
  const { runner, candidates } = discovery;
  const router = Router();
  const json = express.json({ limit: '256kb' });

  router.get('/apps/v1/discovery/candidates', requireRole('viewer'), async (req, res) => {
    const q = parse(CandidatesQuery, req.query, 'query');
    res.json({ ...(await candidates.list(q)), counts: await candidates.counts() });
  });

  router.get('/apps/v1/discovery/candidates/:id', requireRole('viewer'), async (req, res) => {
    res.json(await candidates.get(String(req.params.id)));
  });

  router.post('/apps/v1/discovery/candidates/:id/dismiss', requireRole('approver'), json, async (req, res) => {
    const body = parse(DismissBody, req.body, 'dismissal');
    res.json(
      await candidates.dismiss(String(req.params.id), body.reason, actorOf(req.principal!), { requestId: req.id }),
    );
  });

  router.post('/apps/v1/discovery/candidates/:id/register', requireRole('responder'), json, async (req, res) => {
    const body = parse(CreateAppBody, req.body, 'app');
    const result = await candidates.register(String(req.params.id), body, actorOf(req.principal!), {
      requestId: req.id,
    });
    res
      .status(201)
      .setHeader('ETag', `"v${result.app.version}"`)
      .setHeader('Location', `/apps/v1/apps/${result.app.id}`)
      .json({ app: result.app, decision: result.app.decision, token: result.token, candidate: result.candidate });
  });

  router.get('/apps/v1/discovery/runs', requireRole('viewer'), async (req, res) => {
    const q = parse(RunsQuery, req.query, 'query');
    res.json({ items: await runner.list(q) });
  });

  router.post('/apps/v1/discovery/runs', requireRole('admin'), async (req, res) => {
    const { run } = await runner.start('manual', actorOf(req.principal!));
    res.status(202).setHeader('Location', `/apps/v1/discovery/runs/${run.id}`).json(run);
  });

  router.get('/apps/v1/discovery/runs/:id', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    const run = UUID.test(id) ? await runner.get(id) : null;
    if (!run) throw new NotFoundError(`no discovery run ${id}`);
    res.json(run);
  });

  return router;
}
