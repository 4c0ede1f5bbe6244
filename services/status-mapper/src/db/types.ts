import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type * as schema from './schema.js';

/* The store's types, shared by the Statuspage store (store.ts) and AWS Health's (aws-health-store.ts). */

export type Db = NodePgDatabase<typeof schema>;
export type PageRow = typeof schema.pages.$inferSelect;
