import type { DrillRunEvent, EventEnvelope } from '@micro-oncall/incident-model';
import { dbErrorCode, type IncomingMessage, type Rejected, type TypedHandler } from '@micro-oncall/service-kit';
import { inArray, sql } from 'drizzle-orm';
import * as schema from '../db/schema.js';
import type { EscalationDb, IncidentChange } from '../db/types.js';
import { verifyDrill } from '../drills.js';
import { CHANGE_SEQ_LOCK } from './incident-events.js';
import { notifyLiveFeed } from './incident-sql.js';

/**
 * Consumer of `<ns>.drills.v1` (simulator): the drill runs it registered, with their state, so
 * that an incident is a drill only when its run id names a run that was active when it arrived
 * (drills.ts). One transaction per chunk: the event ids are recorded first (a conflict means
 * already applied: a redelivery changes nothing), then each run's row follows its newest event.
 * The incidents that carry the run ids are then evaluated again: a run registered just after
 * its first alert arrived turns that incident into the drill it is.
 */
interface Decoded {
  message: IncomingMessage;
  envelope: EventEnvelope<'drills'>;
  event: DrillRunEvent;
}

const isDataException = (error: unknown) => dbErrorCode(error).startsWith('22');

export function createDrillsHandler(deps: {
  db: EscalationDb;
  /** Called after the chunk's transaction committed, with each incident whose verdict changed. */
  onApplied?: (changes: IncidentChange[]) => void;
}): TypedHandler<'drills'> {
  const apply = (valid: Decoded[]) =>
    deps.db.transaction(async (tx): Promise<IncidentChange[]> => {
      const inserted = await tx
        .insert(schema.drillRunEvents)
        .values(
          valid.map(({ event }) => ({
            eventId: event.eventId,
            runId: event.run.id,
            kind: event.kind,
            occurredAt: event.occurredAt,
          })),
        )
        .onConflictDoNothing({ target: schema.drillRunEvents.eventId })
        .returning({ eventId: schema.drillRunEvents.eventId });
      const fresh = new Set(inserted.map((r) => r.eventId));
      const touched = new Set<string>();
      // In message order (per run, the partition's order): the newest event of each run wins.
      for (const { event } of valid) {
        if (!fresh.delete(event.eventId)) continue;
        touched.add(event.run.id);
        const { run } = event;
        await tx
          .insert(schema.drillRuns)
          .values({
            runId: run.id,
            state: run.state,
            scenario: run.scenario,
            team: run.team,
            environment: run.environment,
            startedAt: run.startedAt,
            endedAt: run.endedAt,
            expiresAt: run.expiresAt,
            occurredAt: event.occurredAt,
          })
          .onConflictDoUpdate({
            target: schema.drillRuns.runId,
            set: {
              state: sql`excluded.state`,
              scenario: sql`excluded.scenario`,
              team: sql`excluded.team`,
              environment: sql`excluded.environment`,
              // Once known, a start or an end is kept (a late event from before it says null).
              startedAt: sql`coalesce(${schema.drillRuns.startedAt}, excluded.started_at)`,
              endedAt: sql`coalesce(${schema.drillRuns.endedAt}, excluded.ended_at)`,
              expiresAt: sql`excluded.expires_at`,
              occurredAt: sql`excluded.occurred_at`,
              updatedAt: sql`now()`,
            },
            // An event that happened before the one applied (a late redelivery) is ignored.
            setWhere: sql`${schema.drillRuns.occurredAt} <= excluded.occurred_at`,
          });
      }
      if (touched.size === 0) return [];

      // Under the change-sequence lock, as the incident-events consumer verifies (see there). An
      // incident row another transaction holds is skipped: that transaction verifies it after
      // this one commits, and sees these runs.
      await tx.execute(sql`select pg_advisory_xact_lock(${CHANGE_SEQ_LOCK})`);
      const runIds = [...touched];
      const runs = await tx.select().from(schema.drillRuns).where(inArray(schema.drillRuns.runId, runIds));
      const incidents = await tx
        .select()
        .from(schema.incidents)
        .where(inArray(schema.incidents.drillRunId, runIds))
        .for('update', { skipLocked: true });
      const changes: IncidentChange[] = [];
      for (const before of incidents) {
        const verdict = verifyDrill(
          before,
          runs.find((r) => r.runId === before.drillRunId),
        );
        if (verdict.drill === before.drill && verdict.unverifiedDrillMarker === before.unverifiedDrillMarker) continue;
        const [after] = await tx
          .update(schema.incidents)
          .set({ ...verdict, changeSeq: sql`nextval('escalation.incident_change_seq')` })
          .where(inArray(schema.incidents.id, [before.id]))
          .returning();
        changes.push({ before, after: after! });
      }
      // Delivered at commit to every replica's live feed (see live.ts).
      if (changes.length > 0) await notifyLiveFeed(tx);
      return changes;
    });

  return async (messages) => {
    const rejected: Rejected[] = [];
    const valid: Decoded[] = messages.map(({ message, envelope, data }) => ({ message, envelope, event: data }));
    let changed: IncidentChange[] = [];
    try {
      changed = await apply(valid);
    } catch (error) {
      // A value PostgreSQL refuses would fail the chunk forever: one by one, dead-letter the culprit.
      if (!isDataException(error) || valid.length === 0) throw error;
      for (const one of valid) {
        try {
          changed.push(...(await apply([one])));
        } catch (single) {
          if (!isDataException(single)) throw single;
          rejected.push({
            message: one.message,
            reason: `the database refused the event: ${(single as Error).message}`,
          });
        }
      }
    }
    if (changed.length > 0) deps.onApplied?.(changed);
    return { rejected };
  };
}
