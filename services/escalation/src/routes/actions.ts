import { createHash, randomUUID } from 'node:crypto';
import { INCIDENT_ID_PATTERN, type IncidentAction } from '@micro-oncall/incident-model';
import {
  ConflictError,
  DependencyUnavailableError,
  InputError,
  type Logger,
  NotFoundError,
  type Outbox,
  OutcomeUnknownError,
  type Principal,
  requireRole,
  ServiceError,
  toServiceError,
} from '@micro-oncall/service-kit';
import { and, eq, lt, sql } from 'drizzle-orm';
import { type Request, type Response, Router } from 'express';
import { OBSERVED_RESOLUTION_SOURCE, silenceStatusEvent } from '../alertmanager-silences.js';
import type { AuditEntry, AuditWriter } from '../audit.js';
import { actionRequests, incidents } from '../db/schema.js';
import type { AuditOutcome, EscalationDb, IncidentRow } from '../db/types.js';
import { type ActionOutcome, ActionRequest, type ProviderActions } from '../providers/types.js';

/** The actions a responder can ask for (the `action` of ActionRequest). */
export const ACTION_NAMES = ActionRequest.options.map((o) => o.shape.action.value);

/** Default overall bound of one action (ACTION_DEADLINE_MS). */
export const DEFAULT_ACTION_DEADLINE_MS = 15_000;

/** `Idempotency-Key`: a client-chosen id of one intent, e.g. a UUID (quotes, as in RFC 8941 strings, are allowed). */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;
/** How long a key is remembered. */
const KEY_RETENTION = '24 hours';
/** An unsettled key older than the deadline plus this belongs to a request whose process stopped. */
const ABANDONED_AFTER_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;

const PROVIDER_NAMES: Record<string, string> = {
  pagerduty: 'PagerDuty',
  opsgenie: 'Opsgenie',
  alertmanager: 'Alertmanager',
};

/**
 * The provider may have carried the action out, but no answer said whether it did (the provider
 * did not answer in time, or the action's deadline passed). Not a failure: the person is told to
 * check at the provider before trying again.
 */
export class ActionOutcomeUnknownError extends ServiceError {
  override readonly status = 503;
  override readonly code = 'outcome_unknown';
}

export interface ActionRoutesDeps {
  db: EscalationDb;
  providers: { forProvider(provider: string): ProviderActions | null };
  audit: AuditWriter;
  outbox: Outbox;
  logger: Logger;
  /** Told about escalations that succeeded (Slack notice). */
  onEscalated?: (incident: IncidentRow, detail: string) => void;
  /** Overall bound of one action, provider retries included (ACTION_DEADLINE_MS). */
  actionDeadlineMs?: number;
}

type ActionRequestRow = typeof actionRequests.$inferSelect;
type Settled = { ok: true; outcome: ActionOutcome } | { ok: false; error: unknown };
/** What the first request was answered, replayed to repeats with its Idempotency-Key. */
type Answer = { status: number; body: unknown };

/**
 * POST /v1/incidents/:id/actions (responder): acknowledge, escalate, reassign, resolve or add a
 * note through the incident's own provider.
 *
 * - Audit before acting: a `pending` row is written before the provider is called, and nothing is
 *   sent if it cannot be. The outcome is a second row with the same action id (the log is
 *   append-only): `succeeded`, `failed` or `unknown`, written in one transaction with the
 *   `incident-actions` event (through the outbox) and the Idempotency-Key's stored answer.
 *   Requests refused before anything is sent (400, 404, 409) are audited as `failed`.
 * - The answer is 200 only when the provider confirmed the action, and it stays 200 when the
 *   outcome cannot be recorded afterwards (logged as an error; the pending row shows the attempt).
 *   A provider refusal is passed on plainly (502); no answer is 503 `outcome_unknown`.
 * - `Idempotency-Key` (per user and incident, kept a day, in PostgreSQL so every replica and a
 *   restart see it): a repeat gets the first answer without a second call to the provider, or 409
 *   while the first is in flight. A repeat is the same attempt, so it adds no audit row.
 * - Each action is bounded by `actionDeadlineMs`: past it the answer is 503 `outcome_unknown` (and
 *   so is the audit row); the provider call goes on within its own timeouts and its outcome, when
 *   it comes, is recorded and becomes the key's answer.
 *
 * The incident's state itself changes when the provider's webhook for it arrives, so what the
 * dashboard shows is what the provider has.
 */
