import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '@micro-oncall/service-kit';
import { and, asc, desc, eq, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { CandidateOwner } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { AppFields, AppView } from '../model.js';
import type { Registry } from '../store.js';
import type { Actor, Clock, Db, Meta, Tx } from '../types.js';
import { iso, isoOrNull } from '../views.js';
import { suggestOwner } from './aggregate.js';
import type { Matcher } from './match.js';
import { taskView } from './task-view.js';

/*
 * Candidates: what discovery found that no registered app matches. Open until someone registers
 * it (through the registry's ordinary onboarding, decided by the policy) or dismisses it with a
 * reason. One still open a day after a run first found it is flagged: a suggested owner (who
 * created or deployed it, else who calls it most) and an ownership task.
 */

const FLAG_BATCH = 200;
const FLAG_ACTOR: Actor = { type: 'system', subject: 'discovery', name: null };
export const UNREGISTERED_REASON = 'unregistered_discovered';
/** The kind of the notice a flag sends (to the notice channels and the suggested owner); its id is the task's. */
export const CANDIDATE_FLAGGED_NOTICE = 'candidate_flagged';

/** The notice of a flag: what was found, who may own it, what to do. */
export function flagNotice(cand: Pick<CandidateRow, 'kind' | 'label'>, detail: string) {
  return {
    title: `Discovered ${cand.kind} ${cand.label} is not registered`,
    text:
      `${detail}. Register it (the registration form is filled in from what discovery found), ` +
      'or an approver dismisses it with a reason on the Discovered page if it is not an app.',
  };
}

type CandidateRow = typeof schema.discoveryCandidates.$inferSelect;
type TaskRow = typeof schema.candidateOwnershipTasks.$inferSelect;

const RUNTIME_OF_KIND: Record<string, AppFields['runtime']> = {
  function: 'serverless_function',
  'container-app': 'container',
  'idp-client': 'saas_connector',
  saas: 'saas_connector',
};

/** What the onboarding form can be filled with: the identifiers that will match it, a name, a runtime, an owner to ask. */
export function prefillOf(row: CandidateRow) {
  const name =
    row.label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63)
      .replace(/-+$/g, '') || 'discovered-app';
  return {
    name,
    purpose: `Discovered by app-registry (${row.kind} ${row.label}, first seen ${iso(row.firstSeenAt)})`,
    runtime: RUNTIME_OF_KIND[row.kind] ?? 'other',
    endpoints: row.match.host ? [{ host: row.match.host, path: '/' }] : [],
    cloudResourceIds: row.match.resourceId ? [row.match.resourceId] : [],
    idpClientIds: row.match.clientId ? [row.match.clientId] : [],
    suggestedOwner: row.suggestedOwner,
  };
}

export function candidateView(row: CandidateRow, task?: TaskRow | null) {
  return {
    id: row.id,
    kind: row.kind,
    key: row.key,
    label: row.label,
    match: row.match,
    sources: row.sources,
    firstSeenAt: iso(row.firstSeenAt),
    lastSeenAt: iso(row.lastSeenAt),
    discoveredAt: iso(row.createdAt),
    sightings: row.sightings,
    creators: row.creators,
    topCallers: row.topCallers,
    evidence: row.evidence,
    flagged: row.flaggedAt !== null,
    flaggedAt: isoOrNull(row.flaggedAt),
    suggestedOwner: row.suggestedOwner ? { who: row.suggestedOwner, why: row.suggestedOwnerWhy } : null,
    state: row.state,
    appId: row.appId,
    taskId: row.taskId,
    decidedBy: row.decidedBy,
    decidedAt: isoOrNull(row.decidedAt),
    dismissReason: row.dismissReason,
    ...(task !== undefined ? { task: task ? taskView(task) : null, prefill: prefillOf(row) } : {}),
  };
}
export type CandidateView = ReturnType<typeof candidateView>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CandidateQuery {
  state?: 'open' | 'registered' | 'dismissed';
  kind?: string;
  flagged?: boolean;
  limit: number;
  /** The previous page's `nextCursor`. */
  cursor?: string;
}

