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

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Assessment {
  anomalous: boolean;
  /** Null: too little history to judge. */
  median: number | null;
  mad: number | null;
  /** The robust z-score; Infinity over a perfectly flat baseline; null without a baseline. */
  score: number | null;
  increase: number;
  reason: 'insufficient_history' | 'below_threshold' | 'below_floor' | 'anomalous';
}

/** Judges `value` (a day's cost) against `baseline` (the days before it, oldest first, at most windowDays used). */
export function assessDay(baseline: readonly number[], value: number, settings = DEFAULT_ANOMALY): Assessment {
  const window = baseline.slice(-settings.windowDays);
  if (window.length < settings.minHistoryDays) {
    return { anomalous: false, median: null, mad: null, score: null, increase: 0, reason: 'insufficient_history' };
  }
  const m = median(window);
  const mad = median(window.map((v) => Math.abs(v - m)));
  const increase = value - m;
  let spread = MAD_SCALE * mad;
  if (spread === 0) spread = MEAN_AD_SCALE * (window.reduce((s, v) => s + Math.abs(v - m), 0) / window.length);
  const score = spread > 0 ? increase / spread : increase > 0 ? Number.POSITIVE_INFINITY : 0;
  const base = { median: m, mad, score, increase };
  if (score <= settings.threshold) return { ...base, anomalous: false, reason: 'below_threshold' };
  if (increase <= settings.minIncrease) return { ...base, anomalous: false, reason: 'below_floor' };
  return { ...base, anomalous: true, reason: 'anomalous' };
}

const DAY_MS = 86_400_000;
export const addDays = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/**
 * The baseline of `day` from an app's daily costs (day → cost): the windowDays days before it,
 * from its first day with cost on, days without cost as 0.
 */
export function baselineOf(costs: ReadonlyMap<string, number>, day: string, windowDays: number): number[] {
  const known = [...costs.keys()].filter((d) => d < day).sort();
  const first = known[0];
  if (!first) return [];
  const values: number[] = [];
  for (let d = addDays(day, -windowDays); d < day; d = addDays(d, 1)) {
    if (d >= first) values.push(costs.get(d) ?? 0);
  }
  return values;
}
