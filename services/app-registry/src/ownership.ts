import { randomUUID } from 'node:crypto';
import type { AppRegistryChangeKind } from '@micro-oncall/incident-model';
import { ConflictError, NotFoundError } from '@micro-oncall/service-kit';
import { and, desc, eq, inArray, isNotNull, ne, or, sql } from 'drizzle-orm';
import type { OwnerCandidate } from './db/schema.js';
import * as schema from './db/schema.js';
import { type CandidateTaskView, candidateTaskView } from './discovery/task-view.js';
import type { AppState } from './model.js';
import type { Actor, Db, Executor, Meta, Tx } from './types.js';
import { type AppRow, columnsOf, type Diff, diff, fieldsOf, viewOf } from './views.js';

/*
 * Every app has an owner or one open ownership task. A task is opened in the transaction that
 * leaves the app without an owner (the owner's deactivation at the identity provider, an import
 * or an edit that drops them, a registration without one), with candidate owners: the app's
 * team, the people who edited it lately, and the owners of the team's other apps. It is resolved
 * in the transaction that gives the app an owner again.
 */

export type OwnershipReason = 'owner_deactivated' | 'owner_dropped_by_import' | 'owner_removed' | 'no_owner';

/**
 * What ownership uses of the registry (the store implements it): loading an app and recording a
 * change the way every other change is recorded (history, audit, event).
 */
export interface OwnershipRecords {
  db: Db;
  nowIso(): string;
  load(id: string, tx: Executor, lock: boolean): Promise<AppRow>;
  history(
    tx: Executor,
    appId: string,
    actor: Actor,
    action: string,
    changes: Diff,
    meta?: Meta & { detail?: string },
  ): Promise<void>;
  audit(
    tx: Executor,
    entry: {
      actor: Actor;
      action: string;
      outcome: 'allowed' | 'denied' | 'failed';
      appId?: string | null;
      detail: string;
      requestId?: string | null;
      request?: unknown;
    },
  ): Promise<void>;
  publish(
    tx: Tx,
    row: AppRow,
    kind: AppRegistryChangeKind,
    from: AppState | null,
    reason: string,
    actor: Actor,
  ): Promise<void>;
}

const RECENT_EDITORS = 5;
const CO_OWNERS = 5;
/** History actors that are not people. */
const NOT_A_PERSON = /^(policy|lifecycle-sweep|identity-provider|migration|app-token:)/;

export type TaskRow = typeof schema.ownershipTasks.$inferSelect;

export function taskView(row: TaskRow, app?: Pick<AppRow, 'name' | 'teamName' | 'teamContact' | 'state'>) {
  return {
    kind: 'app' as const,
    id: row.id,
    appId: row.appId,
    ...(app
      ? { app: { name: app.name, team: { name: app.teamName, contact: app.teamContact }, state: app.state } }
      : {}),
    status: row.status,
    reason: row.reason,
    detail: row.detail,
    previousOwner: row.previousOwner,
    candidates: row.candidates,
    openedAt: new Date(row.openedAt).toISOString(),
    openedBy: row.openedBy,
    resolvedAt: row.resolvedAt ? new Date(row.resolvedAt).toISOString() : null,
    resolvedBy: row.resolvedBy,
    newOwner: row.newOwner,
  };
}

/** Subjects and email addresses the identity provider reported as deactivated (lower-cased emails). */
export async function deactivated(tx: Executor, subjects: string[], emails: string[]) {
  const lowered = emails.map((e) => e.toLowerCase());
  if (subjects.length === 0 && lowered.length === 0) return { subjects: new Set<string>(), emails: new Set<string>() };
  const rows: { subject: string; email: string | null }[] = await tx
    .select({ subject: schema.identityEvents.subject, email: schema.identityEvents.email })
    .from(schema.identityEvents)
    .where(
      or(
        subjects.length ? inArray(schema.identityEvents.subject, subjects) : sql`false`,
        lowered.length ? inArray(sql`lower(${schema.identityEvents.email})`, lowered) : sql`false`,
      ),
    );
  return {
    subjects: new Set(rows.map((r) => r.subject)),
    emails: new Set(rows.flatMap((r) => (r.email ? [r.email.toLowerCase()] : []))),
  };
}

