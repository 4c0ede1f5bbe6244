import { randomBytes, randomUUID } from 'node:crypto';
import type { AppRegistryChangeKind, RiskTier } from '@micro-oncall/incident-model';
import {
  ConflictError,
  type EventMessages,
  InputError,
  type Logger,
  NotAllowedError,
  NotFoundError,
  type Outbox,
} from '@micro-oncall/service-kit';
import { and, desc, eq, gt, inArray, isNull, ne, type SQL, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import * as schema from './db/schema.js';
import { DEFAULT_EVIDENCE_MAX_AGE_DAYS, type EvidenceSummary, evidenceAge } from './evidence.js';
import type { ImportedApp, ImportParse } from './io/formats.js';
import type { AppFields, AppState, AppView, DecisionOutcome, DecisionSummary } from './model.js';
import { cancelTasks, openTask, resolveTask } from './ownership.js';
import { openViolations, type PolicyEngine, type PolicyInput, type PolicyResult, summarise } from './policy.js';
import { issueToken } from './tokens.js';
import type { Actor, Clock, Db, Executor, LifecycleSettings, Meta, Tx } from './types.js';
import { type AppRow, CLASSIFICATION_FIELDS, columnsOf, type Diff, diff, fieldsOf, ownerOf, viewOf } from './views.js';

/**
 * How far a batch of discovered activity must move an app's last activity before its row is
 * written (recordActivities): an hour, where idle detection counts in days (lifecycle.ts), so
 * the stored last activity may be up to an hour earlier than the latest sighting.
 */
export const ACTIVITY_STEP_MS = 3_600_000;

/*
 * Every change to the inventory, each in one transaction with what records it: the app row, the
 * history (who, what changed, when), the decision, the audit entry and the `app-registry` event
 * (outbox). Policy decisions are asked for before the transaction (they are network calls) and
 * applied inside it only if the app did not change meanwhile (its version), else asked again.
 */

export type { Actor, Clock, Db, LifecycleSettings, Meta, Tx } from './types.js';

export interface RegistryDeps {
  db: Db;
  outbox: Outbox;
  /** Builds the outbox messages of a batch (the service context's `events`). */
  events: Pick<EventMessages, 'message'>;
  policy: PolicyEngine;
  clock: Clock;
  settings: LifecycleSettings;
  logger: Logger;
}

const DAY_MS = 86_400_000;
const ONBOARDING: readonly AppState[] = ['refused', 'held', 'pending_approval'];

/** The state a decision puts an app in: onboarding follows the decision, a running app keeps its lifecycle state. */
export function stateAfterDecision(current: AppState | null, outcome: DecisionOutcome): AppState {
  if (current !== null && !ONBOARDING.includes(current)) return current;
  switch (outcome) {
    case 'approve':
      return 'active';
    case 'needs_approval':
      return 'pending_approval';
    case 'refuse':
      return 'refused';
    case 'hold':
      return 'held';
  }
}

export const newAppId = () => `app_${randomBytes(12).toString('hex')}`;

const isUniqueViolation = (error: unknown) =>
  (error as { code?: string; cause?: { code?: string } }).code === '23505' ||
  (error as { cause?: { code?: string } }).cause?.code === '23505';

export function createRegistry(deps: RegistryDeps) {
  const { db, outbox, events, policy, clock, settings } = deps;
  const nowIso = () => clock().toISOString();

  // ------------------------------------------------------------ records

  type AuditEntry = {
    actor: Actor;
    action: string;
    outcome: 'allowed' | 'denied' | 'failed';
    appId?: string | null;
    detail: string;
    requestId?: string | null;
    request?: unknown;
  };

  const auditRow = (entry: AuditEntry): typeof schema.auditLog.$inferInsert => ({
    id: randomUUID(),
    at: nowIso(),
    actorSubject: entry.actor.subject,
    actorName: entry.actor.name,
    action: entry.action,
    outcome: entry.outcome,
    appId: entry.appId ?? null,
    detail: entry.detail.slice(0, 2000),
    requestId: entry.requestId ?? null,
    request: entry.request ?? null,
  });

  async function audit(tx: Executor, entry: AuditEntry) {
    await tx.insert(schema.auditLog).values(auditRow(entry));
  }

  const historyRow = (
    appId: string,
    actor: Actor,
    action: string,
    changes: Diff,
    meta: Meta & { detail?: string } = {},
  ): typeof schema.appHistory.$inferInsert => ({
    appId,
    at: nowIso(),
    actorSubject: actor.subject,
    actorName: actor.name,
    action,
    changes,
    detail: meta.detail ?? null,
    requestId: meta.requestId ?? null,
  });

  async function history(
    tx: Executor,
    appId: string,
    actor: Actor,
    action: string,
    changes: Diff,
    meta: Meta & { detail?: string } = {},
  ) {
    await tx.insert(schema.appHistory).values(historyRow(appId, actor, action, changes, meta));
  }

  const eventOf = (row: AppRow, kind: AppRegistryChangeKind, from: AppState | null, reason: string, actor: Actor) =>
    events.message(
      'app-registry',
      {
        changeId: randomUUID(),
        kind,
        app: { id: row.id, name: row.name },
        owner: ownerOf(row),
        tier: row.tier,
        state: { from, to: row.state },
        reason: reason.slice(0, 1000),
        actor: { type: actor.type, id: actor.subject },
        occurredAt: nowIso(),
      },
      { drill: false },
    );

  async function publish(
    tx: Tx,
    row: AppRow,
    kind: AppRegistryChangeKind,
    from: AppState | null,
    reason: string,
    actor: Actor,
  ) {
    await outbox.write(tx, [eventOf(row, kind, from, reason, actor)]);
  }

  async function recordDecision(
    tx: Executor,
    appId: string,
    summary: DecisionSummary,
    decidedBy: string,
    comment?: string | null,
  ) {
    await tx.insert(schema.decisions).values({
      id: randomUUID(),
      appId,
      at: summary.decidedAt,
      outcome: summary.outcome,
      decidedBy,
      tier: summary.tier,
      score: summary.score,
      policyVersion: summary.policyVersion,
      reasons: summary.reasons,
      controls: summary.controls,
      comment: comment ?? null,
    });
  }

  /** An edit or import that drops the owner opens an ownership task; one that names an owner resolves it. */
  async function ownerChanged(
    tx: Tx,
    row: AppRow,
    before: AppFields,
    after: AppFields,
    reason: 'owner_removed' | 'owner_dropped_by_import',
    actor: Actor,
    at: string,
  ) {
    if (after.owner) {
      const changed =
        before.owner?.name !== after.owner.name ||
        before.owner?.contact !== after.owner.contact ||
        before.ownerSubject !== after.ownerSubject;
      if (changed) await resolveTask(tx, row.id, { ...after.owner, subject: after.ownerSubject }, actor.subject, at);
      return;
    }
    if (!before.owner) return;
    await openTask(tx, row, {
      reason,
      detail:
        reason === 'owner_removed'
          ? `${actor.name ?? actor.subject} removed the owner ${before.owner.name}`
          : `an import by ${actor.name ?? actor.subject} dropped the owner ${before.owner.name}`,
      previousOwner: { name: before.owner.name, contact: before.owner.contact, subject: before.ownerSubject },
      by: actor.subject,
      at,
    });
  }

  // ------------------------------------------------------------ reads

  async function load(id: string, tx: Executor = db, lock = false): Promise<AppRow> {
    const query = tx.select().from(schema.apps).where(eq(schema.apps.id, id));
    const [row] = lock ? await query.for('update') : await query;
    if (!row) throw new NotFoundError(`no app ${id}`);
    return row;
  }

  /** What the policy reads for the app: its facts, latest evidence per kind, live exceptions, approval. */
  async function inputFor(fields: AppFields, row: AppRow | null, tx: Executor = db): Promise<PolicyInput> {
    const input: PolicyInput = {
      app: {
        impact: fields.impact,
        data_classes: [...new Set(fields.dataClasses)].sort(),
        exposure: fields.exposure,
        runtime: fields.runtime,
        dedicated_namespace: fields.dedicatedNamespace,
        public_storage: fields.publicStorage,
        template: fields.template,
        idp_client_ids: fields.idpClientIds,
      },
      evidence: {},
      exceptions: [],
      approval: row?.approvedTier ? { tier: row.approvedTier } : null,
    };
    if (!row) return input;
    const latest = await tx
      .selectDistinctOn([schema.evidence.kind])
      .from(schema.evidence)
      .where(eq(schema.evidence.appId, row.id))
      .orderBy(schema.evidence.kind, desc(schema.evidence.seq));
    // Each document with its age: the policy fails a control whose evidence is older than its kind may be.
    const now = clock();
    for (const e of latest) {
      const maxAge = settings.evidenceMaxAgeDays?.[e.kind] ?? DEFAULT_EVIDENCE_MAX_AGE_DAYS[e.kind];
      (input.evidence as Record<string, unknown>)[e.kind] = { ...e.summary, ...evidenceAge(e.receivedAt, now, maxAge) };
    }
    const exceptions = await tx
      .select({ control: schema.controlExceptions.control, expiresAt: schema.controlExceptions.expiresAt })
      .from(schema.controlExceptions)
      .where(
        and(
          eq(schema.controlExceptions.appId, row.id),
          eq(schema.controlExceptions.status, 'approved'),
          gt(schema.controlExceptions.expiresAt, nowIso()),
        ),
      );
    input.exceptions = exceptions.map((e) => ({ control: e.control, expires_at: new Date(e.expiresAt).toISOString() }));
    return input;
  }

  // ------------------------------------------------------------ decisions

  /**
   * Writes a decision onto a locked row: the decision record, the app's tier, violations and
   * (while onboarding) state, history, audit and event. Returns the new row.
   */
  async function applyDecision(
    tx: Tx,
    row: AppRow,
    result: PolicyResult,
    actor: Actor,
    meta: Meta & {
      extra?: Partial<typeof schema.apps.$inferInsert>;
      decidedBy?: string;
      comment?: string | null;
      /** The caller changed the row in this transaction and already counted a new version. */
      sameChange?: boolean;
    } = {},
  ): Promise<AppRow> {
    const now = nowIso();
    const summary = summarise(result, now);
    const state = stateAfterDecision(row.state, summary.outcome);
    // A held decision on a running app keeps what was known (tier, violations) and says it was held.
    const keepKnown = summary.outcome === 'hold' && !ONBOARDING.includes(row.state);
    const [next] = await tx
      .update(schema.apps)
      .set({
        ...meta.extra,
        decision: summary,
        tier: keepKnown ? row.tier : summary.tier,
        riskScore: keepKnown ? row.riskScore : summary.score,
        openViolations: keepKnown ? row.openViolations : openViolations(summary),
        state,
        ...(state !== row.state ? { stateChangedAt: now } : {}),
        updatedAt: now,
        version: meta.sameChange ? row.version : row.version + 1,
      })
      .where(and(eq(schema.apps.id, row.id), eq(schema.apps.version, row.version)))
      .returning();
    if (!next) throw new ConflictError(`app ${row.id} changed meanwhile; try again`);
    await recordDecision(tx, row.id, summary, meta.decidedBy ?? 'policy', meta.comment);
    const changes = diff(
      { state: row.state, tier: row.tier, riskScore: row.riskScore, openViolations: row.openViolations },
      { state: next.state, tier: next.tier, riskScore: next.riskScore, openViolations: next.openViolations },
    );
    await history(tx, row.id, actor, 'decided', changes, {
      ...meta,
      detail: `${summary.outcome}: ${summary.explanation}`,
    });
    await audit(tx, {
      actor,
      action: 'decision',
      outcome: 'allowed',
      appId: row.id,
      detail: `policy decision ${summary.outcome} for ${row.name}${summary.policyVersion ? ` (policy ${summary.policyVersion})` : ''}: ${summary.reasons.map((r) => `${r.rule} ${r.message}`).join('; ') || summary.explanation}`,
      requestId: meta.requestId ?? null,
    });
    if (next.state !== row.state) {
      await publish(tx, next, 'state_changed', row.state, `decision ${summary.outcome}: ${summary.explanation}`, actor);
    } else if (next.tier !== row.tier) {
      await publish(tx, next, 'updated', row.state, `tier ${row.tier ?? 'none'} → ${next.tier ?? 'none'}`, actor);
    }
    return next;
  }

  /**
   * Asks the policy about the app as it is now and applies the answer, again if the app changed
   * in between (a few times). `prepare` runs in the transaction before the decision is written.
   */
  async function reevaluate(
    id: string,
    actor: Actor,
    meta: Meta & {
      prepare?: (tx: Tx, row: AppRow) => Promise<Partial<typeof schema.apps.$inferInsert> | undefined>;
      overrideApproval?: RiskTier;
      decidedBy?: string;
      comment?: string | null;
    } = {},
  ): Promise<AppRow> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const snapshot = await load(id);
      if (snapshot.state === 'purged')
        throw new ConflictError(`app ${id} was purged: nothing is decided about it any more`);
      const input = await inputFor(fieldsOf(snapshot), snapshot);
      if (meta.overrideApproval) input.approval = { tier: meta.overrideApproval };
      const result = await policy.decide(input);
      const applied = await db.transaction(async (tx) => {
        const row = await load(id, tx, true);
        if (row.version !== snapshot.version) return null;
        const extra = meta.prepare ? await meta.prepare(tx, row) : undefined;
        return applyDecision(tx, row, result, actor, { ...meta, ...(extra ? { extra } : {}) });
      });
      if (applied) return applied;
    }
    throw new ConflictError(`app ${id} keeps changing; try again`);
  }

  // ------------------------------------------------------------ onboarding

  async function register(fields: AppFields, actor: Actor, meta: Meta = {}) {
    // Before asking the policy; the unique index still decides a race.
    const [taken] = await db
      .select({ id: schema.apps.id })
      .from(schema.apps)
      .where(and(eq(schema.apps.name, fields.name), ne(schema.apps.state, 'purged')));
    if (taken)
      throw new ConflictError(`an app named ${fields.name} is already registered (${taken.id})`, {
        name: fields.name,
        id: taken.id,
      });
    const result = await policy.decide(await inputFor(fields, null));
    const now = nowIso();
    const summary = summarise(result, now);
    const state = stateAfterDecision(null, summary.outcome);
    const id = newAppId();
    const token = issueToken();
    try {
      const row = await db.transaction(async (tx) => {
        const [inserted] = await tx
          .insert(schema.apps)
          .values({
            id,
            ...columnsOf(fields),
            state,
            stateChangedAt: now,
            tier: summary.tier,
            riskScore: summary.score,
            decision: summary,
            openViolations: openViolations(summary),
            requestedBy: actor.subject,
            lastActivityAt: now,
            origin: 'api',
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        const created = inserted!;
        await recordDecision(tx, id, summary, 'policy');
        await history(
          tx,
          id,
          actor,
          'created',
          diff(null, { ...fields, state, tier: summary.tier, riskScore: summary.score }),
          meta,
        );
        await tx.insert(schema.appTokens).values({
          id: randomUUID(),
          appId: id,
          sha256: token.sha256,
          createdAt: now,
          createdBy: actor.subject,
        });
        await audit(tx, {
          actor,
          action: 'register',
          outcome: 'allowed',
          appId: id,
          detail: `registered ${fields.name}: decision ${summary.outcome} (${summary.explanation})`,
          requestId: meta.requestId ?? null,
          request: { name: fields.name, template: fields.template },
        });
        if (!fields.owner) {
          await openTask(tx, created, {
            reason: 'no_owner',
            detail: 'registered without an owner',
            previousOwner: null,
            by: actor.subject,
            at: now,
          });
        }
        await publish(tx, created, 'registered', null, `registered: decision ${summary.outcome}`, actor);
        return created;
      });
      return { app: viewOf(row), token: token.token };
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`an app named ${fields.name} is already registered`, { name: fields.name });
      throw error;
    }
  }

  /** PATCH: the changed fields, only if the caller saw the current version; a classification change is decided again. */
  async function update(id: string, patch: Partial<AppFields>, expectedVersion: number, actor: Actor, meta: Meta = {}) {
    const current = await load(id);
    if (current.version !== expectedVersion) {
      throw new ConflictError(
        `app ${id} is at version ${current.version}, not ${expectedVersion}: reload it and apply your change again`,
        {
          currentVersion: current.version,
        },
      );
    }
    if (current.state === 'purged') throw new ConflictError(`app ${id} was purged and cannot change`);
    const before = fieldsOf(current);
    const after: AppFields = { ...before, ...patch };
    const changes = diff(before as unknown as Record<string, unknown>, after as unknown as Record<string, unknown>);
    if (Object.keys(changes).length === 0) return viewOf(current);
    const reclassify = CLASSIFICATION_FIELDS.some((f) => f in changes);
    const result = reclassify ? await policy.decide(await inputFor(after, current)) : null;
    try {
      const row = await db.transaction(async (tx) => {
        const now = nowIso();
        const [updated] = await tx
          .update(schema.apps)
          .set({ ...columnsOf(after), updatedAt: now, version: current.version + 1 })
          .where(and(eq(schema.apps.id, id), eq(schema.apps.version, expectedVersion)))
          .returning();
        if (!updated) {
          throw new ConflictError(
            `app ${id} changed while your edit was applied: reload it and apply your change again`,
          );
        }
        await history(tx, id, actor, 'updated', changes, meta);
        await ownerChanged(tx, updated, before, after, 'owner_removed', actor, now);
        await audit(tx, {
          actor,
          action: 'update',
          outcome: 'allowed',
          appId: id,
          detail: `changed ${Object.keys(changes).join(', ')} of ${updated.name}`,
          requestId: meta.requestId ?? null,
        });
        const owners = ['owner', 'team', 'name'].some((f) => f in changes);
        const decided = result
          ? await applyDecision(tx, updated, result, actor, { ...meta, sameChange: true })
          : updated;
        if (owners && decided.state === updated.state && decided.tier === updated.tier) {
          await publish(tx, decided, 'updated', decided.state, `changed ${Object.keys(changes).join(', ')}`, actor);
        }
        return decided;
      });
      return viewOf(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`an app named ${after.name} is already registered`, { name: after.name });
      throw error;
    }
  }

  async function addEvidence(id: string, summary: EvidenceSummary, tokenId: string, meta: Meta = {}) {
    const app = await load(id);
    if (app.state === 'purged') throw new ConflictError(`app ${id} was purged`);
    const evidenceId = randomUUID();
    const actor: Actor = { type: 'system', subject: `app-token:${tokenId}`, name: `${app.name} pipeline` };
    // The evidence is a fact once received: recorded first, then the app is decided again with it.
    await db.transaction(async (tx) => {
      await tx.insert(schema.evidence).values({
        id: evidenceId,
        appId: id,
        kind: summary.kind,
        format: summary.format,
        receivedAt: nowIso(),
        summary: summary.summary,
        sha256: summary.sha256,
        tokenId,
      });
      await tx.update(schema.appTokens).set({ lastUsedAt: nowIso() }).where(eq(schema.appTokens.id, tokenId));
      await history(
        tx,
        id,
        actor,
        'evidence',
        { [summary.kind]: { from: null, to: { format: summary.format, ...summary.summary } } },
        meta,
      );
    });
    const row = await reevaluate(id, actor, meta);
    return { evidenceId, app: viewOf(row) };
  }

  /** Approve an app waiting for approval, as an approver who neither requested nor owns it. */
  async function approve(id: string, approver: Actor, comment: string | null, meta: Meta = {}) {
    const app = await load(id);
    if (app.state !== 'pending_approval') {
      throw new ConflictError(`app ${id} is ${app.state}: only an app pending approval can be approved`, {
        state: app.state,
      });
    }
    assertNotSelf(app, approver, 'approve');
    if (!app.tier) throw new ConflictError(`app ${id} has no tier to approve; evaluate it again first`);
    const tier = app.tier;
    const row = await reevaluate(id, approver, {
      ...meta,
      overrideApproval: tier,
      prepare: async (tx, locked) => {
        if (locked.state !== 'pending_approval') throw new ConflictError(`app ${id} is ${locked.state} now`);
        await tx.insert(schema.decisions).values({
          id: randomUUID(),
          appId: id,
          at: nowIso(),
          outcome: 'approved',
          decidedBy: approver.subject,
          tier,
          score: locked.riskScore,
          policyVersion: locked.decision?.policyVersion ?? null,
          reasons: [],
          controls: locked.decision?.controls ?? [],
          comment,
        });
        await history(
          tx,
          id,
          approver,
          'approved',
          { approval: { from: null, to: { tier, by: approver.subject } } },
          { ...meta, detail: comment ?? undefined },
        );
        await audit(tx, {
          actor: approver,
          action: 'approve',
          outcome: 'allowed',
          appId: id,
          detail: `approved ${locked.name} for tier ${tier}${comment ? `: ${comment}` : ''}`,
          requestId: meta.requestId ?? null,
        });
        return { approvedTier: tier, approvedBy: approver.subject, approvedAt: nowIso() };
      },
    });
    return viewOf(row);
  }

  async function reject(id: string, approver: Actor, reason: string, meta: Meta = {}) {
    const row = await db.transaction(async (tx) => {
      const app = await load(id, tx, true);
      if (app.state !== 'pending_approval' && app.state !== 'held') {
        throw new ConflictError(`app ${id} is ${app.state}: only an app pending approval or held can be rejected`, {
          state: app.state,
        });
      }
      assertNotSelf(app, approver, 'reject');
      const now = nowIso();
      const summary: DecisionSummary = {
        ...(app.decision ?? summarise({ kind: 'held', reason: 'no decision' }, now)),
        outcome: 'refuse',
        reasons: [
          {
            rule: 'approver',
            control: 'human_approval',
            message: `rejected by ${approver.name ?? approver.subject}: ${reason}`,
            fix: 'change what the approver asked for, then ask for a new evaluation',
          },
        ],
        decidedAt: now,
      };
      const [next] = await tx
        .update(schema.apps)
        .set({ state: 'refused', stateChangedAt: now, decision: summary, updatedAt: now, version: app.version + 1 })
        .where(eq(schema.apps.id, id))
        .returning();
      await tx.insert(schema.decisions).values({
        id: randomUUID(),
        appId: id,
        at: now,
        outcome: 'rejected',
        decidedBy: approver.subject,
        tier: app.tier,
        score: app.riskScore,
        policyVersion: app.decision?.policyVersion ?? null,
        reasons: summary.reasons,
        controls: app.decision?.controls ?? [],
        comment: reason,
      });
      await history(
        tx,
        id,
        approver,
        'rejected',
        { state: { from: app.state, to: 'refused' } },
        { ...meta, detail: reason },
      );
      await audit(tx, {
        actor: approver,
        action: 'reject',
        outcome: 'allowed',
        appId: id,
        detail: `rejected ${app.name}: ${reason}`,
        requestId: meta.requestId ?? null,
      });
      await publish(tx, next!, 'state_changed', app.state, `rejected by an approver: ${reason}`, approver);
      return next!;
    });
    return viewOf(row);
  }

  /** An approver may not decide their own request, nor an app they own. */
  function assertNotSelf(app: AppRow, approver: Actor, what: string) {
    if (approver.subject === app.requestedBy || (app.ownerSubject !== null && approver.subject === app.ownerSubject)) {
      throw new NotAllowedError(
        `you cannot ${what} ${app.name}: you ${approver.subject === app.requestedBy ? 'requested' : 'own'} it; another approver must decide`,
        { appId: app.id },
      );
    }
  }

  // ------------------------------------------------------------ exceptions

  async function requestException(
    id: string,
    body: { control: string; reason: string; expiresAt: string },
    actor: Actor,
    meta: Meta = {},
  ) {
    const now = clock();
    const expires = new Date(body.expiresAt);
    if (expires.getTime() <= now.getTime()) {
      throw new InputError('expiresAt is in the past', {
        issues: [{ path: 'expiresAt', message: 'must be in the future' }],
      });
    }
    if (expires.getTime() - now.getTime() > settings.exceptionMaxDays * DAY_MS) {
      throw new InputError(`an exception lasts at most ${settings.exceptionMaxDays} days`, {
        issues: [{ path: 'expiresAt', message: `at most ${settings.exceptionMaxDays} days from now` }],
      });
    }
    if (body.control === 'human_approval') {
      throw new InputError('the human approval cannot be excepted: ask an approver to approve the app', {
        issues: [{ path: 'control', message: 'human_approval cannot be excepted' }],
      });
    }
    const app = await load(id);
    const known = new Set((app.decision?.controls ?? []).map((c) => c.id));
    if (!known.has(body.control)) {
      throw new InputError(`${body.control} is not a control this app must meet (${[...known].join(', ') || 'none'})`, {
        issues: [{ path: 'control', message: "not one of the app's controls" }],
      });
    }
    const exceptionId = randomUUID();
    await db.transaction(async (tx) => {
      await tx.insert(schema.controlExceptions).values({
        id: exceptionId,
        appId: id,
        control: body.control,
        reason: body.reason,
        status: 'pending',
        requestedBy: actor.subject,
        requestedAt: now.toISOString(),
        expiresAt: expires.toISOString(),
      });
      await history(
        tx,
        id,
        actor,
        'exception_requested',
        { [`exception:${body.control}`]: { from: null, to: { status: 'pending', expiresAt: expires.toISOString() } } },
        { ...meta, detail: body.reason },
      );
      await audit(tx, {
        actor,
        action: 'exception_request',
        outcome: 'allowed',
        appId: id,
        detail: `asked for an exception to ${body.control} until ${expires.toISOString()}: ${body.reason}`,
        requestId: meta.requestId ?? null,
      });
    });
    return exceptionById(id, exceptionId);
  }

  async function decideException(id: string, exceptionId: string, approve: boolean, approver: Actor, meta: Meta = {}) {
    const [exception] = await db
      .select()
      .from(schema.controlExceptions)
      .where(and(eq(schema.controlExceptions.id, exceptionId), eq(schema.controlExceptions.appId, id)));
    if (!exception) throw new NotFoundError(`no exception ${exceptionId} on app ${id}`);
    if (exception.status !== 'pending')
      throw new ConflictError(`exception ${exceptionId} is already ${exception.status}`);
    if (exception.requestedBy === approver.subject) {
      throw new NotAllowedError('you asked for this exception: another approver must decide it', { appId: id });
    }
    const status = approve ? 'approved' : 'rejected';
    const mark = async (tx: Tx) => {
      const [marked] = await tx
        .update(schema.controlExceptions)
        .set({ status, decidedBy: approver.subject, decidedAt: nowIso() })
        .where(and(eq(schema.controlExceptions.id, exceptionId), eq(schema.controlExceptions.status, 'pending')))
        .returning();
      if (!marked) throw new ConflictError(`exception ${exceptionId} was decided meanwhile`);
      await history(
        tx,
        id,
        approver,
        `exception_${status}`,
        { [`exception:${exception.control}`]: { from: 'pending', to: status } },
        meta,
      );
      await audit(tx, {
        actor: approver,
        action: `exception_${approve ? 'approve' : 'reject'}`,
        outcome: 'allowed',
        appId: id,
        detail: `${status} the exception to ${exception.control} until ${new Date(exception.expiresAt).toISOString()}`,
        requestId: meta.requestId ?? null,
      });
    };
    await db.transaction(mark);
    // An approved exception changes what the policy sees: decide again.
    if (approve) await reevaluate(id, approver, meta);
    return exceptionById(id, exceptionId);
  }

  async function exceptionById(appId: string, exceptionId: string) {
    const [row] = await db
      .select()
      .from(schema.controlExceptions)
      .where(and(eq(schema.controlExceptions.id, exceptionId), eq(schema.controlExceptions.appId, appId)));
    if (!row) throw new NotFoundError(`no exception ${exceptionId}`);
    return exceptionView(row);
  }

  // ------------------------------------------------------------ tokens

  async function rotateToken(id: string, actor: Actor, meta: Meta = {}) {
    const token = issueToken();
    await db.transaction(async (tx) => {
      const app = await load(id, tx, true);
      if (app.state === 'purged') throw new ConflictError(`app ${id} was purged`);
      const now = nowIso();
      await tx
        .update(schema.appTokens)
        .set({ revokedAt: now })
        .where(and(eq(schema.appTokens.appId, id), isNull(schema.appTokens.revokedAt)));
      await tx
        .insert(schema.appTokens)
        .values({ id: randomUUID(), appId: id, sha256: token.sha256, createdAt: now, createdBy: actor.subject });
      await history(tx, id, actor, 'token_issued', { token: { from: 'previous (revoked)', to: 'new' } }, meta);
      await audit(tx, {
        actor,
        action: 'token_issue',
        outcome: 'allowed',
        appId: id,
        detail: `issued a new pipeline token for ${app.name}; the previous one is revoked`,
        requestId: meta.requestId ?? null,
      });
    });
    return token.token;
  }

  /** The app's live tokens (id and hash) for the evidence route's constant-time comparison. */
  async function liveTokens(id: string) {
    return db
      .select({ id: schema.appTokens.id, sha256: schema.appTokens.sha256 })
      .from(schema.appTokens)
      .where(and(eq(schema.appTokens.appId, id), isNull(schema.appTokens.revokedAt)));
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Guarded transitions of a batch of apps, all in one state and locked by the caller, in its
   * transaction: one UPDATE … RETURNING whose WHERE repeats the condition (`guard`), so an app
   * another replica moved, or one restored meanwhile, is left alone; then one INSERT each for the
   * history, the audit, the events and (for `notify`) the owners' notices of the apps that moved.
   * Returns the apps that moved, as they are now.
   */
  async function transitionMany(
    tx: Tx,
    apps: AppRow[],
    to: AppState,
    actor: Actor,
    opts: {
      reason: (app: AppRow) => string;
      guard?: SQL;
      set?: PgUpdateSetSource<typeof schema.apps>;
      meta?: Meta;
      /** The owners' notice of each app that moved; its kind is the new state unless it names another. */
      notify?: (app: AppRow) => { kind?: string; title: string; text: string };
    },
  ): Promise<AppRow[]> {
    const first = apps[0];
    if (!first) return [];
    const from = first.state;
    if (apps.some((app) => app.state !== from)) throw new Error('a batch of transitions starts from one state');
    const now = nowIso();
    const moved = await tx
      .update(schema.apps)
      .set({ ...opts.set, state: to, stateChangedAt: now, updatedAt: now, version: sql`${schema.apps.version} + 1` })
      .where(
        and(
          inArray(
            schema.apps.id,
            apps.map((app) => app.id),
          ),
          eq(schema.apps.state, from),
          ...(opts.guard ? [opts.guard] : []),
        ),
      )
      .returning();
    if (moved.length === 0) return [];
    const after = new Map(moved.map((row) => [row.id, row]));
    const done = apps.flatMap((app) => {
      const next = after.get(app.id);
      return next ? [{ app, next, reason: opts.reason(app) }] : [];
    });
    await tx
      .insert(schema.appHistory)
      .values(
        done.map(({ app, reason }) =>
          historyRow(
            app.id,
            actor,
            to === 'purged' ? 'purged' : 'state_changed',
            { state: { from, to } },
            { ...opts.meta, detail: reason },
          ),
        ),
      );
    await tx.insert(schema.auditLog).values(
      done.map(({ app, reason }) =>
        auditRow({
          actor,
          action: `lifecycle.${to}`,
          outcome: 'allowed',
          appId: app.id,
          detail: `${app.name}: ${from} → ${to}: ${reason}`,
          requestId: opts.meta?.requestId ?? null,
        }),
      ),
    );
    await outbox.write(
      tx,
      done.map(({ next, reason }) => eventOf(next, 'state_changed', from, reason, actor)),
    );
    const notify = opts.notify;
    if (notify) {
      await tx.insert(schema.notifications).values(
        done.map(({ app }) => {
          const notice = notify(app);
          const kind = notice.kind ?? to;
          return { id: randomUUID(), appId: app.id, kind, title: notice.title, text: notice.text, createdAt: now };
        }),
      );
    }
    return done.map(({ next }) => next);
  }

  /** One guarded transition in the caller's transaction (see `transitionMany`); null if the app was left alone. */
  async function transition(
    tx: Tx,
    app: AppRow,
    to: AppState,
    reason: string,
    actor: Actor,
    opts: {
      guard?: SQL;
      set?: PgUpdateSetSource<typeof schema.apps>;
      meta?: Meta;
      notify?: { title: string; text: string };
    } = {},
  ): Promise<AppRow | null> {
    const { notify, ...rest } = opts;
    const [next] = await transitionMany(tx, [app], to, actor, {
      ...rest,
      reason: () => reason,
      ...(notify ? { notify: () => notify } : {}),
    });
    return next ?? null;
  }

  /** What a purge leaves: a tombstone without the app's references; evidence and tokens go. */
  const PURGED = {
    purpose: '',
    repository: null,
    endpoints: [],
    idpClientIds: [],
    cloudResourceIds: [],
    namespace: null,
    tags: [],
    // The tombstone stays findable by its name.
    searchText: sql`${schema.apps.name}`,
    disabledAt: null,
    purgeAfter: null,
  } satisfies PgUpdateSetSource<typeof schema.apps>;

  /** Purges a batch of archived apps locked by the caller (guarded as `transitionMany`); returns those purged. */
  async function purgeMany(
    tx: Tx,
    apps: AppRow[],
    reason: (app: AppRow) => string,
    actor: Actor,
    guard: SQL,
    meta?: Meta,
  ): Promise<AppRow[]> {
    const purged = await transitionMany(tx, apps, 'purged', actor, {
      reason,
      guard,
      set: PURGED,
      ...(meta ? { meta } : {}),
    });
    const ids = purged.map((row) => row.id);
    if (ids.length > 0) {
      await tx.delete(schema.evidence).where(inArray(schema.evidence.appId, ids));
      await tx.delete(schema.appTokens).where(inArray(schema.appTokens.appId, ids));
      await cancelTasks(tx, ids, actor.subject, nowIso());
    }
    return purged;
  }

  /** Owner or admin: a disabled app, or an archived one within its restore window, becomes active again. */
  async function restore(id: string, actor: Actor, isAdmin: boolean, meta: Meta = {}) {
    const row = await db.transaction(async (tx) => {
      const app = await load(id, tx, true);
      if (!isAdmin && app.ownerSubject !== actor.subject) {
        throw new NotAllowedError(
          `only the owner of ${app.name}${app.ownerSubject ? '' : ' (it has none on record)'} or an admin can restore it`,
          { appId: id },
        );
      }
      const now = clock();
      if (app.state === 'archived' && app.purgeAfter && new Date(app.purgeAfter).getTime() <= now.getTime()) {
        throw new ConflictError(
          `app ${id}'s restore window ended at ${new Date(app.purgeAfter).toISOString()}; it is being purged`,
        );
      }
      if (app.state !== 'disabled' && app.state !== 'archived' && app.state !== 'idle') {
        throw new ConflictError(`app ${id} is ${app.state}: only an idle, disabled or archived app can be restored`, {
          state: app.state,
        });
      }
      const next = await transition(tx, app, 'active', `restored by ${actor.name ?? actor.subject}`, actor, {
        set: { lastActivityAt: now.toISOString(), disabledAt: null, archivedAt: null, purgeAfter: null },
        meta,
      });
      if (!next) throw new ConflictError(`app ${id} changed meanwhile; try again`);
      return next;
    });
    return viewOf(row);
  }

  /** Admin: purge an archived app now (irreversible). */
  async function purge(id: string, actor: Actor, meta: Meta = {}) {
    const row = await db.transaction(async (tx) => {
      const app = await load(id, tx, true);
      if (app.state !== 'archived')
        throw new ConflictError(`app ${id} is ${app.state}: only an archived app can be purged`, { state: app.state });
      const [next] = await purgeMany(
        tx,
        [app],
        () => `purged by ${actor.name ?? actor.subject} before its restore window ended`,
        actor,
        sql`${schema.apps.state} = 'archived'`,
        meta,
      );
      if (!next) throw new ConflictError(`app ${id} changed meanwhile; try again`);
      return next;
    });
    return viewOf(row);
  }

  /** Approver: keep the app out of the automatic lifecycle until a date. */
  async function exempt(id: string, until: string | null, reason: string, actor: Actor, meta: Meta = {}) {
    const row = await db.transaction(async (tx) => {
      const app = await load(id, tx, true);
      if (app.state === 'purged') throw new ConflictError(`app ${id} was purged`);
      const now = nowIso();
      const [next] = await tx
        .update(schema.apps)
        .set({ lifecycleExemptUntil: until, updatedAt: now, version: app.version + 1 })
        .where(eq(schema.apps.id, id))
        .returning();
      await history(
        tx,
        id,
        actor,
        'exempted',
        {
          lifecycleExemptUntil: {
            from: app.lifecycleExemptUntil ? new Date(app.lifecycleExemptUntil).toISOString() : null,
            to: until,
          },
        },
        { ...meta, detail: reason },
      );
      await audit(tx, {
        actor,
        action: 'lifecycle_exemption',
        outcome: 'allowed',
        appId: id,
        detail: until
          ? `${app.name} exempt from the lifecycle until ${until}: ${reason}`
          : `${app.name}'s lifecycle exemption ended: ${reason}`,
        requestId: meta.requestId ?? null,
      });
      return next!;
    });
    return viewOf(row);
  }

  /**
   * Activity seen (an incident, a pipeline, a gateway): last activity moves forward; an idle app
   * becomes active again. Returns whether an app matched.
   */
  async function recordActivity(
    match: { id: string } | { name: string },
    at: Date,
    source: string,
    tx?: Tx,
  ): Promise<boolean> {
    const run = async (t: Tx) => {
      const where =
        'id' in match
          ? eq(schema.apps.id, match.id)
          : and(eq(schema.apps.name, match.name), ne(schema.apps.state, 'purged'));
      const [app] = await t.select().from(schema.apps).where(where).for('update');
      if (!app || app.state === 'purged') return false;
      const atIso = new Date(Math.min(at.getTime(), clock().getTime())).toISOString();
      if (new Date(atIso) > new Date(app.lastActivityAt)) {
        await t.update(schema.apps).set({ lastActivityAt: atIso }).where(eq(schema.apps.id, app.id));
      }
      if (app.state === 'idle') {
        await transition(t, { ...app, lastActivityAt: atIso }, 'active', `activity seen (${source})`, {
          type: 'system',
          subject: 'activity',
          name: source,
        });
      }
      return true;
    };
    return tx ? run(tx) : db.transaction(run);
  }

  /**
   * recordActivity for many apps by id in a few statements, for discovery's batches: last
   * activity moves forward, to within ACTIVITY_STEP_MS. An app's row is written only when the
   * seen time is at least that step later than the stored one, or when the app is idle (it
   * becomes active: rare, one transition each); every other app is not even locked. Discovery
   * sees the same busy apps in every batch, and rewriting their rows each time (no update of
   * `apps` is HOT: `last_activity_at` is indexed, and the row carries the search vector) bloated
   * the table until one batch's UPDATE took most of a second. The apps written are locked in id
   * order, like every writer of several apps. Purged and unknown ids are left alone. Returns the
   * ids whose row was written.
   */
  async function recordActivities(seen: ReadonlyMap<string, Date>, source: string, tx: Tx): Promise<string[]> {
    if (seen.size === 0) return [];
    const now = clock().getTime();
    const ids = [...seen.keys()].sort();
    const ats = ids.map((id) => new Date(Math.min(seen.get(id)!.getTime(), now)).toISOString());
    const a = schema.apps;
    const seenAt = sql`unnest(${sql.param(ids)}::text[], ${sql.param(ats)}::timestamptz[]) as v(id, at)`;
    const due = await tx.execute<{ id: string; state: AppState }>(sql`
      select ${a.id} as id, ${a.state} as state from ${a} join ${seenAt} on ${a.id} = v.id
      where ${a.state} <> 'purged'
        and (${a.state} = 'idle' or v.at >= ${a.lastActivityAt} + ${`${ACTIVITY_STEP_MS} milliseconds`}::interval)
      order by ${a.id} for update of apps`);
    if (due.rows.length === 0) return [];
    const dueIds = due.rows.map((r) => r.id);
    await tx.execute(sql`
      update ${a} set last_activity_at = v.at from ${seenAt}
      where ${a.id} = v.id and ${a.id} = any(${sql.param(dueIds)}::text[]) and v.at > ${a.lastActivityAt}`);
    const idle = due.rows.filter((r) => r.state === 'idle').map((r) => r.id);
    if (idle.length > 0) {
      for (const app of await tx.select().from(a).where(inArray(a.id, idle)).orderBy(a.id)) {
        await transition(tx, app, 'active', `activity seen (${source})`, {
          type: 'system',
          subject: 'activity',
          name: source,
        });
      }
    }
    return dueIds;
  }

  // ------------------------------------------------------------ import

  /**
   * An import, all or nothing: apps new by name are registered (origin import/backstage, the
   * file's state), known ones updated (their lifecycle kept); every one decided by the policy in
   * one request. Held decisions (OPA down) are recorded as such and re-evaluated by the sweep.
   */
  async function importApps(
    parsed: ImportParse,
    source: 'import' | 'backstage',
    actor: Actor,
    meta: Meta & { file?: string } = {},
  ) {
    const names = parsed.apps.map((a) => a.fields.name);
    const existing = names.length
      ? await db
          .select()
          .from(schema.apps)
          .where(and(inArray(schema.apps.name, names), ne(schema.apps.state, 'purged')))
      : [];
    const byName = new Map(existing.map((r) => [r.name, r]));
    const inputs: Record<string, PolicyInput> = {};
    for (const app of parsed.apps)
      inputs[app.fields.name] = await inputFor(app.fields, byName.get(app.fields.name) ?? null);
    const results = await policy.decideMany(inputs);
    const summary = { created: 0, updated: 0, unchanged: 0, skipped: parsed.skipped };
    const ids: Record<string, string> = {};
    await db.transaction(async (tx) => {
      for (const app of parsed.apps) {
        const known = byName.get(app.fields.name);
        const result = results[app.fields.name] ?? { kind: 'held', reason: 'no decision' };
        if (known) {
          const locked = await load(known.id, tx, true);
          if (locked.version !== known.version)
            throw new ConflictError(`app ${known.name} changed during the import; import again`);
          const changes = diff(
            fieldsOf(locked) as unknown as Record<string, unknown>,
            app.fields as unknown as Record<string, unknown>,
          );
          ids[app.fields.name] = known.id;
          if (Object.keys(changes).length === 0) {
            summary.unchanged += 1;
            continue;
          }
          const [updated] = await tx
            .update(schema.apps)
            .set({ ...columnsOf(app.fields), updatedAt: nowIso(), version: locked.version + 1 })
            .where(eq(schema.apps.id, known.id))
            .returning();
          await history(tx, known.id, actor, 'imported', changes, {
            ...meta,
            detail: `row ${app.row} of ${meta.file ?? 'an import'}`,
          });
          await ownerChanged(tx, updated!, fieldsOf(locked), app.fields, 'owner_dropped_by_import', actor, nowIso());
          await applyDecision(tx, updated!, result, actor, { ...meta, sameChange: true });
          summary.updated += 1;
        } else {
          const row = await insertImported(tx, app, result, source, actor, meta);
          ids[app.fields.name] = row.id;
          summary.created += 1;
        }
      }
      await audit(tx, {
        actor,
        action: 'import',
        outcome: 'allowed',
        detail: `imported ${parsed.apps.length} app(s) from ${meta.file ?? source}: ${summary.created} new, ${summary.updated} updated, ${summary.unchanged} unchanged, ${parsed.skipped.length} entities of other kinds skipped`,
        requestId: meta.requestId ?? null,
      });
    });
    return { ...summary, ids };
  }

  async function insertImported(
    tx: Tx,
    app: ImportedApp,
    result: PolicyResult,
    source: 'import' | 'backstage',
    actor: Actor,
    meta: Meta,
  ) {
    const now = nowIso();
    const summary = summarise(result, now);
    const state = app.state;
    const restoreWindow = settings.restoreWindowDays * DAY_MS;
    const [row] = await tx
      .insert(schema.apps)
      .values({
        id: newAppId(),
        ...columnsOf(app.fields),
        state,
        stateChangedAt: now,
        tier: summary.tier,
        riskScore: summary.score,
        decision: summary,
        openViolations: openViolations(summary),
        requestedBy: actor.subject,
        lastActivityAt: app.lastActivityAt ?? now,
        disabledAt: state === 'disabled' ? now : null,
        archivedAt: state === 'archived' ? now : null,
        purgeAfter: state === 'archived' ? new Date(clock().getTime() + restoreWindow).toISOString() : null,
        origin: source,
        originRef: app.originRef,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    const created = row!;
    await recordDecision(tx, created.id, summary, 'policy');
    await history(tx, created.id, actor, 'imported', diff(null, { ...app.fields, state, tier: summary.tier }), {
      ...meta,
      detail: `row ${app.row}`,
    });
    if (!app.fields.owner) {
      await openTask(tx, created, {
        reason: 'no_owner',
        detail: `imported without an owner (row ${app.row})`,
        previousOwner: null,
        by: actor.subject,
        at: now,
      });
    }
    await publish(tx, created, 'registered', null, `imported (${source}), decision ${summary.outcome}`, actor);
    return created;
  }

  return {
    db,
    load,
    audit,
    history,
    publish,
    transition,
    transitionMany,
    purgeMany,
    inputFor,
    applyDecision,
    reevaluate,
    register,
    update,
    addEvidence,
    approve,
    reject,
    requestException,
    decideException,
    rotateToken,
    liveTokens,
    restore,
    purge,
    exempt,
    recordActivity,
    recordActivities,
    importApps,
    nowIso,
  };
}

export type Registry = ReturnType<typeof createRegistry>;

export function exceptionView(row: typeof schema.controlExceptions.$inferSelect) {
  return {
    id: row.id,
    appId: row.appId,
    control: row.control,
    reason: row.reason,
    status: row.status,
    requestedBy: row.requestedBy,
    requestedAt: new Date(row.requestedAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt ? new Date(row.decidedAt).toISOString() : null,
  };
}

export type { AppView };
