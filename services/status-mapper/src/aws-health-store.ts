import { type ComponentStatus, worstComponentStatus } from '@micro-oncall/incident-model';
import { and, eq, inArray, isNull, or } from 'drizzle-orm';
import {
  type AwsComponentRef,
  awsComponent,
  awsComponentId,
  awsComponentOf,
  conditionOf,
  type HealthEvent,
  healthIncidentId,
  healthIncidentName,
  isClosed,
  parseAwsComponentId,
} from './aws-health.js';
import * as schema from './db/schema.js';
import type { ChangedComponent, ChangeToWrite, Db, PageRow } from './db/types.js';

/*
 * AWS Health events into status-mapper's state, in one transaction per batch with the
 * `provider-status` events they cause (the store's writeChange: history row + outbox). A Health
 * event is a provider incident (`<region>/<EVENT_TYPE_PLUS_ID>`, its ARN beside it) on one
 * component; a component's condition is recomputed from the open incidents on it (aws-health.ts
 * has the table). Idempotent: EventBridge delivers at least once and in any order, so an update
 * older than the one held is dropped and a repeated one changes nothing.
 */

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type IncidentRow = typeof schema.providerIncidents.$inferSelect;

/** What the store lends: its page lock, its way of writing a change, its "the poll went well". */
export interface HealthStorePrimitives {
  db: Db;
  now: () => string;
  lockPage(tx: Tx, pageId: string): Promise<PageRow | undefined>;
  writeChange(tx: Tx, page: PageRow, component: ChangedComponent, change: ChangeToWrite): Promise<void>;
  healthy(extra: Partial<typeof schema.pages.$inferInsert>, at: string): Partial<typeof schema.pages.$inferInsert>;
}

/** A successful DescribeEvents poll: every open and upcoming event, and those closed lately. */
export interface HealthSnapshot {
  /** When the poll began asking. */
  startedAt: Date;
  /**
   * An open incident missing from the snapshot is closed, unless something (an EventBridge
   * delivery) told us about it within this long before the poll began: the API may not list
   * an event EventBridge has just delivered yet.
   */
  graceMs: number;
  /** The source's services × regions: they exist (operational unless an event says otherwise). */
  watched: AwsComponentRef[];
  nextDueAt: Date;
}

