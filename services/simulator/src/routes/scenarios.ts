import { InputError, NotFoundError, requireRole, UnsupportedMediaTypeError } from '@micro-oncall/service-kit';
import { Router } from 'express';
import { z } from 'zod';
import type { AuditWriter } from '../audit.js';
import { scenarioView } from '../present.js';
import type { Refusals } from '../refusals.js';
import { parseScenario, type ScenarioFormat } from '../scenarios/definition.js';
import type { ScenarioStore } from '../scenarios/store.js';

export const ScenarioParams = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a scenario id') });
export const ScenarioQuery = z.strictObject({ version: z.coerce.number().int().min(1).optional() });

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/**
 * GET /drills/v1/scenarios (viewer): the latest version of each; GET …/:id (viewer, `?version=`);
 * GET …/:id/versions (viewer); POST /drills/v1/scenarios (responder): a new scenario, or a new
 * version of one, in JSON or YAML. 400 names every field that is wrong.
 */
export function createScenariosRouter(deps: { store: ScenarioStore; audit: AuditWriter; refusals: Refusals }): Router {
  const router = Router();
  const { refusals } = deps;

  router.get('/drills/v1/scenarios', requireRole('viewer'), async (_req, res) => {
    res.json({ items: (await deps.store.list()).map(scenarioView) });
  });

  router.get('/drills/v1/scenarios/:id', requireRole('viewer'), async (req, res) => {
    const { id } = parse(ScenarioParams, req.params, 'path');
    const { version } = parse(ScenarioQuery, req.query, 'query');
    const row = await deps.store.get(id, version);
    if (!row) throw notFound(id, version);
    res.json(scenarioView(row));
  });

  router.get('/drills/v1/scenarios/:id/versions', requireRole('viewer'), async (req, res) => {
    const { id } = parse(ScenarioParams, req.params, 'path');
    const rows = await deps.store.versions(id);
    if (rows.length === 0) throw notFound(id);
    res.json({ items: rows.map(scenarioView) });
  });

  router.post(
    '/drills/v1/scenarios',
    refusals.attempt('scenario_create'),
    requireRole('responder'),
    refusals.audited(async (req, res) => {
      const format = formatOf(req.header('content-type'));
      const definition = parseScenario(req.body, format);
      const principal = req.principal!;
      const by = { subject: principal.subject, name: principal.name };
      const { row, created } = await deps.store.save(definition, 'api', by, (stored, tx) =>
        deps.audit(
          {
            actor: by,
            action: 'scenario_create',
            outcome: 'succeeded',
            detail: `saved scenario ${stored.id} version ${stored.version}`,
            requestId: req.id,
            scenarioId: stored.id,
            request: { id: stored.id, version: stored.version, format },
          },
          tx,
        ),
      );
      res
        .status(created ? 201 : 200)
        .location(`/drills/v1/scenarios/${row.id}?version=${row.version}`)
        .json({ ...scenarioView(row), created });
    }),
  );

  return router;
}

function formatOf(contentType: string | undefined): ScenarioFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (YAML_TYPES.includes(type)) return 'yaml';
  throw new UnsupportedMediaTypeError('send the scenario as application/json or application/yaml');
}

function notFound(id: string, version?: number) {
  return new NotFoundError(version === undefined ? `no scenario ${id}` : `scenario ${id} has no version ${version}`);
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw InputError.fromZod(result.error, what);
  return result.data;
}
