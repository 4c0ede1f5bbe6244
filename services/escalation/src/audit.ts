import { randomUUID } from 'node:crypto';
import type { Principal } from '@micro-oncall/service-kit';
import { auditLog } from './db/schema.js';
import type { AuditOutcome, EscalationDb } from './db/types.js';

export interface AuditEntry {
  actor: Pick<Principal, 'subject' | 'name' | 'email'>;
  action: string;
  outcome: AuditOutcome;
  detail: string;
  requestId: string;
  incidentId?: string | null;
  provider?: string | null;
  providerStatus?: number | null;
  providerRequestId?: string | null;
  /** What was asked for, as validated (never credentials). */
  request?: unknown;
  /** A provider action's id: its `pending` row and its outcome row(s) share it. */
  actionId?: string | null;
}

/** The database or a transaction of it: an audit row can be written with the change it records. */
export type AuditExecutor = Pick<EscalationDb, 'insert'>;

export type AuditWriter = (entry: AuditEntry, tx?: AuditExecutor) => Promise<string>;

/** Appends one row to escalation.audit_log (inside `tx` when given) and returns its id. */
export function createAuditWriter(db: EscalationDb): AuditWriter {
  return async (entry, tx = db) => {
    const id = randomUUID();
    await tx.insert(auditLog).values({
      id,
      actorSubject: entry.actor.subject,
      actorName: entry.actor.name,
      actorEmail: entry.actor.email,
      action: entry.action,
      incidentId: entry.incidentId ?? null,
      outcome: entry.outcome,
      provider: entry.provider ?? null,
      providerStatus: entry.providerStatus ?? null,
      providerRequestId: entry.providerRequestId ?? null,
      detail: entry.detail.slice(0, 2000),
      requestId: entry.requestId,
      request: entry.request ?? null,
      actionId: entry.actionId ?? null,
    });
    return id;
  };
}
