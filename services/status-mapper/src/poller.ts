import {
  type Component,
  Counter,
  createHttpClient,
  DependencyUnavailableError,
  Histogram,
  type HttpClient,
  type Logger,
  type Registry,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { sql } from 'drizzle-orm';
import { HealthApiError } from './aws-health-client.js';
import type { AwsHealthPolling } from './aws-health-poller.js';
import { nextPollDelaySeconds } from './changes.js';
import { readSummary, SummaryShapeError } from './statuspage.js';
import type { Db, PageRow, Store } from './store.js';

/*
 * Polling Statuspage `summary.json` (and aws-health sources), each page at its own time.
 *
 * The `poll-pages` job ticks once a minute across replicas (pg-boss cron has minute resolution),
 * and each run calls `pollUntil()`: until a little after the next tick's run has surely been
 * queued (`tickWindowEnd`), it sleeps until the next page is due and claims the pages due then
 * with FOR UPDATE SKIP LOCKED, setting `claimed_until` past the longest a poll can take in the
 * same statement, so no other replica (or overlapping run, forced or not) polls them. Pages are
 * claimed at their due time, never reserved ahead, so a forced poll (`pollDue({ force })`, the
 * `poll-pages-now` job) can take any page that is not being polled at that very moment. Each
 * poll writes its outcome, clears the claim and sets the page's next time from the time it was
 * due (`nextDueAt`), so a page with a 60 s interval is polled every 60 s plus its jitter
 * whatever the tick. A claim whose replica died lapses and the page is polled again. One page
 * failing never stops the others.
 */

export interface PollerOptions {
  db: Db;
  store: Store;
  logger: Logger;
  registry: Registry;
  /** Per request, including the body. */
  timeoutMs: number;
  /** Pages polled at once. */
  concurrency: number;
  maxBackoffSeconds: number;
  /** Pages claimed per round of a forced poll. */
  batchSize?: number;
  /** Polls the aws-health sources (DescribeEvents); their claims, backoff and staleness are the pages'. */
  awsHealth?: AwsHealthPolling;
}

export interface PollOutcome {
  page: string;
  outcome: 'changed' | 'unchanged' | 'not_modified' | 'failed';
  events: number;
  error?: string;
  /** The page's next time as written with the outcome (null when the outcome could not be written). */
  nextDueAt: Date | null;
}

export interface Poller extends Component {
  /** Polls every due page (every page not being polled right now, with `force`) once; resolves when all are done. */
  pollDue(opts?: { force?: boolean; signal?: AbortSignal }): Promise<PollOutcome[]>;
  /**
   * Polls the pages as they fall due until `until` (or the signal, or stop()); resolves once
   * the polls it started are done.
   */
  pollUntil(until: Date, opts?: { signal?: AbortSignal }): Promise<PollOutcome[]>;
}

/** Pages that fall due within this long of each other are claimed together (one claim at most this often). */
const CLAIM_QUANTUM_MS = 500;
/** …unless pages are waiting for a free slot (at start-up every page is due): then as soon as one frees, this far apart. */
const BEHIND_CLAIM_GAP_MS = 50;
/** Longest a polling loop sleeps before it looks at the pages again (changes made by other replicas). */
const MAX_SLEEP_MS = 15_000;
/** After a claim failed (database unreachable). */
const CLAIM_RETRY_MS = 5_000;

/**
 * When a `poll-pages` run stops polling: 59 s into the minute after the one it started in. The
 * cron queues the next minute's run within ~35 s of that minute (pg-boss checks its clock every
 * 30 s, then its queue every 5 s), so that run is waiting when this one ends and a replica's
 * runs follow each other without a gap; with several replicas, their runs overlap (the claims
 * keep them apart).
 */
export function tickWindowEnd(startedAt: Date): Date {
  const minute = Math.floor(startedAt.getTime() / 60_000) * 60_000;
  return new Date(minute + 119_000);
}

/**
 * A page's next time after a poll that started at `startedAt`: `delayMs` (interval + jitter, or
 * the backoff) after the time it was due, so that waiting for the next claim round or a late
 * tick does not stretch the cadence; never sooner than `intervalMs` after this poll started (a
 * provider is not asked twice within an interval); counted from the poll's start when the
 * page was not due (a forced poll) or is more than an interval late (after an outage: no burst
 * of catch-up polls).
 */
export function nextDueAt(opts: { dueAt: Date; startedAt: Date; delayMs: number; intervalMs: number }): Date {
  const due = opts.dueAt.getTime();
  const started = opts.startedAt.getTime();
  const onTime = due <= started && started - due < opts.intervalMs;
  const base = onTime ? due : started;
  return new Date(Math.max(base + opts.delayMs, started + opts.intervalMs));
}

export function createPoller(opts: PollerOptions): Poller {
  const clients = new Map<string, { url: string; client: HttpClient }>();
  const polls = new Counter({
    name: 'statuspage_polls_total',
    help: 'Polls of Statuspage summary.json by outcome (changed, unchanged, not_modified, failed)',
    labelNames: ['outcome'] as const,
    registers: [opts.registry],
  });
  const changes = new Counter({
    name: 'provider_status_changes_total',
    help: 'Provider component condition changes written (each one provider-status event)',
    registers: [opts.registry],
  });
  const pollSeconds = new Histogram({
    name: 'statuspage_poll_duration_seconds',
    help: 'One poll of a status page, from the request to its outcome written, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [opts.registry],
  });
  const lateness = new Histogram({
    name: 'statuspage_poll_lateness_seconds',
    help: 'How long after its due time a page was polled by the polling loop (forced polls not counted)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [opts.registry],
  });
  const leaseSeconds = Math.ceil((opts.timeoutMs * 2) / 1000) + 60;
  const batchSize = opts.batchSize ?? 200;
  let stopped = false;
  /** The running polling loops of this replica: a poll's outcome may bring their next wake-up forward. */
  const loops = new Set<{ wakeAt: number; wake: () => void }>();

  function clientFor(page: PageRow): HttpClient {
    const cached = clients.get(page.id);
    if (cached && cached.url === page.url) return cached.client;
    const client = createHttpClient({
      name: `${page.provider} status page (${page.id})`,
      baseUrl: page.url ?? '',
      timeoutMs: opts.timeoutMs,
      // One attempt per poll: the next poll is the retry, backed off per page (nextPollDelaySeconds).
      retries: 0,
      // The per-page backoff does the breaker's job; a shared breaker would only blur the reason.
      breaker: { failureThreshold: Number.MAX_SAFE_INTEGER, resetMs: 1 },
      logger: opts.logger,
    });
    clients.set(page.id, { url: page.url ?? '', client });
    return client;
  }

  /**
   * Claims up to `limit` unclaimed pages: those due now (every one with `force`), in one
   * statement; also says in how many ms the next page not claimed now falls due (or its claim
   * lapses), null when there is none.
   */
  async function claim(o: { force: boolean; limit: number; exclude?: string[] }): Promise<{
    pages: PageRow[];
    nextInMs: number | null;
  }> {
    const exclude = o.exclude ?? [];
    const result = await opts.db.execute(sql`
      with due as materialized (
        select id from status_mapper.pages
        where (claimed_until is null or claimed_until < now())
          and interval_seconds is not null
          and ${o.force ? sql`true` : sql`next_due_at <= now()`}
          ${exclude.length > 0 ? sql`and id not in ${exclude}` : sql``}
        order by next_due_at
        limit ${o.limit}
        for update skip locked
      ), claimed as (
        update status_mapper.pages p
        set claimed_until = now() + make_interval(secs => ${leaseSeconds})
        from due where p.id = due.id
        returning p.id
      )
      select
        coalesce((select array_agg(id) from claimed), '{}') as ids,
        (select extract(epoch from min(
                  case when claimed_until >= now() then greatest(claimed_until, next_due_at) else next_due_at end
                ) - now()) * 1000
           from status_mapper.pages
          where interval_seconds is not null and id not in (select id from due)) as next_in_ms`);
    const row = result.rows[0] as { ids: string[]; next_in_ms: string | number | null } | undefined;
    const ids = row?.ids ?? [];
    const nextInMs = row?.next_in_ms === null || row?.next_in_ms === undefined ? null : Number(row.next_in_ms);
    if (ids.length === 0) return { pages: [], nextInMs };
    const pages = await opts.db.query.pages.findMany({ where: (p, { inArray }) => inArray(p.id, ids) });
    return { pages, nextInMs };
  }

  const nextDue = (page: PageRow, startedAt: Date, failures: number, rateLimited = false) => {
    const intervalSeconds = page.intervalSeconds ?? 60;
    return nextDueAt({
      dueAt: new Date(page.nextDueAt),
      startedAt,
      intervalMs: intervalSeconds * 1000,
      delayMs:
        1000 *
        nextPollDelaySeconds({
          intervalSeconds,
          jitterSeconds: page.jitterSeconds,
          consecutiveFailures: failures,
          rateLimited,
          maxBackoffSeconds: opts.maxBackoffSeconds,
        }),
    });
  };

  async function pollOne(page: PageRow, startedAt: Date): Promise<PollOutcome> {
    if (page.kind === 'aws-health') return pollAwsHealth(page, startedAt);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (page.etag) headers['if-none-match'] = page.etag;
    if (page.lastModified) headers['if-modified-since'] = page.lastModified;
    try {
      let response: Awaited<ReturnType<HttpClient['request']>>;
      try {
        response = await clientFor(page).request({ method: 'GET', path: '', headers });
      } catch (error) {
        if (error instanceof UpstreamError && error.upstreamStatus === 304) {
          const nextDueAt = nextDue(page, startedAt, 0);
          const events = await opts.store.recordNotModified(page.id, nextDueAt);
          return { page: page.id, outcome: 'not_modified', events, nextDueAt };
        }
        throw error;
      }
      let body = response.body;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch {
          // readSummary names it
        }
      }
      const observation = readSummary(body);
      const nextDueAt = nextDue(page, startedAt, 0);
      const events = await opts.store.applyObservation(page.id, observation, {
        etag: response.headers.get('etag'),
        lastModified: response.headers.get('last-modified'),
        nextDueAt,
      });
      return { page: page.id, outcome: events > 0 ? 'changed' : 'unchanged', events, nextDueAt };
    } catch (error) {
      return failed(page, startedAt, error);
    }
  }

  /** An aws-health source: DescribeEvents through the SDK (aws-health-poller.ts), failing like a page. */
  async function pollAwsHealth(page: PageRow, startedAt: Date): Promise<PollOutcome> {
    try {
      if (!opts.awsHealth) throw new Error('AWS Health polling is not set up in this replica');
      const nextDueAt = nextDue(page, startedAt, 0);
      const events = await opts.awsHealth.poll(page, nextDueAt);
      return { page: page.id, outcome: events > 0 ? 'changed' : 'unchanged', events, nextDueAt };
    } catch (error) {
      return failed(page, startedAt, error);
    }
  }

  /** A failed poll: the reason is recorded, the next one backed off (once more when rate limited). */
  async function failed(page: PageRow, startedAt: Date, error: unknown): Promise<PollOutcome> {
    const reason = describe(error);
    const rateLimited =
      (error instanceof UpstreamError && error.upstreamStatus === 429) ||
      (error instanceof HealthApiError && error.rateLimited);
    const failures = page.consecutiveFailures + 1;
    opts.logger.warn({ page: page.id, failures, reason }, 'status page poll failed');
    const nextDueAt = nextDue(page, startedAt, failures, rateLimited);
    const events = await opts.store.recordFailure(page.id, reason, nextDueAt);
    return { page: page.id, outcome: 'failed', events, error: reason, nextDueAt };
  }

  /** One claimed page: polled, its outcome counted, the polling loops told when it is due again. */
  async function run(page: PageRow): Promise<PollOutcome> {
    const startedAt = new Date();
    const started = performance.now();
    const outcome = await pollOne(page, startedAt).catch((error: unknown): PollOutcome => {
      // The outcome could not be written (database trouble): the claim lapses and the page is polled again.
      opts.logger.error({ err: error, page: page.id }, 'could not record a poll outcome');
      return { page: page.id, outcome: 'failed', events: 0, error: describe(error), nextDueAt: null };
    });
    polls.inc({ outcome: outcome.outcome });
    pollSeconds.observe({ outcome: outcome.outcome }, (performance.now() - started) / 1000);
    changes.inc(outcome.events);
    const at = outcome.nextDueAt?.getTime();
    for (const loop of loops) {
      if (at !== undefined && at < loop.wakeAt) loop.wakeAt = at;
      // Also when a slot it waits for is free again.
      loop.wake();
    }
    return outcome;
  }

  const done = (signal: AbortSignal | undefined) => stopped || signal?.aborted === true;

  return {
    id: 'poller',
    async stop() {
      // Before the job runner stops: the running loop ends now rather than being cut off later.
      stopped = true;
      for (const loop of loops) loop.wake();
    },
    async healthcheck() {
      return { healthy: true };
    },

    async pollDue({ force = false, signal } = {}) {
      const outcomes: PollOutcome[] = [];
      const finished: string[] = [];
      while (!done(signal)) {
        const { pages } = await claim({ force, limit: batchSize, exclude: finished });
        if (pages.length === 0) break;
        const queue = [...pages];
        const workers = Array.from({ length: Math.min(opts.concurrency, queue.length) }, async () => {
          for (let page = queue.shift(); page; page = queue.shift()) outcomes.push(await run(page));
        });
        await Promise.all(workers);
        finished.push(...pages.map((p) => p.id));
      }
      return outcomes;
    },

    async pollUntil(until, { signal } = {}) {
      const outcomes: PollOutcome[] = [];
      const active = new Set<Promise<void>>();
      const loop = { wakeAt: 0, wake: () => {} };
      const onAbort = () => loop.wake();
      signal?.addEventListener('abort', onAbort);
      loops.add(loop);
      let lastClaim = Number.NEGATIVE_INFINITY;
      let behind = false;
      try {
        while (!done(signal) && Date.now() < until.getTime()) {
          const free = opts.concurrency - active.size;
          const claimAt = Math.max(loop.wakeAt, lastClaim + (behind ? BEHIND_CLAIM_GAP_MS : CLAIM_QUANTUM_MS));
          if (free > 0 && Date.now() >= claimAt) {
            lastClaim = Date.now();
            let claimed: Awaited<ReturnType<typeof claim>>;
            try {
              claimed = await claim({ force: false, limit: free });
            } catch (error) {
              // The database is unreachable: the polls would fail too. Look again shortly.
              opts.logger.warn({ err: error }, 'could not claim due status pages; retrying');
              loop.wakeAt = Date.now() + CLAIM_RETRY_MS;
              continue;
            }
            const { pages, nextInMs } = claimed;
            for (const page of pages) {
              lateness.observe(Math.max(0, Date.now() - Date.parse(page.nextDueAt)) / 1000);
              const polled = run(page).then((outcome) => {
                outcomes.push(outcome);
              });
              active.add(polled);
              void polled.finally(() => active.delete(polled));
            }
            // Every free slot taken, or due pages left: claim again as soon as a finished poll frees one.
            behind = pages.length === free || (nextInMs !== null && nextInMs <= 0);
            loop.wakeAt = behind ? Date.now() : Date.now() + Math.min(MAX_SLEEP_MS, nextInMs ?? MAX_SLEEP_MS);
            continue;
          }
          const wakeAt = Math.min(until.getTime(), Math.max(claimAt, Date.now()));
          // Slots full: only a finished poll (or the end) wakes it.
          const sleepMs = free > 0 ? wakeAt - Date.now() : until.getTime() - Date.now();
          if (sleepMs > 0 && !done(signal)) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(woken, sleepMs);
              function woken() {
                clearTimeout(timer);
                loop.wake = () => {};
                resolve();
              }
              loop.wake = woken;
            });
          }
        }
      } finally {
        loops.delete(loop);
        signal?.removeEventListener('abort', onAbort);
      }
      await Promise.all(active);
      return outcomes;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof SummaryShapeError) return error.message;
  if (error instanceof UpstreamError || error instanceof DependencyUnavailableError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
