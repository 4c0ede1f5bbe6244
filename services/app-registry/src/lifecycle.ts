import type { RiskTier } from '@micro-oncall/incident-model';
import { Counter, type Logger, type Registry as MetricsRegistry } from '@micro-oncall/service-kit';
import { and, asc, eq, isNull, lt, lte, or, type SQL, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import type { AppState } from './model.js';
import type { Actor, Clock, LifecycleSettings, Registry, Tx } from './store.js';
import type { AppRow } from './views.js';

/*
 * The automatic lifecycle: active → idle (no activity for N days, per tier) → disabled (still
 * none after a while; owner notified) → archived (after a grace period; restorable) → purged
 * (when the restore window ends). One sweep does each step in batches; every transition is
 * guarded in its own UPDATE (the state and the due condition again), so a sweep is idempotent,
 * two replicas never make the same transition twice, and an app restored meanwhile is left
 * alone. It runs as a durable cron job (once across replicas, ADR 0006) on the service's clock.
 */

const DAY_MS = 86_400_000;
const BATCH = 200;

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

export interface SweepResult {
  idle: number;
  disabled: number;
  archived: number;
  purged: number;
  /** Held apps decided, and apps decided again because an exception of theirs expired. */
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
  const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'never');

  type Step = {
    to: 'idle' | 'disabled' | 'archived' | 'purged';
    apply(tx: Tx, app: AppRow, guard: SQL, now: Date): Promise<AppRow | null>;
  };

  const steps: Step[] = [
    {
      to: 'idle',
      apply: (tx, app, guard) => {
        const days = settings.idleAfterDays[app.tier ?? 'high'];
        return registry.transition(
          tx,
          app,
          'idle',
          `no activity since ${day(new Date(app.lastActivityAt).toISOString())} (tier ${app.tier ?? 'unknown'} idles after ${days} days)`,
          SWEEPER,
          { guard },
        );
      },
    },
    {
      to: 'disabled',
      apply: (tx, app, guard, now) => {
        const archiveOn = new Date(now.getTime() + settings.archiveAfterDisabledDays * DAY_MS).toISOString();
        return registry.transition(
          tx,
          app,
          'disabled',
          `still no activity ${settings.disableAfterIdleDays} days after it went idle: disabled; archived on ${day(archiveOn)} unless restored`,
          SWEEPER,
          {
            guard,
            set: { disabledAt: now.toISOString() },
            notify: {
              title: `${app.name} was disabled: no activity for a while`,
              text:
                `${app.name} (team ${app.teamName}) has had no activity since ${day(new Date(app.lastActivityAt).toISOString())} and was disabled. ` +
                `It will be archived on ${day(archiveOn)}. If it is still needed, its owner or an admin can restore it: POST /apps/v1/apps/${app.id}/restore.`,
            },
          },
        );
      },
    },
    {
      to: 'archived',
      apply: (tx, app, guard, now) => {
        const purgeAfter = new Date(now.getTime() + settings.restoreWindowDays * DAY_MS).toISOString();
        return registry.transition(
          tx,
          app,
          'archived',
          `disabled for ${settings.archiveAfterDisabledDays} days: archived; restorable until ${purgeAfter}`,
          SWEEPER,
          {
            guard,
            set: { archivedAt: now.toISOString(), purgeAfter },
            notify: {
              title: `${app.name} was archived`,
              text: `${app.name} (team ${app.teamName}) was archived. Its owner or an admin can restore it in one action until ${day(purgeAfter)}; after that it is purged for good.`,
            },
          },
        );
      },
    },
    {
      to: 'purged',
      apply: (tx, app, guard) =>
        registry.purgeIn(
          tx,
          app,
          `the ${settings.restoreWindowDays}-day restore window ended on ${app.purgeAfter ? new Date(app.purgeAfter).toISOString() : 'its date'}: purged`,
          SWEEPER,
          guard,
        ),
    },
  ];

  /** One pass over every step; returns the transitions made. Stops early when `signal` aborts. */
  async function sweep(signal?: AbortSignal): Promise<SweepResult> {
    const now = deps.clock();
    const due = dueConditions(cutoffs(now, settings));
    const result: SweepResult = { idle: 0, disabled: 0, archived: 0, purged: 0, reevaluated: 0 };
    for (const step of steps) {
      for (;;) {
        if (signal?.aborted) return result;
        const made = await registry.db.transaction(async (tx) => {
          // SKIP LOCKED: a replica sweeping at the same time takes other apps.
          const batch = await tx
            .select()
            .from(a)
            .where(due[step.to])
            .orderBy(asc(a.id))
            .limit(BATCH)
            .for('update', { skipLocked: true });
          let n = 0;
          for (const app of batch) if (await step.apply(tx, app, due[step.to], now)) n += 1;
          return { n, full: batch.length === BATCH };
        });
        result[step.to] += made.n;
        transitions.inc({ to: step.to }, made.n);
        if (!made.full) break;
      }
    }
    result.reevaluated = (await reevaluateExpiredExceptions(now, signal)) + (await reevaluateHeld(signal));
    if (Object.values(result).some((n) => n > 0)) deps.logger.info({ ...result }, 'lifecycle sweep');
    return result;
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
    let n = 0;
    for (const app of due) {
      if (signal?.aborted) break;
      const row = await registry.reevaluate(app.id, SWEEPER).catch((error: unknown) => {
        deps.logger.warn({ err: error, appId: app.id }, 're-evaluating after an expired exception failed');
        return null;
      });
      if (row) n += 1;
    }
    return n;
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
