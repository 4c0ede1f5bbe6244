import { QueryBuilder } from 'drizzle-orm/pg-core';
import * as schema from './db/schema.js';
import { candidateQuery, cutoffs, SWEEP_BATCH } from './lifecycle.js';
import { listQueryOf, parseListQuery } from './query.js';
import type { LifecycleSettings } from './types.js';

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
  return listQueryOf(parseListQuery(params));
}

/** The lifecycle sweep's candidate query for its first batch of its first step (active → idle), as the job runs it at `now`. */
export function idleSweepStatement(now: Date, settings: LifecycleSettings, batch = SWEEP_BATCH): Statement {
  const { where, orderBy } = candidateQuery('idle', cutoffs(now, settings), null);
  const { sql, params } = new QueryBuilder()
    .select()
    .from(schema.apps)
    .where(where)
    .orderBy(...orderBy)
    .limit(batch)
    .toSQL();
  return { sql: `${sql} for update skip locked`, params };
}
