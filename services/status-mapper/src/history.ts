import type { ComponentStatus, ProviderIncidentRef, ProviderStatusChange } from '@micro-oncall/incident-model';
import { and, asc, count, desc, eq, gt, inArray, isNull, lte, max, or, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import type { Db } from './store.js';

/*
 * The history of condition changes read back as `ProviderStatusChange`s, for the live stream
 * (catch-up and broadcast) and the Atom feed. A change's position is its `component_changes.id`:
 * the writers take those in commit order (store.ts), so "everything after N" is a cursor.
 *
 * The history row keeps what changed (from → to, the provider's word, stale since and why, when,
 * source); the rest is joined in: the page and component as they are now (a component the
 * provider has since removed keeps its id as its name), and the provider incidents that were
 * open at that moment and named the component (first seen at or before the change, not resolved
 * by then), which is what the event on `provider-status` carried.
 */

/**
 * A change as it was published, less the services it mapped to then (not kept: readers add the
 * services the component maps to now).
 */
export type HistoricChange = Omit<ProviderStatusChange, 'services'>;

export interface ChangeRecord {
  /** `component_changes.id`: the stream's event id. */
  position: number;
  change: HistoricChange;
  /** The page's human status page (its summary.json URL without `/api/v2/summary.json`), when known. */
  pageUrl: string | null;
}

const SUMMARY_SUFFIX = '/api/v2/summary.json';

/** The provider's status page for people, from the summary.json URL we poll. */
export function humanPageUrl(url: string | null): string | null {
  if (!url?.endsWith(SUMMARY_SUFFIX)) return null;
  return url.slice(0, -SUMMARY_SUFFIX.length) || null;
}

/** PostgreSQL's text form of a timestamptz (or ISO 8601) → epoch milliseconds. */
const ts = (value: string) => Date.parse(value);
const isoOf = (value: string | Date) => new Date(typeof value === 'string' ? ts(value) : value).toISOString();

async function toRecords(
  db: Db,
  rows: {
    c: typeof schema.componentChanges.$inferSelect;
    p: { provider: string; providerPageId: string | null; pageName: string | null; url: string | null } | null;
    k: { name: string; groupId: string | null; groupName: string | null } | null;
  }[],
): Promise<ChangeRecord[]> {
  if (rows.length === 0) return [];
  const pageIds = [...new Set(rows.map((r) => r.c.pageId))];
  const times = rows.map((r) => ts(r.c.observedAt));
  const [earliest, latest] = [new Date(Math.min(...times)).toISOString(), new Date(Math.max(...times)).toISOString()];
  // Every incident of these pages that was open at some point between the first and last change.
  const incidents = await db
    .select()
    .from(schema.providerIncidents)
    .where(
      and(
        inArray(schema.providerIncidents.pageId, pageIds),
        lte(schema.providerIncidents.firstSeenAt, latest),
        or(isNull(schema.providerIncidents.resolvedAt), gt(schema.providerIncidents.resolvedAt, earliest)),
      ),
    )
    .orderBy(asc(schema.providerIncidents.firstSeenAt), asc(schema.providerIncidents.incidentId));

  return rows.map(({ c, p, k }) => {
    const componentId = c.componentKey.startsWith(`${c.pageId}/`)
      ? c.componentKey.slice(c.pageId.length + 1)
      : c.componentKey;
    const at = ts(c.observedAt);
    const refs: ProviderIncidentRef[] = incidents
      .filter(
        (i) =>
          i.pageId === c.pageId &&
          i.componentIds.includes(componentId) &&
          ts(i.firstSeenAt) <= at &&
          (i.resolvedAt === null || ts(i.resolvedAt) > at),
      )
      .slice(0, 50)
      .map((i) => ({ id: i.incidentId, name: i.name, status: i.status, impact: i.impact, shortlink: i.shortlink }));
    const change: HistoricChange = {
      changeId: c.changeId,
      // A page since removed from the sources file: its id stands in for the provider's name.
      provider: p?.provider ?? c.pageId,
      page: { id: c.pageId, providerPageId: p?.providerPageId ?? null, name: p?.pageName ?? null },
      component: {
        key: c.componentKey,
        id: componentId,
        name: k?.name ?? componentId,
        group: k?.groupId && k.groupName !== null ? { id: k.groupId, name: k.groupName } : null,
      },
      status: {
        from: c.fromStatus,
        to: c.toStatus,
        providerStatus: c.providerStatus,
        // A component turns stale from the status the provider last reported: `from`.
        stale:
          c.staleSince !== null
            ? { since: isoOf(c.staleSince), reason: c.reason ?? '', lastKnown: c.fromStatus as ComponentStatus | null }
            : null,
      },
      incidents: refs,
      observedAt: isoOf(c.observedAt),
      source: c.source,
    };
    return { position: c.id, change, pageUrl: humanPageUrl(p?.url ?? null) };
  });
}

function selectChanges(db: Db) {
  return db
    .select({
      c: schema.componentChanges,
      p: {
        provider: schema.pages.provider,
        providerPageId: schema.pages.providerPageId,
        pageName: schema.pages.pageName,
        url: schema.pages.url,
      },
      k: { name: schema.components.name, groupId: schema.components.groupId, groupName: schema.components.groupName },
    })
    .from(schema.componentChanges)
    .leftJoin(schema.pages, eq(schema.pages.id, schema.componentChanges.pageId))
    .leftJoin(schema.components, eq(schema.components.key, schema.componentChanges.componentKey));
}

/** At most `limit` changes after `position`, oldest first. */
export async function changesAfter(db: Db, position: number, limit: number): Promise<ChangeRecord[]> {
  const rows = await selectChanges(db)
    .where(gt(schema.componentChanges.id, position))
    .orderBy(asc(schema.componentChanges.id))
    .limit(limit);
  return toRecords(db, rows);
}

/** The newest `limit` changes, newest first. */
export async function latestChanges(db: Db, limit: number): Promise<ChangeRecord[]> {
  const rows = await selectChanges(db).orderBy(desc(schema.componentChanges.id)).limit(limit);
  return toRecords(db, rows);
}

/** How many changes come after `position`, counting no further than `limit`. */
export async function countChangesAfter(db: Db, position: number, limit: number): Promise<number> {
  const behind = db
    .select({ one: sql`1` })
    .from(schema.componentChanges)
    .where(gt(schema.componentChanges.id, position))
    .limit(limit)
    .as('behind');
  const [row] = await db.select({ n: count() }).from(behind);
  return Number(row?.n ?? 0);
}

/** The newest change's position (0 when there is none). */
export async function lastChangePosition(db: Db): Promise<number> {
  const [row] = await db.select({ id: max(schema.componentChanges.id) }).from(schema.componentChanges);
  return Number(row?.id ?? 0);
}

export interface IncidentUpdateRecord {
  pageId: string;
  provider: string;
  pageUrl: string | null;
  incidentId: string;
  name: string;
  /** The provider's status word; `resolved` once the incident left the page's unresolved list. */
  status: string;
  impact: string;
  shortlink: string | null;
  latestUpdate: string | null;
  /** When the provider last updated it (or when we first saw it, or saw it leave the list). */
  updatedAt: string;
  components: { id: string; name: string; group: { id: string; name: string } | null }[];
}

/**
 * Each provider incident in its latest known state (we keep the latest update, not every one),
 * the most recently updated first. An incident that left the page's unresolved list without the
 * provider's own "resolved" reaching us reads `resolved` as of when it left.
 */
export async function latestIncidentUpdates(db: Db, limit: number): Promise<IncidentUpdateRecord[]> {
  const i = schema.providerIncidents;
  const closedByAbsence = sql<boolean>`(${i.resolvedAt} is not null and ${i.status} not in ('resolved', 'postmortem', 'completed'))`;
  const updatedAt = sql<string>`case when ${closedByAbsence} then ${i.resolvedAt} else coalesce(${i.providerUpdatedAt}, ${i.firstSeenAt}) end`;
  const rows = await db
    .select({
      i,
      closedByAbsence: closedByAbsence.as('closed_by_absence'),
      updatedAt: updatedAt.as('entry_updated_at'),
      p: { provider: schema.pages.provider, url: schema.pages.url },
    })
    .from(i)
    .innerJoin(schema.pages, eq(schema.pages.id, i.pageId))
    .orderBy(desc(updatedAt), asc(i.pageId), asc(i.incidentId))
    .limit(limit);
  const keys = [...new Set(rows.flatMap(({ i }) => i.componentIds.map((id) => `${i.pageId}/${id}`)))];
  const components =
    keys.length === 0
      ? []
      : await db
          .select({
            key: schema.components.key,
            name: schema.components.name,
            groupId: schema.components.groupId,
            groupName: schema.components.groupName,
          })
          .from(schema.components)
          .where(inArray(schema.components.key, keys));
  const byKey = new Map(components.map((c) => [c.key, c]));
  return rows.map(({ i: row, closedByAbsence: closed, updatedAt: at, p }) => ({
    pageId: row.pageId,
    provider: p.provider,
    pageUrl: humanPageUrl(p.url),
    incidentId: row.incidentId,
    name: row.name,
    status: closed ? 'resolved' : row.status,
    impact: row.impact,
    shortlink: row.shortlink,
    latestUpdate: row.latestUpdate,
    updatedAt: isoOf(at),
    components: row.componentIds.map((id) => {
      const c = byKey.get(`${row.pageId}/${id}`);
      return {
        id,
        name: c?.name ?? id,
        group: c?.groupId && c.groupName !== null ? { id: c.groupId, name: c.groupName } : null,
      };
    }),
  }));
}
