import type { ComponentStatus, ProviderIncidentRef, ProviderStatusSource } from '@micro-oncall/incident-model';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './schema.js';

/* The store's types, shared by the Statuspage store (store.ts) and AWS Health's (aws-health-store.ts). */

export type Db = NodePgDatabase<typeof schema>;
export type PageRow = typeof schema.pages.$inferSelect;

/** The component a change is written for (the store's writeChange, which AWS Health's store uses too). */
export interface ChangedComponent {
  id: string;
  name: string;
  groupId: string | null;
  groupName: string | null;
}

/** One change of a component's condition, as it is recorded (history) and published (outbox). */
export interface ChangeToWrite {
  from: ComponentStatus | null;
  to: ComponentStatus;
  providerStatus: string | null;
  stale: { since: string; reason: string; lastKnown: ComponentStatus | null } | null;
  incidents: ProviderIncidentRef[];
  source: ProviderStatusSource;
  observedAt: string;
}
