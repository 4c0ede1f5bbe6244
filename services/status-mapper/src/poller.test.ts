import { describe, expect, it } from 'vitest';
import { nextDueAt, tickWindowEnd } from './poller.js';

const at = (iso: string) => new Date(`2026-12-01T10:${iso}Z`);

describe(nextDueAt.name, () => {
  const interval = { intervalMs: 60_000 };

  it('counts from the time the page was due, so a poll taken late does not stretch the cadence', () => {
    // Due at 10:00:00, claimed half a second late: due again 60 s + jitter after 10:00:00.
    expect(nextDueAt({ ...interval, dueAt: at('00:00'), startedAt: at('00:00.500'), delayMs: 65_000 })).toEqual(
      at('01:05'),
    );
  });

  it('keeps a 60 s page with up to 10 s of jitter at 65 s on average although each poll starts late', () => {
    let due = at('00:00');
    const polls: Date[] = [];
    const jitter = [3000, 7000, 1000, 9000, 5000];
    for (let i = 0; i < 11; i += 1) {
      // Each poll starts within a claim quantum of its time (and used to count from its end).
      const startedAt = new Date(due.getTime() + 400);
      polls.push(startedAt);
      due = nextDueAt({ ...interval, dueAt: due, startedAt, delayMs: 60_000 + jitter[i % jitter.length]! });
    }
    const gaps = polls.slice(1).map((p, i) => (p.getTime() - polls[i]!.getTime()) / 1000);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(60);
    expect((polls[10]!.getTime() - polls[0]!.getTime()) / 10_000).toBe(65);
  });

  it('without jitter, adds no more than the lateness of each poll', () => {
    let due = at('00:00');
    let startedAt = due;
    for (let i = 0; i < 10; i += 1) {
      startedAt = new Date(due.getTime() + 400);
      due = nextDueAt({ ...interval, dueAt: due, startedAt, delayMs: 60_000 });
    }
    expect(due).toEqual(new Date(startedAt.getTime() + 60_000));
    expect((due.getTime() - at('00:00').getTime()) / 10_000).toBe(60.4);
  });

  it('never asks a provider twice within its interval', () => {
    // Due at 10:00:00 but polled at 10:00:04; no jitter drawn: not before 10:01:04.
    expect(nextDueAt({ ...interval, dueAt: at('00:00'), startedAt: at('00:04'), delayMs: 60_000 })).toEqual(
      at('01:04'),
    );
  });

  it('counts from the poll itself after a forced poll or a long outage (no burst of catch-up polls)', () => {
    // Forced: the page was not due until 10:00:30.
    expect(nextDueAt({ ...interval, dueAt: at('00:30'), startedAt: at('00:00'), delayMs: 62_000 })).toEqual(
      at('01:02'),
    );
    // Due at 09:50, polled at 10:00 (the service was down).
    expect(
      nextDueAt({ ...interval, dueAt: new Date('2026-12-01T09:50:00Z'), startedAt: at('00:00'), delayMs: 62_000 }),
    ).toEqual(at('01:02'));
  });

  it('backs off from the due time', () => {
    expect(nextDueAt({ ...interval, dueAt: at('00:00'), startedAt: at('00:01'), delayMs: 240_000 })).toEqual(
      at('04:00'),
    );
  });
});

describe(tickWindowEnd.name, () => {
  it("ends 59 s into the next minute, after that minute's tick has been queued", () => {
    expect(tickWindowEnd(at('00:10'))).toEqual(at('01:59'));
    expect(tickWindowEnd(at('00:59.500'))).toEqual(at('01:59'));
  });

  it('lets runs that follow each other cover every minute without a gap', () => {
    // The start-up run at 10:00:10 ends at 10:01:59; the 10:01 tick, waiting, starts then and ends at 10:02:59.
    const first = tickWindowEnd(at('00:10'));
    const second = tickWindowEnd(first);
    expect(second).toEqual(at('02:59'));
    expect(tickWindowEnd(second)).toEqual(at('03:59'));
  });
});
