import { randomUUID } from 'node:crypto';
import type { Actor, IncidentEvent } from '@micro-oncall/incident-model';
import { type Component, Counter, Gauge, type Logger, type Outbox, type Registry } from '@micro-oncall/service-kit';
import { and, desc, eq, getTableColumns, gt, isNotNull, sql } from 'drizzle-orm';
import type { AuditWriter } from './audit.js';
import { auditLog, incidents } from './db/schema.js';
import type { EscalationDb, IncidentChange, IncidentRow } from './db/types.js';
import { type AlertmanagerActions, MAX_SILENCE_MINUTES } from './providers/index.js';

/** Who expires silences when alerts resolve, in the audit log. */
export const SILENCE_EXPIRY_ACTOR = { subject: 'system:escalation', name: 'escalation', email: null };

/** Who resolved an incident whose silenced alert escalation saw end, in its history. */
export const OBSERVED_RESOLUTION_ACTOR: Actor = {
  type: 'system',
  id: 'escalation',
  name: "escalation, observed in Alertmanager's API",
};

/** The CloudEvents `source` of a resolution escalation observed (the topic's other events come from webhook-ingest). */
export const OBSERVED_RESOLUTION_SOURCE = '/escalation/alertmanager-api';

const iso = (at: string) => new Date(at).toISOString();

/** The incident as the event's snapshot carries it (what a consumer needs without asking). */
function snapshotOf(incident: IncidentRow): IncidentEvent['snapshot'] {
  return {
    title: incident.title,
    service: incident.service,
    severity: incident.severity,
    providerSeverity: incident.providerSeverity,
    assignees: incident.assignees,
    urgency: incident.urgency,
    labels: incident.labels,
    links: incident.links,
    providerUrl: incident.providerUrl,
    createdAt: iso(incident.createdAt),
  };
}

/** Never before the status it changes: an older event would not move the incident (projector.ts). */
const notBefore = (incident: IncidentRow, at: Date) =>
  new Date(Math.max(at.getTime(), Date.parse(incident.statusAt))).toISOString();

/**
 * The `resolved` event of an Alertmanager incident whose silenced alert escalation saw end in
 * Alertmanager's API (ADR 0017). Its id names the episode (the trigger it ends), so every check
 * and replica that observes the same end writes the same event, applied once. It does not share
 * the id of Alertmanager's own resolved notification (whose end time the API no longer shows):
 * if that arrives too, the history shows both and the incident stays resolved.
 */
export function observedResolution(incident: IncidentRow, observedAt: Date, why: string): IncidentEvent {
  const episode = iso(incident.triggeredAt ?? incident.createdAt);
  return {
    eventId: `alertmanager:${incident.providerId}:resolved:${episode}:observed`,
    kind: 'resolved',
    providerEventType: 'resolved',
    occurredAt: notBefore(incident, observedAt),
    incidentId: incident.id,
    provider: 'alertmanager',
    providerId: incident.providerId,
    dedupKey: incident.dedupKey,
    actor: OBSERVED_RESOLUTION_ACTOR,
    note: `${why}. Resolved by escalation as observed through Alertmanager's API: Alertmanager does not notify the resolution of an alert it silenced.`,
    drill: incident.drillMarker,
    snapshot: snapshotOf(incident),
  };
}

/**
 * What a responder's silence means for the incident's status (ADR 0017): Alertmanager has no
 * acknowledgement and notifies nothing when a silence is created or expired, so escalation says
 * it on `incident-events` itself, as a provider's webhook would. A silence created by
 * acknowledging → `acknowledged` by that person; the silences expired by resolving while the
 * alert may still fire → `unacknowledged` (the alert notifies again). The id names the silence
 * (or the action), so a replayed write is applied once.
 */
export function silenceStatusEvent(
  incident: IncidentRow,
  change: { kind: 'acknowledged' | 'unacknowledged'; actor: Actor; at: Date; reference: string; detail: string },
): IncidentEvent {
  return {
    eventId: `alertmanager:${incident.providerId}:${change.kind}:${change.reference}`,
    kind: change.kind,
    providerEventType: change.kind === 'acknowledged' ? 'silence.created' : 'silence.expired',
    occurredAt: notBefore(incident, change.at),
    incidentId: incident.id,
    provider: 'alertmanager',
    providerId: incident.providerId,
    dedupKey: incident.dedupKey,
    actor: change.actor,
    note: change.detail,
    drill: incident.drillMarker,
    snapshot: snapshotOf(incident),
  };
}

/**
 * The silences acknowledgements created for an incident, newest first: the silence id is kept as
 * the `provider_request_id` of the acknowledgement's `succeeded` audit row (the action's outcome).
 * Only silences young enough to be in force are returned (none lasts longer than
 * MAX_SILENCE_MINUTES).
 */
