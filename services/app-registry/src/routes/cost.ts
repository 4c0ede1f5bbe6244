import { Transform } from 'node:stream';
import { PayloadTooLargeError, requireRole, UnsupportedMediaTypeError } from '@micro-oncall/service-kit';
import express, { type Request, Router } from 'express';
import { z } from 'zod';
import type { Cost } from '../cost/cost.js';
import { COST_FORMATS, CostFileError } from '../cost/readers.js';
import { formatCsv } from '../io/csv.js';
import { actorOf, parse } from './apps.js';

export const CostImportQuery = z
  .object({
    /** focus (FOCUS 1.2), cur (legacy CUR CSV) or cur2 (CUR 2.0 Data Exports CSV); default: what the header says. */
    format: z.enum(COST_FORMATS).optional(),
    /** A name for the file in the import list and the audit. */
    file: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

const Month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM');
export const CostsQuery = z
  .object({
    month: Month,
    by: z.enum(['app', 'team', 'environment', 'category']).default('app'),
    team: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
export const ChargebackQuery = z.object({ month: Month, format: z.enum(['json', 'csv']).optional() }).strict();
const Amount = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, 'a decimal amount, e.g. 1200 or 99.50');
export const QuotaBody = z
  .object({
    scope: z.enum(['team', 'owner', 'environment']),
    /** The team's name, the owner's contact, or the environment's name. */
    subject: z.string().trim().min(1).max(200),
    monthlyAmount: Amount,
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
  })
  .strict();
export const QuotaPatchBody = z.object({ monthlyAmount: Amount }).strict();
export const QuotaRequestBody = z
  .object({ amount: Amount, justification: z.string().trim().min(10).max(2000) })
  .strict();
export const QuotaDecisionBody = z.object({ comment: z.string().trim().min(1).max(2000).optional() }).strict();
export const AnomaliesQuery = z
  .object({
    month: Month.optional(),
    appId: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export const RequestsQuery = z.object({ status: z.enum(['pending', 'approved', 'rejected']).optional() }).strict();

const CSV_TYPES = new Set(['text/csv', 'application/csv', 'text/plain']);

/** Counts the bytes of a request body as they stream, and stops it past `max`. */
function limitBytes(max: number) {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(new PayloadTooLargeError(`the cost file is larger than ${Math.round(max / 1048576)} MiB`));
      else done(null, chunk);
    },
  });
}

/**
 * Cost under /apps/v1/cost (signed in): viewers read costs, the chargeback, quotas and anomalies;
 * responders import cost files and ask for quota increases; approvers set quotas and decide
 * increase requests (never their own); admins run the weekly report now.
 */
export function createCostRouter(deps: {
  cost: Cost;
  maxImportBytes: number;
  /** Runs the weekly cost report job now; its job id. */
  weeklyReportNow: () => Promise<string>;
}): Router {
  const { cost } = deps;
  const router = Router();
  const json = express.json({ limit: '16kb' });
  const meta = (req: Request) => ({ requestId: req.id });

  router.post('/apps/v1/cost/imports', requireRole('responder'), async (req, res) => {
    const q = parse(CostImportQuery, req.query, 'query');
    const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!CSV_TYPES.has(type)) {
      req.resume();
      throw new UnsupportedMediaTypeError(
        'send the cost file as Content-Type: text/csv (FOCUS 1.2, AWS CUR or CUR 2.0 CSV)',
      );
    }
    const actor = actorOf(req.principal!);
    const opts = {
      actor,
      ...meta(req),
      ...(q.file ? { fileName: q.file } : {}),
      ...(q.format ? { format: q.format } : {}),
    };
    try {
      const result = await cost.importFile(req.pipe(limitBytes(deps.maxImportBytes)), opts);
      res.status(201).json(result);
    } catch (error) {
      if (error instanceof CostFileError || error instanceof PayloadTooLargeError) {
        req.resume();
        await cost.auditRefusedImport(error, opts);
      }
      throw error;
    }
  });

  router.get('/apps/v1/cost/imports', requireRole('viewer'), async (_req, res) => {
    res.json({ items: await cost.listImports() });
  });

  router.get('/apps/v1/cost/costs', requireRole('viewer'), async (req, res) => {
    const q = parse(CostsQuery, req.query, 'query');
    res.json(await cost.costs({ month: q.month, by: q.by, ...(q.team ? { team: q.team } : {}) }));
  });

  router.get('/apps/v1/cost/chargeback', requireRole('viewer'), async (req, res) => {
    const q = parse(ChargebackQuery, req.query, 'query');
    const report = await cost.chargeback(q.month);
    const wantsCsv =
      q.format === 'csv' || (q.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');
    if (!wantsCsv) {
      res.json(report);
      return;
    }
    const rows = report.teams.map((t) => [
      q.month,
      t.team ?? '(no team)',
      t.currency,
      t.cost,
      t.untagged,
      String(t.apps),
    ]);
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="chargeback-${q.month}.csv"`);
    res.send(formatCsv(['month', 'team', 'currency', 'cost', 'untagged', 'apps'], rows));
  });

  router.get('/apps/v1/cost/quotas', requireRole('viewer'), async (req, res) => {
    const q = parse(z.object({ month: Month.optional() }).strict(), req.query, 'query');
    res.json(await cost.listQuotas(q.month));
  });

  router.post('/apps/v1/cost/quotas', requireRole('approver'), json, async (req, res) => {
    const body = parse(QuotaBody, req.body, 'quota');
    const quota = await cost.createQuota(body, actorOf(req.principal!), meta(req));
    res.status(201).setHeader('Location', `/apps/v1/cost/quotas/${quota.id}`).json(quota);
  });

  router.patch('/apps/v1/cost/quotas/:id', requireRole('approver'), json, async (req, res) => {
    const body = parse(QuotaPatchBody, req.body, 'quota');
    res.json(
      await cost.updateQuota(parse(z.uuid(), req.params.id, 'quota id'), body, actorOf(req.principal!), meta(req)),
    );
  });

  router.delete('/apps/v1/cost/quotas/:id', requireRole('approver'), async (req, res) => {
    await cost.deleteQuota(parse(z.uuid(), req.params.id, 'quota id'), actorOf(req.principal!), meta(req));
    res.status(204).end();
  });

  router.post('/apps/v1/cost/quotas/:id/requests', requireRole('responder'), json, async (req, res) => {
    const body = parse(QuotaRequestBody, req.body, 'request');
    const quotaId = parse(z.uuid(), req.params.id, 'quota id');
    res.status(201).json(await cost.requestIncrease(quotaId, body, actorOf(req.principal!), meta(req)));
  });

  router.get('/apps/v1/cost/quota-requests', requireRole('viewer'), async (req, res) => {
    const q = parse(RequestsQuery, req.query, 'query');
    res.json({ items: await cost.listRequests(q.status) });
  });

  for (const [path, decision] of [
    ['approve', 'approved'],
    ['reject', 'rejected'],
  ] as const) {
    router.post(`/apps/v1/cost/quota-requests/:id/${path}`, requireRole('approver'), json, async (req, res) => {
      const body = parse(QuotaDecisionBody, req.body, 'decision');
      const id = parse(z.uuid(), req.params.id, 'request id');
      res.json(await cost.decideRequest(id, decision, body.comment, actorOf(req.principal!), meta(req)));
    });
  }

  router.get('/apps/v1/cost/anomalies', requireRole('viewer'), async (req, res) => {
    const q = parse(AnomaliesQuery, req.query, 'query');
    res.json({
      items: await cost.listAnomalies({
        limit: q.limit,
        ...(q.month ? { month: q.month } : {}),
        ...(q.appId ? { appId: q.appId } : {}),
      }),
    });
  });

  router.post('/apps/v1/cost/weekly-report', requireRole('admin'), async (_req, res) => {
    res.status(202).json({ jobId: await deps.weeklyReportNow() });
  });

  return router;
}
