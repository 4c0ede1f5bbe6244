import type { RiskTier } from '@micro-oncall/incident-model';
import { Counter, type Logger, type Registry as MetricsRegistry } from '@micro-oncall/service-kit';
import { and, asc, eq, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import { DEFAULT_EVIDENCE_MAX_AGE_DAYS, EvidenceKind } from './evidence.js';
import type { AppState } from './model.js';
import type { Registry } from './store.js';
import type { Actor, Clock, LifecycleSettings, Tx } from './types.js';
import type { AppRow } from './views.js';

/*
 * The automatic lifecycle: active → idle (no activity for N days, per tier) → disabled (still
 * none after a while; owner notified) → archived (after a grace period; restorable) → purged
 * (when the restore window ends). One sweep does each step in batches; every transition is
 * guarded in its own UPDATE (the state and the due condition again), so a sweep is idempotent,
 * two replicas never make the same transition twice, and an app restored meanwhile is left
 * alone. It runs as a durable cron job (once across replicas, ADR 0006) on the service's clock.
 *
 * Owners are warned before each irreversible or disruptive step: when an app goes idle (in the
 * same transaction: the day it will be disabled), and a few days before an archived app is purged
 * (a notice whose id is derived from the app and when it was archived, so it is written once per
 * archiving whatever the sweeps, replicas and restarts do).
 */

const DAY_MS = 86_400_000;
export const SWEEP_BATCH = 200;
/** An archived app's owners are warned this many days before it is purged, unless configured otherwise. */
export const DEFAULT_PURGE_WARNING_DAYS = 7;

const day = (iso: string | Date | null) => (iso ? new Date(iso).toISOString().slice(0, 10) : 'never');

type NoticeText = { kind: string; title: string; text: string };
type NoticeApp = Pick<AppRow, 'id' | 'name' | 'teamName' | 'lastActivityAt'>;

/** The notice of an app that just went idle: the day it will be disabled, and how to keep it. */
export function disableWarning(
  app: NoticeApp,
  now: Date,
  s: Pick<LifecycleSettings, 'disableAfterIdleDays'>,
): NoticeText {
  const on = day(new Date(now.getTime() + s.disableAfterIdleDays * DAY_MS));
  return {
    kind: 'disable_warning',
    title: `${app.name} will be disabled on ${on}`,
    text:
      `${app.name} (team ${app.teamName}) has had no activity since ${day(app.lastActivityAt)} and is now idle. ` +
      `It will be disabled on ${on} unless there is activity or an exemption. ` +
      `If it is still needed, its owner or an admin can mark it active (POST /apps/v1/apps/${app.id}/restore), or an approver can exempt it (POST /apps/v1/apps/${app.id}/exemption).`,
  };
}

/** The notice of an archived app whose purge is near: the day it is purged, and how to restore it. */
export function purgeWarning(app: NoticeApp & Pick<AppRow, 'archivedAt'>, purgeOn: Date | string): NoticeText {
  const on = day(purgeOn);
  return {
    kind: 'purge_warning',
    title: `${app.name} will be purged on ${on}`,
    text:
      `${app.name} (team ${app.teamName}) was archived on ${day(app.archivedAt)} and will be purged on ${on}, for good: ` +
      `its references, evidence and tokens are deleted and it cannot be restored after that. ` +
      `Restore it before then if it is still needed: its owner or an admin can, in one action (POST /apps/v1/apps/${app.id}/restore).`,
  };
}

export interface Cutoffs {
  now: string;
  /** Active apps with no activity since before these go idle (per tier; no tier counts as high). */
  idle: Record<RiskTier, string>;
  /** Idle since before this, and still no activity: disabled. */
  disable: string;
  /** Disabled since before this: archived. */
  archive: string;
}

export function cutoffs(now: Date, s: LifecycleSettings): Cutoffs {
  const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  return {
    now: now.toISOString(),
    idle: {
      low: before(s.idleAfterDays.low),
      medium: before(s.idleAfterDays.medium),
      high: before(s.idleAfterDays.high),
    },
    disable: before(s.disableAfterIdleDays),
    archive: before(s.archiveAfterDisabledDays),
  };
}

const a = schema.apps;

/** The due condition of each step: the same SQL selects candidates and guards each UPDATE. */
export function dueConditions(c: Cutoffs): Record<'idle' | 'disabled' | 'archived' | 'purged', SQL> {
  const notExempt = or(isNull(a.lifecycleExemptUntil), lte(a.lifecycleExemptUntil, c.now))!;
  return {
    idle: and(
      eq(a.state, 'active'),
      notExempt,
      or(
        and(eq(a.tier, 'low'), lt(a.lastActivityAt, c.idle.low)),
        and(eq(a.tier, 'medium'), lt(a.lastActivityAt, c.idle.medium)),
        and(or(eq(a.tier, 'high'), isNull(a.tier)), lt(a.lastActivityAt, c.idle.high)),
      ),
    )!,
    disabled: and(eq(a.state, 'idle'), notExempt, lt(a.stateChangedAt, c.disable), lt(a.lastActivityAt, c.disable))!,
    archived: and(eq(a.state, 'disabled'), notExempt, lt(a.disabledAt, c.archive))!,
    purged: and(eq(a.state, 'archived'), notExempt, lte(a.purgeAfter, c.now))!,
  };
}

type Step = 'idle' | 'disabled' | 'archived' | 'purged';

/**
 * The order each step reads its candidates in, through the state's index, oldest due first, and
 * the bound of that read (past it nothing can be due).
 */
export const DUE_ORDER = {
  idle: {
    key: 'lastActivityAt',
    // The latest of the per-tier cutoffs: no active app after it is due.
    until: (c: Cutoffs) => lt(a.lastActivityAt, [c.idle.low, c.idle.medium, c.idle.high].sort().at(-1)!),
  },
  disabled: { key: 'stateChangedAt', until: (c: Cutoffs) => lt(a.stateChangedAt, c.disable) },
  archived: { key: 'disabledAt', until: (c: Cutoffs) => lt(a.disabledAt, c.archive) },
  purged: { key: 'purgeAfter', until: (c: Cutoffs) => lte(a.purgeAfter, c.now) },
} as const satisfies Record<Step, { key: keyof AppRow; until: (c: Cutoffs) => SQL }>;

/** Where a batch ended: the next one starts after it. */
export interface SweepPosition {
  value: string;
  id: string;
}

/** The WHERE and ORDER BY of a step's candidates: its due apps in due order, after the previous batch. */
export function candidateQuery(step: Step, c: Cutoffs, after: SweepPosition | null) {
  const order = a[DUE_ORDER[step].key];
  return {
    where: and(
      dueConditions(c)[step],
      DUE_ORDER[step].until(c),
      after ? sql`(${order}, ${a.id}) > (${after.value}::timestamptz, ${after.id})` : undefined,
    ),
    orderBy: [asc(order), asc(a.id)],
  };
}

export interface SweepResult {
  idle: number;
  disabled: number;
  archived: number;
  purged: number;
  /** Archived apps whose owners were warned of their purge. */
  purgeWarned: number;
  /** Held apps decided, and apps decided again because an exception of theirs expired or their evidence grew stale. */
  reevaluated: number;
}

const SWEEPER: Actor = { type: 'system', subject: 'lifecycle-sweep', name: 'lifecycle sweep' };

export function createLifecycle(deps: {
  registry: Registry;
  clock: Clock;
  settings: LifecycleSettings;
  logger: Logger;
  metrics: MetricsRegistry;
}) {
  const { registry, settings } = deps;
  const transitions = new Counter({
    name: 'app_registry_lifecycle_transitions_total',
    help: 'Automatic lifecycle transitions by target state',
    labelNames: ['to'] as const,
    registers: [deps.metrics],
  });

  type StepRun = {
    to: Step;
    /** Moves a batch of due apps locked by the caller; returns how many moved. */
    apply(tx: Tx, apps: AppRow[], guard: SQL, now: Date): Promise<number>;
  };

  const count = async (rows: Promise<AppRow[]>) => (await rows).length;

  const steps: StepRun[] = [
    {
      to: 'idle',
      apply: (tx, apps, guard, now) =>
        count(
          registry.transitionMany(tx, apps, 'idle', SWEEPER, {
            guard,
            reason: (app) =>
              `no activity since ${day(app.lastActivityAt)} (tier ${app.tier ?? 'unknown'} idles after ${settings.idleAfterDays[app.tier ?? 'high']} days)`,
            notify: (app) => disableWarning(app, now, settings),
          }),
        ),
    },
    {
      to: 'disabled',
      apply: (tx, apps, guard, now) => {
        const archiveOn = new Date(now.getTime() + settings.archiveAfterDisabledDays * DAY_MS).toISOString();
        return count(
          registry.transitionMany(tx, apps, 'disabled', SWEEPER, {
            guard,
            set: { disabledAt: now.toISOString() },
            reason: () =>
              `still no activity ${settings.disableAfterIdleDays} days after it went idle: disabled; archived on ${day(archiveOn)} unless restored`,
            notify: (app) => ({
              title: `${app.name} was disabled: no activity for a while`,
              text:
                `${app.name} (team ${app.teamName}) has had no activity since ${day(app.lastActivityAt)} and was disabled. ` +
                `It will be archived on ${day(archiveOn)}. If it is still needed, its owner or an admin can restore it: POST /apps/v1/apps/${app.id}/restore.`,
            }),
          }),
        );
      },
    },
    {
      to: 'archived',
      apply: (tx, apps, guard, now) => {
        const purgeAfter = new Date(now.getTime() + settings.restoreWindowDays * DAY_MS).toISOString();
        return count(
          registry.transitionMany(tx, apps, 'archived', SWEEPER, {
            guard,
            set: { archivedAt: now.toISOString(), purgeAfter },
            reason: () =>
              `disabled for ${settings.archiveAfterDisabledDays} days: archived; restorable until ${purgeAfter}`,
            notify: (app) => ({
              title: `${app.name} was archived`,
              text: `${app.name} (team ${app.teamName}) was archived. Its owner or an admin can restore it in one action until ${day(purgeAfter)}; after that it is purged for good.`,
            }),
          }),
        );
      },
    },
    {
      to: 'purged',
      apply: (tx, apps, guard) =>
        count(
          registry.purgeMany(
            tx,
            apps,
            (app) =>
              `the ${settings.restoreWindowDays}-day restore window ended on ${app.purgeAfter ? new Date(app.purgeAfter).toISOString() : 'its date'}: purged`,
            SWEEPER,
            guard,
          ),
        ),
    },
  ];

  /**
   * One pass over every step; returns the transitions made. Stops early when `signal` aborts.
   * Each step reads its due apps in batches through its state's index, in due order, each batch
   * after the previous one's last (keyset), so a sweep reads what is due and little else.
   */
  async function sweep(signal?: AbortSignal): Promise<SweepResult> {
    const now = deps.clock();
    const c = cutoffs(now, settings);
    const due = dueConditions(c);
    const result: SweepResult = { idle: 0, disabled: 0, archived: 0, purged: 0, purgeWarned: 0, reevaluated: 0 };
    for (const step of steps) {
      let after: SweepPosition | null = null;
      for (;;) {
        if (signal?.aborted) return result;
        const made: { n: number; last: SweepPosition | null } = await registry.db.transaction(async (tx) => {
          // SKIP LOCKED: a replica sweeping at the same time takes other apps.
          const { where, orderBy } = candidateQuery(step.to, c, after);
          const batch = await tx
            .select()
            .from(a)
            .where(where)
            .orderBy(...orderBy)
            .limit(SWEEP_BATCH)
            .for('update', { skipLocked: true });
          const n = await step.apply(tx, batch, due[step.to], now);
          // A full batch: there may be more after its last row.
          const last = batch.length === SWEEP_BATCH ? batch[SWEEP_BATCH - 1] : undefined;
          return { n, last: last ? { value: String(last[DUE_ORDER[step.to].key]), id: last.id } : null };
        });
        result[step.to] += made.n;
        transitions.inc({ to: step.to }, made.n);
        if (!made.last) break;
        after = made.last;
      }
    }
    result.purgeWarned = await warnBeforePurge(now, signal);
    result.reevaluated =
      (await reevaluateExpiredExceptions(now, signal)) +
      (await reevaluateStaleEvidence(now, signal)) +
      (await reevaluateHeld(signal));
    if (Object.values(result).some((n) => n > 0)) deps.logger.info({ ...result }, 'lifecycle sweep');
    return result;
  }

  /** When an archived app is purged: at the end of its restore window, or of its exemption if that is later. */
  const purgeOn = sql<string>`greatest(${a.purgeAfter}, ${a.lifecycleExemptUntil})`;
  /**
   * The id of an app's purge warning: derived from the app and the time it was archived (an
   * RFC 9562 version 8 UUID from an MD5), so there is one per archiving and writing it again does nothing.
   */
  const purgeWarningId = sql<string>`overlay(overlay(md5(${a.id} || '/purge_warning/' || extract(epoch from ${a.archivedAt})::text) placing '8' from 13) placing '8' from 17)::uuid`;

  /**
   * Warns the owners of archived apps purged within the next `purgeWarningDays` (and not yet
   * warned): a notice per app, written with its derived id (ON CONFLICT DO NOTHING), in batches
   * read through the purge index like the steps. Returns how many notices were written.
   */
  async function warnBeforePurge(now: Date, signal?: AbortSignal): Promise<number> {
    const horizon = new Date(
      now.getTime() + (settings.purgeWarningDays ?? DEFAULT_PURGE_WARNING_DAYS) * DAY_MS,
    ).toISOString();
    const n = schema.notifications;
    let after: SweepPosition | null = null;
    let warned = 0;
    for (;;) {
      if (signal?.aborted) return warned;
      const made: { n: number; last: SweepPosition | null } = await registry.db.transaction(async (tx) => {
        const batch = await tx
          .select({ app: a, noticeId: purgeWarningId, purgeOn })
          .from(a)
          .where(
            and(
              eq(a.state, 'archived'),
              lte(a.purgeAfter, horizon),
              sql`${purgeOn} > ${now.toISOString()}::timestamptz`,
              sql`${purgeOn} <= ${horizon}::timestamptz`,
              sql`not exists (select 1 from ${n} where ${n.id} = ${purgeWarningId})`,
              after ? sql`(${a.purgeAfter}, ${a.id}) > (${after.value}::timestamptz, ${after.id})` : undefined,
            ),
          )
          .orderBy(asc(a.purgeAfter), asc(a.id))
          .limit(SWEEP_BATCH)
          .for('update', { skipLocked: true });
        const written =
          batch.length === 0
            ? []
            : await tx
                .insert(n)
                .values(
                  batch.map((row) => ({
                    id: row.noticeId,
                    appId: row.app.id,
                    ...purgeWarning(row.app, row.purgeOn),
                    createdAt: now.toISOString(),
                  })),
                )
                .onConflictDoNothing()
                .returning({ id: n.id });
        const last = batch.length === SWEEP_BATCH ? batch[SWEEP_BATCH - 1]!.app : undefined;
        return { n: written.length, last: last ? { value: String(last.purgeAfter), id: last.id } : null };
      });
      warned += made.n;
      if (!made.last) return warned;
      after = made.last;
    }
  }

  /** Decides these apps again (one at a time, each in its own transaction); returns how many were. */
  async function decideAgain(apps: { id: string }[], why: string, signal?: AbortSignal): Promise<number> {
    let n = 0;
    for (const app of apps) {
      if (signal?.aborted) break;
      const row = await registry.reevaluate(app.id, SWEEPER).catch((error: unknown) => {
        deps.logger.warn({ err: error, appId: app.id }, `re-evaluating after ${why} failed`);
        return null;
      });
      if (row) n += 1;
    }
    return n;
  }

  /**
   * Apps with an exception that expired after their last decision: the control it excused counts
   * again (a violation, or a refusal while onboarding).
   */
  async function reevaluateExpiredExceptions(now: Date, signal?: AbortSignal): Promise<number> {
    const e = schema.controlExceptions;
    const due = await registry.db
      .selectDistinct({ id: e.appId })
      .from(e)
      .innerJoin(a, eq(a.id, e.appId))
      .where(
        and(
          eq(e.status, 'approved'),
          lte(e.expiresAt, now.toISOString()),
          sql`${e.expiresAt} > (${a.decision}->>'decidedAt')::timestamptz`,
          sql`${a.state} <> 'purged'`,
        ),
      )
      .limit(500);
    return decideAgain(due, 'an expired exception', signal);
  }

  /**
   * Apps whose latest evidence of a kind grew older than that kind may be after their last
   * decision: the control it backed fails again (a violation, with the evidence's age), until a
   * fresh document is posted. A batch per sweep, the longest stale first.
   */
  async function reevaluateStaleEvidence(now: Date, signal?: AbortSignal): Promise<number> {
    const e = schema.evidence;
    const maxAge = EvidenceKind.options.map(
      (kind) => sql`(${kind}, ${settings.evidenceMaxAgeDays?.[kind] ?? DEFAULT_EVIDENCE_MAX_AGE_DAYS[kind]}::int)`,
    );
    // When the latest document of its kind stops counting: received + (max age + 1) days (evidence.ts staleFrom).
    const staleAt = sql`${e.receivedAt} + (m.days + 1) * interval '1 day'`;
    const due = await registry.db
      .select({ id: e.appId })
      .from(e)
      .innerJoin(a, eq(a.id, e.appId))
      .innerJoin(sql`(values ${sql.join(maxAge, sql`, `)}) as m(kind, days)`, sql`m.kind = ${e.kind}::text`)
      .where(
        and(
          sql`${staleAt} <= ${now.toISOString()}::timestamptz`,
          sql`${staleAt} > (${a.decision}->>'decidedAt')::timestamptz`,
          sql`${a.state} <> 'purged'`,
          sql`not exists (select 1 from ${e} newer where newer.app_id = ${e.appId} and newer.kind = ${e.kind} and newer.seq > ${e.seq})`,
        ),
      )
      .groupBy(e.appId)
      .orderBy(sql`min(${staleAt})`)
      .limit(500);
    return decideAgain(due, 'evidence grew stale', signal);
  }

  /** Apps whose last decision was held (OPA was down): asked again, a batch per sweep. */
  async function reevaluateHeld(signal?: AbortSignal): Promise<number> {
    const held = await registry.db
      .select({ id: a.id, state: a.state })
      .from(a)
      .where(and(sql`${a.decision}->>'outcome' = 'hold'`, sql`${a.state} <> 'purged'`))
      .orderBy(asc(a.updatedAt))
      .limit(100);
    let n = 0;
    for (const app of held) {
      if (signal?.aborted) break;
      const row = await registry.reevaluate(app.id, SWEEPER).catch((error: unknown) => {
        deps.logger.warn({ err: error, appId: app.id }, 're-evaluating a held app failed');
        return null;
      });
      if (row && row.decision?.outcome !== 'hold') n += 1;
      else if (row) break; // still held: the engine is still unavailable, try at the next sweep
    }
    return n;
  }

  return { sweep };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
export type { AppState };
