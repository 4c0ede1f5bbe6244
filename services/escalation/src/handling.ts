import type { Actor } from '@micro-oncall/incident-model';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { incidentEvents, incidents } from './db/schema.js';
import type { EscalationDb, IncidentRow } from './db/types.js';

type Reader = Pick<EscalationDb, 'select' | 'selectDistinctOn'>;

/**
 * Who is handling an incident, as its provider reported it in the events (never guessed):
 * - `acknowledgedBy`: the actor of the acknowledgement that made it acknowledged (the one at its
 *   `acknowledgedAt`); null while it is not acknowledged, or when the provider named nobody.
 * - `escalation`: the newest escalation the provider reported in the current episode (since the
 *   newest trigger or reopen), with its level when the provider says it (PagerDuty's
 *   `escalation_level`; Opsgenie names the escalation only). Null when none was reported.
 */
export interface IncidentHandling {
  acknowledgedBy: Actor | null;
  escalation: { level: number | null; policy: string | null } | null;
}

export const NO_HANDLING: IncidentHandling = { acknowledgedBy: null, escalation: null };

const change = sql`${incidentEvents.envelope} -> 'data' -> 'change'`;

/** Each incident's handling (by incident id), in two queries for all of `rows`. */
export async function handlingForIncidents(
  db: Reader,
  rows: readonly IncidentRow[],
): Promise<Map<string, IncidentHandling>> {
  const found = new Map<string, IncidentHandling>();
  if (rows.length === 0) return found;
  const acknowledged = rows.filter((r) => r.acknowledgedAt !== null).map((r) => r.id);
  const ids = rows.map((r) => r.id);
  const [acks, escalations] = await Promise.all([
    acknowledged.length === 0
      ? []
      : db
          .selectDistinctOn([incidentEvents.incidentId], {
            incidentId: incidentEvents.incidentId,
            actor: incidentEvents.actor,
          })
          .from(incidentEvents)
          .innerJoin(
            incidents,
            and(eq(incidents.id, incidentEvents.incidentId), eq(incidentEvents.occurredAt, incidents.acknowledgedAt)),
          )
          .where(and(inArray(incidentEvents.incidentId, acknowledged), eq(incidentEvents.kind, 'acknowledged')))
          .orderBy(incidentEvents.incidentId, asc(incidentEvents.recordedAt)),
    db
      .selectDistinctOn([incidentEvents.incidentId], {
        incidentId: incidentEvents.incidentId,
        level: sql<number | null>`(${change} ->> 'escalationLevel')::int`,
        policy: sql<string | null>`${change} ->> 'escalationPolicy'`,
      })
      .from(incidentEvents)
      .where(
        and(
          inArray(incidentEvents.incidentId, ids),
          sql`(${change} ? 'escalationLevel' or ${change} ? 'escalationPolicy')`,
          // The current episode: a reopened incident starts again at the first level.
          sql`${incidentEvents.occurredAt} >= coalesce((
            select max(e.occurred_at) from escalation.incident_events e
            where e.incident_id = ${incidentEvents.incidentId} and e.kind in ('triggered', 'reopened')
          ), '-infinity')`,
        ),
      )
      .orderBy(incidentEvents.incidentId, desc(incidentEvents.occurredAt), desc(incidentEvents.recordedAt)),
  ]);
  for (const ack of acks) found.set(ack.incidentId, { ...NO_HANDLING, acknowledgedBy: ack.actor ?? null });
  for (const e of escalations) {
    found.set(e.incidentId, {
      ...(found.get(e.incidentId) ?? NO_HANDLING),
      escalation: { level: e.level === null ? null : Number(e.level), policy: e.policy },
    });
  }
  return found;
}
