import { requireRole } from '@micro-oncall/service-kit';
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { GameDays } from '../game-days/game-days.js';
import { scheduleProblems } from '../game-days/schedule.js';
import type { Refusals } from '../refusals.js';
import { ProposeBody } from './runs.js';
import { parse } from './scenarios.js';

/** A game day: what a run is proposed with, plus its name and its schedule. */
export const GameDayBody = ProposeBody.safeExtend({
  /** What people call it ("Monday payments game day"). */
  name: z.string().trim().min(3).max(120),
  /** 5 fields: minute hour day-of-month month day-of-week (e.g. `0 10 * * 2`: Tuesdays 10:00). */
  cron: z.string().trim().min(1).max(120),
  /** IANA time zone the cron expression is read in (default UTC). */
  timezone: z.string().trim().min(1).max(64).default('UTC'),
}).superRefine((body, ctx) => {
  for (const issue of scheduleProblems(body.cron, body.timezone)) {
    ctx.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
  }
});

export const GameDayParams = z.object({ id: z.uuid('a game day id') });

/**
 * GET /drills/v1/game-days (viewer), …/:id (viewer); POST /drills/v1/game-days (responder): a
 * recurring game day, approved as a run would be (POST …/:id/approve, approver); POST …/:id/pause
 * and …/resume, DELETE …/:id (responder). Every refusal is audited.
 */
export function createGameDaysRouter(deps: { gameDays: GameDays; refusals: Refusals }): Router {
  const router = Router();
  const { gameDays, refusals } = deps;
  const idOf = (req: Request) => parse(GameDayParams, req.params, 'path').id;

  router.get('/drills/v1/game-days', requireRole('viewer'), async (_req, res) => {
    res.json({ items: await gameDays.list() });
  });

  router.get('/drills/v1/game-days/:id', requireRole('viewer'), async (req, res) => {
    res.json(await gameDays.get(idOf(req)));
  });

  router.post(
    '/drills/v1/game-days',
    refusals.attempt('game_day_create', (req) => ({
      scenarioId: typeof req.body?.scenario === 'string' ? req.body.scenario : undefined,
    })),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      const body = parse(GameDayBody, req.body ?? {}, 'game day');
      const row = await gameDays.create(body, req.principal!, req.id);
      res
        .status(201)
        .location(`/drills/v1/game-days/${row.id}`)
        .json(await gameDays.get(row.id));
    }),
  );

  router.post(
    '/drills/v1/game-days/:id/approve',
    refusals.attempt('game_day_approve'),
    requireRole('approver'),
    refusals.audited(async (req, res) => {
      const id = idOf(req);
      await gameDays.approve(id, req.principal!, req.id);
      res.json(await gameDays.get(id));
    }),
  );

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    router.post(
      `/drills/v1/game-days/:id/${action}`,
      refusals.attempt(paused ? 'game_day_pause' : 'game_day_resume'),
      requireRole('responder'),
      refusals.audited(async (req, res) => {
        const id = idOf(req);
        await gameDays.setPaused(id, paused, req.principal!, req.id);
        res.json(await gameDays.get(id));
      }),
    );
  }

  router.delete(
    '/drills/v1/game-days/:id',
    refusals.attempt('game_day_delete'),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      await gameDays.remove(idOf(req), req.principal!, req.id);
      res.status(204).end();
    }),
  );

  return router;
}
