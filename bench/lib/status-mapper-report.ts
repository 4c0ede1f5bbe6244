/**
 * The status-mapper polling figures in the run's report: what the scenario measured
 * (bench/scenarios/status-mapper-polling.ts), its verdicts against TARGETS, its section of the
 * Markdown report and its line of the method.
 */
import type { ProfileSummary } from './profile.js';
import {
  atLeast,
  atMost,
  BACKGROUND_LIMIT,
  type Cores,
  profileTables,
  type Targets,
  table,
  type Verdict,
} from './report.js';
import { fmtInt, fmtMs } from './stats.js';

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
    cores: Cores;
    /** The process's cores over the window's seconds with no poll under way (NaN: fewer than 10 such seconds). */
    idleCores: number;
    idleSeconds: number;
    /** CPU per poll: the window's CPU beyond the idle part, divided by the polls. */
    cpuMsPerPoll: number;
    /**
     * Cores at the issue's cadence, every page once a minute: idle + CPU per poll × pages / 60 s
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
    cores: Cores;
    /** The first replica ran under --cpu-prof: its main thread over the phase. */
    profile?: ProfileSummary;
  };
}

const disturbed = (v: Verdict, c: Cores | undefined): Verdict =>
  (c?.other ?? 0) > BACKGROUND_LIMIT
    ? { ...v, gap: `${v.gap}; ⚠ measured with ${c!.other!.toFixed(2)} cores busy outside this run` }
    : v;

export function statusMapperVerdicts(r: StatusMapperResults | undefined, t: Targets): Verdict[] {
  const two = (v: number) => v.toFixed(2);
  const pages = r?.pages ?? 500;
  return [
    disturbed(
      atMost(
        `status-mapper cores, one replica polling ${pages} pages every 60 s`,
        r?.single.coresAtCadence,
        t.statusMapperCores,
        'cores',
        two,
      ),
      r?.single.cores,
    ),
    disturbed(
      atLeast(
        'status-mapper polls per minute ÷ configured cadence',
        r ? r.single.pollsPerMin / r.single.expectedPerMin : undefined,
        t.statusMapperCadence,
        '×',
        two,
      ),
      r?.single.cores,
    ),
    atMost('status-mapper, two replicas: pages polled twice within one interval', r?.replicas.doublePolls, 0, 'polls'),
  ];
}