export function createActionsRouter(deps: ActionRoutesDeps): Router {
  const router = Router();
  const deadlineMs = deps.actionDeadlineMs ?? DEFAULT_ACTION_DEADLINE_MS;
  let lastPrune = 0;

  /** Forgets keys older than KEY_RETENTION, at most every few minutes (best effort). */
  const pruneKeys = () => {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = Date.now();
    deps.db
      .delete(actionRequests)
      .where(lt(actionRequests.createdAt, sql`now() - ${KEY_RETENTION}::interval`))
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'pruning old idempotency keys failed'));
  };

  router.post('/v1/incidents/:id/actions', requireRole('responder'), async (req, res) => {
    const principal = req.principal!;
    const id = String(req.params.id);
    const asked = (req.body as { action?: unknown } | undefined)?.action;
    const attempted =
      typeof asked === 'string' && (ACTION_NAMES as readonly string[]).includes(asked) ? asked : 'invalid_action';

    /** Audits a request refused before anything was sent to a provider; returns the error to throw. */
    const refused = async (error: ServiceError, extra: Partial<AuditEntry> = {}) => {
      await auditOrLog(deps, {
        actor: principal,
        action: attempted,
        outcome: 'failed',
        detail: error.message,
        requestId: req.id,
        incidentId: INCIDENT_ID_PATTERN.test(id) ? id : null,
        ...extra,
      });
      return error;
    };

    if (!INCIDENT_ID_PATTERN.test(id)) throw await refused(new InputError('incident id: not an incident id'));
    const parsed = ActionRequest.safeParse(req.body);
    if (!parsed.success) throw await refused(InputError.fromZod(parsed.error, 'action'));
    const request = parsed.data;
    const key = idempotencyKey(req);
    if (key instanceof InputError) throw await refused(key, { request });
    const [incident] = await deps.db.select().from(incidents).where(eq(incidents.id, id));
    if (!incident) throw await refused(new NotFoundError(`incident ${id} not found`), { request });
    const provider = deps.providers.forProvider(incident.provider);
    if (!provider) {
      throw await refused(
        new ConflictError(
          `actions on ${incident.provider} incidents are not available here: no ${incident.provider} API is configured for actions`,
        ),
        { request, provider: incident.provider },
      );
    }
    // What the provider can never do (Alertmanager has no escalation) is refused before anything is sent.
    const refusal = provider.refuse?.(request);
    if (refusal) throw await refused(refusal, { request, provider: incident.provider });

    const providerName = PROVIDER_NAMES[incident.provider] ?? incident.provider;
    const actionId = randomUUID();
    const requestedAt = new Date().toISOString();
    const kind = request.action;
    const requestHash = createHash('sha256').update(JSON.stringify(request)).digest('hex');
    const entry = (outcome: AuditOutcome, detail: string, more: Partial<AuditEntry> = {}): AuditEntry => ({
      actor: principal,
      action: kind,
      outcome,
      detail,
      requestId: req.id,
      incidentId: id,
      provider: incident.provider,
      request,
      actionId,
      ...more,
    });

    // 1. On record before acting: reserve the key and write the pending row, or send nothing.
    let earlier: ActionRequestRow | undefined;
    try {
      earlier = await deps.db.transaction(async (tx) => {
        if (key) {
          const [reserved] = await tx
            .insert(actionRequests)
            .values({ actorSubject: principal.subject, incidentId: id, idempotencyKey: key, actionId, requestHash })
            .onConflictDoNothing()
            .returning({ actionId: actionRequests.actionId });
          if (!reserved) {
            const [row] = await tx
              .select()
              .from(actionRequests)
              .where(keyIs(principal, id, key));
            return row;
          }
        }
        await deps.audit(entry('pending', `asked ${providerName} to ${inWords(request)}`), tx);
        return undefined;
      });
    } catch (error) {
      deps.logger.error(
        { err: error, requestId: req.id, actionId, incidentId: id },
        'the action could not be put on record; nothing was sent to the provider',
      );
      throw new DependencyUnavailableError(
        `the ${kind} was not sent to ${providerName}: it could not be recorded in the audit log; try again shortly`,
        5,
        { cause: error },
      );
    }
    if (key) pruneKeys();
    if (earlier) {
      // A repeat of an earlier request with this key: the same attempt, answered from the first.
      if (earlier.requestHash !== requestHash) {
        throw await refused(
          new InputError(
            `Idempotency-Key ${key} was already used for a different request on this incident; use a new key for a new action`,
          ),
          { request, provider: incident.provider },
        );
      }
      replayOrWait(earlier, res, deadlineMs, providerName);
      return;
    }

    // 2. Act, within the deadline.
    const work: Promise<Settled> = provider
      .perform({ id, providerId: incident.providerId, title: incident.title, labels: incident.labels }, request, {
        actor: { subject: principal.subject, email: principal.email, name: principal.name },
        requestId: req.id,
      })
      .then(
        (outcome) => ({ ok: true as const, outcome }),
        (error: unknown) => ({ ok: false as const, error }),
      );

    /**
     * 3. Records the outcome: its audit row, the `incident-actions` event (a definite outcome
     * only: the event's contract has no "unknown") and the key's answer, in one transaction.
     * Returns what the person is answered.
     */
    const complete = async (settled: Settled): Promise<{ answer: Answer; error?: unknown }> => {
      let outcome: 'succeeded' | 'failed' | 'unknown';
      let detail: string;
      let providerStatus: number | null = null;
      let providerRequestId: string | null = null;
      let answer: Answer;
      let error: unknown;
      if (settled.ok) {
        outcome = 'succeeded';
        detail = settled.outcome.detail;
        providerStatus = settled.outcome.providerStatus;
        providerRequestId = settled.outcome.providerRequestId;
        answer = { status: 200, body: { actionId, outcome, detail } };
      } else if (settled.error instanceof OutcomeUnknownError) {
        outcome = 'unknown';
        providerStatus = settled.error.upstreamStatus;
        const unknown = unknownOutcome(settled.error.message, kind, providerName, actionId);
        detail = unknown.message;
        answer = errorAnswer(unknown, req.id);
        error = unknown;
      } else {
        outcome = 'failed';
        const known = toServiceError(settled.error);
        const details = known?.details ?? {};
        providerStatus = typeof details.status === 'number' ? details.status : null;
        providerRequestId = typeof details.requestId === 'string' ? details.requestId : null;
        detail = known?.message ?? 'the action failed unexpectedly';
        answer = known
          ? errorAnswer(known, req.id)
          : { status: 500, body: { error: { code: 'internal_error', message: 'internal error', requestId: req.id } } };
        error = settled.error;
      }
      const action: IncidentAction | null =
        outcome === 'unknown'
          ? null
          : {
              actionId,
              incidentId: id,
              provider: incident.provider,
              providerId: incident.providerId,
              action: kind,
              actor: { type: 'user', id: principal.subject, name: principal.name ?? principal.email },
              outcome,
              detail: detail.slice(0, 2000),
              requestedAt,
              completedAt: new Date().toISOString(),
            };
      try {
        await deps.db.transaction(async (tx) => {
          await deps.audit(entry(outcome, detail, { providerStatus, providerRequestId }), tx);
          // An action carries no drill flag of its own: it inherits its incident's.
          if (action) await deps.outbox.enqueue(tx, 'incident-actions', action, { drill: incident.drill });
          // Alertmanager notifies nothing about silences: what one means for the status, said here.
          if (settled.ok && incident.provider === 'alertmanager' && (kind === 'acknowledge' || kind === 'resolve')) {
            const event = silenceStatusEvent(incident, {
              kind: kind === 'acknowledge' ? 'acknowledged' : 'unacknowledged',
              actor: { type: 'user', id: principal.subject, name: principal.name ?? principal.email },
              at: new Date(),
              reference: kind === 'acknowledge' ? `silence:${providerRequestId ?? actionId}` : `action:${actionId}`,
              detail,
            });
            await deps.outbox.enqueue(tx, 'incident-events', event, { source: OBSERVED_RESOLUTION_SOURCE });
          }
          if (key) await settleKey(tx, principal, id, key, answer);
        });
      } catch (recordError) {
        deps.logger.error(
          { err: recordError, requestId: req.id, actionId, incidentId: id, outcome, detail },
          `the ${kind} ${outcome === 'succeeded' ? 'succeeded' : 'ended'} at ${providerName} but its outcome could not be recorded: the audit log has only its pending row`,
        );
        if (key) {
          // Spare a repeat a wait for an answer that is already known.
          await settleKey(deps.db, principal, id, key, answer).catch(() => undefined);
        }
      }
      if (settled.ok && kind === 'escalate') deps.onEscalated?.(incident, settled.outcome.detail);
      return { answer, error };
    };

    const settled = await withDeadline(work, deadlineMs);
    if (settled === 'deadline') {
      const late = unknownOutcome(
        `${providerName} did not confirm the ${kind} within ${deadlineMs} ms`,
        kind,
        providerName,
        actionId,
      );
      // The provider call goes on within its own timeouts; its outcome, when it comes, is recorded
      // after this row, and becomes the key's answer (repeats get 409 until then).
      const written = auditOrLog(deps, entry('unknown', late.message));
      void written
        .then(() => work)
        .then(complete)
        .catch((error: unknown) =>
          deps.logger.error({ err: error, actionId }, 'recording a late action outcome failed'),
        );
      await written;
      throw late;
    }
    const { answer, error } = await complete(settled);
    if (error !== undefined) throw error;
    res.status(answer.status).json(answer.body);
  });
  return router;
}

