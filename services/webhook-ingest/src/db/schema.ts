import { index, jsonb, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const ingest = pgSchema('ingest');

export const providerEnum = ingest.enum('provider', ['pagerduty', 'opsgenie', 'alertmanager', 'generic']);

/** Event ids already published: a replayed webhook publishes nothing new. */
export const receivedEvents = ingest.table(
  'received_events',
  {
    eventId: text('event_id').primaryKey(),
    provider: providerEnum('provider').notNull(),
    incidentId: text('incident_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('received_events_received_at_idx').on(t.receivedAt)],
);

/**
 * Authentic, well-formed webhooks that carry no incident change we model (e.g. PagerDuty
 * `service.updated`, an Opsgenie custom action). They were answered 202, so they are kept for
 * operators to inspect instead of being dropped silently.
 */
export const ignoredEvents = ingest.table(
  'ignored_events',
  {
    id: text('id').primaryKey(),
    provider: providerEnum('provider').notNull(),
    eventType: text('event_type').notNull(),
    reason: text('reason').notNull(),
    payload: jsonb('payload').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('ignored_events_received_at_idx').on(t.receivedAt)],
);