/** The report's section: figures, where the cores went, and what the fakes were like. */
export function statusMapperSection(r: StatusMapperResults | undefined, shared: string): string[] {
  if (!r) return [];
  const s = r.single;
  const c = (cores: Cores, k: string) => (cores[k] === undefined ? '–' : cores[k]!.toFixed(3));
  const note = (cores: Cores) =>
    (cores.other ?? 0) > BACKGROUND_LIMIT
      ? `${shared}; ⚠ ${cores.other!.toFixed(2)} cores busy outside this run`
      : shared;
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${k} ${fmtInt(v)}`)
    .join(', ');
  const rows = [
    [
      'one replica: cores used (status-mapper process)',
      `${s.cores['status-mapper']?.toFixed(3)} (kernel ${c(s.cores, 'status-mapper.sys')}) at ${fmtInt(s.pollsPerMin)} polls/min; idle ${Number.isFinite(s.idleCores) ? s.idleCores.toFixed(3) : 'n/a'} (over ${Math.round(s.idleSeconds)} s without a poll) + ${fmtMs(s.cpuMsPerPoll)} ms CPU per poll; **${s.coresAtCadence.toFixed(3)} at ${fmtInt(r.pages)} polls/min**`,
      note(s.cores),
    ],
    [
      'one replica: polls per minute',
      `**${fmtInt(s.pollsPerMin)}** of ${fmtInt(r.pages)} pages (${fmtInt(s.expectedPerMin)}/min at ${r.intervalS} s + ≤${r.jitterS} s jitter); time between polls of a page p50 ${s.gapS.p50.toFixed(0)} s, p90 ${s.gapS.p90.toFixed(0)} s, max ${s.gapS.max.toFixed(0)} s`,
      note(s.cores),
    ],
    ['one replica: outcomes (its statuspage_polls_total)', outcomes || '–', shared],
    [
      'one replica: poll duration (request to outcome written)',
      `p50 ${fmtMs(s.durationMs.p50)} ms, p99 ${fmtMs(s.durationMs.p99)} ms, mean ${fmtMs(s.durationMs.mean)} ms over ${fmtInt(s.durationMs.count)} polls`,
      note(s.cores),
    ],
    [
      'one replica: provider-status events',
      `${fmtInt(s.eventsWritten)} written, ${fmtInt(s.eventsPublished)} on the topic; ${s.flips} components changed at the fakes, ${s.flipsObservable} of them answered since`,
      shared,
    ],
    ['one replica: peak RSS in the window', `${fmtInt(s.rssPeakBytes / 1e6)} MB`, shared],
    [
      'start-up and first round (all pages once)',
      `${r.firstRound.seconds.toFixed(1)} s, ${r.firstRound.cpuSeconds.toFixed(1)} CPU s`,
      shared,
    ],
    [
      `${r.replicas.processes} replicas, one fresh database: pages polled twice within one interval`,
      `**${r.replicas.doublePolls}** (${fmtInt(r.replicas.polls)} polls of ${fmtInt(r.replicas.pagesPolled)} pages in ${Math.round(r.replicas.seconds)} s, by replica ${r.replicas.pollsByReplica.map(fmtInt).join(' / ')}; ${Number.isFinite(r.replicas.minGapS) ? `shortest time between two polls of a page ${r.replicas.minGapS.toFixed(1)} s` : 'no page polled twice in the phase'}); one replica alone: ${s.doublePolls}`,
      note(r.replicas.cores),
    ],
    [
      `${r.replicas.processes} replicas: cores used`,
      Object.entries(r.replicas.cores)
        .filter(([k]) => k.startsWith('status-mapper') && !k.endsWith('.sys'))
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(', '),
      note(r.replicas.cores),
    ],
  ];
  const behaviours = Object.entries(r.behaviours)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const cores = ['bench', 'postgres', 'kafka', 'other', 'machine'].map((k) => `${k} ${c(s.cores, k)}`).join(', ');
  return [
    '',
    `## status-mapper polling (${fmtInt(r.pages)} Statuspage pages, ${r.intervalS} s + ≤${r.jitterS} s jitter)`,
    '',
    table(['measurement', 'result', 'machine'], rows),
    '',
    `Fake pages: ${behaviours}; summary.json median ${fmtInt(r.bodyBytes.median / 1000)} KB, largest ${fmtInt(r.bodyBytes.max / 1000)} KB. Other cores during the one-replica window: ${cores}.`,
    ...(r.replicas.examples.length > 0 ? ['', `Double polls: ${r.replicas.examples.join('; ')}`] : []),
    ...(r.replicas.profile
      ? [
          '',
          '### status-mapper CPU profile (the first of the two replicas, under --cpu-prof)',
          '',
          profileTables(r.replicas.profile, 'the two-replica phase'),
        ]
      : []),
  ];
}

export function statusMapperMethod(r: StatusMapperResults | undefined): string[] {
  if (!r) return [];
  return [
    `status-mapper: ${r.pages} fake Statuspage v2 pages (test-kit startFakeStatuspage, each on its own 127.0.0.1 port, plain HTTP) with 20–60 components (five with ~250), a quarter with open incidents; ${Object.entries(
      r.behaviours,
    )
      .map(([k, v]) => `${v} ${k}`)
      .join(
        ', ',
      )}. status-mapper started through its descriptor (devEnv, sources file of ${r.pages} pages at ${r.intervalS} s + ≤${r.jitterS} s jitter, other settings default) on a fresh database; after every page was polled once, a window of ${Math.round(r.single.seconds)} s (whole minutes, so it holds as many poll-job ticks as minutes) with 20 components changed at its start. Cores: utime+stime of the process (and children) over the window, and every second; idle = the seconds with no request arriving at any page from 5 s before to 1 s after; CPU per poll = the window's CPU beyond idle ÷ polls; cores at ${r.pages} polls/min = idle + CPU per poll × ${r.pages} / 60 s (the issue's 'every 60 s', whatever cadence the service reached). Polls counted at the fakes (arrival times sampled every 100 ms); durations from status-mapper's statuspage_poll_duration_seconds histogram (interpolated within buckets). Then ${r.replicas.processes} replicas started together on one fresh database (every page due at once) for ${Math.round(r.replicas.seconds)} s, the first under --cpu-prof: a double poll is a request to a page less than ${r.intervalS - 1} s after its previous one in that phase.`,
  ];
}
