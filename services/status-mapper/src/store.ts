import { createHash, randomUUID } from 'node:crypto';
import {
  type ComponentStatus,
  PROVIDER_STATUS_LIMITS,
  type ProviderIncidentRef,
  type ProviderStatusChange,
  type ProviderStatusSource,
} from '@micro-oncall/incident-model';
import { advisoryLockKey, type Outbox } from '@micro-oncall/service-kit';
import { and, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { HealthEvent } from './aws-health.js';
import { applyHealthEvents, type HealthSnapshot } from './aws-health-store.js';
import { diffComponents, staleChanges } from './changes.js';
import type { MappableComponent } from './config/mapping.js';
import * as schema from './db/schema.js';
import type { ChangedComponent, ChangeToWrite, Db, PageRow } from './db/types.js';
import type { ObservedComponent, ObservedIncident, PageObservation } from './statuspage.js';

/*
 * Every state change of status-mapper, each in one transaction with the `provider-status`
 * events it causes (outbox): a poll's result, a poll's failure (and the page turning stale), a
 * webhook. Each transaction locks its page row first, so a poll and a webhook for one page apply
 * one after the other.
 *
 * Most polls change nothing, and they are kept cheap: a 304, or a summary.json whose hash
 * (`summaryHash`) is the one stored with the page, only moves the page row, in one statement. A
 * different summary is compared with the stored rows in memory, and only what differs is
 * written: the components in one statement, the incidents in one more.
 */

/** NOTIFYed by every transaction that writes a condition change (the live stream LISTENs). */
export const COMPONENT_CHANGES_CHANNEL = 'status_mapper_component_changes';
const COMPONENT_CHANGES_LOCK = advisoryLockKey('status_mapper', 'component-changes');
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type ComponentRow = typeof schema.components.$inferSelect;

const RESOLVED = new Set(['resolved', 'postmortem', 'completed']);

export type { ChangedComponent, ChangeToWrite, Db, PageRow };

export const componentKey = (pageId: string, componentId: string) => `${pageId}/${componentId}`;

/**
 * What a summary.json says, as the store keeps it, hashed: two answers with the same hash write
 * the same rows. The prefix changes whenever what is kept of a summary does (the stored hashes
 * then no longer match, and each page's next poll compares in full once).
 */
export function summaryHash(obs: PageObservation): string {
  return `v1:${createHash('sha256').update(JSON.stringify(obs)).digest('base64url')}`;
}

/** The same instant (PostgreSQL's text form or ISO 8601), or both null. */
const sameInstant = (a: string | null, b: string | null) =>
  a === null || b === null ? a === b : Date.parse(a) === Date.parse(b);

export interface Store {
  /** A good answer from the provider (summary.json): components, incidents, page health. */
  applyObservation(
    pageId: string,
    obs: PageObservation,
    extra: { etag: string | null; lastModified: string | null; nextDueAt: Date },
  ): Promise<number>;
  /** A 304: nothing changed at the provider; the page is healthy again. */
  recordNotModified(pageId: string, nextDueAt: Date): Promise<number>;
  /** A failed poll; after `staleAfter` failures in a row the page's components turn `unknown`. */
  recordFailure(pageId: string, reason: string, nextDueAt: Date): Promise<number>;
  /** A webhook component update for the page(s) with this provider page id; returns events written. */
  applyWebhookComponent(
    providerPageId: string,
    component: { id: string; name: string; groupId: string | null },
    status: ComponentStatus,
    providerStatus: string,
    at: string,
  ): Promise<number | null>;
  applyWebhookIncident(providerPageId: string, incident: ObservedIncident): Promise<number | null>;
  /**
   * AWS Health events for an aws-health source (aws-health-store.ts): an EventBridge delivery
   * (`snapshot` null), or a good DescribeEvents poll (the page is healthy again). Returns events written.
   */
  applyHealthEvents(pageId: string, events: readonly HealthEvent[], snapshot: HealthSnapshot | null): Promise<number>;
  /**
   * After a mapping reload: one event per component whose services (`servicesFor`, the new
   * mapping) differ from `previous` (the old mapping's), carrying its current condition
   * unchanged (from = to; observedAt = that of the change that brought it there, so consumers
   * that order changes by it take this one as current) and its new services, so that consumers
   * move their annotations. No history row: the provider's condition did not change. Returns
   * the events written.
   */
  announceRemapped(previous: (component: MappableComponent) => string[]): Promise<number>;
}

export interface StoreDeps {
  db: Db;
  outbox: Outbox;
  staleAfter: number;
  /**
   * The internal services a component maps to, asked for each event as it is written (so the
   * mapping in force at that moment, also after a reload); carried in the event for consumers.
   */
  servicesFor: (component: MappableComponent) => string[];
  now?: () => Date;
}

export function createStore(deps: StoreDeps): Store {
  const { db, outbox } = deps;
  const now = () => (deps.now ? deps.now() : new Date()).toISOString();

  async function lockPage(tx: Tx, pageId: string): Promise<PageRow | undefined> {
    const [page] = await tx.select().from(schema.pages).where(eq(schema.pages.id, pageId)).for('update');
    return page;
  }

  async function openIncidents(tx: Tx, pageId: string): Promise<(typeof schema.providerIncidents.$inferSelect)[]> {
    return tx
      .select()
      .from(schema.providerIncidents)
      .where(and(eq(schema.providerIncidents.pageId, pageId), isNull(schema.providerIncidents.resolvedAt)));
  }

  function incidentRefs(
    incidents: readonly {
      incidentId: string;
      name: string;
      status: string;
      impact: string;
      shortlink: string | null;
      componentIds: string[];
    }[],
    componentId: string,
  ): ProviderIncidentRef[] {
    return incidents
      .filter((i) => i.componentIds.includes(componentId))
      .slice(0, 50)
      .map((i) => ({ id: i.incidentId, name: i.name, status: i.status, impact: i.impact, shortlink: i.shortlink }));
  }

  /** Writes one change: history row and event, in the caller's transaction. */
  async function writeChange(tx: Tx, page: PageRow, component: ChangedComponent, change: ChangeToWrite): Promise<void> {
    const key = componentKey(page.id, component.id);
    const changeId = randomUUID();
    const group =
      component.groupId && component.groupName !== null ? { id: component.groupId, name: component.groupName } : null;
    // History ids in commit order, so that "every change after id N" is a cursor (history.ts,
    // the live stream): writers of changes take turns until they commit. Then wake the streams.
    await tx.execute(sql`select pg_advisory_xact_lock(${COMPONENT_CHANGES_LOCK}::bigint)`);
    await tx.execute(sql`select pg_notify(${COMPONENT_CHANGES_CHANNEL}, '')`);
    await tx.insert(schema.componentChanges).values({
      changeId,
      componentKey: key,
      pageId: page.id,
      fromStatus: change.from,
      toStatus: change.to,
      providerStatus: change.providerStatus,
      staleSince: change.stale?.since ?? null,
      reason: change.stale?.reason ?? null,
      source: change.source,
      observedAt: change.observedAt,
    });
    const event: ProviderStatusChange = {
      changeId,
      provider: page.provider,
      page: { id: page.id, providerPageId: page.providerPageId, name: page.pageName },
      component: { key, id: component.id, name: component.name, group },
      status: { from: change.from, to: change.to, providerStatus: change.providerStatus, stale: change.stale },
      incidents: change.incidents,
      // Sorted by the mapping; a component mapped to more services than the contract carries keeps the first ones.
      services: deps
        .servicesFor({ pageId: page.id, id: component.id, name: component.name, group })
        .slice(0, PROVIDER_STATUS_LIMITS.services),
      observedAt: change.observedAt,
      source: change.source,
    };
    await outbox.enqueue(tx, 'provider-status', event, { drill: false });
  }

  async function upsertIncident(tx: Tx, pageId: string, incident: ObservedIncident, at: string): Promise<void> {
    const values = {
      pageId,
      incidentId: incident.id,
      name: incident.name,
      status: incident.status,
      impact: incident.impact,
      shortlink: incident.shortlink,
      latestUpdate: incident.latestUpdate,
      componentIds: incident.componentIds,
      providerUpdatedAt:
        incident.updatedAt && !Number.isNaN(Date.parse(incident.updatedAt))
          ? new Date(incident.updatedAt).toISOString()
          : null,
      resolvedAt: RESOLVED.has(incident.status) ? at : null,
    };
    await tx
      .insert(schema.providerIncidents)
      // First seen when we observed it, like the changes it comes with (history.ts matches them by time).
      .values({ ...values, firstSeenAt: at })
      .onConflictDoUpdate({
        target: [schema.providerIncidents.pageId, schema.providerIncidents.incidentId],
        set: values,
      });
  }

  async function upsertComponent(
    tx: Tx,
    pageId: string,
    before: ComponentRow | undefined,
    c: ObservedComponent,
    source: ProviderStatusSource,
    at: string,
  ): Promise<void> {
    const changed = !before || before.status !== c.status;
    const values = {
      pageId,
      componentId: c.id,
      key: componentKey(pageId, c.id),
      name: c.name,
      groupId: c.group?.id ?? null,
      groupName: c.group?.name ?? null,
      status: c.status,
      statusSince: changed ? at : (before?.statusSince ?? at),
      reportedStatus: c.status,
      providerStatus: c.providerStatus,
      reportedAt: at,
      source,
    };
    await tx
      .insert(schema.components)
      .values(values)
      .onConflictDoUpdate({ target: [schema.components.pageId, schema.components.componentId], set: values });
  }

  /**
   * A poll's components, in one statement: those new or different from what is held. A status
   * that stays keeps its `status_since`.
   */
  async function writeComponents(tx: Tx, pageId: string, observed: readonly ObservedComponent[], at: string) {
    if (observed.length === 0) return;
    // A component listed twice counts as its last listing (one statement may not write a row twice).
    const rows = [...new Map(observed.map((c) => [c.id, c])).values()];
    const column = <T>(pick: (c: ObservedComponent) => T) => sql.param(rows.map(pick));
    await tx.execute(sql`
      insert into status_mapper.components as c
        (page_id, component_id, key, name, group_id, group_name, status, status_since,
         reported_status, provider_status, reported_at, source, updated_at)
      select ${pageId}, r.component_id, r.key, r.name, r.group_id, r.group_name,
             r.status::status_mapper.component_status, ${at}::timestamptz,
             r.status::status_mapper.component_status, r.provider_status, ${at}::timestamptz,
             'poll'::status_mapper.observation_source, now()
        from unnest(${column((c) => c.id)}::text[], ${column((c) => componentKey(pageId, c.id))}::text[],
                    ${column((c) => c.name)}::text[], ${column((c) => c.group?.id ?? null)}::text[],
                    ${column((c) => c.group?.name ?? null)}::text[], ${column((c) => c.status)}::text[],
                    ${column((c) => c.providerStatus)}::text[])
             as r(component_id, key, name, group_id, group_name, status, provider_status)
      on conflict (page_id, component_id) do update set
        key = excluded.key, name = excluded.name, group_id = excluded.group_id, group_name = excluded.group_name,
        status = excluded.status,
        status_since = case when c.status = excluded.status then c.status_since else excluded.status_since end,
        reported_status = excluded.reported_status, provider_status = excluded.provider_status,
        reported_at = excluded.reported_at, source = excluded.source, updated_at = excluded.updated_at`);
  }

  /** A poll's incidents, in one statement: those new or different from what is held (`before`). */
  async function writeIncidents(
    tx: Tx,
    pageId: string,
    incidents: readonly ObservedIncident[],
    before: ReadonlyMap<string, typeof schema.providerIncidents.$inferSelect>,
    at: string,
  ) {
    // An incident listed twice counts as its last listing (one statement may not write a row twice).
    const rows = [...new Map(incidents.map((i) => [i.id, i])).values()].flatMap((incident) => {
      const held = before.get(incident.id);
      const resolved = RESOLVED.has(incident.status);
      const values = {
        pageId,
        incidentId: incident.id,
        name: incident.name,
        status: incident.status,
        impact: incident.impact,
        shortlink: incident.shortlink,
        latestUpdate: incident.latestUpdate,
        componentIds: incident.componentIds,
        providerUpdatedAt:
          incident.updatedAt && !Number.isNaN(Date.parse(incident.updatedAt))
            ? new Date(incident.updatedAt).toISOString()
            : null,
        // Resolved when first seen resolved.
        resolvedAt: resolved ? (held?.resolvedAt ? new Date(held.resolvedAt).toISOString() : at) : null,
        // First seen when we observed it, like the changes it comes with (history.ts matches them by time).
        firstSeenAt: at,
      };
      const same =
        held !== undefined &&
        held.name === values.name &&
        held.status === values.status &&
        held.impact === values.impact &&
        held.shortlink === values.shortlink &&
        held.latestUpdate === values.latestUpdate &&
        held.componentIds.join('\n') === values.componentIds.join('\n') &&
        sameInstant(held.providerUpdatedAt, values.providerUpdatedAt) &&
        (held.resolvedAt === null) === (values.resolvedAt === null);
      return same ? [] : [values];
    });
    if (rows.length === 0) return;
    const keep = (column: string) => sql.raw(`excluded.${column}`);
    await tx
      .insert(schema.providerIncidents)
      .values(rows)
      .onConflictDoUpdate({
        target: [schema.providerIncidents.pageId, schema.providerIncidents.incidentId],
        set: {
          name: keep('name'),
          status: keep('status'),
          impact: keep('impact'),
          shortlink: keep('shortlink'),
          latestUpdate: keep('latest_update'),
          componentIds: keep('component_ids'),
          providerUpdatedAt: keep('provider_updated_at'),
          resolvedAt: keep('resolved_at'),
          updatedAt: sql`now()`,
        },
      });
  }

  /** Something other than a poll wrote the page's components or incidents: its next poll compares in full. */
  async function forgetSummary(tx: Tx, page: PageRow): Promise<void> {
    if (page.summaryHash === null) return;
    await tx.update(schema.pages).set({ summaryHash: null }).where(eq(schema.pages.id, page.id));
  }

  const healthy = (extra: Partial<typeof schema.pages.$inferInsert>, at: string) => ({
    claimedUntil: null,
    lastPolledAt: at,
    lastSuccessAt: at,
    consecutiveFailures: 0,
    failingSince: null,
    lastError: null,
    staleSince: null,
    ...extra,
  });

  /*
   * A poll that changes nothing: a 304, or the summary we hold (its hash names everything else
   * the page row keeps), on a page that is not stale. Only the page row moves, in one statement
   * built once (building statements was most of a poll's CPU) and prepared once per connection.
   */
  const param = (name: string) => sql`${sql.placeholder(name)}`;
  const nothingChanged = (name: string, opts: { summary: boolean }) =>
    db
      .update(schema.pages)
      .set({
        claimedUntil: null,
        lastPolledAt: param('at'),
        lastSuccessAt: param('at'),
        consecutiveFailures: 0,
        failingSince: null,
        lastError: null,
        nextDueAt: param('nextDueAt'),
        updatedAt: param('at'),
        ...(opts.summary ? { etag: param('etag'), lastModified: param('lastModified') } : {}),
      })
      .where(
        and(
          eq(schema.pages.id, sql.placeholder('id')),
          isNull(schema.pages.staleSince),
          ...(opts.summary ? [eq(schema.pages.summaryHash, sql.placeholder('hash'))] : []),
        ),
      )
      .returning({ id: schema.pages.id })
      .prepare(name);
  const sameSummary = nothingChanged('status_mapper_same_summary', { summary: true });
  const notModified = nothingChanged('status_mapper_not_modified', { summary: false });

  return {
    async applyObservation(pageId, obs, extra) {
      const at = now();
      const hash = summaryHash(obs);
      const pageValues = healthy(
        {
          providerPageId: obs.providerPageId,
          pageName: obs.pageName,
          indicator: obs.indicator,
          etag: extra.etag,
          lastModified: extra.lastModified,
          nextDueAt: extra.nextDueAt.toISOString(),
          summaryHash: hash,
        },
        at,
      );
      const same = await sameSummary.execute({
        id: pageId,
        hash,
        at,
        nextDueAt: pageValues.nextDueAt,
        etag: extra.etag,
        lastModified: extra.lastModified,
      });
      if (same.length > 0) return 0;
      return db.transaction(async (tx) => {
        const page = await lockPage(tx, pageId);
        if (!page) return 0;
        const [updated] = await tx.update(schema.pages).set(pageValues).where(eq(schema.pages.id, pageId)).returning();
        const held = await tx.select().from(schema.components).where(eq(schema.components.pageId, pageId));
        const seen = obs.incidents.map((i) => i.id);
        const heldIncidents = await tx
          .select()
          .from(schema.providerIncidents)
          .where(
            and(
              eq(schema.providerIncidents.pageId, pageId),
              or(
                isNull(schema.providerIncidents.resolvedAt),
                ...(seen.length > 0 ? [inArray(schema.providerIncidents.incidentId, seen)] : []),
              ),
            ),
          );
        // summary.json lists the unresolved incidents: the others have been resolved since.
        const listed = new Set(seen);
        const left = heldIncidents.filter((i) => i.resolvedAt === null && !listed.has(i.incidentId));
        if (left.length > 0) {
          await tx
            .update(schema.providerIncidents)
            .set({ resolvedAt: at })
            .where(
              and(
                eq(schema.providerIncidents.pageId, pageId),
                inArray(
                  schema.providerIncidents.incidentId,
                  left.map((i) => i.incidentId),
                ),
              ),
            );
        }
        await writeIncidents(tx, pageId, obs.incidents, new Map(heldIncidents.map((i) => [i.incidentId, i])), at);
        const heldById = new Map(held.map((h) => [h.componentId, h]));
        await writeComponents(
          tx,
          pageId,
          obs.components.filter((c) => {
            const h = heldById.get(c.id);
            return (
              !h ||
              h.status !== c.status ||
              h.reportedStatus !== c.status ||
              h.providerStatus !== c.providerStatus ||
              h.name !== c.name ||
              h.groupId !== (c.group?.id ?? null) ||
              h.groupName !== (c.group?.name ?? null) ||
              h.source !== 'poll'
            );
          }),
          at,
        );
        const observed = new Set(obs.components.map((c) => c.id));
        const gone = held.filter((h) => !observed.has(h.componentId)).map((h) => h.componentId);
        if (gone.length > 0) {
          await tx
            .delete(schema.components)
            .where(and(eq(schema.components.pageId, pageId), inArray(schema.components.componentId, gone)));
        }
        const changes = diffComponents(held, obs.components);
        const open = obs.incidents.filter((i) => !RESOLVED.has(i.status)).map((i) => ({ ...i, incidentId: i.id }));
        for (const change of changes) {
          await writeChange(
            tx,
            updated ?? page,
            {
              id: change.component.id,
              name: change.component.name,
              groupId: change.component.group?.id ?? null,
              groupName: change.component.group?.name ?? null,
            },
            {
              from: change.from,
              to: change.to,
              providerStatus: change.component.providerStatus,
              stale: null,
              incidents: incidentRefs(open, change.component.id),
              source: 'poll',
              observedAt: at,
            },
          );
        }
        return changes.length;
      });
    },

    async recordNotModified(pageId, nextDueAt) {
      const at = now();
      const healthyAgain = await notModified.execute({ id: pageId, at, nextDueAt: nextDueAt.toISOString() });
      if (healthyAgain.length > 0) return 0;
      return db.transaction(async (tx) => {
        const page = await lockPage(tx, pageId);
        if (!page) return 0;
        await tx
          .update(schema.pages)
          .set(healthy({ nextDueAt: nextDueAt.toISOString() }, at))
          .where(eq(schema.pages.id, pageId));
        if (!page.staleSince) return 0;
        // Back from stale without a body: the provider says nothing changed since the last good answer.
        const held = await tx.select().from(schema.components).where(eq(schema.components.pageId, pageId));
        const incidents = await openIncidents(tx, pageId);
        let written = 0;
        for (const h of held) {
          if (h.status === h.reportedStatus) continue;
          await tx
            .update(schema.components)
            .set({ status: h.reportedStatus, statusSince: at, reportedAt: at, source: 'poll' })
            .where(and(eq(schema.components.pageId, pageId), eq(schema.components.componentId, h.componentId)));
          await writeChange(
            tx,
            page,
            { id: h.componentId, name: h.name, groupId: h.groupId, groupName: h.groupName },
            {
              from: h.status,
              to: h.reportedStatus,
              providerStatus: h.providerStatus,
              stale: null,
              incidents: incidentRefs(incidents, h.componentId),
              source: 'poll',
              observedAt: at,
            },
          );
          written += 1;
        }
        return written;
      });
    },

    async recordFailure(pageId, reason, nextDueAt) {
      const at = now();
      return db.transaction(async (tx) => {
        const page = await lockPage(tx, pageId);
        if (!page) return 0;
        const failures = page.consecutiveFailures + 1;
        // PostgreSQL's text form → ISO 8601, as the event contract wants.
        const failingSince = page.failingSince ? new Date(page.failingSince).toISOString() : at;
        const turnsStale = failures >= deps.staleAfter && !page.staleSince;
        await tx
          .update(schema.pages)
          .set({
            claimedUntil: null,
            lastPolledAt: at,
            consecutiveFailures: failures,
            failingSince,
            lastError: reason.slice(0, 500),
            nextDueAt: nextDueAt.toISOString(),
            ...(turnsStale ? { staleSince: failingSince } : {}),
          })
          .where(eq(schema.pages.id, pageId));
        if (!turnsStale) return 0;
        const held = await tx.select().from(schema.components).where(eq(schema.components.pageId, pageId));
        const incidents = await openIncidents(tx, pageId);
        const stale = staleChanges(held);
        for (const h of stale) {
          await tx
            .update(schema.components)
            .set({ status: 'unknown', statusSince: failingSince })
            .where(and(eq(schema.components.pageId, pageId), eq(schema.components.componentId, h.componentId)));
          await writeChange(
            tx,
            page,
            { id: h.componentId, name: h.name, groupId: h.groupId, groupName: h.groupName },
            {
              from: h.status,
              to: 'unknown',
              providerStatus: null,
              stale: { since: failingSince, reason: reason.slice(0, 500), lastKnown: h.reportedStatus },
              incidents: incidentRefs(incidents, h.componentId),
              source: page.kind === 'aws-health' ? 'aws' : 'poll',
              observedAt: at,
            },
          );
        }
        return stale.length;
      });
    },

    async applyWebhookComponent(providerPageId, component, status, providerStatus, at) {
      const targets = await db
        .select({ id: schema.pages.id })
        .from(schema.pages)
        .where(eq(schema.pages.providerPageId, providerPageId));
      if (targets.length === 0) return null;
      let written = 0;
      for (const { id } of targets) {
        written += await db.transaction(async (tx) => {
          const page = await lockPage(tx, id);
          if (!page) return 0;
          const [before] = await tx
            .select()
            .from(schema.components)
            .where(and(eq(schema.components.pageId, id), eq(schema.components.componentId, component.id)));
          let groupName: string | null = null;
          if (component.groupId) {
            const [sibling] = await tx
              .select({ groupName: schema.components.groupName })
              .from(schema.components)
              .where(and(eq(schema.components.pageId, id), eq(schema.components.groupId, component.groupId)))
              .limit(1);
            groupName = sibling?.groupName ?? null;
          }
          const observed: ObservedComponent = {
            id: component.id,
            name: component.name,
            group: component.groupId && groupName !== null ? { id: component.groupId, name: groupName } : null,
            status,
            providerStatus,
          };
          await upsertComponent(tx, id, before, observed, 'webhook', at);
          await forgetSummary(tx, page);
          const [change] = diffComponents(before ? [before] : [], [observed]);
          if (!change) return 0;
          await writeChange(
            tx,
            page,
            { id: component.id, name: component.name, groupId: observed.group?.id ?? null, groupName },
            {
              from: change.from,
              to: change.to,
              providerStatus,
              stale: null,
              incidents: incidentRefs(await openIncidents(tx, id), component.id),
              source: 'webhook',
              observedAt: at,
            },
          );
          return 1;
        });
      }
      return written;
    },

    applyHealthEvents(pageId, events, snapshot) {
      return applyHealthEvents({ db, now, lockPage, writeChange, healthy }, pageId, events, snapshot);
    },

    async applyWebhookIncident(providerPageId, incident) {
      const targets = await db
        .select({ id: schema.pages.id })
        .from(schema.pages)
        .where(eq(schema.pages.providerPageId, providerPageId));
      if (targets.length === 0) return null;
      const at = now();
      for (const { id } of targets) {
        await db.transaction(async (tx) => {
          const page = await lockPage(tx, id);
          await upsertIncident(tx, id, incident, at);
          if (page) await forgetSummary(tx, page);
        });
      }
      return 0;
    },

    async announceRemapped(previous) {
      const pages = await db.select({ id: schema.pages.id }).from(schema.pages);
      let written = 0;
      for (const { id } of pages) {
        written += await db.transaction(async (tx) => {
          // In line with the page's polls and webhooks: the event carries the condition as it stands.
          const page = await lockPage(tx, id);
          if (!page) return 0;
          const held = await tx.select().from(schema.components).where(eq(schema.components.pageId, id));
          let events = 0;
          let open: Awaited<ReturnType<typeof openIncidents>> | undefined;
          for (const c of held) {
            const group = c.groupId && c.groupName !== null ? { id: c.groupId, name: c.groupName } : null;
            const mappable = { pageId: id, id: c.componentId, name: c.name, group };
            const services = deps.servicesFor(mappable).slice(0, PROVIDER_STATUS_LIMITS.services);
            const before = previous(mappable).slice(0, PROVIDER_STATUS_LIMITS.services);
            if (services.join('\n') === before.join('\n')) continue;
            const stale =
              c.status === 'unknown' && page.staleSince
                ? {
                    since: new Date(page.staleSince).toISOString(),
                    reason: (page.lastError ?? 'the status page is failing').slice(0, 500),
                    lastKnown: c.reportedStatus,
                  }
                : null;
            open ??= await openIncidents(tx, id);
            // The time of the change that brought it there: consumers take it as no older than what they hold.
            const [last] = await tx
              .select({ observedAt: schema.componentChanges.observedAt })
              .from(schema.componentChanges)
              .where(eq(schema.componentChanges.componentKey, c.key))
              .orderBy(desc(schema.componentChanges.id))
              .limit(1);
            const event: ProviderStatusChange = {
              changeId: randomUUID(),
              provider: page.provider,
              page: { id, providerPageId: page.providerPageId, name: page.pageName },
              component: { key: c.key, id: c.componentId, name: c.name, group },
              status: { from: c.status, to: c.status, providerStatus: stale ? null : c.providerStatus, stale },
              incidents: incidentRefs(open, c.componentId),
              services,
              observedAt: new Date(last?.observedAt ?? c.statusSince).toISOString(),
              source: c.source,
            };
            await outbox.enqueue(tx, 'provider-status', event, { drill: false });
            events += 1;
          }
          return events;
        });
      }
      return written;
    },
  };
}