/** Candidate owners for `app`: its team, its recent editors, the owners of the team's other apps; never who left. */
export async function candidatesFor(
  tx: Executor,
  app: AppRow,
  leaving: { subject: string | null; contact: string | null },
): Promise<OwnerCandidate[]> {
  const editors: { subject: string; name: string | null }[] = await tx
    .select({ subject: schema.appHistory.actorSubject, name: schema.appHistory.actorName })
    .from(schema.appHistory)
    .where(eq(schema.appHistory.appId, app.id))
    .orderBy(desc(schema.appHistory.id))
    .limit(200);
  const coOwners: { subject: string | null; name: string | null; contact: string | null }[] = await tx
    .selectDistinct({
      subject: schema.apps.ownerSubject,
      name: schema.apps.ownerName,
      contact: schema.apps.ownerContact,
    })
    .from(schema.apps)
    .where(
      and(
        eq(schema.apps.teamName, app.teamName),
        ne(schema.apps.id, app.id),
        ne(schema.apps.state, 'purged'),
        isNotNull(schema.apps.ownerName),
      ),
    )
    .limit(50);
  const gone = await deactivated(
    tx,
    [...editors.map((e) => e.subject), ...coOwners.flatMap((c) => (c.subject ? [c.subject] : []))],
    coOwners.flatMap((c) => (c.contact ? [c.contact] : [])),
  );
  const isGone = (subject: string | null, contact: string | null) =>
    (subject !== null && (subject === leaving.subject || gone.subjects.has(subject))) ||
    (contact !== null &&
      (contact.toLowerCase() === leaving.contact?.toLowerCase() || gone.emails.has(contact.toLowerCase())));

  const out: OwnerCandidate[] = [{ why: 'team', name: app.teamName, contact: app.teamContact, subject: null }];
  const seen = new Set<string>();
  for (const e of editors) {
    if (out.length > RECENT_EDITORS || seen.has(e.subject) || NOT_A_PERSON.test(e.subject)) continue;
    seen.add(e.subject);
    if (isGone(e.subject, null)) continue;
    out.push({ why: 'recent_editor', name: e.name ?? e.subject, contact: null, subject: e.subject });
  }
  let co = 0;
  for (const c of coOwners) {
    const key = c.subject ?? c.contact ?? c.name ?? '';
    if (co >= CO_OWNERS || seen.has(key) || isGone(c.subject, c.contact)) continue;
    seen.add(key);
    co += 1;
    out.push({ why: 'co_owner', name: c.name ?? key, contact: c.contact, subject: c.subject });
  }
  return out;
}

/** The kind of the owners' notice an ownership task sends; the notice's id is the task's. */
export const OWNERSHIP_NOTICE = 'ownership_task';

/** The notice of a task opened because the owner left: to the team and the candidate owners. */
export function ownershipNotice(
  app: Pick<AppRow, 'id' | 'name' | 'teamName'>,
  task: { detail: string; candidates: OwnerCandidate[] },
): { title: string; text: string } {
  const people = task.candidates.filter((c) => c.why !== 'team').map((c) => c.name);
  return {
    title: `${app.name} needs a new owner`,
    text:
      `${app.name} (team ${app.teamName}) has no owner: ${task.detail}. An ownership task is open until someone takes it on` +
      (people.length > 0 ? `; candidates: ${people.join(', ')}.` : '.') +
      ` Assign the new owner on the task (GET /apps/v1/ownership-tasks?appId=${app.id}).`,
  };
}

/**
 * Opens the app's ownership task (in the caller's transaction) unless one is open already; the
 * app's owner columns must already be cleared. When an owner left, the team and the candidates
 * get a notice (written here, with the task's id: one per task). Returns the task, or null when
 * one was open.
 */
