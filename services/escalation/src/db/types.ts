import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './schema.js';

/** The escalation database as drizzle sees it (every table of ./schema.ts). */
export type EscalationDb = NodePgDatabase<typeof schema>;

/** One row of escalation.incidents: an incident's current state (timestamps as PostgreSQL writes them). */
export type IncidentRow = typeof schema.incidents.$inferSelect;

/** One row of escalation.incident_events: an applied event. */
export type IncidentEventRow = typeof schema.incidentEvents.$inferSelect;

/** One row of escalation.audit_log. */
export type AuditRow = typeof schema.auditLog.$inferSelect;

export type AuditOutcome = (typeof schema.auditOutcomeEnum.enumValues)[number];

/** An incident row as it was before a committed change (null: new incident) and after it. */
export interface IncidentChange {
  before: IncidentRow | null;
  after: IncidentRow;
  /**
   * When the newest event applied in this change was first received (its envelope's time, set by
   * webhook-ingest or escalation's outbox; the same on a replay). Absent for changes no event made.
   */
  receivedAt?: string;
}