export function createCandidates(deps: {
  db: Db;
  registry: Pick<Registry, 'register' | 'audit' | 'nowIso'>;
  clock: Clock;
  /** How long after a run found a candidate it is flagged (24 hours unless configured). */
  flagAfterMs: number;
  loadMatcher: () => Promise<Matcher>;
  /** Called once a flag wrote its notices: hands them out now rather than at the next sweep. */
  noticesWritten?: () => void;
}) {
  const { db, registry, clock } = deps;
  const c = schema.discoveryCandidates;
  const hoursText = `${Math.round(deps.flagAfterMs / 3_600_000)} hours`;

  async function row(id: string, tx?: Tx) {
    if (!UUID.test(id)) throw new NotFoundError(`no discovered candidate ${id}`);
    const [found] = tx
      ? await tx.select().from(c).where(eq(c.id, id)).for('update')
      : await db.select().from(c).where(eq(c.id, id));
    if (!found) throw new NotFoundError(`no discovered candidate ${id}`);
    return found;
  }

  /**
   * Flags every open candidate a run found more than `flagAfterMs` (24 hours) ago (the service's clock): the
   * suggested owner and an open ownership task, audited. One that a registered app matches by now
   * (registered since through the ordinary form) is closed as registered instead.
   */
  async function flagDue(): Promise<number> {
    const matcher = await deps.loadMatcher();
    let flagged = 0;
    for (;;) {
      const cutoff = new Date(clock().getTime() - deps.flagAfterMs).toISOString();
      const done = await db.transaction(async (tx) => {
        const due = await tx
          .select()
          .from(c)
          .where(and(eq(c.state, 'open'), isNull(c.flaggedAt), lte(c.createdAt, cutoff)))
          .orderBy(asc(c.createdAt), asc(c.id))
          .limit(FLAG_BATCH)
          .for('update', { skipLocked: true });
        const now = registry.nowIso();
        for (const cand of due) {
          const appId = matcher.match({ match: cand.match });
          if (appId) {
            await tx
              .update(c)
              .set({ state: 'registered', appId, decidedBy: FLAG_ACTOR.subject, decidedAt: now, updatedAt: now })
              .where(eq(c.id, cand.id));
            continue;
          }
          const owner = suggestOwner(cand.creators, cand.topCallers);
          const people: CandidateOwner[] = [
            ...cand.creators.map((p) => ({
              why: p.action === 'create' ? ('creator' as const) : ('deployer' as const),
              name: p.who,
              count: p.count,
            })),
            ...cand.topCallers.slice(0, 3).map((p) => ({ why: 'caller' as const, name: p.who, count: p.count })),
          ];
          const detail =
            `${cand.kind} ${cand.label} (${cand.key}) is still unregistered ${hoursText} after discovery first saw it ` +
            `(${cand.sightings} sightings in ${cand.sources.join(', ')})` +
            (owner ? `; suggested owner ${owner.who} (${owner.why})` : '; nobody known to ask');
          const [task] = await tx
            .insert(schema.candidateOwnershipTasks)
            .values({
              id: randomUUID(),
              candidateId: cand.id,
              reason: UNREGISTERED_REASON,
              detail: detail.slice(0, 2000),
              candidates: people,
              openedAt: now,
              openedBy: FLAG_ACTOR.subject,
            })
            .onConflictDoNothing()
            .returning();
          await tx
            .update(c)
            .set({
              flaggedAt: now,
              suggestedOwner: owner?.who ?? null,
              suggestedOwnerWhy: owner?.why ?? null,
              taskId: task?.id ?? cand.taskId,
              updatedAt: now,
            })
            .where(eq(c.id, cand.id));
          if (task) {
            // One notice per flag (the task's id), written with it: whichever run or sweep flags it.
            await tx
              .insert(schema.notifications)
              .values({
                id: task.id,
                candidateId: cand.id,
                kind: CANDIDATE_FLAGGED_NOTICE,
                ...flagNotice(cand, detail),
                createdAt: now,
              })
              .onConflictDoNothing();
          }
          await registry.audit(tx, {
            actor: FLAG_ACTOR,
            action: 'discovery_flagged',
            outcome: 'allowed',
            detail,
            request: { candidateId: cand.id, key: cand.key, taskId: task?.id ?? null },
          });
          flagged += 1;
        }
        return due.length < FLAG_BATCH;
      });
      if (done) {
        if (flagged > 0) deps.noticesWritten?.();
        return flagged;
      }
    }
  }

  async function list(q: CandidateQuery) {
    let after: { at: string; id: string } | null = null;
    if (q.cursor) {
      const [at, id] = Buffer.from(q.cursor, 'base64url').toString().split('|');
      if (!at || !id || Number.isNaN(Date.parse(at)) || !UUID.test(id)) throw new NotFoundError('no such page');
      after = { at, id };
    }
    const rows = await db
      .select()
      .from(c)
      .where(
        and(
          q.state ? eq(c.state, q.state) : undefined,
          q.kind ? eq(c.kind, q.kind) : undefined,
          q.flagged === undefined ? undefined : q.flagged ? isNotNull(c.flaggedAt) : isNull(c.flaggedAt),
          after ? or(lt(c.lastSeenAt, after.at), and(eq(c.lastSeenAt, after.at), lt(c.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(c.lastSeenAt), desc(c.id))
      .limit(q.limit + 1);
    const items = rows.slice(0, q.limit);
    const last = items.at(-1);
    return {
      items: items.map((r) => candidateView(r)),
      nextCursor:
        rows.length > q.limit && last
          ? Buffer.from(`${new Date(last.lastSeenAt).toISOString()}|${last.id}`).toString('base64url')
          : null,
    };
  }

  async function taskOf(id: string | null) {
    if (!id) return null;
    const [task] = await db
      .select()
      .from(schema.candidateOwnershipTasks)
      .where(eq(schema.candidateOwnershipTasks.id, id));
    return task ?? null;
  }

  async function get(id: string) {
    const found = await row(id);
    return candidateView(found, await taskOf(found.taskId));
  }

  /** Counts for the page's summary. */
  async function counts() {
    const [r] = await db
      .select({
        open: sql<number>`count(*) filter (where ${c.state} = 'open')::int`,
        flagged: sql<number>`count(*) filter (where ${c.state} = 'open' and ${c.flaggedAt} is not null)::int`,
        registered: sql<number>`count(*) filter (where ${c.state} = 'registered')::int`,
        dismissed: sql<number>`count(*) filter (where ${c.state} = 'dismissed')::int`,
      })
      .from(c);
    return r!;
  }

  /** Not an app to register (a test host, a vendor's endpoint): closed with the reason; its task is cancelled. */
  async function dismiss(id: string, reason: string, actor: Actor, meta: Meta = {}) {
    return db.transaction(async (tx) => {
      const found = await row(id, tx);
      if (found.state !== 'open') {
        throw new ConflictError(`candidate ${id} is ${found.state} already`, { state: found.state });
      }
      const now = registry.nowIso();
      const [updated] = await tx
        .update(c)
        .set({ state: 'dismissed', decidedBy: actor.subject, decidedAt: now, dismissReason: reason, updatedAt: now })
        .where(eq(c.id, id))
        .returning();
      const [task] = await tx
        .update(schema.candidateOwnershipTasks)
        .set({ status: 'cancelled', resolvedAt: now, resolvedBy: actor.subject, resolution: `dismissed: ${reason}` })
        .where(
          and(eq(schema.candidateOwnershipTasks.candidateId, id), eq(schema.candidateOwnershipTasks.status, 'open')),
        )
        .returning();
      await registry.audit(tx, {
        actor,
        action: 'discovery_dismissed',
        outcome: 'allowed',
        detail: `dismissed discovered ${found.kind} ${found.label}: ${reason}`,
        requestId: meta.requestId ?? null,
        request: { candidateId: id, reason },
      });
      return candidateView(updated!, task ?? (await taskOf(updated!.taskId)));
    });
  }

  /**
   * Registers the candidate through the ordinary onboarding (the policy decides, the app gets
   * its history, audit, token and event); its identifiers are added to the fields so that the
   * next runs match the app. The candidate is closed and its task resolved.
   */
  async function register(id: string, fields: AppFields, actor: Actor, meta: Meta = {}) {
    const found = await row(id);
    if (found.state !== 'open') {
      throw new ConflictError(`candidate ${id} is ${found.state} already`, {
        state: found.state,
        appId: found.appId,
      });
    }
    const union = <T>(a: T[], b: T[], key: (t: T) => string) => {
      const seen = new Set(a.map(key));
      return [...a, ...b.filter((t) => !seen.has(key(t)))];
    };
    const prefill = prefillOf(found);
    const merged: AppFields = {
      ...fields,
      endpoints: union(fields.endpoints, prefill.endpoints, (e) => e.host.toLowerCase()),
      cloudResourceIds: union(fields.cloudResourceIds, prefill.cloudResourceIds, (r) => r.toLowerCase()),
      idpClientIds: union(fields.idpClientIds, prefill.idpClientIds, (r) => r),
    };
    const registered: { app: AppView; token: string } = await registry.register(merged, actor, meta);
    const candidate = await db.transaction(async (tx) => {
      const now = registry.nowIso();
      await tx
        .update(schema.apps)
        .set({ origin: 'discovery', originRef: `discovery:${found.id}` })
        .where(eq(schema.apps.id, registered.app.id));
      const [updated] = await tx
        .update(c)
        .set({
          state: 'registered',
          appId: registered.app.id,
          decidedBy: actor.subject,
          decidedAt: now,
          updatedAt: now,
        })
        .where(and(eq(c.id, id), eq(c.state, 'open')))
        .returning();
      const [task] = await tx
        .update(schema.candidateOwnershipTasks)
        .set({
          status: 'resolved',
          resolvedAt: now,
          resolvedBy: actor.subject,
          resolution: `registered as ${registered.app.id}`,
        })
        .where(
          and(eq(schema.candidateOwnershipTasks.candidateId, id), eq(schema.candidateOwnershipTasks.status, 'open')),
        )
        .returning();
      await registry.audit(tx, {
        actor,
        action: 'discovery_registered',
        outcome: 'allowed',
        appId: registered.app.id,
        detail: `registered discovered ${found.kind} ${found.label} as ${registered.app.name}`,
        requestId: meta.requestId ?? null,
        request: { candidateId: id },
      });
      return updated ? candidateView(updated, task ?? null) : await get(id);
    });
    return {
      ...registered,
      app: { ...registered.app, origin: { source: 'discovery' as const, ref: `discovery:${found.id}` } },
      candidate,
    };
  }

  return { flagDue, list, get, counts, dismiss, register };
}

export type Candidates = ReturnType<typeof createCandidates>;
