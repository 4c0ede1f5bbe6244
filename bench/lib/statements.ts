/**
 * Where PostgreSQL's time goes, by statement: pg_stat_statements, which the bench's servers load
 * (startStack / startPostgres `statementStats`), reset right before a measured window and read
 * right after it. A server without the library (DATABASE_URL pointing elsewhere, or no
 * pg_stat_statements installed) gives "not available" with the reason: it never fails a run.
 */
import { sqlAs } from '@micro-oncall/test-kit';

/** One normalised statement's share of a window (pg_stat_statements, all databases of the server). */
export interface StatementStat {
  /** The normalised text ($1 for constants), whitespace collapsed, shortened (see shortenQuery). */
  query: string;
  calls: number;
  /** total_exec_time: executing, and waiting for locks meanwhile (pg_advisory_xact_lock included). */
  totalMs: number;
  meanMs: number;
  rows: number;
}

export type StatementStats =
  | {
      available: true;
      /** All statements of the window: their summed execution time and calls. */
      totalMs: number;
      calls: number;
      /** The statements with the most execution time, most first (at most STATEMENTS_KEPT). */
      top: StatementStat[];
    }
  | { available: false; reason: string };

/** Statements kept in the results per window; the report shows fewer. */
export const STATEMENTS_KEPT = 20;

/** A query's text on one line: whitespace collapsed, at most `max` characters (an ellipsis marks the cut). */
export function shortenQuery(text: string, max = 140): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

interface Row {
  query: string;
  calls: string;
  total_ms: number;
  mean_ms: number;
  rows: string;
  all_ms: number;
  all_calls: string;
}

/** Databases this process created the extension in (or found it): once each, not at every window. */
const withExtension = new Set<string>();

/**
 * Starts a statement window on the server of `databaseUrl`: creates the extension in that
 * database if it is missing (the first time), resets the statistics (of every database of the server), and
 * returns what reads the top statements since. Neither step throws: a server without
 * pg_stat_statements gives `{ available: false, reason }`.
 */
export async function statementWindow(databaseUrl: string): Promise<() => Promise<StatementStats>> {
  try {
    if (!withExtension.has(databaseUrl)) {
      await sqlAs(databaseUrl, 'create extension if not exists pg_stat_statements');
      withExtension.add(databaseUrl);
    }
    await sqlAs(databaseUrl, 'select pg_stat_statements_reset()');
  } catch (error) {
    const unavailable: StatementStats = { available: false, reason: reasonOf(error) };
    return async () => unavailable;
  }
  return async () => {
    try {
      const { rows } = await sqlAs(
        databaseUrl,
        `select query, calls, total_exec_time as total_ms, mean_exec_time as mean_ms, rows,
                sum(total_exec_time) over () as all_ms, sum(calls) over () as all_calls
           from pg_stat_statements
          order by total_exec_time desc
          limit $1`,
        [STATEMENTS_KEPT],
      );
      return statementStats(rows as Row[]);
    } catch (error) {
      return { available: false, reason: reasonOf(error) };
    }
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** The window's figures from pg_stat_statements rows (bigint columns arrive as strings). */
function statementStats(rows: Row[]): StatementStats {
  const first = rows[0];
  return {
    available: true,
    totalMs: first ? round2(first.all_ms) : 0,
    calls: first ? Number(first.all_calls) : 0,
    top: rows.map((r) => ({
      query: shortenQuery(r.query),
      calls: Number(r.calls),
      totalMs: round2(r.total_ms),
      meanMs: round2(r.mean_ms),
      rows: Number(r.rows),
    })),
  };
}
