import type { ComponentStatus } from '@micro-oncall/incident-model';
import { asc, eq, isNull } from 'drizzle-orm';
import * as schema from './db/schema.js';
import type { ComponentState, IncidentState } from './internal-status.js';
import type { Db } from './store.js';

/** Current components (with their page's staleness) and open provider incidents. */
export async function readState(db: Db): Promise<{ components: ComponentState[]; incidents: IncidentState[] }> {
  const rows = await db
    .select({ c: schema.components, p: schema.pages })
    .from(schema.components)
    .innerJoin(schema.pages, eq(schema.pages.id, schema.components.pageId))
    .orderBy(asc(schema.components.key));
  const components = rows.map(({ c, p }) => ({
    key: c.key,
    pageId: c.pageId,
    provider: p.provider,
    id: c.componentId,
    name: c.name,
    group: c.groupId && c.groupName !== null ? { id: c.groupId, name: c.groupName } : null,
    status: c.status,
    since: iso(c.statusSince),
    stale:
      c.status === 'unknown' && p.staleSince
        ? { since: iso(p.staleSince), reason: p.lastError, lastKnown: c.reportedStatus as ComponentStatus }
        : null,
  }));
  const open = await db
    .select({ i: schema.providerIncidents, provider: schema.pages.provider })
    .from(schema.providerIncidents)
    .innerJoin(schema.pages, eq(schema.pages.id, schema.providerIncidents.pageId))
    .where(isNull(schema.providerIncidents.resolvedAt))
    .orderBy(asc(schema.providerIncidents.pageId), asc(schema.providerIncidents.incidentId));
  const incidents = open.map(({ i, provider }) => ({
    pageId: i.pageId,
    provider,
    id: i.incidentId,
    name: i.name,
    status: i.status,
    impact: i.impact,
    shortlink: i.shortlink,
    latestUpdate: i.latestUpdate,
    componentIds: i.componentIds,
  }));
  return { components, incidents };
}

/** PostgreSQL's text form of a timestamptz → ISO 8601 UTC. */
export function iso(value: string): string;
export function iso(value: string | null): string | null;
export function iso(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
