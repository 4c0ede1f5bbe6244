import { DependencyUnavailableError, ServiceError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * A resilient JSON-over-HTTP client for the providers we call (PagerDuty, Opsgenie, Slack):
 * a timeout per attempt, retries with exponential backoff and full jitter (honouring
 * `Retry-After` and `ratelimit-reset`), and a circuit breaker.
 *
 * What is retried depends on whether repeating the request is harmless:
 * - every request is retried when it provably did not reach the provider: the connection was
 *   refused, the name did not resolve, the host was unreachable, or the provider refused it with
 *   429 (a rate limit is a refusal: the request was not carried out);
 * - idempotent requests (GET, PUT, DELETE, or any request marked `idempotent`) are also retried
 *   after timeouts, connections lost mid-request and 5xx answers;
 * - a non-idempotent request (POST) that may have reached the provider is never repeated: one
 *   click must not add two notes or escalate twice. When such a request, or a state-changing
 *   request after all its retries, got no answer, the client throws OutcomeUnknownError: the
 *   provider may have carried it out, and the caller must say so rather than report a failure.
 *
 * Secrets belong in `defaultHeaders` or in `baseUrl` (a Slack webhook URL): neither the base
 * URL, the query, the headers nor the body ever reach an error message or a log line.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface HttpClientOptions {
  /** Provider name used in messages and logs, e.g. `PagerDuty`. */
  name: string;
  /** Scheme, host and optional path prefix; never logged. */
  baseUrl: string;
  /** Per attempt, including reading the body. Default 5000. */
  timeoutMs?: number;
  /** Further attempts after the first for retriable failures. Default 3. */
  retries?: number;
  /** Exponential backoff with full jitter; server-given delays are capped at `maxMs`. Default 200/5000. */
  backoff?: { initialMs: number; maxMs: number };
  /** Default 5 consecutive failed requests open the circuit for 30000 ms. */
  breaker?: { failureThreshold: number; resetMs: number };
  logger: Logger;
  /** Called for every attempt (credentials may rotate). */
  defaultHeaders?: () => Record<string, string>;
}

export interface HttpRequest {
  method: HttpMethod;
  /** Appended to `baseUrl`; starts with `/` (or is empty to call `baseUrl` itself). */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether sending the request twice does no more than sending it once. Default: true for GET,
   * PUT and DELETE, false for POST. Mark a POST idempotent only when the provider makes it so
   * (an idempotency key it honours, or a duplicate that does no harm).
   */
  idempotent?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the content type is JSON, else the text (null when empty). */
  body: T;
}

export interface HttpClient {
  /**
   * Resolves with a 2xx response; throws UpstreamError, DependencyUnavailableError or (for a
   * state-changing request that may have been carried out) OutcomeUnknownError otherwise.
   */
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  state(): CircuitState;
}

/** The provider answered with an error (a non-retriable 4xx, or 429/5xx after the retries). */
export class UpstreamError extends ServiceError {
  override readonly status = 502;
  override readonly code = 'provider_error';
  /** The provider's HTTP status, when it answered with one. */
  readonly upstreamStatus: number | null;
  constructor(message: string, details: { provider: string; status: number | null; [key: string]: unknown }) {
    super(message, details);
    this.upstreamStatus = details.status;
  }
}

/**
 * The request may have reached the provider, but no answer came back (a timeout, or the
 * connection was lost after the request was sent): whether it took effect is unknown. Thrown
 * only for state-changing requests (never GET). A 503 like any unavailability, so callers that
 * only ask "is the provider up?" need not know the difference; callers that act must say that
 * the outcome is unknown, not that the action failed.
 */
export class OutcomeUnknownError extends DependencyUnavailableError {
  readonly outcomeUnknown = true;
  constructor(
    message: string,
    /** Provider name, as in HttpClientOptions.name. */
    readonly provider: string,
    /** The provider's HTTP status when the last attempt got an (error) answer. */
    readonly upstreamStatus: number | null = null,
  ) {
    super(message);
  }
}

const MAX_PROVIDER_MESSAGE = 300;

/**
 * System error codes that prove the request never left this process: no connection was made,
 * so the provider cannot have acted on it.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

type Failure =
  | { kind: 'timeout' }
  | { kind: 'network'; code: string }
  | { kind: 'status'; status: number; headers: Headers; body: unknown };

type Attempt =
  | { kind: 'response'; status: number; headers: Headers; body: unknown }
  | Exclude<Failure, { kind: 'status' }>;

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const name = opts.name;
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const retries = Math.max(0, opts.retries ?? 3);
  const backoff = opts.backoff ?? { initialMs: 200, maxMs: 5000 };
  const breaker = opts.breaker ?? { failureThreshold: 5, resetMs: 30_000 };
  const logger = opts.logger;

  // Circuit breaker: `openedAt` set means open (or half-open once resetMs has passed).
  let consecutiveFailures = 0;
  let openedAt: number | null = null;
  let trialInFlight = false;

  function state(): CircuitState {
    if (openedAt === null) return 'closed';
    return Date.now() - openedAt >= breaker.resetMs ? 'half-open' : 'open';
  }

  /** Lets a request through (true when it is the half-open trial) or fails fast. */
  function admit(): boolean {
    const current = state();
    if (current === 'closed') return false;
    if (current === 'half-open' && !trialInFlight) {
      trialInFlight = true;
      return true;
    }
    const remainingMs = openedAt === null ? 0 : breaker.resetMs - (Date.now() - openedAt);
    const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
    throw new DependencyUnavailableError(
      `${name} is unavailable (circuit open after ${consecutiveFailures} failures); retry in ${seconds} s`,
      seconds,
    );
  }

  function recordAnswer(): void {
    consecutiveFailures = 0;
    if (openedAt !== null) {
      openedAt = null;
      logger.info({ provider: name }, `${name} circuit closed`);
    }
  }

  function recordFailure(trial: boolean): void {
    consecutiveFailures += 1;
    if (trial || (openedAt === null && consecutiveFailures >= breaker.failureThreshold)) {
      openedAt = Date.now();
      logger.warn(
        { provider: name, failures: consecutiveFailures, resetMs: breaker.resetMs },
        `${name} circuit opened`,
      );
    }
  }

  function urlFor(req: HttpRequest): string {
    const query = req.query && Object.keys(req.query).length > 0 ? `?${new URLSearchParams(req.query)}` : '';
    return `${base}${req.path}${query}`;
  }

  function headersFor(req: HttpRequest): Headers {
    const headers = new Headers({ 'user-agent': 'micro-oncall' });
    for (const [k, v] of Object.entries(opts.defaultHeaders?.() ?? {})) headers.set(k, v);
    for (const [k, v] of Object.entries(req.headers ?? {})) headers.set(k, v);
    if (req.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return headers;
  }

  async function attempt(req: HttpRequest): Promise<Attempt> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(urlFor(req), {
        method: req.method,
        headers: headersFor(req),
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal,
        // Never follow a redirect with our credentials attached.
        redirect: 'manual',
      });
      const text = await res.text();
      return { kind: 'response', status: res.status, headers: res.headers, body: parseBody(res.headers, text) };
    } catch (error) {
      if (signal.aborted) return { kind: 'timeout' };
      return { kind: 'network', code: networkCode(error) };
    }
  }

  function delayBefore(nextAttempt: number, failure: Failure): number {
    const told = failure.kind === 'status' ? serverDelayMs(failure.headers, failure.status === 429) : null;
    if (told !== null) return Math.min(told, backoff.maxMs);
    const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (nextAttempt - 2));
    return Math.floor(Math.random() * ceiling);
  }

  function finalError(failure: Failure, attempts: number): ServiceError {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    switch (failure.kind) {
      case 'timeout':
        return new DependencyUnavailableError(`${name} did not answer within ${timeoutMs} ms${tries}`);
      case 'network':
        return new DependencyUnavailableError(`${name} could not be reached (${failure.code})${tries}`);
      case 'status':
        return upstreamError(name, failure.status, failure.body);
    }
  }

  /** Whether `failure` proves the request did not reach the provider (so any method may be retried). */
  function provablyNotSent(failure: Failure): boolean {
    if (failure.kind === 'network') return NOT_SENT_CODES.has(failure.code);
    return failure.kind === 'status' && failure.status === 429;
  }

  return {
    state,
    async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
      const idempotent = req.idempotent ?? req.method !== 'POST';
      // A GET changes nothing: when it gets no answer, nothing is "unknown" but the answer itself.
      const changesState = req.method !== 'GET';
      const trial = admit();
      // The half-open trial is a single attempt: it probes, it does not hammer.
      const maxAttempts = trial ? 1 : retries + 1;
      try {
        let failure: Failure = { kind: 'timeout' };
        // Some attempt may have reached the provider without an answer telling us what it did.
        let maybeApplied = false;
        let attempts = 0;
        for (let n = 1; n <= maxAttempts; n += 1) {
          attempts = n;
          const result = await attempt(req);
          if (result.kind === 'response') {
            if (result.status >= 200 && result.status < 300) {
              recordAnswer();
              return { status: result.status, headers: result.headers, body: result.body as T };
            }
            if (!isRetriable(result.status)) {
              // The provider is up and answering: this is about the request, not the provider.
              recordAnswer();
              throw upstreamError(name, result.status, result.body);
            }
            failure = { kind: 'status', status: result.status, headers: result.headers, body: result.body };
          } else {
            failure = result;
            if (!provablyNotSent(failure)) maybeApplied = true;
          }
          if (n === maxAttempts) break;
          const logged = {
            provider: name,
            method: req.method,
            path: req.path,
            status: failure.kind === 'status' ? failure.status : null,
            failure: failure.kind,
            attempt: n,
          };
          if (!idempotent && !provablyNotSent(failure)) {
            logger.warn(
              logged,
              `${name} request failed after it may have reached ${name}; a ${req.method} is not repeated`,
            );
            break;
          }
          const delayMs = delayBefore(n + 1, failure);
          logger.warn({ ...logged, delayMs }, `${name} request failed; retrying`);
          await sleep(delayMs);
        }
        recordFailure(trial);
        const error = finalError(failure, attempts);
        if (changesState && maybeApplied) {
          // The last attempt, or an earlier one, may have been carried out: say so.
          const answered = failure.kind === 'status' || provablyNotSent(failure);
          const suffix = answered ? ' after an earlier attempt got no answer' : '';
          const status = failure.kind === 'status' ? failure.status : null;
          throw new OutcomeUnknownError(`${error.message}${suffix}`, name, status);
        }
        throw error;
      } finally {
        if (trial) trialInFlight = false;
      }
    },
  };
}

