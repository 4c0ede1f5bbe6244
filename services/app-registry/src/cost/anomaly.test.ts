import { describe, expect, it } from 'vitest';
import { addDays, assessDay, baselineOf, DEFAULT_ANOMALY, median } from './anomaly.js';

/** A deterministic generator (mulberry32), so the synthetic series are the same on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaussian noise (Box–Muller) around `level` with standard deviation `sd`, never below 0. */
function series(days: number, level: number, sd: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: days }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    return Math.max(0, level + sd * z);
  });
}

/** Scans a series day by day as the import does: each day against the days before it. */
function flaggedDays(values: number[], settings = DEFAULT_ANOMALY): number[] {
  return values.flatMap((value, i) => (assessDay(values.slice(0, i), value, settings).anomalous ? [i] : []));
}

/** A weekly rhythm: weekdays around 100 (σ 6), days 5 and 6 of each week (the weekend) around 20 (σ 3). */
function weeklySeries(days: number, seed: number): number[] {
  const weekday = series(days, 100, 6, seed);
  const weekend = series(days, 20, 3, seed + 1000);
  return weekday.map((v, i) => (i % 7 >= 5 ? weekend[i]! : v));
}

describe('cost anomalies (median and MAD)', () => {
  it('finds every planted spike in noisy series, and almost no ordinary day', () => {
    let ordinaryFlagged = 0;
    let ordinaryDays = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
      const values = series(90, 100, 8, seed);
      const planted = [40, 65, 80];
      for (const day of planted) values[day] = values[day]! + 100; // about +12 σ
      const flagged = flaggedDays(values);
      expect(flagged, `seed ${seed}`).toEqual(expect.arrayContaining(planted));
      ordinaryFlagged += flagged.filter((d) => !planted.includes(d)).length;
      ordinaryDays += values.length - planted.length;
    }
    expect(ordinaryFlagged / ordinaryDays).toBeLessThan(0.01);
  });

  it('flags under 1 % of ordinary days over years of seasonality-free noise, none far from the median', () => {
    let flagged = 0;
    let days = 0;
    for (const seed of [11, 12, 13, 14, 15]) {
      const values = series(365, 200, 15, seed);
      days += values.length;
      for (const day of flaggedDays(values)) {
        flagged += 1;
        // What a 28-day MAD mistakes for unusual is still an unusually high day (over 1.5 σ).
        expect(values[day]! - 200).toBeGreaterThan(1.5 * 15);
      }
    }
    // The MAD of 28 days is itself noisy: about 0.5–1 % of ordinary days score above 3.5 (ADR).
    expect(flagged / days).toBeLessThan(0.01);
  });

  it('does not flag an ordinary day at the median, nor one a σ above it', () => {
    const values = series(28, 100, 8, 17);
    expect(assessDay(values, median(values)).anomalous).toBe(false);
    expect(assessDay(values, median(values) + 8).anomalous).toBe(false);
  });

  it('still finds a spike after an earlier spike in its baseline (robust to outliers)', () => {
    const values = series(40, 50, 3, 21);
    values[30] = 500;
    values[35] = 300;
    expect(flaggedDays(values)).toEqual([30, 35]);
  });

  it('does not flag a rise of cents, however unusual', () => {
    const values = series(30, 0.2, 0.01, 31);
    values.push(3);
    const last = assessDay(values.slice(0, -1), 3);
    expect(last.score).toBeGreaterThan(DEFAULT_ANOMALY.threshold);
    expect(last).toMatchObject({ anomalous: false, reason: 'below_floor' });
  });

  it('judges nothing with less than a week of history', () => {
    expect(assessDay([10, 10, 10, 10, 10, 10], 1000)).toMatchObject({
      anomalous: false,
      reason: 'insufficient_history',
      score: null,
    });
  });

  it('handles MAD = 0: the mean deviation, then a perfectly flat baseline', () => {
    // More than half the days cost exactly the same: MAD is 0, the mean deviation is not.
    const mostlyFlat = [20, 20, 20, 20, 20, 20, 20, 20, 26, 14];
    expect(assessDay(mostlyFlat, 22)).toMatchObject({ anomalous: false, mad: 0, reason: 'below_threshold' });
    expect(assessDay(mostlyFlat, 60)).toMatchObject({ anomalous: true, mad: 0 });
    // Perfectly flat: no spread at all; a rise above the floor is anomalous, one below is not.
    const flat = Array.from({ length: 14 }, () => 20);
    expect(assessDay(flat, 20)).toMatchObject({ anomalous: false, score: 0 });
    expect(assessDay(flat, 25)).toMatchObject({ anomalous: false, reason: 'below_floor' });
    expect(assessDay(flat, 45)).toMatchObject({ anomalous: true, score: Number.POSITIVE_INFINITY });
  });

  it('never flags a drop', () => {
    expect(assessDay(series(28, 100, 5, 41), 0).anomalous).toBe(false);
  });

  it('builds the baseline from the window before the day, days without cost as 0, from the first cost on', () => {
    const costs = new Map([
      ['2026-03-01', 5],
      ['2026-03-03', 7],
      ['2026-03-05', 100],
    ]);
    expect(baselineOf(costs, '2026-03-05', 28)).toEqual([5, 0, 7, 0]);
    expect(baselineOf(costs, '2026-03-05', 2)).toEqual([7, 0]);
    expect(baselineOf(costs, '2026-03-01', 28)).toEqual([]);
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});

describe('cost anomalies with a weekly rhythm (weekday baseline)', () => {
  it('finds a weekend that costs like a weekday and a weekday spike; ordinary weekend dips and Mondays are no news', () => {
    let ordinaryFlagged = 0;
    let ordinaryDays = 0;
    for (const seed of [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]) {
      const values = weeklySeries(120, seed);
      const saturday = 54; // 54 % 7 = 5: a weekend day, at a weekday's cost (something left running)
      const tuesday = 85; // 85 % 7 = 1
      values[saturday] = 100;
      values[tuesday] = values[tuesday]! + 80; // about +13 σ of the weekdays
      const flagged = flaggedDays(values);
      expect(flagged, `seed ${seed}`).toEqual(expect.arrayContaining([saturday, tuesday]));
      const verdict = assessDay(values.slice(0, saturday), values[saturday]!);
      expect(verdict).toMatchObject({ anomalous: true, baseline: 'weekday' });
      expect(verdict.median!).toBeLessThan(30); // a Saturday usually costs about 20
      // No ordinary weekend is news, nor a Monday for rising from the weekend: what the noise of a
      // weekday's four-day median and of the MAD mistakes for unusual is a weekday above the weekdays' level.
      for (const day of flagged.filter((d) => d !== saturday && d !== tuesday)) {
        expect(day % 7, `seed ${seed} flagged weekend day ${day}`).toBeLessThan(5);
        expect(values[day]!, `seed ${seed} flagged day ${day}`).toBeGreaterThan(100);
      }
      ordinaryFlagged += flagged.length - 2;
      ordinaryDays += values.length - 2;
    }
    expect(ordinaryFlagged / ordinaryDays).toBeLessThan(0.01);
  });

  it('judges a busy weekday against the weekdays, not the quiet weekend', () => {
    const values = weeklySeries(60, 31);
    const verdict = assessDay(values.slice(0, 57), 100 + 2 * 6); // a Tuesday (57 % 7 = 1) 2 σ up: ordinary
    expect(verdict).toMatchObject({ anomalous: false, baseline: 'weekday' });
    expect(verdict.median!).toBeGreaterThan(90);
  });

  it('keeps the plain baseline for series without a weekly rhythm, and before three weeks of history', () => {
    let weekday = 0;
    let judged = 0;
    for (const seed of [41, 42, 43, 44, 45]) {
      const values = series(200, 100, 8, seed);
      for (let i = 28; i < values.length; i++) {
        judged += 1;
        if (assessDay(values.slice(0, i), values[i]!).baseline === 'weekday') weekday += 1;
      }
    }
    expect(weekday / judged).toBeLessThan(0.05);
    const young = weeklySeries(20, 51);
    expect(assessDay(young, 100).baseline).toBe('plain');
  });
});
