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
 * @param {{
 *   onIncident: (incident: Incident) => void,
 *   onState: (state: LiveState) => void,
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
    es.addEventListener('error', () => {
      if (stopped || source !== es) return;
      // CLOSED: the answer was not a stream (e.g. 401 after the session ended); CONNECTING: the
      // network broke. Either way we take over, so the next attempt asks for what we missed.
      const refused = es.readyState === EventSource.CLOSED;
      es.close();
      source = null;
      handlers.onState('paused');
      const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
      failures += 1;
      clearTimeout(retry);
      retry = setTimeout(async () => {
        if (refused) {
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
    });
  };
  open();

  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      source?.close();
      source = null;
    },
  };
}
