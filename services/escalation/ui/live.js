// @ts-check
import { ApiError, api, loginUrl } from './api.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {'connecting' | 'catching-up' | 'live' | 'paused'} LiveState */

const BACKOFF_MS = [1000, 2000, 3000, 5000];

/**
 * Subscribes to `GET /v1/stream` (Server-Sent Events). Every `incident` event carries the
 * incident's change sequence as its id, and `ready` (sent after the catch-up) the sequence the
 * stream has reached. When the connection breaks we reconnect ourselves with `?since=<the last
 * sequence we know>`, so the server first replays whatever changed meanwhile — also when the
 * stream broke before sending anything (the browser's own retry would send no Last-Event-ID
 * then). `sinceHint` gives the newest sequence the page got some other way (the list it loaded).
 *
 * The server replays a bounded number of missed changes; further behind, it sends `reset` and
 * `onReset` reloads what the page shows. It ends the stream with `end` when the session was
 * signed out or expired (we check, and sign in again) or its roles changed (the page reloads,
 * since what it may show and do changed).
 *
 * @param {{
 *   onIncident: (incident: Incident) => void,
 *   onState: (state: LiveState) => void,
 *   onReset?: () => void,
 *   sinceHint?: () => number,
 * }} handlers
 */
export function connectLive(handlers) {
  /** @type {EventSource | null} */
  let source = null;
  let lastSeq = 0;
  let failures = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retry;
  let stopped = false;

  /** @param {unknown} value */
  const advance = (value) => {
    const seq = Number(value);
    if (Number.isSafeInteger(seq) && seq > lastSeq) lastSeq = seq;
  };

  const open = () => {
    advance(handlers.sinceHint?.() ?? 0);
    handlers.onState(failures > 0 ? 'paused' : 'connecting');
    const es = new EventSource(lastSeq > 0 ? `/v1/stream?since=${lastSeq}` : '/v1/stream');
    source = es;
    es.addEventListener('open', () => handlers.onState('catching-up'));
    es.addEventListener('ready', (event) => {
      failures = 0;
      try {
        advance(JSON.parse(/** @type {MessageEvent<string>} */ (event).data).lastEventId);
      } catch {
        // an id is a nicety here; the incident events carry theirs
      }
      handlers.onState('live');
    });
    es.addEventListener('incident', (event) => {
      const message = /** @type {MessageEvent<string>} */ (event);
      advance(message.lastEventId);
      try {
        handlers.onIncident(JSON.parse(message.data));
      } catch (error) {
        console.error('live feed: bad incident event', error);
      }
    });
    es.addEventListener('reset', (event) => {
      try {
        advance(JSON.parse(/** @type {MessageEvent<string>} */ (event).data).lastEventId);
      } catch {
        // the reload below shows the current state whatever the id
      }
      handlers.onReset?.();
    });
    es.addEventListener('end', (event) => {
      if (stopped || source !== es) return;
      /** @type {{ reason?: string }} */
      let body = {};
      try {
        body = JSON.parse(/** @type {MessageEvent<string>} */ (event).data);
      } catch {
        // treated as a session that ended: we check below
      }
      if (body.reason === 'roles_changed') {
        stop();
        location.reload();
        return;
      }
      reconnect(body.reason === 'session_ended' || body.reason === 'credential_expired', 0);
    });
    es.addEventListener('error', () => {
      // CLOSED: the answer was not a stream (e.g. 401 after the session ended, 429 over the
      // connection cap); CONNECTING: the network broke, or the server dropped us for reading too
      // slowly. Either way we take over, so the next attempt asks for what we missed.
      if (stopped || source !== es) return;
      const refused = es.readyState === EventSource.CLOSED;
      const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)] ?? 1000;
      failures += 1;
      reconnect(refused, delay);
    });
  };

  /**
   * Drops the current stream and opens a new one after `delay`; first, when the stream was refused
   * or ended by the server, sends the browser to sign in if the session is gone.
   * @param {boolean} checkSession
   * @param {number} delay
   */
  const reconnect = (checkSession, delay) => {
    if (stopped || !source) return;
    source.close();
    source = null;
    handlers.onState('paused');
    clearTimeout(retry);
    retry = setTimeout(async () => {
      if (checkSession) {
        try {
          await api('/auth/me');
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            location.assign(loginUrl());
            return;
          }
        }
      }
      if (!stopped) open();
    }, delay);
  };

  const stop = () => {
    stopped = true;
    clearTimeout(retry);
    source?.close();
    source = null;
  };
  open();

  return {
    stop,
    /** Opens the stream again after stop(). */
    resume() {
      if (!stopped) return;
      stopped = false;
      failures = 0;
      open();
    },
  };
}
