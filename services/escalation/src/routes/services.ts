import { requireRole } from '@micro-oncall/service-kit';
import { Router } from 'express';
import type { ServiceCatalogue } from '../catalogue.js';

/**
 * GET /v1/services (viewer): every service of the catalogue as escalation knows it, by slug:
 * name, team, owners, oncall, contacts and priority, its aliases, and who it escalates to when
 * the owners do not answer (`fallback`, the catalogue-wide default unless the service names its
 * own). Other services check their own configuration against it (status-mapper's mapping).
 */
export function createServicesRouter(deps: { catalogue: ServiceCatalogue }): Router {
  const router = Router();

  router.get('/v1/services', requireRole('viewer'), (_req, res) => {
    const bySlug = new Map<string, string[]>();
    for (const key of deps.catalogue.knownServices()) {
      const slug = deps.catalogue.lookup(key).service;
      const aliases = bySlug.get(slug) ?? [];
      if (key !== slug) aliases.push(key);
      bySlug.set(slug, aliases);
    }
    const items = [...bySlug]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([slug, aliases]) => {
        const { owned: _owned, ...ownership } = deps.catalogue.lookup(slug);
        return { ...ownership, aliases: aliases.sort() };
      });
    res.json({ items });
  });

  return router;
}
