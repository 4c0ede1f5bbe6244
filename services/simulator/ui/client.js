// @ts-check
import { authorizedFetch, errorOf } from './common/api.js';

/**
 * The simulator's API from the pages, with the signed-in user's bearer token (common/api.js).
 * A refused request throws the shared `ApiError` with the server's own message, which the pages
 * show as text.
 */

/**
 * One request with a JSON body (or none) and a JSON answer.
 * @template T
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<T>}
 */
export async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  /** @type {RequestInit & { headers: Record<string, string> }} */
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await authorizedFetch(path, init);
  if (!res.ok) throw await errorOf(res);
  return /** @type {T} */ (await res.json());
}
