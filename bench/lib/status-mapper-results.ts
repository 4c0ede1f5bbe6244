/**
 * What the status-mapper polling scenario measured (bench/scenarios/status-mapper-polling.ts):
 * the shape the run's report (report.ts) carries and status-mapper-report.ts renders. Types only,
 * so that neither of those two files needs the other's.
 */
import type { ProfileSummary } from './profile.js';

export interface StatusMapperResults {
  pages: number;
  intervalS: number;
  jitterS: number;
  /** Pages per behaviour of the fake (conditional, unconditional, slow, server-error, …). */
  behaviours: Record<string, number>;
  /** Full summary.json sizes at start, bytes. */
  bodyBytes: { median: number; max: number; total: number };
  /** From spawning the process until every page had been polled once (start-up included). */
  firstRound: { seconds: number; cpuSeconds: number };
  single: {
    seconds: number;
    /** Requests the fake pages received in the window. */
    polls: number;
    pollsPerMin: number;
    /** Polls per minute the configuration asks for: healthy pages × 60 / (interval + jitter / 2). */
    expectedPerMin: number;
    /** Seconds between consecutive polls of a page that answers (polls ending in the window). */
    gapS: { p50: number; p90: number; max: number; count: number };
    /** status-mapper's own statuspage_polls_total, by outcome, over the window. */
    outcomes: Record<string, number>;
    /** statuspage_poll_duration_seconds over the window (bucket-interpolated), ms. */
    durationMs: { p50: number; p99: number; mean: number; count: number };
    /** provider_status_changes_total (events written to the outbox) and messages on the topic. */
    eventsWritten: number;
    eventsPublished: number;
    /** Component changes made at the fakes at the window's start, and those a later answer showed. */
    flips: number;
    flipsObservable: number;
    cores: Record<string, number>;
    /** The process's cores over the window's seconds with no poll under way (NaN: fewer than 10 such seconds). */
    idleCores: number;
    idleSeconds: number;
    /** CPU per poll: the window's CPU beyond the idle part, divided by the polls. */
    cpuMsPerPoll: number;
    /**
     * Cores at the cadence, every page once a minute: idle + CPU per poll × pages / 60 s
     * (without an idle figure: the window's cores × pages ÷ polls per minute, an upper bound).
     */
    coresAtCadence: number;
    rssPeakBytes: number;
    /** Polls of one page less than (interval − 1 s) after the previous one (one replica). */
    doublePolls: number;
  };
  replicas: {
    processes: number;
    seconds: number;
    polls: number;
    pagesPolled: number;
    /** statuspage_polls_total of each replica over the phase. */
    pollsByReplica: number[];
    /** Polls of one page less than (interval − 1 s) after the previous one (that one may be from the first phase). */
    doublePolls: number;
    examples: string[];
    /** Shortest time between two polls of one page in this phase, s. */
    minGapS: number;
    cores: Record<string, number>;
    /** The first replica ran under --cpu-prof: its main thread over the phase. */
    profile?: ProfileSummary;
  };
}
