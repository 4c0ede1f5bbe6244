/**
 * When the latency happened: the answers of an open-loop load grouped by the second their
 * request was due (not the second they were answered), so that a stall at the start of a run is
 * told apart from a queue that builds up. Bounded: per second a count, the worst latency and a
 * histogram of 700 counters (2.8 KB), whatever the rate.
 */
import { fmtInt } from './stats.js';

/** One second of due time: the answers of the requests due in it. */
export interface TimelineSecond {
  /** Whole seconds from the start of the run to the due time. */
  second: number;
  count: number;
  /** Worst latency, ms (null: no answer for this second). */
  maxMs: number | null;
  /** p99 latency, ms, from the histogram: at most 2% above the true value (up to 100 s), never above maxMs. */
  p99Ms: number | null;
}

/**
 * Histogram buckets: bucket i holds latencies up to LOWEST_MS × GROWTH^i, i.e. 2% wide, 0.1 ms
 * to 100 s (the last bucket holds everything above).
 */
const LOWEST_MS = 0.1;
const GROWTH = 1.02;
const BUCKETS = 700;
const LOG_GROWTH = Math.log(GROWTH);

function bucketOf(ms: number): number {
  if (!(ms > LOWEST_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / LOWEST_MS) / LOG_GROWTH));
}

interface Second {
  count: number;
  maxMs: number;
  buckets: Uint32Array;
}

/** Answers by second of due time; at most `lastSecond` + 1 seconds (a later due time counts in the last). */
export class LatencyTimeline {
  private readonly bySecond: (Second | undefined)[] = [];

  constructor(private readonly lastSecond: number) {
    if (!Number.isInteger(lastSecond) || lastSecond < 0)
      throw new Error(`lastSecond must be a whole number ≥ 0, not ${lastSecond}`);
  }

  /** One answer: its request was due `dueMs` after the start of the run and answered `latencyMs` after that. */
  add(dueMs: number, latencyMs: number): void {
    const index = Math.min(this.lastSecond, Math.max(0, Math.floor(dueMs / 1000)));
    let second = this.bySecond[index];
    if (!second) {
      second = { count: 0, maxMs: 0, buckets: new Uint32Array(BUCKETS) };
      this.bySecond[index] = second;
    }
    second.count += 1;
    second.maxMs = Math.max(second.maxMs, latencyMs);
    second.buckets[bucketOf(latencyMs)]! += 1;
  }

  /** Every second from 0 to the last one with an answer, in order. */
  seconds(): TimelineSecond[] {
    return Array.from(this.bySecond, (s, i) => summariseSecond(i, s));
  }
}

function summariseSecond(index: number, s: Second | undefined): TimelineSecond {
  if (!s) return { second: index, count: 0, maxMs: null, p99Ms: null };
  // Nearest rank, as summarise() in stats.ts: the bucket of the ceil(0.99 × count)-th smallest answer.
  const rank = Math.ceil(0.99 * s.count);
  let seen = 0;
  let bucket = 0;
  while (bucket < BUCKETS - 1) {
    seen += s.buckets[bucket]!;
    if (seen >= rank) break;
    bucket += 1;
  }
  // The last bucket has no upper bound but the worst answer itself.
  const upper = bucket === BUCKETS - 1 ? s.maxMs : LOWEST_MS * GROWTH ** bucket;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    second: index,
    count: s.count,
    maxMs: round(s.maxMs),
    p99Ms: round(Math.min(upper, s.maxMs)),
  };
}

/** Figures on one line, a second after another: `10,044 · 791 · 1,266` (– for a second without answers). */
export function bySecondLine(values: (number | null)[]): string {
  return values.map((v) => (v === null || !Number.isFinite(v) ? '–' : v < 10 ? v.toFixed(1) : fmtInt(v))).join(' · ');
}
