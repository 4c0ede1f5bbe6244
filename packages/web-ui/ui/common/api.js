// @ts-check
/**
 * Requests from the pages of services other than escalation to their own APIs, with the
 * product's one sign-in (docs/adr/0012-one-product-behind-one-host.md). The browser session is
 * escalation's: `GET /auth/me` says who is signed in and gives the session's CSRF token, and
 * `GET /auth/token` (with that token in X-CSRF-Token) a short-lived access token for the same
 * user, which goes to the page's own service as `Authorization: Bearer`. The token is kept in
 * this module only (never in storage) and fetched again shortly before it expires. No session:
 * the browser goes to sign in and comes back to this page.
 *
 * Streams are read with fetch (EventSource cannot send a header): `readEvents`.
 */

/** @typedef {import('./types.js').Me} Me */

/** An answer other than 2xx, with the server's own message (shown to people as plain text). */
export class ApiError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
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

/** A token is fetched again when it has less than this left. */
const TOKEN_MARGIN_MS = 30_000;
/** Coming back from sign-in and still refused within this long means signing in cannot help. */
const SIGN_IN_LOOP_MS = 30_000;
const SIGN_IN_KEY = 'micro-oncall.sign-in-started';

/** Where to send the browser to sign in and come back to this very page. */
export function loginUrl() {
  return `/auth/login?returnTo=${encodeURIComponent(location.pathname + location.search)}`;
}

/**
 * Sends the browser to sign in, unless it came back from signing in moments ago: then the
 * refusal is not about the session, and another round trip would only loop.
 * @param {string} reason
 * @returns {never}
 */
function signIn(reason) {
  let last = 0;
  try {
    last = Number(sessionStorage.getItem(SIGN_IN_KEY) ?? 0);
    sessionStorage.setItem(SIGN_IN_KEY, String(Date.now()));
  } catch {
    // storage refused (privacy settings): no loop guard, sign in anyway
  }
  if (Date.now() - last < SIGN_IN_LOOP_MS) {
    throw new ApiError(401, `signed in, but this page is still refused: ${reason}`, 'sign_in_loop', null);
  }
  location.assign(loginUrl());
  throw new ApiError(401, 'your session has ended; signing in again…', 'unauthenticated', null);
}

/**
 * The ApiError of an answer other than 2xx, with the server's own message, code and request id
 * when its body is the product's error shape.
 * @param {Response} res
 */
export async function errorOf(res) {
  const body = await res.json().catch(() => null);
  const error = body && typeof body === 'object' && 'error' in body ? body.error : null;
  return new ApiError(
    res.status,
    typeof error?.message === 'string' ? error.message : `the server answered ${res.status}`,
    typeof error?.code === 'string' ? error.code : null,
    typeof error?.requestId === 'string' ? error.requestId : res.headers.get('x-request-id'),
  );
}

/**
 * fetch that turns a network failure into an ApiError (status 0).
 * @param {string} path
 * @param {RequestInit} init
 */
async function send(path, init) {
  try {
    return await fetch(path, { credentials: 'same-origin', ...init });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, `${path} cannot be reached (network error); retrying`, null, null);
  }
}

/** @type {Promise<Me> | null} */
let me = null;

/** Who is signed in (escalation's `GET /auth/me`), once per page load. */
export function whoAmI() {
  me ??= (async () => {
    const res = await send('/auth/me', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401) signIn((await errorOf(res)).message);
    if (!res.ok) throw await errorOf(res);
    return /** @type {Me} */ (await res.json());
  })();
  me.catch(() => {
    me = null;
  });
  return me;
}

/** The longest wait between two tries of {@link signedInUser}. */
const WHO_AM_I_MAX_WAIT_S = 30;

/**
 * Who is signed in, for a page that is starting: a network failure or a 5xx from the sign-in
 * service (a restart, a gateway blip) is said through `onRetry` and tried again after a growing
 * wait (1 s doubling, at most 30 s), so the page comes up by itself once the service answers
 * rather than staying on an error. Null when there is no session: the browser has been sent to
 * sign in. Any other refusal (a sign-in loop, a 4xx) is thrown, to be said as it is.
 * @param {(message: string, seconds: number) => void} onRetry
 * @param {(ms: number) => Promise<void>} [wait]
 * @returns {Promise<Me | null>}
 */
export async function signedInUser(onRetry, wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await whoAmI();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') return null;
      if (!(error instanceof ApiError && (error.status === 0 || error.status >= 500))) throw error;
      const seconds = Math.min(WHO_AM_I_MAX_WAIT_S, 2 ** attempt);
      onRetry(error.message, seconds);
      await wait(seconds * 1000);
    }
  }
}

/** @type {{ value: string, expiresAt: number } | null} */
let token = null;
/** @type {Promise<string> | null} */
let pending = null;

