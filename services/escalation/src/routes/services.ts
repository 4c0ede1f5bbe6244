import { requireRole } from '@micro-oncall/service-kit';
import { Router } from 'express';
import type { ServiceCatalogue } from '../catalogue.js';
import type { EscalationDb } from '../db/types.js';
import { driftOf, registryOwnersByName } from '../ownership-drift.js';

/**
 * GET /v1/services (viewer): every service of the catalogue as escalation knows it, by slug:
 * name, team, owners, oncall, contacts and priority, its aliases, and who it escalates to when
 * the owners do not answer (`fallback`, the catalogue-wide default unless the service names its
 * own). Other services check their own configuration against it (status-mapper's mapping).
 * `ownershipDrift` is set where the app-registry (an app named like the service or one of its
 * aliases) says someone else owns it: both sides, and what differs.
 */
export function createServicesRouter(deps: { catalogue: ServiceCatalogue; db: EscalationDb }): Router {
  const router = Router();

  router.get('/v1/services', requireRole('viewer'), async (_req, res) => {
    const bySlug = new Map<string, string[]>();
    for (const key of deps.catalogue.knownServices()) {
      const slug = deps.catalogue.lookup(key).service;
      const aliases = bySlug.get(slug) ?? [];
      if (key !== slug) aliases.push(key);
      bySlug.set(slug, aliases);
    }
    const registry = await registryOwnersByName(deps.db, deps.catalogue.knownServices());
    const items = [...bySlug]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([slug, aliases]) => {
        const found = deps.catalogue.lookup(slug);
        const { owned: _owned, ...ownership } = found;
        const app = [slug, ...aliases].map((key) => registry.get(key)).find((row) => row !== undefined);
        return { ...ownership, aliases: aliases.sort(), ownershipDrift: driftOf(found, app) };
      });
    res.json({ items });
  });

  return router;
}
