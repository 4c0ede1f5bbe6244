import { randomUUID } from 'node:crypto';
import type { Principal } from '@micro-oncall/service-kit';
import type { EscalationDb } from './consumers/incident-events.js';
import { auditLog } from './db/schema.js';

export interface AuditEntry {
  actor: Pick<Principal, 'subject' | 'name' | 'email'>;
  action: string;
  outcome: 'succeeded' | 'failed' | 'denied';
  detail: string;
  requestId: string;
  incidentId?: string | null;
  provider?: string | null;
  providerStatus?: number | null;
  providerRequestId?: string | null;
  /** What was asked for, as validated (never credentials). */
  request?: unknown;
}

export type AuditWriter = (entry: AuditEntry) => Promise<string>;

/** Appends one row to escalation.audit_log and returns its id. */
export function createAuditWriter(db: EscalationDb): AuditWriter {
  return async (entry) => {
    const id = randomUUID();
    await db.insert(auditLog).values({
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
    });
    return id;
  };
}
