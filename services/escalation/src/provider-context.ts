import type { ComponentStatus, ProviderIncidentRef } from '@micro-oncall/incident-model';
import { and, arrayOverlaps, asc, eq, ne } from 'drizzle-orm';
import { incidentProviderNotes, type ProviderStale, providerComponents } from './db/schema.js';
import type { EscalationDb, IncidentChange, IncidentRow } from './db/types.js';
import { affects, byWorst, type ComponentCondition } from './provider-conditions.js';

/*
 * Provider context of incidents, read side: the provider conditions affecting a live incident's
 * service (list, detail, live feed, Slack), and the provider entries of its timeline. Written by
 * the provider-status consumer (consumers/provider-status.ts) and, for a new incident, by
 * noteConditionsInForce in the incident-events consumer's transaction.
 */

export type EscalationTx = Parameters<Parameters<EscalationDb['transaction']>[0]>[0];
/** The database or a transaction: reads work on either. */
export type Reader = Pick<EscalationDb, 'select'>;

type ComponentRow = typeof providerComponents.$inferSelect;
type NoteRow = typeof incidentProviderNotes.$inferSelect;

const iso = (value: string) => new Date(value).toISOString();
const isoStale = (stale: ProviderStale | null) => (stale ? { ...stale, since: iso(stale.since) } : null);

export function conditionFromRow(row: ComponentRow): ComponentCondition {
  return {
    componentKey: row.componentKey,
    provider: row.provider,
    pageId: row.pageId,
    componentName: row.componentName,
    groupName: row.groupName,
    status: row.status,
    providerStatus: row.providerStatus,
    since: row.since,
    stale: row.stale ?? null,
    incidents: row.incidents,
    services: row.services,
    changeId: row.changeId,
    observedAt: row.observedAt,
  };
}

/** A provider condition affecting an incident's service, as the API and the live feed show it. */
export interface ProviderConditionView {
  /** `<page id>/<component id>` (status-mapper's component key). */
  componentKey: string;
  /** Display name of the provider (`Cloudflare`). */
  provider: string;
  /** status-mapper's source id of the page (`cloudflare`). */
  page: string;
  component: string;
  group: string | null;
  status: ComponentStatus;
  /** The provider's own word for the status, verbatim (null while its source is stale). */
  providerStatus: string | null;
  /** Since when the component has been in this condition. */
  since: string;
  /** Set when the status is unknown because the provider's page stopped answering. */
  stale: ProviderStale | null;
  /** The provider's unresolved incidents naming the component. */
  incidents: ProviderIncidentRef[];
}

export function presentCondition(c: ComponentCondition): ProviderConditionView {
  return {
    componentKey: c.componentKey,
    provider: c.provider,
    page: c.pageId,
    component: c.componentName,
    group: c.groupName,
    status: c.status,
    providerStatus: c.providerStatus,
    since: iso(c.since),
    stale: isoStale(c.stale),
    incidents: c.incidents,
  };
}

/** The provider conditions affecting each of `services` now, worst first (services unaffected are absent). */
export async function conditionsByService(
  db: Reader,
  services: readonly string[],
): Promise<Map<string, ComponentCondition[]>> {
  const wanted = [...new Set(services)];
  const found = new Map<string, ComponentCondition[]>();
  if (wanted.length === 0) return found;
  const rows = await db
    .select()
    .from(providerComponents)
    .where(and(ne(providerComponents.status, 'operational'), arrayOverlaps(providerComponents.services, wanted)));
  const conditions = rows.map(conditionFromRow).sort(byWorst);
  for (const service of wanted) {
    const mine = conditions.filter((c) => affects(c, service));
    if (mine.length > 0) found.set(service, mine);
  }
  return found;
}

/**
 * Each incident's provider conditions (by incident id): the conditions affecting its service
 * while it is live; none once it is resolved. One query for all of `rows`.
 */
export async function conditionsForIncidents(
  db: Reader,
  rows: readonly IncidentRow[],
): Promise<Map<string, ProviderConditionView[]>> {
  const live = rows.filter((r) => r.status !== 'resolved');
  const byService = await conditionsByService(
    db,
    live.map((r) => r.service),
  );
  const byIncident = new Map<string, ProviderConditionView[]>();
  for (const row of live) {
    const conditions = byService.get(row.service);
    if (conditions) byIncident.set(row.id, conditions.map(presentCondition));
  }
  return byIncident;
}

/** One provider entry of an incident's timeline. */
export interface ProviderTimelineEntry {
  /** The provider-status change it records. */
  changeId: string;
  /** When it was observed (for a condition already in force when the incident opened: since when). */
  at: string;
  /** `began`, `changed` (another status, or its source turned stale), `ended` (recovered, or no longer mapped). */
  kind: NoteRow['kind'];
  componentKey: string;
  provider: string;
  component: string;
  group: string | null;
  /** The condition before (null when it began). */
  from: ComponentStatus | null;
  /** The component's status after (`operational` when it recovered). */
  to: ComponentStatus;
  /** Since when the condition it describes held (for `ended`: the condition that ended). */
  since: string;
  stale: ProviderStale | null;
}

export function presentNote(row: NoteRow): ProviderTimelineEntry {
  return {
    changeId: row.changeId,
    at: iso(row.at),
    kind: row.kind,
    componentKey: row.componentKey,
    provider: row.provider,
    component: row.componentName,
    group: row.groupName,
    from: row.fromStatus,
    to: row.toStatus,
    since: iso(row.since),
    stale: isoStale(row.stale ?? null),
  };
}

/** An incident's provider timeline entries, oldest first. */
export async function providerTimeline(db: Reader, incidentId: string): Promise<ProviderTimelineEntry[]> {
  const rows = await db
    .select()
    .from(incidentProviderNotes)
    .where(eq(incidentProviderNotes.incidentId, incidentId))
    .orderBy(asc(incidentProviderNotes.at), asc(incidentProviderNotes.recordedAt));
  return rows.map(presentNote);
}

/**
 * For each incident that a transaction just opened (new, not resolved): a timeline entry per
 * provider condition already affecting its service, dated from when the condition began. Runs
 * inside the incident-events consumer's transaction, after the incident change-sequence lock,
 * which the provider-status consumer takes too: so a condition that changes at the same moment
 * is either seen here or notes the new incident itself, never neither.
 */
export async function noteConditionsInForce(tx: EscalationTx, changes: readonly IncidentChange[]): Promise<void> {
  const opened = changes.filter((c) => c.before === null && c.after.status !== 'resolved').map((c) => c.after);
  if (opened.length === 0) return;
  const byService = await conditionsByService(
    tx,
    opened.map((i) => i.service),
  );
  const notes = opened.flatMap((incident) =>
    (byService.get(incident.service) ?? []).map((c) => ({
      incidentId: incident.id,
      changeId: c.changeId,
      at: c.since,
      kind: 'began' as const,
      componentKey: c.componentKey,
      provider: c.provider,
      componentName: c.componentName,
      groupName: c.groupName,
      fromStatus: null,
      toStatus: c.status,
      since: c.since,
      stale: c.stale,
    })),
  );
  if (notes.length > 0) await tx.insert(incidentProviderNotes).values(notes).onConflictDoNothing();
}
