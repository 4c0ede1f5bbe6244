import { randomUUID } from 'node:crypto';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './db/schema.js';

/** What the simulator audits: every change it makes and every refusal, by action. */
export type AuditAction =
  | 'scenario_create'
  | 'run_propose'
  | 'run_approve'
  | 'run_reject'
  | 'run_abort'
  | 'run_checklist'
  | 'kill_switch_engage'
  | 'kill_switch_rearm'
  | 'audit_read'
  | 'flags_read'
  | 'game_day_create'
  | 'game_day_approve'
  | 'game_day_pause'
  | 'game_day_resume'
  | 'game_day_delete'
  | 'game_day_occurrence'
  | 'request';

export interface AuditEntry {
  /** Who (`anonymous` when nobody could be identified). */
  actor: { subject: string; name: string | null };
  action: AuditAction;
  outcome: 'succeeded' | 'denied' | 'failed';
  detail: string;
  requestId: string;
  runId?: string | null;
  scenarioId?: string | null;
  /** What was asked for, as validated (never credentials). */
  request?: unknown;
}

/** The database or a transaction of it: an audit row can be written with the change it records. */
export type AuditExecutor = Pick<NodePgDatabase<typeof schema>, 'insert'>;
export type AuditWriter = (entry: AuditEntry, tx?: AuditExecutor) => Promise<void>;

/** Appends one row to simulator.audit_log (append-only: see migration 0001), inside `tx` when given. */
export function createAuditWriter(db: NodePgDatabase<typeof schema>): AuditWriter {
  return async (entry, tx = db) => {
    await tx.insert(schema.auditLog).values({
      id: randomUUID(),
      actorSubject: entry.actor.subject,
      actorName: entry.actor.name,
      action: entry.action,
      outcome: entry.outcome,
      runId: entry.runId ?? null,
      scenarioId: entry.scenarioId ?? null,
      detail: entry.detail.slice(0, 2000),
      requestId: entry.requestId,
      request: entry.request ?? null,
    });
  };
}
