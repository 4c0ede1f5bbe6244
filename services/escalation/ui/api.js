// @ts-check
import { ApiError, errorOf, loginUrl } from './common/api.js';

/*
 * Requests from escalation's own pages to its API, with the session cookie (the product's
 * sign-in is escalation's). ApiError and loginUrl are the product's (packages/web-ui,
 * common/api.js), re-exported for the dashboard's modules.
 */
export { ApiError, loginUrl };

let csrfToken = '';

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** 32 random hex digits (crypto.randomUUID needs a secure context; getRandomValues does not). */
function newIdempotencyKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
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
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return /** @type {T} */ (undefined);
  return /** @type {T} */ (await res.json().catch(() => null));
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
