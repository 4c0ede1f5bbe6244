// @ts-check

/** An answer other than 2xx, with the server's own message (shown to people as plain text). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string | null} code
   * @param {string | null} requestId
   */
  constructor(status, message, code, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

let csrfToken = '';

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** 32 random hex digits (crypto.randomUUID needs a secure context; getRandomValues does not). */
function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Where to send the browser to sign in and come back to this very page. */
export function loginUrl() {
  return `/auth/login?returnTo=${encodeURIComponent(location.pathname + location.search)}`;
}

/**
 * JSON request to this service with the session cookie; state-changing requests carry the
 * session's CSRF token. A 401 (session expired) sends the browser to sign in again.
 *
 * Each POST is one intent (one click) and carries its own `Idempotency-Key`: should the request
 * reach the server twice, the action is carried out once and both get its answer. A new click is
 * a new intent and gets a new key.
 *
 * @template T
 * @param {string} path
 * @param {{ method?: string, body?: unknown, signal?: AbortSignal, idempotencyKey?: string }} [opts]
 * @returns {Promise<T>}
 */
export async function api(path, opts = {}) {
  const method = opts.method ?? 'GET';
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (method === 'POST') headers['idempotency-key'] = opts.idempotencyKey ?? newIdempotencyKey();
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  /** @type {Response} */
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'the escalation service cannot be reached (network error); try again', null, null);
  }
  if (res.status === 401 && path !== '/auth/me') {
    location.assign(loginUrl());
    throw new ApiError(401, 'your session has ended; signing in again…', 'unauthenticated', null);
  }
  if (res.status === 204) return /** @type {T} */ (undefined);
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const error = body && typeof body === 'object' && 'error' in body ? body.error : null;
    throw new ApiError(
      res.status,
      typeof error?.message === 'string' ? error.message : `the server answered ${res.status}`,
      typeof error?.code === 'string' ? error.code : null,
      typeof error?.requestId === 'string' ? error.requestId : res.headers.get('x-request-id'),
    );
  }
  return /** @type {T} */ (body);
}

/**
 * Builds a query string from the entries that have a value.
 * @param {Record<string, string | number | undefined | null>} params
 */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
