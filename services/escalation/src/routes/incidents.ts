import { INCIDENT_ID_PATTERN, IncidentId, IncidentStatus, Severity } from '@micro-oncall/incident-model';
import {
  envBoolean,
  InputError,
  keysetPaging,
  NotFoundError,
  requireRole,
  TimestampCursorKey,
} from '@micro-oncall/service-kit';
import { and, asc, eq, ilike, inArray, ne, notInArray, or, type SQL, sql } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import type { ServiceCatalogue } from '../catalogue.js';
import { incidentEvents, incidents } from '../db/schema.js';
import type { EscalationDb } from '../db/types.js';
import { groupAlerts, groupsForIncidents } from '../grouping.js';
import { handlingForIncidents, NO_HANDLING } from '../handling.js';
import { driftFor, registryOwnersByName } from '../ownership-drift.js';
import { presentIncident, presentTimeline, presentWithOwnership } from '../present.js';
import { conditionsForIncidents, providerTimeline } from '../provider-context.js';

const csv = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1));

/** Newest first by last event time (index incidents_updated_id_idx). */
const paging = keysetPaging(incidents, { sort: 'updatedAt', id: 'id' }, { sort: TimestampCursorKey, id: IncidentId });

export const ListIncidentsQuery = z
  .object({
    status: csv(IncidentStatus).optional(),
    severity: csv(Severity).optional(),
    service: z.string().min(1).max(128).optional(),
    drill: envBoolean(true).optional(),
    /** `true`: only incidents that are not resolved. */
    active: envBoolean(false).optional(),
    /** Case-insensitive text search in title, service and ids. */
    q: z.string().trim().min(1).max(200).optional(),
    /** An owner, team or oncall handle from the catalogue; `unowned` for services it does not know. */
    owner: z.string().min(1).max(256).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(50),
    cursor: paging.param.optional(),
  })
  .strict();

export interface IncidentRoutesDeps {
  db: EscalationDb;
  catalogue: ServiceCatalogue;
}

/**
 * GET /v1/incidents: newest first (by last event time), keyset paging with an opaque cursor.
 * GET /v1/incidents/:id: state, owners, the full event history and the alerts of its group.
 * Both need the viewer role.
 */
export function createIncidentsRouter(deps: IncidentRoutesDeps): Router {
  const router = Router();

  router.get('/v1/incidents', requireRole('viewer'), async (req, res) => {
    const parsed = ListIncidentsQuery.safeParse(req.query);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
    const q = parsed.data;
    const where: SQL[] = [];
    if (q.status) where.push(inArray(incidents.status, q.status));
    if (q.severity) where.push(inArray(incidents.severity, q.severity));
    if (q.service) where.push(eq(incidents.service, q.service));
    if (q.drill === false) where.push(eq(incidents.drill, false));
    if (q.active) where.push(ne(incidents.status, 'resolved'));
    if (q.q) {
      const pattern = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(
        or(
          ilike(incidents.title, pattern),
          ilike(incidents.service, pattern),
          ilike(incidents.id, pattern),
          ilike(incidents.providerId, pattern),
        )!,
      );
    }
    if (q.owner === 'unowned') {
      const known = deps.catalogue.knownServices();
      if (known.length > 0) where.push(notInArray(incidents.service, known));
    } else if (q.owner) {
      const owned = deps.catalogue.servicesOwnedBy(q.owner);
      // No service owned by that name: an empty result, not an unfiltered one.
      where.push(owned.length > 0 ? inArray(incidents.service, owned) : sql`false`);
    }
    if (q.cursor) where.push(paging.after(q.cursor));
    const rows = await deps.db
      .select()
      .from(incidents)
      .where(where.length > 0 ? and(...where) : undefined)
      .orderBy(...paging.orderBy)
      .limit(q.limit + 1);
    const page = paging.page(rows, q.limit);
    const [conditions, handling, groups] = await Promise.all([
      conditionsForIncidents(deps.db, page.items),
      handlingForIncidents(deps.db, page.items),
      groupsForIncidents(deps.db, page.items),
    ]);
    res.json({
      items: page.items.map((row) =>
        presentWithOwnership(
          row,
          deps.catalogue,
          conditions.get(row.id) ?? [],
          handling.get(row.id) ?? NO_HANDLING,
          (row.groupId && groups.get(row.groupId)) || null,
        ),
      ),
      nextCursor: page.nextCursor,
    });
  });

  router.get('/v1/incidents/:id', requireRole('viewer'), async (req, res) => {
    const id = z.string().regex(INCIDENT_ID_PATTERN, 'not an incident id').safeParse(req.params.id);
    if (!id.success) throw InputError.fromZod(id.error, 'incident id');
    // The incident, its history and its provider context from one snapshot: a commit between two
    // reads could show an "acknowledged" incident with a "resolved" event in its timeline.
    const found = await deps.db.transaction(
      async (tx) => {
        const [row] = await tx.select().from(incidents).where(eq(incidents.id, id.data));
        if (!row) return null;
        return {
          row,
          history: await tx
            .select()
            .from(incidentEvents)
            .where(eq(incidentEvents.incidentId, id.data))
            .orderBy(asc(incidentEvents.occurredAt), asc(incidentEvents.recordedAt)),
          conditions: (await conditionsForIncidents(tx, [row])).get(row.id) ?? [],
          handling: (await handlingForIncidents(tx, [row])).get(row.id) ?? NO_HANDLING,
          providerNotes: await providerTimeline(tx, row.id),
          registryOwners: await registryOwnersByName(tx, [row.service, deps.catalogue.lookup(row.service).service]),
          group: row.groupId ? ((await groupsForIncidents(tx, [row])).get(row.groupId) ?? null) : null,
          alerts: row.groupId ? await groupAlerts(tx, row.groupId) : [],
        };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    if (!found) throw new NotFoundError(`incident ${id.data} not found`);
    const { row, history, conditions, handling, providerNotes, registryOwners, group, alerts } = found;
    const ownership = deps.catalogue.lookup(row.service);
    res.json({
      incident: presentIncident(row, conditions, handling, group),
      // The alerts of its group (itself included), lead first; empty when it is on its own.
      alerts,
      ownership,
      // Where the app-registry says someone else owns this service: both sides (null when they agree).
      ownershipDrift: driftFor(ownership, row.service, registryOwners),
      events: presentTimeline(history, row.provider),
      providerTimeline: providerNotes,
    });
  });

  return router;
}
