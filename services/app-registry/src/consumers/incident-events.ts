import type { TypedHandler } from '@micro-oncall/service-kit';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from '../db/schema.js';

/**
 * Consumer of `<ns>.incident-events.v1`: counts new incidents per service. Idempotent: the
 * event id is recorded in the same transaction as its effect, so a redelivery changes nothing.
 */
export function createIncidentEventsHandler(db: NodePgDatabase<typeof schema>): TypedHandler<'incident-events'> {
  return async (events) => {
    await db.transaction(async (tx) => {
      for (const { data } of events) {
        const fresh = await tx
          .insert(schema.appliedEvents)
          .values({ eventId: data.eventId })
          .onConflictDoNothing()
          .returning({ eventId: schema.appliedEvents.eventId });
        if (fresh.length === 0 || data.kind !== 'triggered') continue;
        const service = data.snapshot?.service ?? 'unknown';
        await tx
          .insert(schema.serviceActivity)
          .values({ service, incidents: 1, lastEventAt: data.occurredAt })
          .onConflictDoUpdate({
            target: schema.serviceActivity.service,
            set: {
              incidents: sql`${schema.serviceActivity.incidents} + 1`,
              lastEventAt: sql`greatest(${schema.serviceActivity.lastEventAt}, excluded.last_event_at)`,
            },
          });
      }
    });
    return { rejected: [] };
  };
}
