/*
 * Cost anomalies: a day's cost of an app against its own recent baseline, with the median and
 * the median absolute deviation (MAD) of the days before it: robust to the odd spike in the
 * baseline itself, where a mean and standard deviation are not. See docs/adr/0020-cost-anomalies.md.
 *
 *   score = (x − median) / (1.4826 · MAD)      1.4826·MAD estimates σ for normal noise
 *   flagged when score > threshold (3.5) AND x − median > minIncrease (so cents are never news)
 *
 * The baseline is the `windowDays` (28) days before the day, a day without cost counting as 0,
 * from the app's first day with cost on; with fewer than `minHistoryDays` (7) there is no
 * baseline and nothing is flagged. When MAD = 0 (more than half the days cost the same), the
 * spread is the mean absolute deviation × 1.2533 instead (σ for normal noise); when that is 0 too
 * (a perfectly flat baseline), any rise above the floor is flagged and the score is infinite.
 *
 * Weekly rhythm: with three weeks of baseline or more, when the rhythm is plain to see (the
 * medians of the seven weekdays span WEEKLY_SPAN robust σ of the plain baseline or more), a day
 * is judged against its own weekday: the median of that weekday's days in the window, and the
 * spread of every day against the median of the other days of its weekday. Then a Saturday's
 * usual dip is no news and a Saturday that costs as much as a weekday is. Without such a rhythm
 * the plain baseline stands, so pure noise is judged as before. The baseline is contiguous days ending the day before, so a day's weekday
 * is its distance from the judged day modulo 7; no dates are needed here.
 */

export interface AnomalySettings {
  windowDays: number;
  minHistoryDays: number;
  threshold: number;
  /** The smallest rise over the median (currency units) that is ever flagged. */
  minIncrease: number;
}

export const DEFAULT_ANOMALY: AnomalySettings = { windowDays: 28, minHistoryDays: 7, threshold: 3.5, minIncrease: 10 };

export const MAD_SCALE = 1.4826;
export const MEAN_AD_SCALE = 1.2533;
/** The weekday baseline needs this many weeks of days, and weekday offsets spanning WEEKLY_SPAN robust σ. */
export const WEEKLY_MIN_WEEKS = 3;
export const WEEKLY_SPAN = 3;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Assessment {
  anomalous: boolean;
  /** What the day usually costs: the baseline's median (its weekday's, with a weekly rhythm); null without a baseline. */
  median: number | null;
  mad: number | null;
  /** The robust z-score; Infinity over a perfectly flat baseline; null without a baseline. */
  score: number | null;
  increase: number;
  /** Which baseline judged the day: each weekday against its own level, or all days alike. */
  baseline: 'weekday' | 'plain' | null;
  reason: 'insufficient_history' | 'below_threshold' | 'below_floor' | 'anomalous';
}

interface Spread {
  median: number;
  mad: number;
  /** σ estimated robustly: 1.4826 · MAD, or 1.2533 · the mean absolute deviation when MAD = 0. */
  sigma: number;
}

function spreadOf(values: readonly number[]): Spread {
  const m = median(values);
  const mad = median(values.map((v) => Math.abs(v - m)));
  const sigma =
    mad > 0 ? MAD_SCALE * mad : MEAN_AD_SCALE * (values.reduce((s, v) => s + Math.abs(v - m), 0) / values.length);
  return { median: m, mad, sigma };
}

/**
 * The weekday baseline of `window` (contiguous days, the last one the day before the judged day):
 * the usual cost of the judged day's weekday (its days' median), the span of the weekdays'
 * medians, and the spread of each day against the median of the other days of its weekday. (Not
 * against its own weekday's median: with four days a weekday, that median sits between the
 * middle two, which makes half the deviations tiny and the MAD far too small.)
 */
function weekdayBaseline(window: readonly number[]): { expected: number; spread: Spread; span: number } {
  const weekday = (i: number) => (window.length - i) % 7; // 0: the judged day's weekday
  const groups: number[][] = Array.from({ length: 7 }, () => []);
  for (const [i, v] of window.entries()) groups[weekday(i)]!.push(v);
  const medians = groups.map(median);
  const deviations = window.map((v, i) => {
    const others = [...groups[weekday(i)]!];
    others.splice(others.indexOf(v), 1);
    return v - median(others);
  });
  return {
    expected: medians[0]!,
    spread: spreadOf(deviations),
    span: Math.max(...medians) - Math.min(...medians),
  };
}

/** Judges `value` (a day's cost) against `baseline` (the days before it, oldest first, at most windowDays used). */
export function assessDay(baseline: readonly number[], value: number, settings = DEFAULT_ANOMALY): Assessment {
  const window = baseline.slice(-settings.windowDays);
  if (window.length < settings.minHistoryDays) {
    return {
      anomalous: false,
      median: null,
      mad: null,
      score: null,
      increase: 0,
      baseline: null,
      reason: 'insufficient_history',
    };
  }
  const plain = spreadOf(window);
  let chosen = { spread: plain, expected: plain.median, baseline: 'plain' as 'weekday' | 'plain' };
  if (window.length >= 7 * WEEKLY_MIN_WEEKS) {
    const weekly = weekdayBaseline(window);
    if (weekly.span > 0 && weekly.span >= WEEKLY_SPAN * plain.sigma) {
      chosen = { spread: weekly.spread, expected: weekly.expected, baseline: 'weekday' };
    }
  }
  const { spread, expected } = chosen;
  const increase = value - expected;
  const score = spread.sigma > 0 ? increase / spread.sigma : increase > 0 ? Number.POSITIVE_INFINITY : 0;
  const base = { median: expected, mad: spread.mad, score, increase, baseline: chosen.baseline };
  if (score <= settings.threshold) return { ...base, anomalous: false, reason: 'below_threshold' };
  if (increase <= settings.minIncrease) return { ...base, anomalous: false, reason: 'below_floor' };
  return { ...base, anomalous: true, reason: 'anomalous' };
}

const DAY_MS = 86_400_000;
export const addDays = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** Days since 1970-01-01 of a YYYY-MM-DD day; each distinct day parsed once (an import judges thousands of app-days). */
function dayNumber(day: string): number {
  let n = dayNumbers.get(day);
  if (n === undefined) {
    if (dayNumbers.size > 100_000) dayNumbers.clear();
    n = Date.parse(`${day}T00:00:00Z`) / DAY_MS;
    dayNumbers.set(day, n);
  }
  return n;
}
const dayNumbers = new Map<string, number>();

/**
 * The baseline of `day` from an app's daily costs (day → cost): the windowDays days before it,
 * from its first day with cost on, days without cost as 0. One pass over the app's days, no
 * dates built: it runs for every app and day of an import.
 */
export function baselineOf(costs: ReadonlyMap<string, number>, day: string, windowDays: number): number[] {
  const end = dayNumber(day);
  let first = Number.POSITIVE_INFINITY;
  for (const d of costs.keys()) {
    const n = dayNumber(d);
    if (n < end && n < first) first = n;
  }
  if (first === Number.POSITIVE_INFINITY) return [];
  const start = Math.max(end - windowDays, first);
  const values = new Array<number>(end - start).fill(0);
  for (const [d, cost] of costs) {
    const n = dayNumber(d);
    if (n >= start && n < end) values[n - start] = cost;
  }
  return values;
}
