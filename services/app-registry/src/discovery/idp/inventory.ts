import { createHash } from 'node:crypto';
import {
  createHttpClient,
  type HttpClient,
  type HttpResponse,
  type Logger,
  UpstreamError,
} from '@micro-oncall/service-kit';
import type { ReadError, Sighting } from '../sighting.js';

/**
 * What the identity-provider clients (okta.ts, entra.ts, google.ts, github.ts) share: the
 * listing/cursor contract the discovery core calls, the outbound HTTP client they use, opaque
 * next-link following, and errors that name the provider and never the credential.
 *
 * An inventory API lists every app every time (none of them has a "changed since" filter the
 * contracts allow for what we read), so incremental here means: the cursor remembers each item
 * reported (a key and a version: Okta's `lastUpdated`, GitHub's `updated_at`, else a hash of
 * what we read), and a listing yields only the items that are new or changed since.
 */

/** What a provider's listing remembers between runs: item key → version. JSON-serialisable. */
export interface IdpCursor {
  v: 1;
  seen: Record<string, string>;
}

export interface IdpListing {
  /** New and changed apps since the cursor, and the errors met on the way (then the listing carries on or stops). */
  sightings: AsyncIterable<Sighting | ReadError>;
  /**
   * The cursor to store once `sightings` has been read to the end. After a complete listing it
   * holds exactly what was listed (so an app that is deleted and registered again is reported
   * again); after a listing cut short by an error it keeps the previous items as well, so
   * nothing is reported twice and nothing is forgotten. Throws before the end.
   */
  cursor(): IdpCursor;
}

export type IdpProvider = 'okta' | 'entra' | 'google' | 'github';

/** How the clients call out: tests shorten waits; the run passes its logger. */
export interface IdpClientOptions {
  logger: Logger;
  /** Per request. Default 30 000 ms (a page of 999 Graph applications with owners is slow). */
  timeoutMs?: number;
  /** Further attempts after 429 and 5xx. Default 4. */
  retries?: number;
  /** Longest wait before a retry, whatever the provider asks (Retry-After, X-Rate-Limit-Reset). Default 60 000 ms. */
  maxRetryWaitMs?: number;
  /** "Now", for items whose API gives no time (Graph service principals, Google tokens). */
  now?: () => Date;
}

/** One item of a listing, before the cursor decides whether it is reported. */
export interface InventoryItem {
  key: string;
  version: string;
  sighting: Sighting;
}

export function isReadError(entry: Sighting | ReadError): entry is ReadError {
  return !('format' in entry);
}

/**
 * A ReadError after which the provider (or one of its endpoints) could not be read on: its
 * credential or token endpoint was refused, it failed after the retries, or it answered what it
 * does not document. A discovery run reports the provider failed. (A 404 for one thing asked
 * for — a Google user that is gone — and an item that lacks a field are only errors.)
 */
export interface ProviderFailure extends ReadError {
  providerFailed: true;
}

export function isProviderFailure(error: ReadError): error is ProviderFailure {
  return (error as Partial<ProviderFailure>).providerFailed === true;
}

/** Wraps a provider's item stream with the cursor logic described above. */
export function inventoryListing(
  previous: IdpCursor | null,
  items: () => AsyncIterable<InventoryItem | ReadError>,
): IdpListing {
  const before = previous?.seen ?? {};
  const seen: Record<string, string> = {};
  let finished = false;
  let complete = true;
  async function* sightings(): AsyncGenerator<Sighting | ReadError> {
    for await (const entry of items()) {
      if (!('key' in entry)) {
        complete = false;
        yield entry;
        continue;
      }
      // Listed twice in one run (paging shifted under an insert): reported once.
      if (seen[entry.key] === entry.version) continue;
      seen[entry.key] = entry.version;
      if (before[entry.key] !== entry.version) yield entry.sighting;
    }
    finished = true;
  }
  return {
    sightings: sightings(),
    cursor() {
      if (!finished) throw new Error('the identity-provider cursor is known once all sightings have been read');
      return { v: 1, seen: complete ? seen : { ...before, ...seen } };
    },
  };
}

/** A registration sighting and its cursor entry; `recordId` is `<provider>:<key>@<version>`. */
export function registration(r: {
  format: IdpProvider;
  key: string;
  version: string;
  clientId: string;
  label: string;
  at: Date;
  actor?: string;
  evidence: { file: string; line: number; text: string };
}): InventoryItem {
  return {
    key: r.key,
    version: r.version,
    sighting: {
      format: r.format,
      kind: 'idp-client',
      action: 'registration',
      match: { clientId: r.clientId },
      label: r.label,
      at: r.at,
      ...(r.actor ? { actor: r.actor } : {}),
      recordId: `${r.format}:${r.key}@${r.version}`,
      evidence: r.evidence,
    },
  };
}

/**
 * Every item of a paged listing, each with its 1-based position (`line`), following the next
 * page as the provider gives it (`next`) until there is none. A failed request, an answer
 * without the item array or a next link that leaves the base URL ends the listing with one
 * error, naming the provider, the endpoint and the page.
 */