export async function applyHealthEvents(
  p: HealthStorePrimitives,
  pageId: string,
  events: readonly HealthEvent[],
  snapshot: HealthSnapshot | null,
): Promise<number> {
  const at = p.now();
  return p.db.transaction(async (tx) => {
    let page = await p.lockPage(tx, pageId);
    if (page?.kind !== 'aws-health') return 0;
    if (snapshot) {
      [page] = await tx
        .update(schema.pages)
        .set(p.healthy({ nextDueAt: snapshot.nextDueAt.toISOString() }, at))
        .where(eq(schema.pages.id, pageId))
        .returning();
      if (!page) return 0;
    }
    const ids = [...new Set(events.map((e) => healthIncidentId(e.arn)))];
    const held = await tx
      .select()
      .from(schema.providerIncidents)
      .where(
        and(
          eq(schema.providerIncidents.pageId, pageId),
          or(
            isNull(schema.providerIncidents.resolvedAt),
            ...(ids.length > 0 ? [inArray(schema.providerIncidents.incidentId, ids)] : []),
          ),
        ),
      );
    const heldById = new Map(held.map((h) => [h.incidentId, h]));
    const touched = new Set<string>();

    for (const event of events) {
      const id = healthIncidentId(event.arn);
      const before = heldById.get(id);
      if (before && isNotNewer(event, before)) continue;
      let ref = parseAwsComponentId(awsComponentOf(event).id)!;
      // EventBridge names no zone: a zone DescribeEvents gave for this event stays.
      if (!event.availabilityZone && before) {
        const zoned = before.componentIds
          .map(parseAwsComponentId)
          .find(
            (c) =>
              c?.availabilityZone &&
              c.service.toUpperCase() === event.service.toUpperCase() &&
              c.region === event.region,
          );
        if (zoned) ref = zoned;
      }
      const component = awsComponent(ref);
      const values = {
        pageId,
        incidentId: id,
        name: healthIncidentName({ ...event, availabilityZone: ref.availabilityZone }),
        status: event.statusCode,
        impact: event.category,
        shortlink: null,
        externalRef: event.arn,
        startsAt: event.startTime,
        endsAt: event.endTime,
        latestUpdate: event.description ?? before?.latestUpdate ?? null,
        componentIds: [component.id],
        providerUpdatedAt: event.lastUpdatedTime,
        resolvedAt: isClosed(event.statusCode) ? (before?.resolvedAt ?? at) : null,
      };
      const [row] = await tx
        .insert(schema.providerIncidents)
        .values({ ...values, firstSeenAt: at })
        .onConflictDoUpdate({
          target: [schema.providerIncidents.pageId, schema.providerIncidents.incidentId],
          set: values,
        })
        .returning();
      for (const c of before?.componentIds ?? []) touched.add(c);
      touched.add(component.id);
      if (row) heldById.set(id, row);
    }

    if (snapshot) {
      const seen = new Set(ids);
      const quietSince = snapshot.startedAt.getTime() - snapshot.graceMs;
      for (const h of heldById.values()) {
        if (h.resolvedAt !== null || seen.has(h.incidentId) || Date.parse(h.updatedAt) >= quietSince) continue;
        await tx
          .update(schema.providerIncidents)
          .set({ status: 'closed', resolvedAt: at })
          .where(
            and(eq(schema.providerIncidents.pageId, pageId), eq(schema.providerIncidents.incidentId, h.incidentId)),
          );
        for (const c of h.componentIds) touched.add(c);
      }
    }

    const components = await tx.select().from(schema.components).where(eq(schema.components.pageId, pageId));
    const heldComponents = new Map(components.map((c) => [c.componentId, c]));
    const recompute = new Set(touched);
    if (snapshot) {
      // The snapshot is the whole truth: every component we hold, and those watched, are (re)assessed.
      for (const c of components) recompute.add(c.componentId);
      for (const w of snapshot.watched) recompute.add(awsComponentId(w));
    }
    const open = await tx
      .select()
      .from(schema.providerIncidents)
      .where(and(eq(schema.providerIncidents.pageId, pageId), isNull(schema.providerIncidents.resolvedAt)));

    let written = 0;
    for (const id of [...recompute].sort()) {
      const ref = parseAwsComponentId(id);
      if (!ref) continue;
      const on = open.filter((i) => i.componentIds.includes(id));
      const conditions = on.map((i) => ({ incident: i, status: conditionOf(i.impact, i.status) }));
      const status = worstComponentStatus(conditions.map((c) => c.status));
      const worst = conditions.find((c) => c.status === status && c.status !== 'operational')?.incident;
      const providerStatus = worst ? `${worst.impact} ${worst.status}`.slice(0, 64) : null;
      const before = heldComponents.get(id);
      if (before && before.status === status && before.providerStatus === providerStatus) continue;
      const component = { ...awsComponent(ref), id };
      const changed = !before || before.status !== status;
      const values = componentRow(
        pageId,
        component,
        { status, since: changed ? at : before.statusSince, providerStatus },
        at,
      );
      await tx
        .insert(schema.components)
        .values(values)
        .onConflictDoUpdate({ target: [schema.components.pageId, schema.components.componentId], set: values });
      // As for Statuspage: a component seen for the first time is news only when it is not operational.
      if (before ? before.status === status : status === 'operational') continue;
      await p.writeChange(
        tx,
        page,
        { id, name: component.name, groupId: component.group.id, groupName: component.group.name },
        {
          from: before?.status ?? null,
          to: status,
          providerStatus,
          stale: null,
          incidents: on.slice(0, 50).map((i) => ({
            id: i.incidentId,
            name: i.name,
            status: i.status,
            impact: i.impact,
            shortlink: i.shortlink,
          })),
          source: 'aws',
          observedAt: at,
        },
      );
      written += 1;
    }
    return written;
  });
}

/** The row of one AWS component of `pageId`, in the condition reported at `at`. */
function componentRow(
  pageId: string,
  component: ReturnType<typeof awsComponent>,
  condition: { status: ComponentStatus; since: string; providerStatus: string | null },
  at: string,
) {
  return {
    pageId,
    componentId: component.id,
    key: `${pageId}/${component.id}`,
    name: component.name,
    groupId: component.group.id,
    groupName: component.group.name,
    status: condition.status,
    statusSince: condition.since,
    reportedStatus: condition.status,
    providerStatus: condition.providerStatus,
    reportedAt: at,
    source: 'aws' as const,
  };
}

/**
 * The watched components of a source fed by EventBridge alone exist from the start, operational
 * (AWS sends nothing while nothing is wrong); a polled source's appear with its first good poll.
 */
export async function ensureWatchedComponents(
  db: Db,
  pageId: string,
  watched: readonly AwsComponentRef[],
  at: string,
): Promise<void> {
  if (watched.length === 0) return;
  await db
    .insert(schema.components)
    .values(
      watched.map((w) =>
        componentRow(pageId, awsComponent(w), { status: 'operational', since: at, providerStatus: null }, at),
      ),
    )
    .onConflictDoNothing();
}

/** The held incident says as much or more: the same update again, or a later one already applied. */
function isNotNewer(event: HealthEvent, held: IncidentRow): boolean {
  if (held.providerUpdatedAt === null) return false;
  const heldAt = Date.parse(held.providerUpdatedAt);
  const eventAt = Date.parse(event.lastUpdatedTime);
  if (heldAt > eventAt) return true;
  return (
    heldAt === eventAt &&
    held.status === event.statusCode &&
    (event.description === null || event.description === held.latestUpdate)
  );
}