export async function openTask(
  tx: Executor,
  app: AppRow,
  opts: {
    reason: OwnershipReason;
    detail: string;
    previousOwner: { name: string; contact: string | null; subject: string | null } | null;
    by: string;
    at: string;
  },
): Promise<TaskRow | null> {
  const candidates = await candidatesFor(tx, app, {
    subject: opts.previousOwner?.subject ?? null,
    contact: opts.previousOwner?.contact ?? null,
  });
  const [row] = await tx
    .insert(schema.ownershipTasks)
    .values({
      id: randomUUID(),
      appId: app.id,
      status: 'open',
      reason: opts.reason,
      detail: opts.detail.slice(0, 2000),
      previousOwner: opts.previousOwner,
      candidates,
      openedAt: opts.at,
      openedBy: opts.by,
    })
    .onConflictDoNothing()
    .returning();
  if (row && opts.previousOwner) {
    await tx.insert(schema.notifications).values({
      id: row.id,
      appId: app.id,
      kind: OWNERSHIP_NOTICE,
      ...ownershipNotice(app, row),
      createdAt: opts.at,
    });
  }
  return row ?? null;
}

/** Resolves the app's open task, if any, with its new owner (in the caller's transaction). */
export async function resolveTask(
  tx: Executor,
  appId: string,
  owner: { name: string; contact: string; subject: string | null },
  by: string,
  at: string,
): Promise<TaskRow | null> {
  const [row] = await tx
    .update(schema.ownershipTasks)
    .set({ status: 'resolved', resolvedAt: at, resolvedBy: by, newOwner: owner })
    .where(and(eq(schema.ownershipTasks.appId, appId), eq(schema.ownershipTasks.status, 'open')))
    .returning();
  return row ?? null;
}

/** Cancels the app's open task (it was purged: nobody needs to own it). */
/** The open tasks of these apps are cancelled (they were purged). */
export async function cancelTasks(tx: Executor, appIds: string[], by: string, at: string) {
  if (appIds.length === 0) return;
  await tx
    .update(schema.ownershipTasks)
    .set({ status: 'cancelled', resolvedAt: at, resolvedBy: by })
    .where(and(inArray(schema.ownershipTasks.appId, appIds), eq(schema.ownershipTasks.status, 'open')));
}

// ------------------------------------------------------------ the ownership service

/** A person the identity provider deactivated, as the identity route normalised it. */
export interface Deactivation {
  eventId: string;
  source: 'okta' | 'scim';
  kind: string;
  subject: string;
  email: string | null;
  displayName: string | null;
  occurredAt: string;
}

export interface NewOwner {
  owner: { name: string; contact: string };
  ownerSubject: string | null;
}

const SWEEP_ACTOR = (source: string): Actor => ({ type: 'system', subject: 'identity-provider', name: source });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const taskId = (id: string) => {
  if (!UUID.test(id)) throw new NotFoundError(`no ownership task ${id}`);
  return id;
};

