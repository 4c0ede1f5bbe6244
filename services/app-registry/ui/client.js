// @ts-check
import { ApiError, authorizedFetch } from './common/api.js';

/**
 * app-registry's API from the pages, with the signed-in user's bearer token (common/api.js).
 * A refused request is an `ApiError` with the server's message; a 400 also names each field
 * that is wrong (`issues`), so the form can say it next to the field.
 */

/** @typedef {{ path: string, message: string }} Issue */

export class RequestError extends ApiError {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string | null} code
   * @param {string | null} requestId
   * @param {Issue[]} issues
   */
  constructor(status, message, code, requestId, issues) {
    super(status, message, code, requestId);
    this.issues = issues;
  }
}

/**
 * @param {Response} res
 * @returns {Promise<RequestError>}
 */
async function failure(res) {
  const body = await res.json().catch(() => null);
  const error = body && typeof body === 'object' && 'error' in body ? body.error : null;
  const raw = error?.details?.issues;
  /** @type {Issue[]} */
  const issues = Array.isArray(raw)
    ? raw
        .filter((i) => i && typeof i.path === 'string' && typeof i.message === 'string')
        .map((i) => ({ path: i.path, message: i.message }))
    : [];
  return new RequestError(
    res.status,
    typeof error?.message === 'string' ? error.message : `the server answered ${res.status}`,
    typeof error?.code === 'string' ? error.code : null,
    typeof error?.requestId === 'string' ? error.requestId : res.headers.get('x-request-id'),
    issues,
  );
}

/**
 * One request with a JSON body (or none) and a JSON answer.
 * @template T
 * @param {'GET' | 'POST' | 'PATCH'} method
 * @param {string} path
 * @param {{ body?: unknown, ifMatch?: string }} [opts]
 * @returns {Promise<{ body: T, etag: string | null }>}
 */
export async function request(method, path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  /** @type {RequestInit & { headers: Record<string, string> }} */
  const init = { method, headers, cache: 'no-store' };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  const res = await authorizedFetch(path, init);
  if (!res.ok) throw await failure(res);
  return { body: /** @type {T} */ (await res.json()), etag: res.headers.get('etag') };
}
