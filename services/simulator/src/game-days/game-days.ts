import { randomUUID } from 'node:crypto';
import type { DrillPerson } from '@micro-oncall/incident-model';
import {
  ConflictError,
  InputError,
  type JobRunner,
  type Logger,
  NotAllowedError,
  NotFoundError,
  type Principal,
  ServiceError,
} from '@micro-oncall/service-kit';
import { and, desc, eq, isNull, lte, or } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { AuditWriter } from '../audit.js';
import * as schema from '../db/schema.js';
import type { Engine, ProposeInput } from '../engine.js';
import { iso, type RunRow } from '../model.js';
import { type ApprovalPolicy, approverProblem } from '../policy.js';
import type { ScenarioStore } from '../scenarios/store.js';
import { nextOccurrence } from './schedule.js';

/*
 * Recurring game days: a scenario version run on a cron schedule (in a time zone). Creating one
 * follows the rules of a run: what would need an approver as a run (high severity, production)
 * needs one here, a second person with a recent multi-factor sign-in (policy.ts). Once approved,
 * each occurrence starts a run without a new approval; the kill switch still refuses it, and the
 * occurrence is recorded as skipped with the reason.
 *
 * Time moves game days through the service's durable job runner, never in-memory timers: each
 * active game day holds one pending `game-day-occurrence` job (keyed by its id, so a replica
 * scheduling it again replaces it) at its next occurrence; the occurrence schedules the next one.
 * An occurrence is claimed once in `game_day_occurrences` (retries and a second replica find it
 * there) with its run id chosen up front, so a retried occurrence never starts a second run.
 * `sweep-game-days` (every minute) repairs what a crash between a commit and a schedule left.
 */

export const GAME_DAY_JOBS = { occur: 'game-day-occurrence', sweep: 'sweep-game-days' } as const;

/** An occurrence the job runner reaches later than this (the simulator was down) is skipped, not run late. */
export const MAX_LATENESS_SECONDS = 15 * 60;

type Db = NodePgDatabase<typeof schema>;
export type GameDayRow = typeof schema.gameDays.$inferSelect;
type OccurrenceRow = typeof schema.gameDayOccurrences.$inferSelect;

export interface GameDayInput extends ProposeInput {
  name: string;
  cron: string;
  timezone: string;
}

/** Who the audit log names for what the schedule itself does. */
const SCHEDULE_ACTOR: DrillPerson = { subject: 'simulator', name: 'game day schedule' };
const actorOf = (p: Pick<Principal, 'subject' | 'name'>): DrillPerson => ({ subject: p.subject, name: p.name });

export type GameDays = ReturnType<typeof createGameDays>;