function isRetriable(status: number): boolean {
  return status === 429 || status >= 500;
}

function upstreamError(provider: string, status: number, body: unknown): UpstreamError {
  const said = providerMessage(body);
  return new UpstreamError(`${provider} answered ${status}${said ? `: ${said}` : ''}`, { provider, status });
}

/** The provider's own words: PagerDuty `{error:{message,errors[]}}`, Opsgenie `{message}`, Slack text. */
function providerMessage(body: unknown): string {
  let said = '';
  if (typeof body === 'string') {
    said = body;
  } else if (body !== null && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const error = record.error;
    if (error !== null && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      const details = Array.isArray(e.errors) ? e.errors.filter((x) => typeof x === 'string') : [];
      said = [typeof e.message === 'string' ? e.message : '', details.join('; ')].filter(Boolean).join(': ');
    } else if (typeof error === 'string') {
      said = error;
    } else if (typeof record.message === 'string') {
      said = record.message;
    }
    if (!said) said = JSON.stringify(body);
  }
  said = said.replace(/\s+/g, ' ').trim();
  return said.length > MAX_PROVIDER_MESSAGE ? `${said.slice(0, MAX_PROVIDER_MESSAGE - 1)}…` : said;
}

function parseBody(headers: Headers, text: string): unknown {
  if (text === '') return null;
  const type = headers.get('content-type') ?? '';
  if (/[/+]json\b/i.test(type)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * `Retry-After` (seconds or an HTTP date), else PagerDuty's `ratelimit-reset` (seconds), else
 * Okta's `X-Rate-Limit-Reset` or GitHub's `X-RateLimit-Reset` (epoch seconds) on a 429 only: those
 * two come on every answer and say when the rate-limit window ends, not when to retry a 5xx.
 */
function serverDelayMs(headers: Headers, rateLimited: boolean): number | null {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) return Number(reset) * 1000;
  if (!rateLimited) return null;
  const resetAt = (headers.get('x-rate-limit-reset') ?? headers.get('x-ratelimit-reset'))?.trim();
  if (resetAt && /^\d+$/.test(resetAt)) return Math.max(0, Number(resetAt) * 1000 - Date.now());
  return null;
}

/** A system error code such as ECONNREFUSED; never the message, which may name the host. */
function networkCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string' && /^[A-Z0-9_]+$/.test(cause.code)) return cause.code;
  return 'network error';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
