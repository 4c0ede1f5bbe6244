import { describe, expect, it } from 'vitest';
import { nextOccurrence, scheduleProblems } from './schedule.js';

describe('game day schedules', () => {
  it('finds the next occurrence in the time zone, across a daylight-saving change', () => {
    // Tuesdays 10:00 in Paris: 09:00 UTC in winter, 08:00 UTC in summer.
    expect(nextOccurrence('0 10 * * 2', 'Europe/Paris', new Date('2026-12-01T09:00:00Z')).toISOString()).toBe(
      '2026-12-08T09:00:00.000Z',
    );
    expect(nextOccurrence('0 10 * * 2', 'Europe/Paris', new Date('2026-03-25T00:00:00Z')).toISOString()).toBe(
      '2026-03-31T08:00:00.000Z',
    );
    // Strictly after: an occurrence at `after` itself is not the next one.
    expect(nextOccurrence('*/15 * * * *', 'UTC', new Date('2026-12-01T10:15:00Z')).toISOString()).toBe(
      '2026-12-01T10:30:00.000Z',
    );
  });

  it('names the field and the problem', () => {
    expect(scheduleProblems('0 10 * * 2', 'UTC')).toEqual([]);
    expect(scheduleProblems('0 25 * * *', 'UTC')).toEqual([
      { path: 'cron', message: 'not a cron expression: Constraint error, got value 25 expected range 0-23' },
    ]);
    expect(scheduleProblems('0 10 * * 2 2026', 'UTC')).toEqual([
      { path: 'cron', message: 'needs 5 fields (minute hour day-of-month month day-of-week), got 6' },
    ]);
    expect(scheduleProblems('0 0 31 2 *', 'UTC')).toEqual([
      { path: 'cron', message: 'not a cron expression: Invalid explicit day of month definition' },
    ]);
    expect(scheduleProblems('0 10 * * 2', 'Europe/Atlantis')).toEqual([
      { path: 'timezone', message: 'unknown time zone "Europe/Atlantis" (IANA, e.g. Europe/Paris)' },
    ]);
  });
});