/** The validated Idempotency-Key, undefined when none was sent, or the InputError to answer. */
function idempotencyKey(req: Request): string | undefined | InputError {
  const raw = req.header('idempotency-key');
  if (raw === undefined) return undefined;
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (!IDEMPOTENCY_KEY.test(key)) {
    return new InputError(
      'Idempotency-Key: send 8 to 128 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-" (a random UUID per intent is best)',
    );
  }
  return key;
}

function keyIs(principal: Principal, incidentId: string, key: string) {
  return and(
    eq(actionRequests.actorSubject, principal.subject),
    eq(actionRequests.incidentId, incidentId),
    eq(actionRequests.idempotencyKey, key),
  );
}

async function settleKey(
  tx: Pick<EscalationDb, 'update'>,
  principal: Principal,
  incidentId: string,
  key: string,
  answer: Answer,
): Promise<void> {
  await tx
    .update(actionRequests)
    .set({ completedAt: sql`now()`, responseStatus: answer.status, responseBody: answer.body })
    .where(keyIs(principal, incidentId, key));
}

/**
 * Answers a repeat of an earlier request with the same key: its recorded answer (replayed as it
 * was, with `Idempotent-Replayed: true`), 409 while it is in flight, or 503 `outcome_unknown`
 * when it was never settled (its process stopped while the provider was being called).
 */
