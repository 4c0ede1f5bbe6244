import { requireRole } from '@micro-oncall/service-kit';
import { and } from 'drizzle-orm';
import express, { Router } from 'express';
import { z } from 'zod';
import * as schema from '../db/schema.js';
import {
  type ExportRow,
  formatBackstageExport,
  formatCsvExport,
  formatYamlExport,
  importFormat,
  parseImport,
} from '../io/formats.js';
import { filtersOf, orderOf, parseListQuery } from '../query.js';
import type { Registry } from '../store.js';
import { fieldsOf } from '../views.js';
import { actorOf, parse } from './apps.js';

const MAX_EXPORT = 50_000;

export const ImportQuery = z
  .object({
    format: z.enum(['csv', 'yaml', 'backstage']).optional(),
    /** A name for the file in the history and audit. */
    file: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

/**
 * POST /apps/v1/import (responder): CSV, YAML or Backstage catalog entities, all or nothing.
 * GET /apps/v1/export (viewer): the same formats, with the list's filters.
 */
export function createTransferRouter(deps: { registry: Registry }): Router {
  const { registry } = deps;
  const router = Router();

  router.post(
    '/apps/v1/import',
    requireRole('responder'),
    express.text({
      type: ['text/csv', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
      limit: '10mb',
    }),
    async (req, res) => {
      const q = parse(ImportQuery, req.query, 'query');
      const format = importFormat(q.format, req.get('content-type'));
      const text = typeof req.body === 'string' ? req.body : '';
      const parsed = parseImport(format, text);
      const source = format === 'backstage' || parsed.apps.some((a) => a.originRef) ? 'backstage' : 'import';
      const outcome = await registry.importApps(parsed, source, actorOf(req.principal!), {
        requestId: req.id,
        ...(q.file ? { file: q.file } : {}),
      });
      res.json({
        imported: parsed.apps.length,
        created: outcome.created,
        updated: outcome.updated,
        unchanged: outcome.unchanged,
        skipped: outcome.skipped,
        apps: outcome.ids,
      });
    },
  );

  router.get('/apps/v1/export', requireRole('viewer'), async (req, res) => {
    const { format, ...rest } = req.query as Record<string, unknown>;
    const chosen = parse(z.enum(['csv', 'yaml', 'backstage']).default('csv'), format, 'format');
    const q = parseListQuery({ ...rest, limit: '1' });
    const rows = await registry.db
      .select()
      .from(schema.apps)
      .where(and(filtersOf(q)))
      .orderBy(...orderOf(q))
      .limit(MAX_EXPORT);
    const exported: ExportRow[] = rows.map((r) => ({
      id: r.id,
      fields: fieldsOf(r),
      state: r.state,
      tier: r.tier,
      riskScore: r.riskScore,
      openViolations: r.openViolations,
      lastActivityAt: new Date(r.lastActivityAt).toISOString(),
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    }));
    const [type, body, ext] =
      chosen === 'csv'
        ? ['text/csv; charset=utf-8', formatCsvExport(exported), 'csv']
        : chosen === 'yaml'
          ? ['application/yaml; charset=utf-8', formatYamlExport(exported), 'yaml']
          : ['application/yaml; charset=utf-8', formatBackstageExport(exported), 'catalog-info.yaml'];
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Disposition', `attachment; filename="apps.${ext}"`);
    if (rows.length === MAX_EXPORT) res.setHeader('X-Truncated', `at most ${MAX_EXPORT} apps: narrow the filters`);
    res.send(body);
  });

  return router;
}
