import { requireRole } from '@micro-oncall/service-kit';
import { Router } from 'express';
import type { CatalogueClient } from '../catalogue.js';
import type { Mapping } from '../config/mapping.js';
import type { MappingSourceState } from '../mapping-reload.js';
import { mappingReport } from '../mapping-report.js';
import { readState } from '../read.js';
import type { Db } from '../store.js';

/**
 * GET /status/v1/mapping (viewer): the mapping in force and where it came from (file, hash,
 * loaded at, the error of a rejected reload), its rules, the provider components no rule maps,
 * the rules that match nothing, and the mapped services escalation's catalogue does not know;
 * when escalation cannot be asked, `catalogue.available` is false with the reason and
 * `unknownServices` is null, never an empty list.
 */
export function createMappingRouter(deps: {
  db: Db;
  mapping: () => Mapping;
  mappingState: () => MappingSourceState;
  catalogue: CatalogueClient;
}): Router {
  const router = Router();

  router.get('/status/v1/mapping', requireRole('viewer'), async (req, res) => {
    // Read both before awaiting anything: one mapping for the whole answer.
    const mapping = deps.mapping();
    const source = deps.mappingState();
    const [{ components }, catalogue] = await Promise.all([
      readState(deps.db),
      deps.catalogue.lookup(req.get('authorization')),
    ]);
    const report = mappingReport(mapping, components, catalogue.available ? catalogue.known : null);
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({
      source,
      ...report,
      catalogue: catalogue.available
        ? { available: true, fetchedAt: catalogue.fetchedAt, services: catalogue.services }
        : { available: false, reason: catalogue.reason },
    });
  });

  return router;
}
