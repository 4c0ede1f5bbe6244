import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake received, as it arrived. */
export interface RecordedRequest {
  method: string;
  /** The raw (still percent-encoded) path, without the query. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; `authorization` is replaced by `[redacted]`. */
  headers: Record<string, string>;
  /** Parsed JSON when it parses, else the raw text (null when empty). */
  body: unknown;
  /** What the fake answered (null while it is still answering, or when the client went away first). */
  status: number | null;
}

/**
 * An injected failure for the next request(s), applied before any other rule. Faults queue up in
 * order; `{}` lets one request through untouched (to fail the second request of an action).
 */
export interface Fault {
  /** Answer with this status; without it the request is only delayed and then handled normally. */
  status?: number;
  /** How many requests in a row (default 1). */
  times?: number;
  /** Wait this long before answering (longer than the client's timeout simulates a hang). */
  delayMs?: number;
  headers?: Record<string, string>;
  /** Defaults to the provider's usual error body for `status`. */
  body?: unknown;
}

export interface IncomingRequest {
  method: string;
  path: string;
  /** Path segments after the leading `/`, percent-decoded. */
  segments: string[];
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Strings are sent as text/plain, anything else as JSON. */
  body?: unknown;
}

export interface FakeServer {
  url: string;
  requests: RecordedRequest[];
  failNext(fault: Fault): void;
  stop(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/**
 * A loopback HTTP server for a fake provider: records every request, applies injected faults
 * first, then hands the request to `handle`.
 */
export async function startFakeServer(opts: {
  handle: (req: IncomingRequest) => Answer | Promise<Answer>;
  faultBody: (status: number) => unknown;
  /** Extra headers on every answer. */
  headers?: () => Record<string, string>;
}): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const faults: { fault: Fault; remaining: number }[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake.invalid');
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: recordHeaders(req.headers),
          body: parseMaybeJson(rawBody),
          status: null,
        };
        requests.push(recorded);

        let answer: Answer | null = null;
        const pending = faults[0];
        if (pending) {
          pending.remaining -= 1;
          if (pending.remaining <= 0) faults.shift();
          if (pending.fault.delayMs) await new Promise((resolve) => setTimeout(resolve, pending.fault.delayMs));
          const { status } = pending.fault;
          if (status !== undefined) {
            answer = { status, headers: pending.fault.headers, body: pending.fault.body ?? opts.faultBody(status) };
          }
        }
        if (size > MAX_BODY) answer = { status: 413, body: opts.faultBody(413) };
        answer ??= await opts.handle({
          method: recorded.method,
          path: url.pathname,
          segments: decodeSegments(url.pathname),
          query: url.searchParams,
          headers: req.headers,
          rawBody,
        });
        if (res.destroyed) return;
        recorded.status = answer.status;
        const isText = typeof answer.body === 'string';
        res.writeHead(answer.status, {
          ...opts.headers?.(),
          ...(answer.body === undefined
            ? {}
            : { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' }),
          ...answer.headers,
        });
        res.end(answer.body === undefined ? undefined : isText ? (answer.body as string) : JSON.stringify(answer.body));
      })().catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`fake server error: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(fault) {
      faults.push({ fault, remaining: Math.max(1, fault.times ?? 1) });
    },
    stop() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function recordHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = name === 'authorization' ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function decodeSegments(pathname: string): string[] {
  return pathname
    .split('/')
    .slice(1)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

/** The request's single header value (first one when repeated). */
export function header(req: IncomingRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function isJsonContentType(req: IncomingRequest): boolean {
  return /^application\/json\s*(;|$)/i.test(header(req, 'content-type') ?? '');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Names of keys of `value` outside `allowed`. */
export function unknownKeys(value: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(value).filter((k) => !allowed.includes(k));
}