function replayOrWait(earlier: ActionRequestRow, res: Response, deadlineMs: number, providerName: string): void {
  if (earlier.completedAt !== null && earlier.responseStatus !== null) {
    // The first answer as it was sent (the error middleware built it, when it was an error).
    res.setHeader('Idempotent-Replayed', 'true');
    res.status(earlier.responseStatus).json(earlier.responseBody);
    return;
  }
  const startedAt = new Date(earlier.createdAt);
  if (Date.now() - startedAt.getTime() < deadlineMs + ABANDONED_AFTER_MS) {
    throw new ConflictError(
      `an action with this Idempotency-Key (action ${earlier.actionId}) is still in progress; wait for its answer`,
      { actionId: earlier.actionId },
    );
  }
  throw new ActionOutcomeUnknownError(
    `the action with this Idempotency-Key (action ${earlier.actionId}) started at ${startedAt.toISOString()} but its outcome was never recorded: check the incident at ${providerName}`,
    { actionId: earlier.actionId },
  );
}

function unknownOutcome(
  reason: string,
  kind: string,
  providerName: string,
  actionId: string,
): ActionOutcomeUnknownError {
  return new ActionOutcomeUnknownError(
    `${reason}. The request may have reached ${providerName}, so whether the ${kind} took effect is unknown: check the incident at ${providerName} before trying again`,
    { actionId, outcome: 'unknown' },
  );
}

/** The body the error middleware sends for `error` (kept to replay it). */
function errorAnswer(error: ServiceError, requestId: string): Answer {
  return {
    status: error.status,
    body: {
      error: {
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
        requestId,
      },
    },
  };
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes an audit row outside any transaction; a failure is logged, never thrown over the answer. */
async function auditOrLog(deps: Pick<ActionRoutesDeps, 'audit' | 'logger'>, entry: AuditEntry): Promise<void> {
  try {
    await deps.audit(entry);
  } catch (error) {
    deps.logger.error(
      { err: error, requestId: entry.requestId, action: entry.action, outcome: entry.outcome, detail: entry.detail },
      'writing an audit row failed',
    );
  }
}

/** The request in words, for the pending row: "acknowledge", "escalate to level 2", … */
function inWords(request: ActionRequest): string {
  switch (request.action) {
    case 'escalate': {
      const to = [
        request.level !== undefined ? `level ${request.level}` : null,
        request.escalationPolicyId ?? request.escalationName ?? null,
      ].filter(Boolean);
      return to.length > 0 ? `escalate to ${to.join(', ')}` : 'escalate';
    }
    case 'reassign':
      return `reassign to ${request.userId}`;
    case 'note':
      return 'add a note';
    default:
      return request.action;
  }
}
