import type { Severity } from '@micro-oncall/incident-model';
import { InputError, requireRole } from '@micro-oncall/service-kit';
import { sql } from 'drizzle-orm';
import { Router } from 'express';
import type { ServiceCatalogue } from '../catalogue.js';
import type { EscalationDb } from '../db/types.js';
import { computeFigures, type IncidentTimes, resolveWindow, StatsQuery, type StatsWindow } from '../figures.js';

interface TimesRow extends Record<string, unknown> {
  id: string;
  service: string;
  severity: Severity;
  alert_key: string;
  drill: boolean;
  unverified: boolean;
  triggered_at: Date;
  acknowledged_at: Date | null;
  resolved_at: Date | null;
  events: number;
}

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

/**
 * The incidents whose first trigger falls in the window, with their first acknowledgement and
 * first resolution after it, from the event history. An incident triggered in the window was
 * updated in it or later, so the incidents_updated_id_idx narrows the candidates; each one's
 * events come through incident_events_incident_occurred_idx.
 */
export async function incidentTimes(db: EscalationDb, window: StatsWindow): Promise<IncidentTimes[]> {
  const result = await db.execute<TimesRow>(sql`
    select i.id, i.service, i.severity,
      coalesce(nullif(i.labels->>'alertname', ''), i.title) as alert_key,
      i.drill, i.unverified_drill_marker is not null as unverified,
      t.start as triggered_at,
      (select min(e.occurred_at) from escalation.incident_events e
        where e.incident_id = i.id and e.kind = 'acknowledged' and e.occurred_at >= t.start) as acknowledged_at,
      (select min(e.occurred_at) from escalation.incident_events e
        where e.incident_id = i.id and e.kind = 'resolved' and e.occurred_at >= t.start) as resolved_at,
      (select count(*)::int from escalation.incident_events e
        where e.incident_id = i.id and e.occurred_at >= ${window.from} and e.occurred_at < ${window.to}) as events
    from escalation.incidents i
    cross join lateral (
      select coalesce(
        (select min(e.occurred_at) from escalation.incident_events e where e.incident_id = i.id and e.kind = 'triggered'),
        i.created_at
      ) as start
    ) t
    where i.updated_at >= ${window.from} and t.start >= ${window.from} and t.start < ${window.to}
  `);
  return result.rows.map((r) => ({
    id: r.id,
    service: r.service,
    severity: r.severity,
    alertKey: r.alert_key,
    drill: r.drill,
    unverifiedDrillMarker: r.unverified,
    triggeredAt: iso(r.triggered_at)!,
    acknowledgedAt: iso(r.acknowledged_at),
    resolvedAt: iso(r.resolved_at),
    events: r.events,
  }));
}

/**
 * GET /v1/stats (viewer, like the incident list): MTTA and MTTR per service, team or severity
 * over a window of at most 90 days, drills apart, incidents per day and the noisiest alerts
 * (figures.ts). One statement, so one snapshot.
 */
export function createStatsRouter(deps: { db: EscalationDb; catalogue: ServiceCatalogue }): Router {
  const router = Router();

  router.get('/v1/stats', requireRole('viewer'), async (req, res) => {
    const parsed = StatsQuery.safeParse(req.query);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
    const window = resolveWindow(parsed.data);
    if ('message' in window) {
      throw new InputError(`invalid query: ${window.path}: ${window.message}`, {
        issues: [{ path: window.path, message: window.message }],
      });
    }
    res.json(computeFigures(await incidentTimes(deps.db, window), window, deps.catalogue));
  });

  return router;
}