export function createGameDays(opts: {
  db: Db;
  jobs: Pick<JobRunner, 'schedule' | 'cancel' | 'runNow'>;
  engine: Engine;
  scenarios: ScenarioStore;
  audit: AuditWriter;
  policy: ApprovalPolicy;
  logger: Logger;
}) {
  const { db, jobs, engine, audit, logger } = opts;

  const lock = async (tx: Pick<Db, 'select'>, id: string): Promise<GameDayRow> => {
    const [row] = await tx.select().from(schema.gameDays).where(eq(schema.gameDays.id, id)).for('update');
    if (!row) throw new NotFoundError(`no game day ${id}`);
    return row;
  };

  const nextAfter = (day: Pick<GameDayRow, 'cron' | 'timezone'>, after: Date) =>
    nextOccurrence(day.cron, day.timezone, after).toISOString();

  /** After a commit: the job for the game day's next occurrence (the minute sweep retries a failure). */
  const scheduleNext = async (day: GameDayRow) => {
    try {
      if (day.state === 'active' && day.nextOccurrenceAt) {
        const at = iso(day.nextOccurrenceAt);
        await jobs.schedule(GAME_DAY_JOBS.occur, { gameDayId: day.id, at }, { at: new Date(at), key: day.id });
      } else {
        await jobs.cancel(GAME_DAY_JOBS.occur, day.id);
      }
    } catch (error) {
      logger.error(
        { err: error, gameDayId: day.id },
        'the next game day occurrence could not be scheduled now; the minute sweep will',
      );
    }
  };

  const proposeInput = (day: GameDayRow): ProposeInput => ({
    scenario: day.scenarioId,
    version: day.scenarioVersion,
    environment: day.environment,
    ...(day.environment === 'production' ? { productionOptIn: true, reason: day.productionReason ?? undefined } : {}),
    ...(day.targets ? { targets: day.targets } : {}),
    maxDurationMinutes: day.maxDurationMinutes,
  });

  // ---------------------------------------------------------------------------------------------
  // People's actions

  async function create(input: GameDayInput, principal: Principal, requestId: string): Promise<GameDayRow> {
    const actor = actorOf(principal);
    const scenario = await opts.scenarios.get(input.scenario, input.version);
    if (!scenario) {
      const message =
        input.version === undefined
          ? `no scenario ${input.scenario}`
          : `${input.scenario} has no version ${input.version}`;
      const path = input.version === undefined ? 'scenario' : 'version';
      throw new InputError(`invalid game day: ${path}: ${message}`, { issues: [{ path, message }] });
    }
    // The checks a run of it gets now (production allowed, targets configured, duration), and its approval needs.
    const plan = await engine.prepare({ ...input, version: scenario.version }, 'game day');
    const needsApproval = plan.reasons.length > 0;
    const id = randomUUID();
    const row = await db.transaction(async (tx) => {
      const [created] = await tx
        .insert(schema.gameDays)
        .values({
          id,
          name: input.name,
          scenarioId: scenario.id,
          scenarioVersion: scenario.version,
          environment: plan.env,
          targets: input.targets ? [...new Set(input.targets)] : null,
          productionReason: plan.env === 'production' ? (input.reason ?? null) : null,
          maxDurationMinutes: plan.maxMinutes,
          cron: input.cron.trim(),
          timezone: input.timezone,
          state: needsApproval ? 'awaiting_approval' : 'active',
          severity: plan.severity,
          approvalReasons: plan.reasons,
          requestedBySubject: actor.subject,
          requestedByName: actor.name,
          nextOccurrenceAt: needsApproval ? null : nextAfter(input, new Date()),
        })
        .returning();
      await audit(
        {
          actor,
          action: 'game_day_create',
          outcome: 'succeeded',
          detail: `created game day ${input.name} (${plan.env} runs of ${scenario.id} v${scenario.version}, cron ${input.cron} ${input.timezone})${
            needsApproval ? `; it needs approval: ${plan.reasons.join('; ')}` : ''
          }`,
          requestId,
          scenarioId: scenario.id,
          request: { gameDayId: id, ...input },
        },
        tx,
      );
      return created!;
    });
    await scheduleNext(row);
    return row;
  }

  async function approve(id: string, principal: Principal, requestId: string): Promise<GameDayRow> {
    const actor = actorOf(principal);
    const row = await db.transaction(async (tx) => {
      const current = await lock(tx, id);
      if (current.state !== 'awaiting_approval') {
        throw new ConflictError(`the game day is ${current.state}: only a game day awaiting approval can be approved`);
      }
      const problem = approverProblem(
        principal,
        { requestedBySubject: current.requestedBySubject, what: 'game day' },
        opts.policy,
        Math.floor(Date.now() / 1000),
      );
      if (problem) throw new NotAllowedError(problem);
      const [approved] = await tx
        .update(schema.gameDays)
        .set({
          state: 'active',
          approvedBySubject: actor.subject,
          approvedByName: actor.name,
          approvedAt: new Date().toISOString(),
          nextOccurrenceAt: nextAfter(current, new Date()),
        })
        .where(eq(schema.gameDays.id, id))
        .returning();
      await audit(
        {
          actor,
          action: 'game_day_approve',
          outcome: 'succeeded',
          detail: `approved game day ${current.name} proposed by ${current.requestedByName ?? current.requestedBySubject}: its runs start without a new approval`,
          requestId,
          scenarioId: current.scenarioId,
          request: { gameDayId: id, signIn: principal.signIn ?? null },
        },
        tx,
      );
      return approved!;
    });
    await scheduleNext(row);
    return row;
  }

  /** Pauses (`active` → `paused`: no occurrence until resumed) or resumes a game day. */
  async function setPaused(id: string, paused: boolean, principal: Principal, requestId: string) {
    const actor = actorOf(principal);
    const row = await db.transaction(async (tx) => {
      const current = await lock(tx, id);
      const from = paused ? 'active' : 'paused';
      if (current.state !== from) {
        throw new ConflictError(
          `the game day is ${current.state}: only an ${from} game day can be ${paused ? 'paused' : 'resumed'}`,
        );
      }
      const [changed] = await tx
        .update(schema.gameDays)
        .set(
          paused
            ? { state: 'paused', nextOccurrenceAt: null }
            : { state: 'active', nextOccurrenceAt: nextAfter(current, new Date()) },
        )
        .where(eq(schema.gameDays.id, id))
        .returning();
      await audit(
        {
          actor,
          action: paused ? 'game_day_pause' : 'game_day_resume',
          outcome: 'succeeded',
          detail: `${paused ? 'paused' : 'resumed'} game day ${current.name}`,
          requestId,
          scenarioId: current.scenarioId,
          request: { gameDayId: id },
        },
        tx,
      );
      return changed!;
    });
    await scheduleNext(row);
    return row;
  }

  /** Deletes a game day and its occurrence history (its runs and the audit log stay). */
  async function remove(id: string, principal: Principal, requestId: string): Promise<void> {
    const actor = actorOf(principal);
    await db.transaction(async (tx) => {
      const current = await lock(tx, id);
      await tx.delete(schema.gameDays).where(eq(schema.gameDays.id, id));
      await audit(
        {
          actor,
          action: 'game_day_delete',
          outcome: 'succeeded',
          detail: `deleted game day ${current.name} (${current.cron} ${current.timezone}, ${current.scenarioId} v${current.scenarioVersion})`,
          requestId,
          scenarioId: current.scenarioId,
          request: { gameDayId: id },
        },
        tx,
      );
    });
    await jobs.cancel(GAME_DAY_JOBS.occur, id).catch((error: unknown) => {
      // The occurrence finds no game day and does nothing.
      logger.warn({ err: error, gameDayId: id }, 'the deleted game day’s pending occurrence could not be cancelled');
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  const occurrenceFields = {
    gameDayId: schema.gameDayOccurrences.gameDayId,
    scheduledAt: schema.gameDayOccurrences.scheduledAt,
    runId: schema.gameDayOccurrences.runId,
    outcome: schema.gameDayOccurrences.outcome,
    reason: schema.gameDayOccurrences.reason,
    runState: schema.runs.state,
  };
  type OccurrenceView = Pick<OccurrenceRow, 'gameDayId' | 'scheduledAt' | 'runId' | 'outcome' | 'reason'> & {
    runState: RunRow['state'] | null;
  };
  const occurrenceView = (o: OccurrenceView) => ({
    scheduledAt: iso(o.scheduledAt),
    outcome: o.outcome ?? 'starting',
    reason: o.reason,
    // Only a started occurrence has a run.
    run: o.outcome === 'started' ? { id: o.runId, state: o.runState } : null,
  });

  const view = (day: GameDayRow, last: OccurrenceView | undefined) => ({
    id: day.id,
    name: day.name,
    scenario: { id: day.scenarioId, version: day.scenarioVersion },
    environment: day.environment,
    targets: day.targets,
    maxDurationMinutes: day.maxDurationMinutes,
    cron: day.cron,
    timezone: day.timezone,
    state: day.state,
    severity: day.severity,
    requestedBy: { subject: day.requestedBySubject, name: day.requestedByName },
    productionReason: day.productionReason,
    approval: {
      required: day.approvalReasons.length > 0,
      reasons: day.approvalReasons,
      approvedBy: day.approvedBySubject === null ? null : { subject: day.approvedBySubject, name: day.approvedByName },
      approvedAt: day.approvedAt === null ? null : iso(day.approvedAt),
    },
    nextOccurrenceAt: day.nextOccurrenceAt === null ? null : iso(day.nextOccurrenceAt),
    lastOccurrence: last ? occurrenceView(last) : null,
    createdAt: iso(day.createdAt),
  });

  const occurrences = () =>
    db
      .select(occurrenceFields)
      .from(schema.gameDayOccurrences)
      .leftJoin(schema.runs, eq(schema.runs.id, schema.gameDayOccurrences.runId));

  async function list() {
    const [days, lasts] = await Promise.all([
      db.select().from(schema.gameDays).orderBy(schema.gameDays.name, schema.gameDays.createdAt),
      db
        .selectDistinctOn([schema.gameDayOccurrences.gameDayId], occurrenceFields)
        .from(schema.gameDayOccurrences)
        .leftJoin(schema.runs, eq(schema.runs.id, schema.gameDayOccurrences.runId))
        .orderBy(schema.gameDayOccurrences.gameDayId, desc(schema.gameDayOccurrences.scheduledAt)),
    ]);
    const lastOf = new Map(lasts.map((o) => [o.gameDayId, o]));
    return days.map((d) => view(d, lastOf.get(d.id)));
  }

  async function get(id: string) {
    const [day] = await db.select().from(schema.gameDays).where(eq(schema.gameDays.id, id));
    if (!day) throw new NotFoundError(`no game day ${id}`);
    const recent = await occurrences()
      .where(eq(schema.gameDayOccurrences.gameDayId, id))
      .orderBy(desc(schema.gameDayOccurrences.scheduledAt))
      .limit(50);
    return { ...view(day, recent[0]), occurrences: recent.map(occurrenceView) };
  }

  // ---------------------------------------------------------------------------------------------
  // The schedule (jobs)

  /** Why the occurrence cannot start a run now, or null: the kill switch, a run still open, lateness. */
  async function obstacle(day: GameDayRow, scheduledAt: string): Promise<string | null> {
    const late = (Date.now() - Date.parse(scheduledAt)) / 1000;
    if (late > MAX_LATENESS_SECONDS) {
      return `missed: the simulator reached it ${Math.round(late / 60)} min late (more than ${MAX_LATENESS_SECONDS / 60} min); a drill is not started that late`;
    }
    const kill = await engine.killSwitch();
    if (kill.engaged) {
      return `the drill kill switch is engaged (by ${kill.changedByName ?? kill.changedBySubject ?? 'someone'}: ${kill.reason ?? 'no reason given'}); no drill may run until an approver re-arms it`;
    }
    const [open] = await db
      .select({ runId: schema.gameDayOccurrences.runId, state: schema.runs.state })
      .from(schema.gameDayOccurrences)
      .innerJoin(schema.runs, eq(schema.runs.id, schema.gameDayOccurrences.runId))
      .where(
        and(
          eq(schema.gameDayOccurrences.gameDayId, day.id),
          or(eq(schema.runs.state, 'running'), eq(schema.runs.state, 'awaiting_approval')),
        ),
      )
      .limit(1);
    if (open) return `the game day's previous run ${open.runId} is still ${open.state}`;
    return null;
  }

  /** Starts the occurrence's run, or says why it was skipped. */
  async function start(
    day: GameDayRow,
    occurrence: OccurrenceRow,
  ): Promise<{ outcome: 'started' | 'skipped'; reason: string | null }> {
    const [already] = await db
      .select({ id: schema.runs.id })
      .from(schema.runs)
      .where(eq(schema.runs.id, occurrence.runId));
    if (already) return { outcome: 'started', reason: null };
    const scheduledAt = iso(occurrence.scheduledAt);
    const blocked = await obstacle(day, scheduledAt);
    if (blocked) return { outcome: 'skipped', reason: blocked };
    if (day.approvalReasons.length === 0) {
      // Created when it needed no approver: if the policy now asks for one, that approval is missing.
      const plan = await engine.prepare(proposeInput(day), 'game day').catch(() => null);
      if (plan && plan.reasons.length > 0) {
        return {
          outcome: 'skipped',
          reason: `its runs now need an approver (${plan.reasons.join('; ')}) and the game day was never approved: create it again`,
        };
      }
    }
    try {
      await engine.propose(
        proposeInput(day),
        { subject: day.requestedBySubject, name: day.requestedByName },
        `game-day:${day.id}:${scheduledAt}`,
        {
          runId: occurrence.runId,
          ...(day.approvedBySubject && day.approvedAt
            ? {
                preApproved: {
                  by: { subject: day.approvedBySubject, name: day.approvedByName },
                  at: day.approvedAt,
                  gameDay: day.name,
                },
              }
            : {}),
        },
      );
      return { outcome: 'started', reason: null };
    } catch (error) {
      // A refusal (kill switch engaged meanwhile, production switched off, a target gone): skipped.
      if (error instanceof ServiceError && error.status < 500) return { outcome: 'skipped', reason: error.message };
      throw error;
    }
  }

  /** game-day-occurrence: one occurrence (at most one run, whatever the retries), then the next one scheduled. */
  async function occur({ gameDayId, at }: { gameDayId: string; at: string }): Promise<void> {
    const scheduledAt = iso(at);
    const claimed = await db.transaction(async (tx) => {
      const [day] = await tx.select().from(schema.gameDays).where(eq(schema.gameDays.id, gameDayId)).for('update');
      // Deleted, paused or not approved: nothing to do (resuming schedules afresh).
      if (day?.state !== 'active') return null;
      const [existing] = await tx
        .select()
        .from(schema.gameDayOccurrences)
        .where(
          and(
            eq(schema.gameDayOccurrences.gameDayId, gameDayId),
            eq(schema.gameDayOccurrences.scheduledAt, scheduledAt),
          ),
        );
      if (existing) return { day, occurrence: existing };
      // A job for an occurrence the game day no longer has (paused and resumed meanwhile).
      if (day.nextOccurrenceAt === null || Date.parse(day.nextOccurrenceAt) !== Date.parse(scheduledAt)) return null;
      const [occurrence] = await tx
        .insert(schema.gameDayOccurrences)
        .values({ gameDayId, scheduledAt, runId: randomUUID() })
        .returning();
      return { day, occurrence: occurrence! };
    });
    if (!claimed) return;
    const { day, occurrence } = claimed;
    if (occurrence.outcome === null) {
      const { outcome, reason } = await start(day, occurrence);
      await db.transaction(async (tx) => {
        await tx
          .update(schema.gameDayOccurrences)
          .set({ outcome, reason: reason?.slice(0, 2000) ?? null, recordedAt: new Date().toISOString() })
          .where(
            and(
              eq(schema.gameDayOccurrences.gameDayId, gameDayId),
              eq(schema.gameDayOccurrences.scheduledAt, scheduledAt),
            ),
          );
        if (outcome === 'skipped') {
          await audit(
            {
              actor: SCHEDULE_ACTOR,
              action: 'game_day_occurrence',
              outcome: 'denied',
              detail: `game day ${day.name}: the occurrence of ${scheduledAt} was skipped: ${reason}`,
              requestId: `game-day:${gameDayId}:${scheduledAt}`,
              scenarioId: day.scenarioId,
              request: { gameDayId, scheduledAt },
            },
            tx,
          );
        }
      });
      logger.info(
        { gameDayId, scheduledAt, outcome, reason, runId: outcome === 'started' ? occurrence.runId : undefined },
        'game day occurrence',
      );
    }
    // The next one: after this occurrence, never in the past (missed ones are not made up for).
    const next = await db.transaction(async (tx) => {
      const current = await lock(tx, gameDayId).catch(() => null);
      if (current?.state !== 'active') return null;
      if (current.nextOccurrenceAt !== null && Date.parse(current.nextOccurrenceAt) > Date.parse(scheduledAt))
        return current;
      const after = new Date(Math.max(Date.parse(scheduledAt), Date.now()));
      const [moved] = await tx
        .update(schema.gameDays)
        .set({ nextOccurrenceAt: nextAfter(current, after) })
        .where(eq(schema.gameDays.id, gameDayId))
        .returning();
      return moved!;
    });
    if (next) await scheduleNext(next);
  }

  /** sweep-game-days: an active game day whose occurrence is overdue (its job was lost) gets it now. */
  async function sweep(): Promise<number> {
    const overdue = new Date(Date.now() - 60_000).toISOString();
    const due = await db
      .select()
      .from(schema.gameDays)
      .where(
        and(
          eq(schema.gameDays.state, 'active'),
          or(isNull(schema.gameDays.nextOccurrenceAt), lte(schema.gameDays.nextOccurrenceAt, overdue)),
        ),
      );
    for (const day of due) {
      logger.warn(
        { gameDayId: day.id, next: day.nextOccurrenceAt },
        'sweep: game day occurrence overdue; running it now',
      );
      if (day.nextOccurrenceAt === null) {
        const [moved] = await db
          .update(schema.gameDays)
          .set({ nextOccurrenceAt: nextAfter(day, new Date()) })
          .where(and(eq(schema.gameDays.id, day.id), isNull(schema.gameDays.nextOccurrenceAt)))
          .returning();
        if (moved) await scheduleNext(moved);
      } else {
        await jobs.runNow(GAME_DAY_JOBS.occur, { gameDayId: day.id, at: iso(day.nextOccurrenceAt) }, { key: day.id });
      }
    }
    return due.length;
  }

  return { create, approve, setPaused, remove, list, get, occur, sweep };
}