export async function* pagedItems(opts: {
  provider: string;
  /** `okta:/api/v1/apps`: evidence and error `file`. */
  endpoint: string;
  http: HttpClient;
  baseUrl: string;
  firstPath: string;
  /** Per request (a token may have to be fetched first). */
  headers: () => Promise<Record<string, string>>;
  /** The credential to keep out of error text. */
  secret: () => string;
  /** The items of a page's body; null when the body is not what the provider documents. */
  items: (body: unknown) => unknown[] | null;
  /** What `items` looks for, for the error when it is missing, e.g. `value[]`. */
  itemsName: string;
  next: (body: unknown, headers: Headers) => string | null;
}): AsyncGenerator<{ item: unknown; line: number } | { error: ReadError }> {
  const path = opts.endpoint.replace(/^[a-z]+:/, '');
  const fail = (page: number, line: number, message: string): { error: ProviderFailure } => ({
    error: {
      file: opts.endpoint,
      line,
      message: `${opts.provider} GET ${path} page ${page}: ${message}`,
      providerFailed: true,
    },
  });
  let next: string | null = opts.firstPath;
  let page = 0;
  let line = 0;
  while (next !== null) {
    page += 1;
    let res: HttpResponse<unknown>;
    try {
      res = await opts.http.request<unknown>({ method: 'GET', path: next, headers: await opts.headers() });
    } catch (error) {
      yield { error: requestError(opts.provider, opts.endpoint, page, line + 1, error, opts.secret()) };
      return;
    }
    const items = opts.items(res.body);
    if (items === null) {
      yield fail(page, line + 1, `the answer has no ${opts.itemsName}`);
      return;
    }
    for (const item of items) {
      line += 1;
      yield { item, line };
    }
    const link = opts.next(res.body, res.headers);
    if (link === null) return;
    const followed = nextPath(opts.baseUrl, link);
    if (followed instanceof Error) {
      yield fail(page, line + 1, followed.message);
      return;
    }
    next = followed;
  }
}

/** The provider's own client: retries 429/5xx honouring the provider's wait, within bounds. */
export function providerClient(
  name: string,
  baseUrl: string,
  headers: () => Record<string, string>,
  options: IdpClientOptions,
): HttpClient {
  return createHttpClient({
    name,
    baseUrl,
    timeoutMs: options.timeoutMs ?? 30_000,
    retries: options.retries ?? 4,
    backoff: { initialMs: 500, maxMs: options.maxRetryWaitMs ?? 60_000 },
    // A run makes its own client: the breaker only stops one run hammering a provider that is down.
    breaker: { failureThreshold: 5, resetMs: 60_000 },
    logger: options.logger,
    defaultHeaders: headers,
  });
}

/**
 * The path (and query) to request for a provider's next-page link, or an error. The link is
 * followed as it is, but only below the configured base URL: the credential goes with it, and
 * must not go to any other host.
 */
export function nextPath(baseUrl: string, link: string): string | Error {
  const base = baseUrl.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(link, `${base}/`);
  } catch {
    return new Error('the next-page link is not a URL');
  }
  const href = url.toString();
  if (!href.startsWith(`${base}/`)) return new Error(`the next-page link leads away from ${new URL(base).origin}`);
  return href.slice(base.length);
}

/** The `rel="next"` target of an RFC 8288 `Link` header (Okta, GitHub). */
export function nextLink(header: string | null): string | null {
  for (const part of (header ?? '').split(/,\s*(?=<)/)) {
    const match = /^<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /(^|;)\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/.test(match[2]!)) return match[1]!;
  }
  return null;
}

/**
 * A ReadError for a failed request, naming the provider, the endpoint and the page; the
 * credential is removed from the text whatever the provider put in it.
 */
export function requestError(
  provider: string,
  endpoint: string,
  /** null for an endpoint that is not paged. */
  page: number | null,
  line: number,
  error: unknown,
  secret: string,
): ReadError | ProviderFailure {
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof UpstreamError && (error.upstreamStatus === 401 || error.upstreamStatus === 403)) {
    message += ` (${provider} refused the credential: check the configured token and its permissions)`;
  }
  const gone = error instanceof UpstreamError && error.upstreamStatus === 404;
  return {
    file: endpoint,
    line,
    message: redact(
      `${provider} GET ${endpoint.replace(/^[a-z]+:/, '')}${page === null ? '' : ` page ${page}`}: ${message}`,
      secret,
    ),
    ...(gone ? {} : { providerFailed: true as const }),
  };
}

export function redact(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
}

/** Evidence text: the fields read, as JSON, at most 2,000 characters (no secrets are ever picked). */
export function evidenceText(fields: Record<string, unknown>): string {
  const text = JSON.stringify(fields);
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}

/** A short, stable version for items whose API gives none. */
export function versionOf(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16);
}

/** A date from the provider, or the fallback when absent or unreadable. */
export function dateOr(value: unknown, fallback: Date): Date {
  if (typeof value !== 'string') return fallback;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? fallback : at;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