export function silencesFromAudit(db: EscalationDb): (incidentId: string) => Promise<string[]> {
  return async (incidentId) => {
    const rows = await db
      .select({ silenceId: auditLog.providerRequestId })
      .from(auditLog)
      .where(
        and(
          eq(auditLog.incidentId, incidentId),
          eq(auditLog.provider, 'alertmanager'),
          eq(auditLog.action, 'acknowledge'),
          eq(auditLog.outcome, 'succeeded'),
          isNotNull(auditLog.providerRequestId),
          gt(auditLog.at, sql`now() - make_interval(mins => ${MAX_SILENCE_MINUTES})`),
        ),
      )
      .orderBy(desc(auditLog.at))
      .limit(100);
    return [...new Set(rows.map((r) => r.silenceId!))];
  };
}

/**
 * Keeps Alertmanager incidents and the silences acknowledgements created for them in step:
 * - when an Alertmanager alert resolves (its `resolved` event applied), expires those silences,
 *   so that the alert notifies again if it fires again;
 * - Alertmanager mutes the resolved notification of a silenced alert, so a background check looks
 *   the silenced alerts up in Alertmanager's API every `checkEveryMs`. An alert seen ended on two
 *   checks in a row (no longer listed, or listed with its end time passed) is resolved here: a
 *   `resolved` event on `incident-events` (observedResolution, through the outbox; escalation's
 *   own consumer applies it like any other), audited, then its silences are expired (ADR 0017).
 *   An alert still firing is never resolved; when Alertmanager cannot be asked, nothing is
 *   resolved, the failure is logged and counted, and the next check tries again.
 * Each expiry is audited as `expire_silence` by the service itself. Expiry is best effort: a
 * silence that cannot be expired now (Alertmanager down) still ends at its `endsAt`.
 */
