import { drillRunIdOfEvent, type IncidentEvent } from '@micro-oncall/incident-model';
import { dbErrorCode, type Rejected, type TypedHandler, type TypedMessage } from '@micro-oncall/service-kit';
import { and, inArray, isNotNull } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from '../db/schema.js';

type Db = NodePgDatabase<typeof schema>;

const isDataException = (error: unknown) => dbErrorCode(error).startsWith('22');

/**
 * Consumer of `<ns>.incident-events.v1`: what responders did about the incidents a drill produced,
 * for the run's report. An event counts when the run id its alert carries (drillRunIdOfEvent)
 * names a run this simulator started: a run id nobody registered, or one of a proposal that never
 * ran, is not ours to report. Events after the run ended still count (the acknowledgement or
 * resolve of a drill incident comes late). One row per event id: a redelivery or a replay of the
 * topic changes nothing.
 */
export function createIncidentEventsHandler(deps: { db: Db }): TypedHandler<'incident-events'> {
  const apply = async (events: { event: IncidentEvent; runId: string }[]) => {
    const runIds = [...new Set(events.map((e) => e.runId))];
    const started = await deps.db
      .select({ id: schema.runs.id })
      .from(schema.runs)
      .where(and(inArray(schema.runs.id, runIds), isNotNull(schema.runs.startedAt)));
    const ours = new Set(started.map((r) => r.id));
    const rows = events
      .filter((e) => ours.has(e.runId))
      .map(({ event, runId }) => ({
        eventId: event.eventId,
        runId,
        incidentId: event.incidentId,
        kind: event.kind,
        providerEventType: event.providerEventType,
        provider: event.provider,
        dedupKey: event.dedupKey,
        occurredAt: event.occurredAt,
        actorType: event.actor?.type ?? null,
        actorName: event.actor?.name ?? event.actor?.id ?? null,
        title: event.snapshot?.title ?? null,
        service: event.snapshot?.service ?? null,
        severity: event.snapshot?.severity ?? null,
        note: event.note,
        escalationLevel: event.change?.escalationLevel ?? null,
      }));
    if (rows.length === 0) return;
    await deps.db.insert(schema.runIncidentEvents).values(rows).onConflictDoNothing();
  };

  return async (messages: TypedMessage<'incident-events'>[]) => {
    const rejected: Rejected[] = [];
    const drills = messages.flatMap(({ message, data }) => {
      const runId = drillRunIdOfEvent(data);
      return runId ? [{ message, event: data, runId }] : [];
    });
    if (drills.length === 0) return { rejected };
    try {
      await apply(drills);
    } catch (error) {
      // A value PostgreSQL refuses would fail the chunk forever: one by one, dead-letter the culprit.
      if (!isDataException(error)) throw error;
      for (const one of drills) {
        try {
          await apply([one]);
        } catch (single) {
          if (!isDataException(single)) throw single;
          rejected.push({
            message: one.message,
            reason: `the database refused the event: ${(single as Error).message}`,
          });
        }
      }
    }
    return { rejected };
  };
}
