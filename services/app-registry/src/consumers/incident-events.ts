import type { Logger, TypedHandler } from '@micro-oncall/service-kit';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';

/**
 * Consumer of `<ns>.incident-events.v1`: an incident about a service is activity of the app of
 * that name (the name telemetry and alerts use), so its last activity moves forward and an idle
 * app becomes active again. Idempotent: the event id is recorded in the same transaction as its
 * effect, so a redelivery changes nothing. Incidents of services the registry does not know are
 * skipped (discovery, issue 13, will use them).
 */
export function createIncidentEventsHandler(registry: Registry, logger: Logger): TypedHandler<'incident-events'> {
  return async (events) => {
    let matched = 0;
    await registry.db.transaction(async (tx) => {
      for (const { data } of events) {
        const fresh = await tx
          .insert(schema.appliedEvents)
          .values({ eventId: data.eventId })
          .onConflictDoNothing()
          .returning({ eventId: schema.appliedEvents.eventId });
        const service = data.snapshot?.service;
        if (fresh.length === 0 || !service || data.drill) continue;
        if (await registry.recordActivity({ name: service }, new Date(data.occurredAt), `incident ${data.kind}`, tx))
          matched += 1;
      }
    });
    if (matched > 0) logger.debug({ matched }, 'incident activity recorded');
    return { rejected: [] };
  };
}
