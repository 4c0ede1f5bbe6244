import { ConflictError, InputError, NotFoundError, requireRole } from '@micro-oncall/service-kit';
import { eq, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { type Request, Router } from 'express';
import { z } from 'zod';
import type { AuditWriter } from '../audit.js';
import * as schema from '../db/schema.js';
import type { Refusals } from '../refusals.js';
import { checklistView, loadReport, reportMarkdown } from '../report.js';
import type { ScenarioStore } from '../scenarios/store.js';
import { RunParams } from './runs.js';
import { parse } from './scenarios.js';

type Db = NodePgDatabase<typeof schema>;

export const ChecklistParams = RunParams.extend({
  /** The item's position in the runbook checklist, from 0. */
  item: z.coerce.number().int().min(0).max(49),
});
export const ChecklistBody = z.strictObject({
  /** Ticked (default) or unticked again. */
  done: z.boolean().default(true),
  /** What the responder found or did, kept in the report. */
  note: z.string().trim().min(1).max(1000).optional(),
});
export const ReportQuery = z.strictObject({ format: z.enum(['json', 'md']).optional() });

/**
 * GET /drills/v1/runs/:id/report (viewer): the drill report (report.ts), as JSON or, with
 * `?format=md` or `Accept: text/markdown`, as a Markdown file to export.
 * POST /drills/v1/runs/:id/checklist/:item (responder): ticks (or unticks) one item of the run's
 * runbook checklist, audited; refusals are audited like every other drill request.
 */
export function createReportsRouter(deps: {
  db: Db;
  scenarios: ScenarioStore;
  audit: AuditWriter;
  refusals: Refusals;
}): Router {
  const router = Router();
  const { refusals } = deps;
  const runOf = async (id: string) => {
    const [run] = await deps.db.select().from(schema.runs).where(eq(schema.runs.id, id));
    if (!run) throw new NotFoundError(`no run ${id}`);
    return run;
  };
  const runIdOf = (req: Request) => {
    const id = RunParams.safeParse(req.params).data?.id;
    return id ? { runId: id } : {};
  };

  router.get('/drills/v1/runs/:id/report', requireRole('viewer'), async (req, res) => {
    const { id } = parse(RunParams, req.params, 'path');
    const { format } = parse(ReportQuery, req.query, 'query');
    const run = await runOf(id);
    const report = await loadReport(deps.db, run, await deps.scenarios.get(run.scenarioId, run.scenarioVersion));
    const markdown =
      format === 'md' ||
      (format === undefined && req.accepts(['application/json', 'text/markdown']) === 'text/markdown');
    if (!markdown) {
      res.json(report);
      return;
    }
    res
      .type('text/markdown; charset=utf-8')
      .attachment(`drill-report-${run.scenarioId}-${run.id}.md`)
      .send(reportMarkdown(report));
  });

  router.post(
    '/drills/v1/runs/:id/checklist/:item',
    refusals.attempt('run_checklist', runIdOf),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      const { id, item } = parse(ChecklistParams, req.params, 'path');
      const body = parse(ChecklistBody, req.body ?? {}, 'request');
      const run = await runOf(id);
      if (run.startedAt === null) {
        throw new ConflictError(`run ${id} never started (${run.state}): it has no checklist to tick`);
      }
      const scenario = await deps.scenarios.get(run.scenarioId, run.scenarioVersion);
      const items = scenario?.definition.runbook.checklist ?? [];
      const text = items[item];
      if (text === undefined) {
        throw new InputError(`the runbook checklist of this run has ${items.length} items (0 to ${items.length - 1})`, {
          issues: [{ path: 'path.item', message: `no checklist item ${item}` }],
        });
      }
      const who = req.principal!;
      await deps.db.transaction(async (tx) => {
        const row = {
          runId: id,
          item,
          done: body.done,
          note: body.note ?? null,
          changedBySubject: who.subject,
          changedByName: who.name ?? null,
        };
        await tx
          .insert(schema.runChecklist)
          .values(row)
          .onConflictDoUpdate({
            target: [schema.runChecklist.runId, schema.runChecklist.item],
            set: { ...row, changedAt: sql`now()` },
          });
        await deps.audit(
          {
            actor: { subject: who.subject, name: who.name ?? null },
            action: 'run_checklist',
            outcome: 'succeeded',
            detail: `${body.done ? 'ticked' : 'unticked'} checklist item ${item + 1} "${text}"${body.note ? `: ${body.note}` : ''}`,
            requestId: req.id,
            runId: id,
            scenarioId: run.scenarioId,
            request: { item, ...body },
          },
          tx,
        );
      });
      const rows = await deps.db.select().from(schema.runChecklist).where(eq(schema.runChecklist.runId, id));
      res.json({ items: checklistView(scenario, rows) });
    }),
  );

  return router;
}
