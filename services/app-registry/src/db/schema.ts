import { integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

/** Everything app-registry stores lives in its own schema; no other service reads it. */
export const appRegistrySchema = pgSchema('app_registry');

/** Incidents seen per service: a projection of `incident-events`, rebuilt by replaying the topic. */
export const serviceActivity = appRegistrySchema.table('service_activity', {
  service: text('service').primaryKey(),
  incidents: integer('incidents').notNull().default(0),
  lastEventAt: timestamp('last_event_at', { withTimezone: true, mode: 'string' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date().toISOString()),
});

/** Applied event ids: a redelivered event changes nothing. */
export const appliedEvents = appRegistrySchema.table('applied_events', {
  eventId: text('event_id').primaryKey(),
  appliedAt: timestamp('applied_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
});
