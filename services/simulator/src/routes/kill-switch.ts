import { requireRole } from '@micro-oncall/service-kit';
import { Router } from 'express';
import type { Engine } from '../engine.js';
import { iso } from '../model.js';
import type { Refusals } from '../refusals.js';
import { ReasonBody } from './runs.js';
import { parse } from './scenarios.js';

/**
 * GET /drills/v1/kill-switch (viewer); POST …/engage and …/rearm (approver or admin). Engaged,
 * it has stopped every running drill (their alerts are being resolved) and refuses new runs
 * with 409 until re-armed; its state is in the database, shared by every replica.
 */
export function createKillSwitchRouter(deps: { engine: Engine; refusals: Refusals }): Router {
  const router = Router();
  const { engine, refusals } = deps;
  const present = (row: Awaited<ReturnType<Engine['killSwitch']>>) => ({
    engaged: row.engaged,
    changedAt: row.changedAt === null ? null : iso(row.changedAt),
    changedBy: row.changedBySubject === null ? null : { subject: row.changedBySubject, name: row.changedByName },
    reason: row.reason,
  });

  router.get('/drills/v1/kill-switch', requireRole('viewer'), async (_req, res) => {
    res.json(present(await engine.killSwitch()));
  });

  router.post(
    '/drills/v1/kill-switch/engage',
    refusals.attempt('kill_switch_engage'),
    requireRole('approver'),
    refusals.audited(async (req, res) => {
      const { reason } = parse(ReasonBody, req.body ?? {}, 'request');
      const { killSwitch, stoppedRuns } = await engine.engageKillSwitch(req.principal!, reason, req.id);
      res.json({ ...present(killSwitch), stoppedRuns });
    }),
  );

  router.post(
    '/drills/v1/kill-switch/rearm',
    refusals.attempt('kill_switch_rearm'),
    requireRole('approver'),
    refusals.audited(async (req, res) => {
      const { reason } = parse(ReasonBody, req.body ?? {}, 'request');
      const { killSwitch } = await engine.rearmKillSwitch(req.principal!, reason, req.id);
      res.json(present(killSwitch));
    }),
  );

  return router;
}