/**
 * A bearer access token for the signed-in user, from escalation's `GET /auth/token`.
 * @param {{ force?: boolean }} [opts] `force`: the service refused the one we had
 * @returns {Promise<string>}
 */
export function accessToken(opts = {}) {
  if (!opts.force && token && token.expiresAt - Date.now() > TOKEN_MARGIN_MS) return Promise.resolve(token.value);
  pending ??= (async () => {
    for (let attempt = 0; ; attempt++) {
      const { csrfToken } = await whoAmI();
      const res = await send('/auth/token', {
        headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
        cache: 'no-store',
      });
      if (res.status === 401) signIn((await errorOf(res)).message);
      // Signed in again in another tab since this page asked who is signed in: a new CSRF token.
      if (res.status === 403 && attempt === 0) {
        me = null;
        continue;
      }
      if (!res.ok) throw await errorOf(res);
      const body = /** @type {{ accessToken: string, expiresAt: string }} */ (await res.json());
      token = { value: body.accessToken, expiresAt: Date.parse(body.expiresAt) };
      try {
        sessionStorage.removeItem(SIGN_IN_KEY);
      } catch {
        // nothing was stored
      }
      return token.value;
    }
  })().finally(() => {
    pending = null;
  });
  return pending;
}

/**
 * A request to the page's own service with the user's bearer token. A 401 gets one more try
 * with a fresh token (the one we had may have just expired); a second 401 is the service's answer.
 * @param {string} path
 * @param {RequestInit & { headers?: Record<string, string> }} [init]
 */
export async function authorizedFetch(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const bearer = await accessToken({ force: attempt > 0 });
    const res = await send(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${bearer}` } });
    if (res.status !== 401 || attempt > 0) return res;
  }
}

/**
 * GET JSON with the bearer token. With `etag` (the one a previous answer had) an unchanged
 * resource answers 304: `{ notModified: true }`.
 * @template T
 * @param {string} path
 * @param {{ etag?: string | null, signal?: AbortSignal }} [opts]
 * @returns {Promise<{ notModified: true } | { notModified: false, body: T, etag: string | null }>}
 */
export async function getJson(path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  /** @type {RequestInit & { headers: Record<string, string> }} */
  const init = { headers, cache: 'no-cache' };
  if (opts.signal) init.signal = opts.signal;
  const res = await authorizedFetch(path, init);
  if (res.status === 304) return { notModified: true };
  if (!res.ok) throw await errorOf(res);
  return { notModified: false, body: /** @type {T} */ (await res.json()), etag: res.headers.get('etag') };
}

/**
 * @typedef {object} ServerEvent
 * @property {string} event the `event:` name (`message` when none)
 * @property {string} data the `data:` lines, joined by newlines
 * @property {string | null} id the `id:` of the event, if it had one
 */

/**
 * The Server-Sent Events parser of the HTML standard, fed text as it arrives: `push` chunks
 * (split anywhere, even inside a line or a CRLF), `onEvent` hears each complete event.
 * Comments (`:` lines) are skipped; an event without data is not dispatched.
 * @param {(event: ServerEvent) => void} onEvent
 */
export function createEventParser(onEvent) {
  let buffer = '';
  let pendingCr = false;
  let event = '';
  /** @type {string[]} */
  let data = [];
  /** @type {string | null} */
  let id = null;
  const line = (/** @type {string} */ text) => {
    if (text === '') {
      if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), id });
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  };
  return {
    /** @param {string} chunk */
    push(chunk) {
      let text = chunk;
      // A CR that ended the previous chunk already ended its line: skip the LF that pairs with it.
      if (pendingCr && text.startsWith('\n')) text = text.slice(1);
      pendingCr = false;
      buffer += text;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        if (match[0] === '\r' && match.index === buffer.length - 1) pendingCr = true;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
  };
}

/**
 * Reads a Server-Sent Events stream of the page's own service with the bearer token.
 * Resolves when the server ends the stream or the connection drops; rejects with an ApiError
 * when the stream is refused or not there (404), or cannot be reached.
 * @param {string} path
 * @param {{ onEvent: (event: ServerEvent) => void, onOpen?: () => void, signal?: AbortSignal }} opts
 */
export async function readEvents(path, opts) {
  /** @type {RequestInit & { headers: Record<string, string> }} */
  const init = { headers: { accept: 'text/event-stream' }, cache: 'no-store' };
  if (opts.signal) init.signal = opts.signal;
  const res = await authorizedFetch(path, init);
  if (!res.ok || !res.body) throw await errorOf(res);
  opts.onOpen?.();
  const parser = createEventParser(opts.onEvent);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    // The connection broke: the caller decides what to do next, as for an ended stream.
  } finally {
    reader.releaseLock();
  }
}