export function createOwnership(deps: {
  registry: OwnershipRecords;
  /** Called once a deactivation opened tasks (their notices are written): hands them out now rather than at the next sweep. */
  noticesWritten?: () => void;
}) {
  const { registry } = deps;
  const db = registry.db;

  /**
   * The owner left: each app they own (by subject, or by email when the provider sends one) loses
   * its owner and gets an ownership task with candidates, its history, audit and an `updated`
   * event, all in one transaction. A redelivered event (same id) changes nothing.
   */
  async function deactivate(event: Deactivation, meta: Meta = {}) {
    const actor = SWEEP_ACTOR(event.source);
    const result = await db.transaction(async (tx) => {
      const now = registry.nowIso();
      const [fresh] = await tx
        .insert(schema.identityEvents)
        .values({ ...event, receivedAt: now })
        .onConflictDoNothing()
        .returning({ eventId: schema.identityEvents.eventId });
      if (!fresh) return { duplicate: true, apps: [] as string[], tasks: [] as string[] };
      const owned = await tx
        .select()
        .from(schema.apps)
        .where(
          and(
            ne(schema.apps.state, 'purged'),
            or(
              eq(schema.apps.ownerSubject, event.subject),
              event.email ? sql`lower(${schema.apps.ownerContact}) = ${event.email.toLowerCase()}` : sql`false`,
            ),
          ),
        )
        .orderBy(schema.apps.id)
        .for('update');
      const tasks: string[] = [];
      for (const app of owned) {
        const before = fieldsOf(app);
        const after = { ...before, owner: null, ownerSubject: null };
        const [updated] = await tx
          .update(schema.apps)
          .set({ ...columnsOf(after), updatedAt: now, version: app.version + 1 })
          .where(eq(schema.apps.id, app.id))
          .returning();
        const who = before.owner?.name ?? event.displayName ?? event.subject;
        const detail = `${who} was deactivated at the identity provider (${event.source} ${event.kind}, event ${event.eventId})`;
        await registry.history(tx, app.id, actor, 'owner_deactivated', diff(before as never, after as never), {
          ...meta,
          detail,
        });
        const task = await openTask(tx, updated!, {
          reason: 'owner_deactivated',
          detail,
          previousOwner: before.owner
            ? { name: before.owner.name, contact: before.owner.contact, subject: before.ownerSubject }
            : null,
          by: actor.subject,
          at: now,
        });
        if (task) tasks.push(task.id);
        await registry.audit(tx, {
          actor,
          action: 'owner_deactivated',
          outcome: 'allowed',
          appId: app.id,
          detail: `${detail}: ${app.name} has no owner, ownership task opened`,
          requestId: meta.requestId ?? null,
          request: { eventId: event.eventId, source: event.source, subject: event.subject },
        });
        await registry.publish(tx, updated!, 'updated', updated!.state, `owner deactivated: ${who}`, actor);
      }
      return { duplicate: false, apps: owned.map((a) => a.id), tasks };
    });
    if (result.tasks.length > 0) deps.noticesWritten?.();
    return result;
  }

  /** Assigns the app's new owner: the task is resolved, the app changes (history, audit, `updated` event). */
  async function assign(id: string, next: NewOwner, actor: Actor, meta: Meta = {}) {
    return db.transaction(async (tx) => {
      const [task] = await tx
        .select()
        .from(schema.ownershipTasks)
        .where(eq(schema.ownershipTasks.id, taskId(id)))
        .for('update');
      if (!task) {
        const [candidateTask] = await tx
          .select({ candidateId: schema.candidateOwnershipTasks.candidateId })
          .from(schema.candidateOwnershipTasks)
          .where(eq(schema.candidateOwnershipTasks.id, id));
        if (candidateTask) {
          throw new ConflictError(
            `ownership task ${id} is a discovered candidate's: register it (POST /apps/v1/discovery/candidates/${candidateTask.candidateId}/register) or dismiss it`,
            { candidateId: candidateTask.candidateId },
          );
        }
        throw new NotFoundError(`no ownership task ${id}`);
      }
      if (task.status !== 'open')
        throw new ConflictError(`ownership task ${id} is ${task.status} already`, { status: task.status });
      const gone = await deactivated(tx, next.ownerSubject ? [next.ownerSubject] : [], [next.owner.contact]);
      if (gone.subjects.size > 0 || gone.emails.size > 0) {
        throw new ConflictError(
          `${next.owner.name} was deactivated at the identity provider: choose someone who is still here`,
        );
      }
      const app = await registry.load(task.appId, tx, true);
      if (app.state === 'purged') throw new ConflictError(`app ${app.id} was purged`);
      const now = registry.nowIso();
      const before = fieldsOf(app);
      const after = { ...before, owner: next.owner, ownerSubject: next.ownerSubject };
      const [updated] = await tx
        .update(schema.apps)
        .set({ ...columnsOf(after), updatedAt: now, version: app.version + 1 })
        .where(eq(schema.apps.id, app.id))
        .returning();
      await registry.history(tx, app.id, actor, 'owner_assigned', diff(before as never, after as never), {
        ...meta,
        detail: `ownership task ${id}`,
      });
      const resolved = await resolveTask(tx, app.id, { ...next.owner, subject: next.ownerSubject }, actor.subject, now);
      await registry.audit(tx, {
        actor,
        action: 'owner_assigned',
        outcome: 'allowed',
        appId: app.id,
        detail: `${next.owner.name} now owns ${app.name} (ownership task ${id})`,
        requestId: meta.requestId ?? null,
        request: { taskId: id, owner: next.owner, ownerSubject: next.ownerSubject },
      });
      await registry.publish(tx, updated!, 'updated', updated!.state, `owner assigned: ${next.owner.name}`, actor);
      return { task: taskView(resolved!, updated!), app: viewOf(updated!) };
    });
  }

  /**
   * Open (or resolved, cancelled) tasks newest first: apps' (`kind: 'app'`) and discovered
   * candidates' (`kind: 'candidate'`, opened when discovery flagged one), unless `kind` or `appId`
   * asks for one of them.
   */
  async function list(q: {
    status: 'open' | 'resolved' | 'cancelled';
    kind?: 'app' | 'candidate';
    appId?: string;
    limit: number;
  }) {
    const wantApps = q.kind !== 'candidate';
    const wantCandidates = q.kind !== 'app' && q.appId === undefined;
    const ot = schema.ownershipTasks;
    const ct = schema.candidateOwnershipTasks;
    const [apps, candidates] = await Promise.all([
      wantApps
        ? db
            .select({ task: ot, app: schema.apps })
            .from(ot)
            .innerJoin(schema.apps, eq(schema.apps.id, ot.appId))
            .where(and(eq(ot.status, q.status), q.appId ? eq(ot.appId, q.appId) : undefined))
            .orderBy(desc(ot.openedAt), ot.id)
            .limit(q.limit)
        : [],
      wantCandidates
        ? db
            .select({ task: ct, candidate: schema.discoveryCandidates })
            .from(ct)
            .innerJoin(schema.discoveryCandidates, eq(schema.discoveryCandidates.id, ct.candidateId))
            .where(eq(ct.status, q.status))
            .orderBy(desc(ct.openedAt), ct.id)
            .limit(q.limit)
        : [],
    ]);
    const items: (ReturnType<typeof taskView> | CandidateTaskView)[] = [
      ...apps.map((r) => taskView(r.task, r.app)),
      ...candidates.map((r) => candidateTaskView(r.task, r.candidate)),
    ];
    return items.sort((x, y) => y.openedAt.localeCompare(x.openedAt) || x.id.localeCompare(y.id)).slice(0, q.limit);
  }

  async function get(id: string) {
    const [row] = await db
      .select({ task: schema.ownershipTasks, app: schema.apps })
      .from(schema.ownershipTasks)
      .innerJoin(schema.apps, eq(schema.apps.id, schema.ownershipTasks.appId))
      .where(eq(schema.ownershipTasks.id, taskId(id)));
    if (row) return taskView(row.task, row.app);
    const [candidate] = await db
      .select({ task: schema.candidateOwnershipTasks, candidate: schema.discoveryCandidates })
      .from(schema.candidateOwnershipTasks)
      .innerJoin(
        schema.discoveryCandidates,
        eq(schema.discoveryCandidates.id, schema.candidateOwnershipTasks.candidateId),
      )
      .where(eq(schema.candidateOwnershipTasks.id, id));
    if (!candidate) throw new NotFoundError(`no ownership task ${id}`);
    return candidateTaskView(candidate.task, candidate.candidate);
  }

  return { deactivate, assign, list, get };
}

export type Ownership = ReturnType<typeof createOwnership>;