export function createSilenceExpiry(deps: {
  db: EscalationDb;
  alertmanager: AlertmanagerActions;
  audit: AuditWriter;
  outbox: Outbox;
  registry: Registry;
  logger: Logger;
  /** How often the silenced alerts are looked up in Alertmanager (ALERTMANAGER_SILENCE_CHECK_SECONDS). */
  checkEveryMs: number;
  /** How long after Alertmanager started a missing alert proves nothing (ALERTMANAGER_RESTART_GRACE_SECONDS). */
  restartGraceMs: number;
  /** The clock (tests). */
  now?: () => Date;
}): { onApplied(changes: IncidentChange[]): void; watch: Component } {
  const now = deps.now ?? (() => new Date());
  const checks = new Counter({
    name: 'alertmanager_silence_checks_total',
    help: 'Checks of the alerts of our Alertmanager silences, by outcome (ok, or failed: Alertmanager or the database could not be asked; nothing was resolved)',
    labelNames: ['outcome'] as const,
    registers: [deps.registry],
  });
  const failing = new Gauge({
    name: 'alertmanager_silence_check_failing',
    help: '1 while the last check of the alerts of our Alertmanager silences failed',
    registers: [deps.registry],
    // Over worker processes: 1 while any of them failed its last check.
    aggregator: 'max',
  });
  const observed = new Counter({
    name: 'alertmanager_resolutions_observed_total',
    help: "Incidents resolved because their silenced alert ended in Alertmanager's API (its resolved notification is muted)",
    registers: [deps.registry],
  });
  for (const outcome of ['ok', 'failed']) checks.inc({ outcome }, 0);
  failing.set(0);

  const expireFor = async (incidentId: string, providerId: string, why = 'resolved') => {
    const requestId = randomUUID();
    try {
      const expired = await deps.alertmanager.expireSilences(incidentId);
      if (expired.length === 0) return;
      await deps.audit({
        actor: SILENCE_EXPIRY_ACTOR,
        action: 'expire_silence',
        outcome: 'succeeded',
        detail: `Alertmanager alert ${providerId} ${why}: expired ${expired.length === 1 ? 'silence' : 'silences'} ${expired.join(', ')}`,
        requestId,
        incidentId,
        provider: 'alertmanager',
        providerRequestId: expired[0] ?? null,
      });
    } catch (error) {
      deps.logger.warn({ err: error, incidentId }, 'expiring the silences of a resolved Alertmanager alert failed');
      await deps
        .audit({
          actor: SILENCE_EXPIRY_ACTOR,
          action: 'expire_silence',
          outcome: 'failed',
          detail: `Alertmanager alert ${providerId} ${why}, but its silences could not be expired (${(error as Error).message}); they end on their own`,
          requestId,
          incidentId,
          provider: 'alertmanager',
        })
        .catch((auditError: unknown) =>
          deps.logger.error({ err: auditError, incidentId }, 'writing an audit row failed'),
        );
    }
  };

  /** The event on `incident-events` and its audit row, in one transaction. */
  const resolve = async (incident: IncidentRow, firstSeenEnded: Date, why: string) => {
    const event = observedResolution(incident, firstSeenEnded, why);
    await deps.db.transaction(async (tx) => {
      await deps.outbox.enqueue(tx, 'incident-events', event, { source: OBSERVED_RESOLUTION_SOURCE });
      await deps.audit(
        {
          actor: SILENCE_EXPIRY_ACTOR,
          action: 'resolve',
          outcome: 'succeeded',
          detail: `resolved: ${why} (observed through Alertmanager's API; the resolution of a silenced alert is not notified)`,
          requestId: randomUUID(),
          incidentId: incident.id,
          provider: 'alertmanager',
        },
        tx,
      );
    });
    observed.inc();
    deps.logger.info(
      { incidentId: incident.id, fingerprint: incident.providerId, eventId: event.eventId },
      "resolved an Alertmanager incident whose silenced alert ended, as observed in Alertmanager's API",
    );
  };

  const endedAlerts = createEndedAlerts({
    alertmanager: deps.alertmanager,
    restartGraceMs: deps.restartGraceMs,
    logger: deps.logger,
    now,
  });
  const check = async () => {
    const silenced = await silencedIncidents(deps.db);
    for (const { incident, firstSeen, why } of await endedAlerts.observe(silenced)) {
      await resolve(incident, firstSeen, why);
      await expireFor(incident.id, incident.providerId, "resolved (observed through Alertmanager's API)");
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = check()
      .then(() => {
        checks.inc({ outcome: 'ok' });
        failing.set(0);
      })
      .catch((error: unknown) => {
        checks.inc({ outcome: 'failed' });
        failing.set(1);
        deps.logger.error(
          { err: error },
          'checking the alerts of our Alertmanager silences failed; nothing was resolved, trying again at the next check',
        );
      })
      .finally(() => {
        running = undefined;
        if (timer) timer = setTimeout(tick, deps.checkEveryMs);
      });
  };
  const watch: Component = {
    id: 'alertmanager-silences',
    async start() {
      timer = setTimeout(tick, deps.checkEveryMs);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
    // Informational: Alertmanager being away must not take escalation out of service.
    async healthcheck() {
      return { healthy: true };
    },
  };

  return {
    watch,
    onApplied(changes: IncidentChange[]) {
      for (const { before, after } of changes) {
        if (after.provider !== 'alertmanager' || after.status !== 'resolved' || before?.status === 'resolved') continue;
        void expireFor(after.id, after.providerId);
      }
    },
  };
}

/**
 * Which silenced alerts have ended, by Alertmanager's API, across checks: an alert counts as
 * ended when two checks in a row see it ended (`firstSeen`: the first). Never on doubt: an alert
 * listed as firing is not ended; when Alertmanager cannot be asked, `observe` throws (and what the
 * earlier check saw stays for the next); an alert missing from an Alertmanager that started less
 * than `restartGraceMs` ago is not taken as ended (it keeps alerts in memory only).
 */
export function createEndedAlerts(deps: {
  alertmanager: Pick<AlertmanagerActions, 'alertState' | 'startedAt'>;
  restartGraceMs: number;
  logger: Logger;
  now: () => Date;
}) {
  /** Alerts seen ended once (incident id → when): ended when seen ended again, not on a blip. */
  let ended = new Map<string, Date>();
  return {
    async observe<T extends Pick<IncidentRow, 'id' | 'labels' | 'providerId'>>(
      silenced: readonly T[],
    ): Promise<{ incident: T; firstSeen: Date; why: string }[]> {
      if (silenced.length === 0) {
        ended = new Map();
        return [];
      }
      const startedAt = await deps.alertmanager.startedAt();
      const absenceCounts = deps.now().getTime() - startedAt.getTime() >= deps.restartGraceMs;
      const stillEnded = new Map<string, Date>();
      const confirmed: { incident: T; firstSeen: Date; why: string }[] = [];
      for (const incident of silenced) {
        const seen = await deps.alertmanager.alertState({ labels: incident.labels, fingerprint: incident.providerId });
        if (seen.state === 'firing') continue;
        if (!seen.listed && !absenceCounts) {
          deps.logger.info(
            { incidentId: incident.id, alertmanagerStartedAt: startedAt.toISOString() },
            'a silenced alert is missing from an Alertmanager that just started; not taken as resolved yet',
          );
          continue;
        }
        const firstSeen = ended.get(incident.id);
        if (firstSeen) confirmed.push({ incident, firstSeen, why: seen.why });
        else stillEnded.set(incident.id, deps.now());
      }
      ended = stillEnded;
      return confirmed;
    },
  };
}

/**
 * Alertmanager incidents not resolved here whose latest acknowledgement (young enough for its
 * silence to be in force) was not followed by a resolve or an expiry of its silences.
 */
async function silencedIncidents(db: EscalationDb): Promise<IncidentRow[]> {
  return db
    .selectDistinct(getTableColumns(incidents))
    .from(auditLog)
    .innerJoin(incidents, eq(incidents.id, auditLog.incidentId))
    .where(
      and(
        eq(auditLog.provider, 'alertmanager'),
        eq(auditLog.action, 'acknowledge'),
        eq(auditLog.outcome, 'succeeded'),
        isNotNull(auditLog.providerRequestId),
        gt(auditLog.at, sql`now() - make_interval(mins => ${MAX_SILENCE_MINUTES})`),
        sql`${incidents.status} <> 'resolved'`,
        sql`not exists (select 1 from escalation.audit_log later
          where later.incident_id = ${auditLog.incidentId} and later.provider = 'alertmanager'
            and later.action in ('resolve', 'expire_silence') and later.outcome = 'succeeded'
            and later.at > ${auditLog.at})`,
      ),
    )
    .limit(500);
}
