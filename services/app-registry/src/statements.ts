import { and, asc } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import * as schema from './db/schema.js';
import { cutoffs, dueConditions } from './lifecycle.js';
import { afterCursor, filtersOf, orderOf, parseListQuery } from './query.js';
import type { LifecycleSettings } from './store.js';

/*
 * The SQL of app-registry's two hot statements, built exactly as the service builds them, for
 * diagnosis (EXPLAIN ANALYZE in the benchmark, or by an operator chasing a slow list): nothing
 * here runs a query.
 */

export interface Statement {
  sql: string;
  params: unknown[];
}

/** What `GET /apps/v1/apps` runs for these query parameters (one page plus one row to know there is more). */
export function listStatement(params: Record<string, string>): Statement {
  const q = parseListQuery(params);
  return new QueryBuilder()
    .select()
    .from(schema.apps)
    .where(and(filtersOf(q), afterCursor(q)))
    .orderBy(...orderOf(q))
    .limit(q.limit + 1)
    .toSQL();
}

/** The lifecycle sweep's candidate query for its first step (active → idle), as the job runs it at `now`. */
export function idleSweepStatement(now: Date, settings: LifecycleSettings, batch = 200): Statement {
  const { sql, params } = new QueryBuilder()
    .select()
    .from(schema.apps)
    .where(dueConditions(cutoffs(now, settings)).idle)
    .orderBy(asc(schema.apps.id))
    .limit(batch)
    .toSQL();
  return { sql: `${sql} for update skip locked`, params };
}
