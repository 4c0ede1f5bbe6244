import { randomUUID } from 'node:crypto';
import type { Component, Logger } from '@micro-oncall/service-kit';
import { and, desc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import type { AuditWriter } from './audit.js';
import { auditLog, incidents } from './db/schema.js';
import type { EscalationDb, IncidentChange } from './db/types.js';
import { type AlertmanagerActions, MAX_SILENCE_MINUTES } from './providers/index.js';

/** Who expires silences when alerts resolve, in the audit log. */
export const SILENCE_EXPIRY_ACTOR = { subject: 'system:escalation', name: 'escalation', email: null };

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
 * When an Alertmanager alert resolves (its `resolved` event applied), expires the silences
 * acknowledgements created for it, so that the alert notifies again if it fires again. Each
 * expiry is audited as `expire_silence` by the service itself. Best effort after the event's
 * commit: a silence that cannot be expired now (Alertmanager down) still ends at its `endsAt`.
 */
export function createSilenceExpiry(deps: {
  db: EscalationDb;
  alertmanager: AlertmanagerActions;
  audit: AuditWriter;
  logger: Logger;
  /** How often the silenced alerts are looked up in Alertmanager (ALERTMANAGER_SILENCE_CHECK_SECONDS). */
  checkEveryMs: number;
}): { onApplied(changes: IncidentChange[]): void; watch: Component } {
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

  /** Alerts missing once (by incident id): expired on the second miss in a row, not on a blip. */
  let missing = new Set<string>();
  const check = async () => {
    const silenced = await silencedIncidents(deps.db);
    const stillMissing = new Set<string>();
    for (const incident of silenced) {
      if (await deps.alertmanager.isListed({ labels: incident.labels, fingerprint: incident.providerId })) continue;
      if (!missing.has(incident.id)) {
        stillMissing.add(incident.id);
        continue;
      }
      await expireFor(incident.id, incident.providerId, 'is no longer firing in Alertmanager');
    }
    missing = stillMissing;
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = check()
      .catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'checking the alerts of our Alertmanager silences failed');
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
 * Alertmanager incidents not resolved here whose latest acknowledgement (young enough for its
 * silence to be in force) was not followed by a resolve or an expiry of its silences.
 */
async function silencedIncidents(db: EscalationDb) {
  return db
    .selectDistinct({ id: incidents.id, providerId: incidents.providerId, labels: incidents.labels })
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
