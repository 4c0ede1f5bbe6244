/**
 * The report's view of where PostgreSQL's time went (statements.ts) and of when the end-to-end
 * webhook latency happened (timeline.ts): Markdown sections and the short console lines.
 */
import { type BenchResults, table } from './report.js';
import type { StatementStats } from './statements.js';
import { fmtInt, fmtMs } from './stats.js';
import { bySecondLine, type TimelineSecond } from './timeline.js';

/** Statements shown per run in the report (the JSON keeps STATEMENTS_KEPT). */
export const STATEMENTS_SHOWN = 8;

const share = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');

/** The top statements of one window as a Markdown table, or why there are none. */
export function statementsTable(stats: StatementStats, shown = STATEMENTS_SHOWN): string {
  if (!stats.available) return `not available (${stats.reason})`;
  if (stats.top.length === 0) return 'no statements recorded';
  return [
    `${fmtInt(stats.totalMs)} ms of statement time in ${fmtInt(stats.calls)} calls; the ${Math.min(shown, stats.top.length)} with the most:`,
    '',
    table(
      ['total ms', 'share', 'calls', 'mean ms', 'rows', 'statement (normalised)'],
      stats.top
        .slice(0, shown)
        .map((s) => [
          fmtInt(s.totalMs),
          share(s.totalMs, stats.totalMs),
          fmtInt(s.calls),
          fmtMs(s.meanMs),
          fmtInt(s.rows),
          `\`${s.query}\``,
        ]),
    ),
  ].join('\n');
}

/** A few lines for the console: the statements' total and the top `shown`. */
export function statementsConsole(stats: StatementStats, shown = 3): string[] {
  if (!stats.available) return [`PostgreSQL time by statement: not available (${stats.reason})`];
  return [
    `PostgreSQL time by statement: ${fmtInt(stats.totalMs)} ms in ${fmtInt(stats.calls)} calls; most:`,
    ...stats.top
      .slice(0, shown)
      .map(
        (s) =>
          `  ${fmtInt(s.totalMs).padStart(7)} ms ${share(s.totalMs, stats.totalMs).padStart(6)} ${fmtInt(s.calls).padStart(8)} calls  ${s.query.slice(0, 90)}`,
      ),
  ];
}

const e2eName = (e: { rate: number; polling: boolean }) =>
  `end to end at ${fmtInt(e.rate)}/s, ${e.polling ? 'API poll' : 'live stream'}`;

/** The runs that read pg_stat_statements, each with its name in the report. */
function statementRuns(r: BenchResults): [string, StatementStats][] {
  const runs: [string, StatementStats | undefined][] = [
    ...r.e2e.map((e): [string, StatementStats] => [e2eName(e), e.statements]),
    ['escalation consumer', r.consumer?.statements],
    ['escalation consumer, 2 replicas', r.replicas?.consumer?.two?.statements],
    ['escalation consumer, durable PostgreSQL', r.durable?.consumer?.statements],
  ];
  return runs.filter((run): run is [string, StatementStats] => run[1] !== undefined);
}

export function statementsSection(r: BenchResults): string[] {
  const runs = statementRuns(r);
  if (runs.length === 0) return [];
  return [
    '',
    '## PostgreSQL time by statement',
    '',
    'pg_stat_statements over each measured window (reset right before it, read right after), every database of the server, the bench’s own probes included; statements normalised ($1 for constants). Time is total_exec_time: it counts waiting for locks (pg_advisory_xact_lock, row locks) as well as working, so it is not CPU time; planning is not in it.',
    ...runs.flatMap(([name, stats]) => ['', `### ${name}`, '', statementsTable(stats)]),
  ];
}

/** `worst by second (ms): 10,044 · 791 · …` and the p99 line of one pass. */
export function timelineLines(bySecond: TimelineSecond[]): { worst: string; p99: string; answered: string } {
  return {
    worst: `worst by second (ms): ${bySecondLine(bySecond.map((s) => s.maxMs))}`,
    p99: `p99 by second (ms): ${bySecondLine(bySecond.map((s) => s.p99Ms))}`,
    answered: `answered by second: ${bySecond.map((s) => fmtInt(s.count)).join(' · ')}`,
  };
}

export function e2eTimelineSection(r: BenchResults): string[] {
  if (r.e2e.length === 0) return [];
  return [
    '',
    '## End to end: when the webhook latency happened',
    '',
    'The webhook POSTs’ 202 answers of each pass grouped by the second their request was due (from the start of the pass), so that a stall at the start is told apart from a queue that builds up; p99 from a histogram of 2% buckets.',
    '',
    ...r.e2e.flatMap((e) => {
      const lines = timelineLines(e.webhookBySecond);
      return [`- ${e2eName(e)}: ${lines.worst}; ${lines.p99}; ${lines.answered}`];
    }),
  ];
}
