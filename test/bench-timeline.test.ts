import { describe, expect, it } from 'vitest';
import { bySecondLine, LatencyTimeline } from '../bench/lib/timeline.js';

describe(LatencyTimeline.name, () => {
  it('groups answers by the second their request was due, not the second they were answered', () => {
    const t = new LatencyTimeline(2);
    // Due at 0.2 s, answered 10 s later: a stall at the start shows in second 0.
    t.add(200, 10_044);
    t.add(999.9, 5);
    t.add(1000, 791);
    t.add(2500, 3);
    expect(t.seconds().map((s) => [s.second, s.count, s.maxMs])).toEqual([
      [0, 2, 10_044],
      [1, 1, 791],
      [2, 1, 3],
    ]);
  });

  it('shows a second without answers as empty, and keeps due times beyond the run in its last second', () => {
    const t = new LatencyTimeline(3);
    t.add(100, 4);
    t.add(2100, 6);
    t.add(60_000, 8);
    t.add(-5, 2);
    expect(t.seconds()).toEqual([
      { second: 0, count: 2, maxMs: 4, p99Ms: 4 },
      { second: 1, count: 0, maxMs: null, p99Ms: null },
      { second: 2, count: 1, maxMs: 6, p99Ms: 6 },
      { second: 3, count: 1, maxMs: 8, p99Ms: 8 },
    ]);
  });

  it('gives the p99 of a second within 2% above the true value, and never above the worst', () => {
    const t = new LatencyTimeline(0);
    // 1,000 answers of 1..1000 ms: nearest-rank p99 is 990 ms; one outlier of 30 s is the worst.
    for (let ms = 1; ms <= 999; ms += 1) t.add(10, ms);
    t.add(10, 30_000);
    const [second] = t.seconds();
    expect(second!.count).toBe(1000);
    expect(second!.maxMs).toBe(30_000);
    expect(second!.p99Ms).toBeGreaterThanOrEqual(990);
    expect(second!.p99Ms).toBeLessThanOrEqual(990 * 1.02);
    const slow = new LatencyTimeline(0);
    slow.add(0, 250_000);
    expect(slow.seconds()[0]!.p99Ms).toBe(250_000);
  });

  it('refuses a bound that is not a whole number of seconds', () => {
    expect(() => new LatencyTimeline(-1)).toThrow('lastSecond must be a whole number ≥ 0, not -1');
    expect(() => new LatencyTimeline(1.5)).toThrow('lastSecond must be a whole number ≥ 0, not 1.5');
  });
});

describe(bySecondLine.name, () => {
  it('writes whole milliseconds with separators, small ones with a decimal, and – for an empty second', () => {
    expect(bySecondLine([10_044.4, 791, 2.345, null, 1266])).toBe('10,044 · 791 · 2.3 · – · 1,266');
  });
});
