import cronParser from 'cron-parser';

/*
 * Game days' cron expressions: 5 fields (minute hour day-of-month month day-of-week) read in an
 * IANA time zone, parsed by cron-parser, the parser pg-boss's own cron schedules use. The
 * occurrences themselves are one-off jobs of the service's job runner (see game-days.ts).
 */

/** Why `cron` in `timezone` is not a usable schedule, per field; empty when it is. */
export function scheduleProblems(cron: string, timezone: string): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (!validTimezone(timezone)) {
    problems.push({
      path: 'timezone',
      message: `unknown time zone ${JSON.stringify(timezone)} (IANA, e.g. Europe/Paris)`,
    });
  }
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    problems.push({
      path: 'cron',
      message: `needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
    });
  } else {
    try {
      nextOccurrence(cron, validTimezone(timezone) ? timezone : 'UTC', new Date());
    } catch (error) {
      problems.push({ path: 'cron', message: `not a cron expression: ${(error as Error).message}` });
    }
  }
  return problems;
}

/** The first occurrence strictly after `after`. Throws when the expression cannot be parsed. */
export function nextOccurrence(cron: string, timezone: string, after: Date): Date {
  const next = cronParser.parseExpression(cron.trim(), { currentDate: after, tz: timezone }).next().toDate();
  if (Number.isNaN(next.getTime())) throw new Error('it has no next occurrence');
  return next;
}

function validTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return timezone.length > 0;
  } catch {
    return false;
  }
}
