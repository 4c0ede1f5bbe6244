import { DrillEnvironment, DrillRunState, DrillTargetKind } from '@micro-oncall/incident-model';
import { NotFoundError, requireRole } from '@micro-oncall/service-kit';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { type Request, Router } from 'express';
import { z } from 'zod';
import * as schema from '../db/schema.js';
import type { Engine } from '../engine.js';
import { HARD_CAP_MINUTES } from '../env.js';
import { runSummary, runView } from '../present.js';
import type { Refusals } from '../refusals.js';
import type { ScenarioStore } from '../scenarios/store.js';
import { parse } from './scenarios.js';

export const ProposeBody = z
  .strictObject({
    /** The scenario id. */
    scenario: z.string().min(1).max(63),
    /** A version of it (default: the latest). */
    version: z.number().int().min(1).optional(),
    environment: DrillEnvironment.default('staging'),
    /** Must be true for a production run: the requester says they mean it. */
    productionOptIn: z.boolean().optional(),
    /** Why this run is needed (required for production). */
    reason: z.string().trim().min(10).max(1000).optional(),
    /** Where to send the alerts (default: every target configured for the environment). */
    targets: z.array(DrillTargetKind).min(1).max(DrillTargetKind.options.length).optional(),
    /** Overrides the scenario's maximum duration (at most 4 h). */
    maxDurationMinutes: z.number().int().min(1).max(HARD_CAP_MINUTES).optional(),
  })
  .superRefine((body, ctx) => {
    if (body.environment === 'production') {
      if (body.productionOptIn !== true) {
        ctx.addIssue({
          code: 'custom',
          path: ['productionOptIn'],
          message: 'a production run needs productionOptIn: true',
        });
      }
      if (!body.reason) {
        ctx.addIssue({
          code: 'custom',
          path: ['reason'],
          message: 'a production run needs a reason (at least 10 characters)',
        });
      }
    } else if (body.productionOptIn !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['productionOptIn'], message: 'only for environment: production' });
    }
  });

export const ReasonBody = z.strictObject({ reason: z.string().trim().min(3).max(1000) });
export const RunParams = z.object({ id: z.uuid('a run id') });
export const RunsQuery = z.strictObject({
  state: z
    .string()
    .transform((v) => v.split(','))
    .pipe(z.array(DrillRunState))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

type Db = NodePgDatabase<typeof schema>;

/**
 * POST /drills/v1/runs (responder): propose a run (it starts at once unless it needs approval).
 * GET /drills/v1/runs (viewer) and …/:id (viewer): runs, and one run with its steps and alerts.
 * POST …/:id/approve and …/reject (approver), …/:id/abort (responder).
 */
export function createRunsRouter(deps: {
  db: Db;
  engine: Engine;
  scenarios: ScenarioStore;
  refusals: Refusals;
}): Router {
  const router = Router();
  const { engine, refusals } = deps;
  const runIdOf = (req: Request) => {
    const id = RunParams.safeParse(req.params).data?.id;
    return id ? { runId: id } : {};
  };

  const view = async (id: string) => {
    const [run] = await deps.db.select().from(schema.runs).where(eq(schema.runs.id, id));
    if (!run) throw new NotFoundError(`no run ${id}`);
    const [steps, alerts, scenario] = await Promise.all([
      deps.db.select().from(schema.runSteps).where(eq(schema.runSteps.runId, id)).orderBy(asc(schema.runSteps.index)),
      deps.db
        .select()
        .from(schema.runAlerts)
        .where(eq(schema.runAlerts.runId, id))
        .orderBy(asc(schema.runAlerts.alertKey), asc(schema.runAlerts.target)),
      deps.scenarios.get(run.scenarioId, run.scenarioVersion),
    ]);
    return runView(run, steps, alerts, scenario);
  };

  router.get('/drills/v1/runs', requireRole('viewer'), async (req, res) => {
    const query = parse(RunsQuery, req.query, 'query');
    const rows = await deps.db
      .select()
      .from(schema.runs)
      .where(query.state ? and(inArray(schema.runs.state, query.state)) : undefined)
      .orderBy(desc(schema.runs.createdAt))
      .limit(query.limit);
    res.json({ items: rows.map((r) => runSummary(r)) });
  });

  router.get('/drills/v1/runs/:id', requireRole('viewer'), async (req, res) => {
    const { id } = parse(RunParams, req.params, 'path');
    res.json(await view(id));
  });

  router.post(
    '/drills/v1/runs',
    refusals.attempt('run_propose', (req) => ({
      scenarioId: typeof req.body?.scenario === 'string' ? req.body.scenario : undefined,
    })),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      const body = parse(ProposeBody, req.body ?? {}, 'run');
      const run = await engine.propose(body, req.principal!, req.id);
      res
        .status(201)
        .location(`/drills/v1/runs/${run.id}`)
        .json(await view(run.id));
    }),
  );

  router.post(
    '/drills/v1/runs/:id/approve',
    refusals.attempt('run_approve', runIdOf),
    requireRole('approver'),
    refusals.audited(async (req, res) => {
      const { id } = parse(RunParams, req.params, 'path');
      await engine.approve(id, req.principal!, req.id);
      res.json(await view(id));
    }),
  );

  router.post(
    '/drills/v1/runs/:id/reject',
    refusals.attempt('run_reject', runIdOf),
    requireRole('approver'),
    refusals.audited(async (req, res) => {
      const { id } = parse(RunParams, req.params, 'path');
      const { reason } = parse(ReasonBody, req.body ?? {}, 'request');
      await engine.reject(id, req.principal!, reason, req.id);
      res.json(await view(id));
    }),
  );

  router.post(
    '/drills/v1/runs/:id/abort',
    refusals.attempt('run_abort', runIdOf),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      const { id } = parse(RunParams, req.params, 'path');
      const { reason } = parse(ReasonBody, req.body ?? {}, 'request');
      await engine.abort(id, req.principal!, reason, req.id);
      res.json(await view(id));
    }),
  );

  return router;
}
