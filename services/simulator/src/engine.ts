import { randomUUID } from 'node:crypto';
import type {
  DrillEnvironment,
  DrillEventKind,
  DrillPerson,
  DrillRunState,
  DrillTargetKind,
  Severity,
} from '@micro-oncall/incident-model';
import {
  advisoryLockKey,
  ConflictError,
  DependencyUnavailableError,
  InputError,
  type JobRunner,
  type Logger,
  NotAllowedError,
  NotFoundError,
  type Outbox,
  type Principal,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { AuditWriter } from './audit.js';
import * as schema from './db/schema.js';
import type { DrillMetrics } from './metrics.js';
import {
  type AlertRow,
  alertContent,
  dedupKeyOf,
  drillAlert,
  drillEvent,
  isFinal,
  type RunRow,
  type StepRow,
  stepRef,
} from './model.js';
import { type ApprovalPolicy, approvalReasons, approverProblem } from './policy.js';
import { alertsOf, highestSeverity, timelineSeconds } from './scenarios/definition.js';
import type { ScenarioStore } from './scenarios/store.js';
import type { DrillTarget, Targets } from './targets/index.js';

/*
 * The run state machine and everything that moves it. State lives in the database (runs, their
 * steps and the alerts they fired, the kill switch), so every replica sees the same thing and a
 * restart loses nothing. Time moves it through durable jobs (ADR 0006), never in-memory timers:
 *   advance-run   fires the steps that are due, in order, then schedules itself at the next one;
 *   expire-run    ends a run at its maximum duration (or a proposal nobody approved in time);
 *   settle-run    resolves everything a run that ended still has firing, retrying until done;
 *   resend-alerts sends a running run's firing Alertmanager alerts again, as real clients must;
 *   sweep-runs    (every minute) re-enqueues whatever one of the above should have done: a
 *                 crash between a commit and its job being scheduled costs at most a minute.
 * Every lifecycle change is written with its `drills` event (outbox) and its audit row in one
 * transaction. A run's steps and its settlement never overlap: both hold the run's advisory lock.
 */

export const JOBS = {
  advance: 'advance-run',
  expire: 'expire-run',
  settle: 'settle-run',
  resend: 'resend-alerts',
  sweep: 'sweep-runs',
} as const;

type Db = NodePgDatabase<typeof schema>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Jobs = Pick<JobRunner, 'schedule' | 'cancel' | 'runNow'>;
type Actor = DrillPerson;

export interface ProposeInput {
  scenario: string;
  version?: number | undefined;
  environment: DrillEnvironment;
  productionOptIn?: boolean | undefined;
  reason?: string | undefined;
  targets?: DrillTargetKind[] | undefined;
  maxDurationMinutes?: number | undefined;
}

export interface EngineOptions {
  db: Db;
  /** For the runs' advisory locks, held on one connection across a step's calls to targets. */
  pool: pg.Pool;
  outbox: Outbox;
  jobs: Jobs;
  targets: Targets;
  scenarios: ScenarioStore;
  audit: AuditWriter;
  logger: Logger;
  metrics: DrillMetrics;
  policy: ApprovalPolicy;
  productionAllowed: boolean;
  defaultMaxDurationMinutes: number;
  approvalTimeoutMinutes: number;
  resendSeconds: number;
}

/** Thrown by a job that must run again later (pg-boss retries it). */
class RetryLater extends Error {}

const OPEN_ALERT_STATES = ['sending', 'firing'] as const;
const actorOf = (p: Pick<Principal, 'subject' | 'name'>): Actor => ({ subject: p.subject, name: p.name });
const minutes = (seconds: number) => `${Math.round(seconds / 60)} min`;
/** `90` → `1m30s`: a step's offset as scenarios write it. */
const offsetText = (seconds: number) =>
  [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join('') || '0s';
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
/** The target refused (a 4xx other than 429): the alert is certainly not open there. */
const refused = (error: unknown) =>
  error instanceof UpstreamError && error.upstreamStatus !== null && error.upstreamStatus < 500;

export type Engine = ReturnType<typeof createEngine>;

export function createEngine(opts: EngineOptions) {
  const { db, outbox, jobs, targets, audit, logger, metrics } = opts;

  const lockRun = async (tx: Tx, runId: string): Promise<RunRow> => {
    const [run] = await tx.select().from(schema.runs).where(eq(schema.runs.id, runId)).for('update');
    if (!run) throw new NotFoundError(`no run ${runId}`);
    return run;
  };

  const killSwitchEngaged = async (tx: Tx, lock: 'share' | 'update'): Promise<boolean> => {
    const [row] = await tx.select().from(schema.killSwitch).where(eq(schema.killSwitch.id, 1)).for(lock);
    return row?.engaged ?? false;
  };

  const assertArmed = async (tx: Tx) => {
    if (await killSwitchEngaged(tx, 'share')) {
      throw new ConflictError('the drill kill switch is engaged: no drill may run until an approver re-arms it');
    }
  };

  const publish = (tx: Tx, run: RunRow, kind: DrillEventKind, o: Parameters<typeof drillEvent>[2] = {}) =>
    outbox.enqueue(tx, 'drills', drillEvent(run, kind, o));

  /** Ends `run` (in `tx`): its state, who and why, its steps not yet fired skipped, its event. */
  const finish = async (
    tx: Tx,
    run: RunRow,
    state: Extract<DrillRunState, 'rejected' | 'completed' | 'aborted' | 'expired' | 'failed'>,
    o: { actor?: Actor | null; reason: string; failure?: RunRow['failure']; step?: StepRow },
  ): Promise<RunRow> => {
    const [ended] = await tx
      .update(schema.runs)
      .set({
        state,
        endedAt: new Date().toISOString(),
        endedBySubject: o.actor?.subject ?? null,
        endedByName: o.actor?.name ?? null,
        endReason: o.reason.slice(0, 2000),
        ...(o.failure ? { failure: o.failure } : {}),
      })
      .where(eq(schema.runs.id, run.id))
      .returning();
    await tx
      .update(schema.runSteps)
      .set({ state: 'skipped' })
      .where(and(eq(schema.runSteps.runId, run.id), eq(schema.runSteps.state, 'pending')));
    await publish(tx, ended!, state, {
      actor: o.actor ?? null,
      reason: o.reason,
      ...(o.step && o.failure ? { step: stepRef(o.step, { target: o.failure.target, error: o.failure.error }) } : {}),
    });
    metrics.ended.inc({ environment: run.environment, outcome: state });
    return ended!;
  };

  /** After a commit: a job that the sweep would otherwise schedule within a minute. */
  const afterCommit = async (what: string, runId: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      logger.error({ err: error, runId }, `${what} could not be scheduled now; the minute sweep will do it`);
    }
  };

  const scheduleRunning = (run: RunRow) =>
    afterCommit('the run', run.id, async () => {
      const startedAt = Date.parse(run.startedAt!);
      const [first] = await db
        .select({ offset: schema.runSteps.offsetSeconds })
        .from(schema.runSteps)
        .where(eq(schema.runSteps.runId, run.id))
        .orderBy(asc(schema.runSteps.index))
        .limit(1);
      await jobs.schedule(
        JOBS.advance,
        { runId: run.id },
        { at: new Date(startedAt + (first?.offset ?? 0) * 1000), key: run.id },
      );
      await jobs.schedule(JOBS.expire, { runId: run.id }, { at: new Date(run.expiresAt), key: run.id });
      if (run.targets.includes('alertmanager')) {
        await jobs.schedule(
          JOBS.resend,
          { runId: run.id },
          { at: new Date(startedAt + opts.resendSeconds * 1000), key: run.id },
        );
      }
    });

  /** After a run ended: resolve what it fired, and drop its pending jobs. */
  const scheduleSettle = (runId: string) =>
    afterCommit('resolving the run', runId, async () => {
      await jobs.runNow(JOBS.settle, { runId }, { key: runId });
      await Promise.all([JOBS.advance, JOBS.expire, JOBS.resend].map((name) => jobs.cancel(name, runId)));
    });

  /**
   * Runs `fn` holding the run's advisory lock (on a connection of its own, so it spans the calls
   * to targets). `try`: give up at once when another replica or job holds it; `wait`: wait up to
   * 30 s, then ask the job to be retried.
   */
  const withRunLock = async (runId: string, mode: 'try' | 'wait', fn: () => Promise<void>): Promise<boolean> => {
    const key = advisoryLockKey('simulator', 'run', runId);
    const client = await opts.pool.connect();
    let broken: Error | undefined;
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [key]);
        if (rows[0]?.ok) break;
        if (mode === 'try') return false;
        if (Date.now() > deadline) throw new RetryLater(`run ${runId} is busy (a step is being fired); will retry`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      try {
        await fn();
      } finally {
        await client.query('select pg_advisory_unlock($1::bigint)', [key]).catch((error: Error) => {
          broken = error;
        });
      }
      return true;
    } finally {
      client.release(broken);
    }
  };

  const getRun = async (runId: string) => (await db.select().from(schema.runs).where(eq(schema.runs.id, runId)))[0];

  // ---------------------------------------------------------------------------------------------
  // People's actions

  /**
   * What a run of `input` would be, checked against the deployment, the scenario and the targets
   * (throws the refusal a request gets): also what a game day is checked against when created.
   */
  async function prepare(input: ProposeInput, what: 'run' | 'game day' = 'run') {
    const env = input.environment;
    if (env === 'production' && !opts.productionAllowed) {
      throw new NotAllowedError(
        'production drills are switched off in this deployment (PRODUCTION_DRILLS_ALLOWED): run it in staging',
      );
    }
    const scenario = await opts.scenarios.get(input.scenario, input.version);
    if (!scenario) {
      throw new NotFoundError(
        input.version === undefined
          ? `no scenario ${input.scenario}`
          : `scenario ${input.scenario} has no version ${input.version}`,
      );
    }
    const definition = scenario.definition;
    const field = (path: string, message: string) =>
      new InputError(`invalid ${what}: ${path}: ${message}`, { issues: [{ path, message }] });
    if (env === 'production' && definition.environment !== 'production') {
      throw field(
        'environment',
        `scenario ${definition.id} is written for staging; only production scenarios run in production`,
      );
    }
    const available = targets.available()[env];
    const chosen = input.targets ?? available;
    if (chosen.length === 0) throw field('targets', `no drill target is configured for ${env} in this deployment`);
    for (const [i, kind] of chosen.entries()) {
      if (!available.includes(kind)) {
        throw field(
          `targets.${i}`,
          `${kind} is not configured for ${env} drills here (configured: ${available.join(', ') || 'none'})`,
        );
      }
    }
    const maxMinutes = input.maxDurationMinutes ?? definition.maxDurationMinutes ?? opts.defaultMaxDurationMinutes;
    const needed = timelineSeconds(definition);
    if (maxMinutes * 60 <= needed) {
      throw field(
        'maxDurationMinutes',
        `the timeline of ${definition.id} lasts ${minutes(needed)}; ask for at least ${Math.floor(needed / 60) + 1} minutes`,
      );
    }
    const severity: Severity = highestSeverity(definition);
    const reasons = approvalReasons({ severity, environment: env }, opts.policy);
    return { env, scenario, chosen, maxMinutes, severity, reasons };
  }

  /**
   * Proposes a run: it starts at once unless it needs approval. A game day's occurrence passes
   * `preApproved` (the game day's approval stands for each of its runs) and its own run id.
   */
  async function propose(
    input: ProposeInput,
    principal: Pick<Principal, 'subject' | 'name'>,
    requestId: string,
    o: { runId?: string; preApproved?: { by: Actor; at: string; gameDay: string } } = {},
  ): Promise<RunRow> {
    const actor = actorOf(principal);
    const { env, scenario, chosen, maxMinutes, severity, reasons } = await prepare(input);
    const definition = scenario.definition;
    const preApproved = reasons.length > 0 ? o.preApproved : undefined;
    const needsApproval = reasons.length > 0 && !preApproved;
    const now = Date.now();
    const id = o.runId ?? randomUUID();
    const run = await db.transaction(async (tx) => {
      await assertArmed(tx);
      const [created] = await tx
        .insert(schema.runs)
        .values({
          id,
          scenarioId: scenario.id,
          scenarioVersion: scenario.version,
          scenarioName: scenario.name,
          team: scenario.team,
          environment: env,
          state: needsApproval ? 'awaiting_approval' : 'running',
          severity,
          targets: [...new Set(chosen)],
          requestedBySubject: actor.subject,
          requestedByName: actor.name,
          productionReason: env === 'production' ? (input.reason ?? null) : null,
          approvalReasons: reasons,
          ...(preApproved
            ? {
                approvedBySubject: preApproved.by.subject,
                approvedByName: preApproved.by.name,
                approvedAt: preApproved.at,
              }
            : {}),
          maxDurationSeconds: maxMinutes * 60,
          createdAt: new Date(now).toISOString(),
          startedAt: needsApproval ? null : new Date(now).toISOString(),
          expiresAt: new Date(
            now + (needsApproval ? opts.approvalTimeoutMinutes * 60 : maxMinutes * 60) * 1000,
          ).toISOString(),
        })
        .returning();
      await tx.insert(schema.runSteps).values(
        definition.timeline.map((step, index) => ({
          runId: id,
          index,
          offsetSeconds: step.at,
          spec: step,
          alerts: alertsOf(step, []),
          dueAt: needsApproval ? null : new Date(now + step.at * 1000).toISOString(),
        })),
      );
      await audit(
        {
          actor,
          action: 'run_propose',
          outcome: 'succeeded',
          detail: needsApproval
            ? `proposed a ${env} run of ${scenario.id} v${scenario.version}; it needs approval: ${reasons.join('; ')}`
            : `started a ${env} run of ${scenario.id} v${scenario.version}${
                preApproved
                  ? ` for game day ${preApproved.gameDay} (approved by ${preApproved.by.name ?? preApproved.by.subject})`
                  : ''
              }`,
          requestId,
          runId: id,
          scenarioId: scenario.id,
          request: input,
        },
        tx,
      );
      await publish(tx, created!, 'proposed', {
        actor,
        reason: env === 'production' ? `production: ${input.reason}` : null,
      });
      if (!needsApproval) await publish(tx, created!, 'started', { actor });
      return created!;
    });
    metrics.proposed.inc({ environment: env, approval: needsApproval ? 'required' : 'not_required' });
    if (needsApproval) {
      await afterCommit('the proposal expiry', run.id, () =>
        jobs.schedule(JOBS.expire, { runId: run.id }, { at: new Date(run.expiresAt), key: run.id }),
      );
    } else {
      metrics.started.inc({ environment: env });
      await scheduleRunning(run);
    }
    return run;
  }

  async function approve(runId: string, principal: Principal, requestId: string): Promise<RunRow> {
    const actor = actorOf(principal);
    const run = await db.transaction(async (tx) => {
      const current = await lockRun(tx, runId);
      if (current.state !== 'awaiting_approval') {
        throw new ConflictError(`the run is ${current.state}: only a run awaiting approval can be approved`);
      }
      const problem = approverProblem(
        principal,
        { requestedBySubject: current.requestedBySubject, what: 'run' },
        opts.policy,
        Math.floor(Date.now() / 1000),
      );
      if (problem) throw new NotAllowedError(problem);
      await assertArmed(tx);
      const now = new Date();
      const [started] = await tx
        .update(schema.runs)
        .set({
          state: 'running',
          approvedBySubject: actor.subject,
          approvedByName: actor.name,
          approvedAt: now.toISOString(),
          startedAt: now.toISOString(),
          expiresAt: new Date(now.getTime() + current.maxDurationSeconds * 1000).toISOString(),
        })
        .where(eq(schema.runs.id, runId))
        .returning();
      await tx
        .update(schema.runSteps)
        .set({ dueAt: sql`${now.toISOString()}::timestamptz + ${schema.runSteps.offsetSeconds} * interval '1 second'` })
        .where(eq(schema.runSteps.runId, runId));
      await audit(
        {
          actor,
          action: 'run_approve',
          outcome: 'succeeded',
          detail: `approved and started the ${current.environment} run of ${current.scenarioId} v${current.scenarioVersion} proposed by ${current.requestedByName ?? current.requestedBySubject}`,
          requestId,
          runId,
          scenarioId: current.scenarioId,
          request: { signIn: principal.signIn ?? null },
        },
        tx,
      );
      await publish(tx, started!, 'approved', { actor });
      await publish(tx, started!, 'started', { actor });
      return started!;
    });
    metrics.started.inc({ environment: run.environment });
    await scheduleRunning(run);
    return run;
  }

  async function reject(runId: string, principal: Principal, reason: string, requestId: string): Promise<RunRow> {
    const actor = actorOf(principal);
    const run = await db.transaction(async (tx) => {
      const current = await lockRun(tx, runId);
      if (current.state !== 'awaiting_approval') {
        throw new ConflictError(`the run is ${current.state}: only a run awaiting approval can be rejected`);
      }
      const ended = await finish(tx, current, 'rejected', { actor, reason });
      await audit(
        {
          actor,
          action: 'run_reject',
          outcome: 'succeeded',
          detail: `rejected: ${reason}`,
          requestId,
          runId,
          scenarioId: current.scenarioId,
          request: { reason },
        },
        tx,
      );
      return ended;
    });
    await afterCommit('dropping the proposal expiry', runId, () => jobs.cancel(JOBS.expire, runId));
    return run;
  }

  async function abort(runId: string, principal: Principal, reason: string, requestId: string): Promise<RunRow> {
    const actor = actorOf(principal);
    const run = await db.transaction(async (tx) => {
      const current = await lockRun(tx, runId);
      if (isFinal(current.state)) throw new ConflictError(`the run has already ended (${current.state})`);
      const ended = await finish(tx, current, 'aborted', { actor, reason: `aborted: ${reason}` });
      await audit(
        {
          actor,
          action: 'run_abort',
          outcome: 'succeeded',
          detail: `aborted: ${reason}`,
          requestId,
          runId,
          scenarioId: current.scenarioId,
          request: { reason },
        },
        tx,
      );
      return ended;
    });
    await scheduleSettle(runId);
    return run;
  }

  async function killSwitch() {
    const [row] = await db.select().from(schema.killSwitch).where(eq(schema.killSwitch.id, 1));
    return row ?? { id: 1, engaged: false, changedAt: null, changedBySubject: null, changedByName: null, reason: null };
  }

  async function engageKillSwitch(principal: Principal, reason: string, requestId: string) {
    const actor = actorOf(principal);
    const stopped = await db.transaction(async (tx) => {
      await killSwitchEngaged(tx, 'update');
      await tx
        .update(schema.killSwitch)
        .set({
          engaged: true,
          changedAt: new Date().toISOString(),
          changedBySubject: actor.subject,
          changedByName: actor.name,
          reason,
        })
        .where(eq(schema.killSwitch.id, 1));
      const open = await tx
        .select()
        .from(schema.runs)
        .where(inArray(schema.runs.state, ['awaiting_approval', 'running']))
        .orderBy(asc(schema.runs.createdAt))
        .for('update');
      const ended: RunRow[] = [];
      for (const run of open) {
        ended.push(await finish(tx, run, 'aborted', { actor, reason: `kill switch engaged: ${reason}` }));
      }
      await audit(
        {
          actor,
          action: 'kill_switch_engage',
          outcome: 'succeeded',
          detail: `engaged the kill switch (${reason}); stopped ${ended.length} run${ended.length === 1 ? '' : 's'}`,
          requestId,
          request: { reason, stoppedRuns: ended.map((r) => r.id) },
        },
        tx,
      );
      return ended;
    });
    for (const run of stopped) await scheduleSettle(run.id);
    return { killSwitch: await killSwitch(), stoppedRuns: stopped.map((r) => r.id) };
  }

  async function rearmKillSwitch(principal: Principal, reason: string, requestId: string) {
    const actor = actorOf(principal);
    await db.transaction(async (tx) => {
      const wasEngaged = await killSwitchEngaged(tx, 'update');
      await tx
        .update(schema.killSwitch)
        .set({
          engaged: false,
          changedAt: new Date().toISOString(),
          changedBySubject: actor.subject,
          changedByName: actor.name,
          reason,
        })
        .where(eq(schema.killSwitch.id, 1));
      await audit(
        {
          actor,
          action: 'kill_switch_rearm',
          outcome: 'succeeded',
          detail: wasEngaged
            ? `re-armed the kill switch (${reason}): drills may run again`
            : `re-armed the kill switch, which was not engaged (${reason})`,
          requestId,
          request: { reason },
        },
        tx,
      );
    });
    return { killSwitch: await killSwitch() };
  }

  // ---------------------------------------------------------------------------------------------
  // Jobs

  /** advance-run: fires the due steps in order, then schedules itself at the next step. */
  async function advance(runId: string): Promise<void> {
    await withRunLock(runId, 'try', async () => {
      for (;;) {
        const run = await getRun(runId);
        if (run?.state !== 'running') return;
        const [next] = await db
          .select()
          .from(schema.runSteps)
          .where(and(eq(schema.runSteps.runId, runId), eq(schema.runSteps.state, 'pending')))
          .orderBy(asc(schema.runSteps.index))
          .limit(1);
        if (!next) {
          await completeIfDone(runId);
          return;
        }
        const due = next.dueAt ? Date.parse(next.dueAt) : Date.now();
        if (due > Date.now() + 200) {
          await jobs.schedule(JOBS.advance, { runId }, { at: new Date(due), key: runId });
          return;
        }
        if (!(await fireStep(run, next))) return;
      }
    });
  }

  /** A run whose timeline is over and that has nothing firing any more is completed. */
  async function completeIfDone(runId: string) {
    const completed = await db.transaction(async (tx) => {
      const run = await lockRun(tx, runId);
      if (run.state !== 'running') return false;
      const [pending] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(schema.runSteps)
        .where(and(eq(schema.runSteps.runId, runId), eq(schema.runSteps.state, 'pending')));
      const [open] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(schema.runAlerts)
        .where(and(eq(schema.runAlerts.runId, runId), inArray(schema.runAlerts.state, [...OPEN_ALERT_STATES])));
      if ((pending?.n ?? 0) > 0 || (open?.n ?? 0) > 0) return false;
      await finish(tx, run, 'completed', { reason: 'the timeline ended and everything it fired is resolved' });
      return true;
    });
    if (completed)
      await afterCommit('dropping the run jobs', runId, () =>
        Promise.all([jobs.cancel(JOBS.expire, runId), jobs.cancel(JOBS.resend, runId)]),
      );
  }

  interface Send {
    action: 'fire' | 'update' | 'resolve';
    row: AlertRow;
    /** The alert as last fired, when a severity change altered its labels. */
    previous?: ReturnType<typeof drillAlert>;
  }

  /**
   * Fires one step: (1) records what it is about to send (`sending`), (2) sends it to every
   * target of the run, (3) records the outcome. A target that fails fails the run, and
   * everything fired is resolved. Returns whether the run goes on.
   */
  async function fireStep(run: RunRow, step: StepRow): Promise<boolean> {
    const plan = await db.transaction(async (tx) => {
      const current = await lockRun(tx, run.id);
      const [locked] = await tx
        .select()
        .from(schema.runSteps)
        .where(and(eq(schema.runSteps.runId, run.id), eq(schema.runSteps.index, step.index)))
        .for('update');
      if (current.state !== 'running' || locked?.state !== 'pending') return null;
      if (await killSwitchEngaged(tx, 'share')) return null;
      const scenario = await opts.scenarios.get(current.scenarioId, current.scenarioVersion);
      const runbookUrl = scenario?.definition.runbook.url ?? '';
      const spec = locked.spec;
      const sends: Send[] = [];
      const now = new Date().toISOString();
      if (spec.action === 'fire' || spec.action === 'add_related') {
        for (const alert of spec.action === 'fire' ? [spec] : spec.alerts) {
          const content = alertContent(current, alert, alert.severity, runbookUrl);
          for (const target of current.targets) {
            const [row] = await tx
              .insert(schema.runAlerts)
              .values({
                runId: run.id,
                alertKey: alert.alert,
                target,
                dedupKey: dedupKeyOf(run.id, alert.alert),
                ...content,
                severity: alert.severity,
                summary: alert.summary,
                service: alert.service,
                startsAt: now,
                state: 'sending',
              })
              // A retried step sends the same alert again (same start): harmless at every target.
              .onConflictDoUpdate({
                target: [schema.runAlerts.runId, schema.runAlerts.alertKey, schema.runAlerts.target],
                set: { state: 'sending' },
              })
              .returning();
            sends.push({ action: 'fire', row: row! });
          }
        }
      } else if (spec.action === 'change_severity') {
        const rows = await openAlerts(tx, run.id, [spec.alert]);
        for (const row of rows) {
          // A retried step finds the severity already changed: the label set before it is kept.
          const before = row.severity === spec.severity ? row.previousLabels : row.labels;
          const [updated] = await tx
            .update(schema.runAlerts)
            .set({
              severity: spec.severity,
              labels: { ...row.labels, severity: spec.severity },
              previousLabels: before,
              state: 'sending',
            })
            .where(
              and(
                eq(schema.runAlerts.runId, run.id),
                eq(schema.runAlerts.alertKey, row.alertKey),
                eq(schema.runAlerts.target, row.target),
              ),
            )
            .returning();
          sends.push({
            action: 'update',
            row: updated!,
            ...(before
              ? { previous: drillAlert(updated!, before, (before.severity ?? row.severity) as Severity) }
              : {}),
          });
        }
      } else if (spec.action === 'resolve') {
        const rows = await openAlerts(tx, run.id, spec.alerts === 'all' ? null : spec.alerts);
        for (const row of rows) sends.push({ action: 'resolve', row });
        if (spec.alerts === 'all') {
          await tx
            .update(schema.runSteps)
            .set({ alerts: [...new Set(rows.map((r) => r.alertKey))] })
            .where(and(eq(schema.runSteps.runId, run.id), eq(schema.runSteps.index, step.index)));
        }
      }
      // `degrade` sends nothing: once the step is recorded fired, the flag source serves its flag
      // for as long as the run is running (flags.ts), so any end of the run turns it off.
      return { sends, step: locked };
    });
    if (!plan) return false;

    // (2) Send. Per target in order; targets in parallel. After a failure at a target, the rest
    // of the step is not sent there (the run fails; everything is resolved).
    type Outcome = { send: Send; ok: true } | { send: Send; ok: false; error: unknown; sent: boolean };
    const byTarget = new Map<DrillTargetKind, Send[]>();
    for (const send of plan.sends) byTarget.set(send.row.target, [...(byTarget.get(send.row.target) ?? []), send]);
    const outcomes = (
      await Promise.all(
        [...byTarget].map(async ([kind, sends]): Promise<Outcome[]> => {
          const target = targets.get(run.environment, kind);
          const results: Outcome[] = [];
          let failed: unknown;
          for (const send of sends) {
            if (failed !== undefined) {
              results.push({ send, ok: false, error: failed, sent: false });
              continue;
            }
            try {
              await deliver(target, kind, run.environment, send);
              results.push({ send, ok: true });
            } catch (error) {
              failed = error;
              results.push({ send, ok: false, error, sent: true });
            }
          }
          return results;
        }),
      )
    ).flat();

    // (3) Record.
    const firstFailure = outcomes.find((o): o is Extract<Outcome, { ok: false }> => !o.ok && o.sent);
    const after = await db.transaction(async (tx) => {
      const current = await lockRun(tx, run.id);
      const now = new Date().toISOString();
      for (const outcome of outcomes) {
        const { row, action } = outcome.send;
        const where = and(
          eq(schema.runAlerts.runId, row.runId),
          eq(schema.runAlerts.alertKey, row.alertKey),
          eq(schema.runAlerts.target, row.target),
        );
        if (outcome.ok) {
          await tx
            .update(schema.runAlerts)
            .set(
              action === 'resolve'
                ? { state: 'resolved', resolvedAt: now, previousLabels: null, lastError: null, lastSentAt: now }
                : { state: 'firing', previousLabels: null, lastError: null, lastSentAt: now },
            )
            .where(where);
        } else {
          const text = outcome.sent
            ? errorText(outcome.error)
            : 'not sent: an earlier alert of this step failed at this target';
          // A trigger the target refused, or never got, opened nothing there; anything else may be open.
          const none = action === 'fire' && (!outcome.sent || refused(outcome.error));
          await tx
            .update(schema.runAlerts)
            .set({ lastError: text.slice(0, 1000), ...(none ? { state: 'refused' as const } : {}) })
            .where(where);
        }
      }
      const where = and(eq(schema.runSteps.runId, run.id), eq(schema.runSteps.index, step.index));
      if (firstFailure) {
        const target = firstFailure.send.row.target;
        const error = errorText(firstFailure.error);
        const [failedStep] = await tx
          .update(schema.runSteps)
          .set({ state: 'failed', firedAt: now, failedTarget: target, error: error.slice(0, 1000) })
          .where(where)
          .returning();
        await publish(tx, current, 'step_failed', { step: stepRef(failedStep!, { target, error }) });
        if (current.state === 'running') {
          return finish(tx, current, 'failed', {
            reason: `step ${step.index + 1} (${step.spec.action} at ${offsetText(step.offsetSeconds)}) failed at ${target}: ${error}`,
            failure: { step: step.index, target, error: error.slice(0, 1000) },
            step: failedStep!,
          });
        }
        return current;
      }
      const [fired] = await tx.update(schema.runSteps).set({ state: 'fired', firedAt: now }).where(where).returning();
      await publish(tx, current, 'step_fired', { step: stepRef(fired!) });
      return current;
    });
    if (isFinal(after.state)) {
      // Failed here, or ended (abort, kill switch) while the step was being sent: resolve all.
      await scheduleSettle(run.id);
      return false;
    }
    return true;
  }

  const openAlerts = (tx: Pick<Db, 'select'>, runId: string, keys: readonly string[] | null) =>
    tx
      .select()
      .from(schema.runAlerts)
      .where(
        and(
          eq(schema.runAlerts.runId, runId),
          inArray(schema.runAlerts.state, [...OPEN_ALERT_STATES]),
          ...(keys ? [inArray(schema.runAlerts.alertKey, [...keys])] : []),
        ),
      )
      .orderBy(asc(schema.runAlerts.alertKey), asc(schema.runAlerts.target));

  async function deliver(
    target: DrillTarget | undefined,
    kind: DrillTargetKind,
    environment: DrillEnvironment,
    send: Send,
  ): Promise<void> {
    try {
      if (!target) throw new DependencyUnavailableError(`${kind} is no longer configured for ${environment} drills`);
      const alert = drillAlert(send.row);
      if (send.action === 'resolve') await target.resolve(alert, send.previous);
      else await target.fire(alert, send.previous);
      metrics.alertsSent.inc({ target: kind, action: send.action, outcome: 'ok' });
    } catch (error) {
      metrics.alertsSent.inc({ target: kind, action: send.action, outcome: 'failed' });
      throw error;
    }
  }

  /** settle-run: resolves everything a run that ended still has open; throws (retry) until it is all resolved. */
  async function settle(runId: string): Promise<void> {
    await withRunLock(runId, 'wait', async () => {
      const run = await getRun(runId);
      if (!run || !isFinal(run.state)) return;
      const open = await openAlerts(db, runId, null);
      const failures: string[] = [];
      for (const row of open) {
        const previous = row.previousLabels
          ? drillAlert(row, row.previousLabels, (row.previousLabels.severity ?? row.severity) as Severity)
          : undefined;
        const where = and(
          eq(schema.runAlerts.runId, row.runId),
          eq(schema.runAlerts.alertKey, row.alertKey),
          eq(schema.runAlerts.target, row.target),
        );
        try {
          await deliver(targets.get(run.environment, row.target), row.target, run.environment, {
            action: 'resolve',
            row,
            ...(previous ? { previous } : {}),
          });
          const now = new Date().toISOString();
          await db
            .update(schema.runAlerts)
            .set({ state: 'resolved', resolvedAt: now, lastSentAt: now, previousLabels: null, lastError: null })
            .where(where);
        } catch (error) {
          const text = errorText(error);
          await db
            .update(schema.runAlerts)
            .set({ lastError: `resolve failed: ${text}`.slice(0, 1000) })
            .where(where);
          failures.push(`${row.alertKey} at ${row.target}: ${text}`);
        }
      }
      if (failures.length > 0) {
        throw new RetryLater(
          `${failures.length} alert${failures.length === 1 ? '' : 's'} of run ${runId} could not be resolved yet: ${failures.slice(0, 3).join('; ')}`,
        );
      }
      if (open.length > 0) logger.info({ runId, resolved: open.length, state: run.state }, 'drill run settled');
    });
  }

  /** expire-run: ends a run at its maximum duration (or a proposal nobody approved), then resolves all. */
  async function expire(runId: string): Promise<void> {
    const ended = await db.transaction(async (tx) => {
      const [run] = await tx.select().from(schema.runs).where(eq(schema.runs.id, runId)).for('update');
      if (!run) return false;
      if (run.state !== 'running' && run.state !== 'awaiting_approval') return isFinal(run.state);
      // A stale run of the job (the run was approved after it was taken): not due yet.
      if (Date.parse(run.expiresAt) > Date.now() + 1000) return false;
      await finish(tx, run, 'expired', {
        reason:
          run.state === 'awaiting_approval'
            ? `not approved within ${opts.approvalTimeoutMinutes} min`
            : `reached its maximum duration of ${minutes(run.maxDurationSeconds)}`,
      });
      return true;
    });
    if (ended) await settle(runId);
  }

  /** resend-alerts: sends a running run's firing Alertmanager alerts again, then schedules itself. */
  async function resend(runId: string): Promise<void> {
    const run = await getRun(runId);
    if (run?.state !== 'running') return;
    await withRunLock(runId, 'try', async () => {
      const rows = (await openAlerts(db, runId, null)).filter(
        (r) => r.target === 'alertmanager' && r.state === 'firing',
      );
      const target = targets.get(run.environment, 'alertmanager');
      if (rows.length > 0 && target?.refresh) {
        try {
          await target.refresh(rows.map((r) => drillAlert(r)));
          metrics.alertsSent.inc({ target: 'alertmanager', action: 'refresh', outcome: 'ok' }, rows.length);
          await db
            .update(schema.runAlerts)
            .set({ lastSentAt: new Date().toISOString(), lastError: null })
            .where(
              and(
                eq(schema.runAlerts.runId, runId),
                eq(schema.runAlerts.target, 'alertmanager'),
                eq(schema.runAlerts.state, 'firing'),
              ),
            );
        } catch (error) {
          // Not a step: the alerts stay firing until their endsAt; the next resend tries again.
          metrics.alertsSent.inc({ target: 'alertmanager', action: 'refresh', outcome: 'failed' }, rows.length);
          logger.warn(
            { err: error, runId },
            "resending the run's Alertmanager alerts failed; trying again at the next interval",
          );
        }
      }
    });
    await jobs.schedule(JOBS.resend, { runId }, { at: new Date(Date.now() + opts.resendSeconds * 1000), key: runId });
  }

  /** sweep-runs: whatever should have been scheduled and is overdue, is run now. */
  async function sweep(): Promise<number> {
    const now = new Date();
    const overdue = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
    const work: [string, string][] = [];
    const expired = await db
      .select({ id: schema.runs.id })
      .from(schema.runs)
      .where(and(inArray(schema.runs.state, ['awaiting_approval', 'running']), lte(schema.runs.expiresAt, overdue(5))));
    for (const r of expired) work.push([JOBS.expire, r.id]);
    const stalled = await db
      .selectDistinct({ id: schema.runSteps.runId })
      .from(schema.runSteps)
      .innerJoin(schema.runs, eq(schema.runs.id, schema.runSteps.runId))
      .where(
        and(
          eq(schema.runs.state, 'running'),
          eq(schema.runSteps.state, 'pending'),
          lte(schema.runSteps.dueAt, overdue(10)),
        ),
      );
    for (const r of stalled) work.push([JOBS.advance, r.id]);
    const unsettled = await db
      .selectDistinct({ id: schema.runAlerts.runId })
      .from(schema.runAlerts)
      .innerJoin(schema.runs, eq(schema.runs.id, schema.runAlerts.runId))
      .where(
        and(
          inArray(schema.runs.state, ['rejected', 'completed', 'aborted', 'expired', 'failed']),
          inArray(schema.runAlerts.state, [...OPEN_ALERT_STATES]),
        ),
      );
    for (const r of unsettled) work.push([JOBS.settle, r.id]);
    const stale = await db
      .selectDistinct({ id: schema.runAlerts.runId })
      .from(schema.runAlerts)
      .innerJoin(schema.runs, eq(schema.runs.id, schema.runAlerts.runId))
      .where(
        and(
          eq(schema.runs.state, 'running'),
          eq(schema.runAlerts.target, 'alertmanager'),
          eq(schema.runAlerts.state, 'firing'),
          lte(schema.runAlerts.lastSentAt, overdue(3 * opts.resendSeconds)),
        ),
      );
    for (const r of stale) work.push([JOBS.resend, r.id]);
    for (const [name, runId] of work) {
      logger.warn({ job: name, runId }, 'sweep: overdue drill work enqueued now');
      await jobs.runNow(name, { runId }, { key: runId });
    }
    return work.length;
  }

  return {
    prepare,
    propose,
    approve,
    reject,
    abort,
    killSwitch,
    engageKillSwitch,
    rearmKillSwitch,
    advance,
    settle,
    expire,
    resend,
    sweep,
  };
}
