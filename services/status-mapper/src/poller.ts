import {
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
 * Polling Statuspage `summary.json`. The `poll-pages` job (once a minute across replicas) calls
 * `pollDue()`: it claims the unclaimed pages whose `next_due_at` has passed with FOR UPDATE SKIP
 * LOCKED and sets `claimed_until` past the longest a poll can take in the same statement, so no
 * other replica (or overlapping run, forced or not) polls them; each poll then writes its outcome,
 * clears the claim and sets the page's real next time (interval + jitter, doubled per failure). A
 * claim whose replica died lapses and the page is polled again. One page failing never stops the others.
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
  /** Pages claimed per round. */
  batchSize?: number;
  /** Polls the aws-health sources (DescribeEvents); their claims, backoff and staleness are the pages'. */
  awsHealth?: AwsHealthPolling;
}

export interface PollOutcome {
  page: string;
  outcome: 'changed' | 'unchanged' | 'not_modified' | 'failed';
  events: number;
  error?: string;
}

export interface Poller {
  /** Polls every due page (every page with `force`); resolves when all are done. */
  pollDue(opts?: { force?: boolean; signal?: AbortSignal }): Promise<PollOutcome[]>;
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
  const leaseSeconds = Math.ceil((opts.timeoutMs * 2) / 1000) + 60;
  const batchSize = opts.batchSize ?? 200;

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

  async function claim(force: boolean, exclude: string[]): Promise<PageRow[]> {
    const result = await opts.db.execute(sql`
      with due as (
        select id from status_mapper.pages
        where (claimed_until is null or claimed_until < now())
          and interval_seconds is not null
          and ${force ? sql`true` : sql`next_due_at <= now()`}
          ${exclude.length > 0 ? sql`and id not in ${exclude}` : sql``}
        order by next_due_at
        limit ${batchSize}
        for update skip locked
      )
      update status_mapper.pages p
      set claimed_until = now() + make_interval(secs => ${leaseSeconds})
      from due where p.id = due.id
      returning p.id`);
    const ids = (result.rows as { id: string }[]).map((r) => r.id);
    if (ids.length === 0) return [];
    return opts.db.query.pages.findMany({ where: (p, { inArray }) => inArray(p.id, ids) });
  }

  const nextDue = (page: PageRow, failures: number, rateLimited = false) =>
    new Date(
      Date.now() +
        1000 *
          nextPollDelaySeconds({
            intervalSeconds: page.intervalSeconds ?? 60,
            jitterSeconds: page.jitterSeconds,
            consecutiveFailures: failures,
            rateLimited,
            maxBackoffSeconds: opts.maxBackoffSeconds,
          }),
    );

  async function pollOne(page: PageRow): Promise<PollOutcome> {
    if (page.kind === 'aws-health') return pollAwsHealth(page);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (page.etag) headers['if-none-match'] = page.etag;
    if (page.lastModified) headers['if-modified-since'] = page.lastModified;
    try {
      let response: Awaited<ReturnType<HttpClient['request']>>;
      try {
        response = await clientFor(page).request({ method: 'GET', path: '', headers });
      } catch (error) {
        if (error instanceof UpstreamError && error.upstreamStatus === 304) {
          const events = await opts.store.recordNotModified(page.id, nextDue(page, 0));
          return { page: page.id, outcome: 'not_modified', events };
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
      const events = await opts.store.applyObservation(page.id, observation, {
        etag: response.headers.get('etag'),
        lastModified: response.headers.get('last-modified'),
        nextDueAt: nextDue(page, 0),
      });
      return { page: page.id, outcome: events > 0 ? 'changed' : 'unchanged', events };
    } catch (error) {
      return failed(page, error);
    }
  }

  /** An aws-health source: DescribeEvents through the SDK (aws-health-poller.ts), failing like a page. */
  async function pollAwsHealth(page: PageRow): Promise<PollOutcome> {
    try {
      if (!opts.awsHealth) throw new Error('AWS Health polling is not set up in this replica');
      const events = await opts.awsHealth.poll(page, nextDue(page, 0));
      return { page: page.id, outcome: events > 0 ? 'changed' : 'unchanged', events };
    } catch (error) {
      return failed(page, error);
    }
  }

  /** A failed poll: the reason is recorded, the next one backed off (once more when rate limited). */
  async function failed(page: PageRow, error: unknown): Promise<PollOutcome> {
    const reason = describe(error);
    const rateLimited =
      (error instanceof UpstreamError && error.upstreamStatus === 429) ||
      (error instanceof HealthApiError && error.rateLimited);
    const failures = page.consecutiveFailures + 1;
    opts.logger.warn({ page: page.id, failures, reason }, 'status page poll failed');
    const events = await opts.store.recordFailure(page.id, reason, nextDue(page, failures, rateLimited));
    return { page: page.id, outcome: 'failed', events, error: reason };
  }

  return {
    async pollDue({ force = false, signal } = {}) {
      const outcomes: PollOutcome[] = [];
      const done: string[] = [];
      while (!signal?.aborted) {
        const pages = await claim(force, done);
        if (pages.length === 0) break;
        const queue = [...pages];
        const workers = Array.from({ length: Math.min(opts.concurrency, queue.length) }, async () => {
          for (let page = queue.shift(); page; page = queue.shift()) {
            const started = performance.now();
            const outcome = await pollOne(page).catch((error: unknown): PollOutcome => {
              // The outcome could not be written (database trouble): the claim lapses and the page is polled again.
              opts.logger.error({ err: error, page: page?.id }, 'could not record a poll outcome');
              return { page: page?.id ?? '?', outcome: 'failed', events: 0, error: describe(error) };
            });
            polls.inc({ outcome: outcome.outcome });
            pollSeconds.observe({ outcome: outcome.outcome }, (performance.now() - started) / 1000);
            changes.inc(outcome.events);
            outcomes.push(outcome);
          }
        });
        await Promise.all(workers);
        done.push(...pages.map((p) => p.id));
      }
      return outcomes;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof SummaryShapeError) return error.message;
  if (error instanceof UpstreamError || error instanceof DependencyUnavailableError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
