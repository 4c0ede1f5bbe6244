// @ts-check
import { ApiError, api, loginUrl } from './api.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {'connecting' | 'catching-up' | 'live' | 'paused'} LiveState */

/**
 * Subscribes to `GET /v1/stream` (Server-Sent Events). Every `incident` event carries the
 * incident's change sequence as its id; EventSource resends it as Last-Event-ID when it
 * reconnects, and the server first replays what was missed. If the browser gives up (the
 * answer was not a stream, e.g. the session expired) we check the session and start again from
 * the last id we saw.
 *
 * @param {{ onIncident: (incident: Incident) => void, onState: (state: LiveState) => void }} handlers
 */
export function connectLive(handlers) {
  /** @type {EventSource | null} */
  let source = null;
  let lastId = '';
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retry;
  let stopped = false;

  const open = () => {
    handlers.onState(lastId ? 'paused' : 'connecting');
    source = new EventSource(`/v1/stream${lastId ? `?since=${encodeURIComponent(lastId)}` : ''}`);
    source.addEventListener('open', () => handlers.onState('catching-up'));
    source.addEventListener('ready', () => handlers.onState('live'));
    source.addEventListener('incident', (event) => {
      const message = /** @type {MessageEvent<string>} */ (event);
      if (message.lastEventId) lastId = message.lastEventId;
      try {
        handlers.onIncident(JSON.parse(message.data));
      } catch (error) {
        console.error('live feed: bad incident event', error);
      }
    });
    source.addEventListener('error', () => {
      handlers.onState('paused');
      if (source?.readyState !== EventSource.CLOSED || stopped) return; // the browser reconnects by itself
      source = null;
      clearTimeout(retry);
      retry = setTimeout(async () => {
        try {
          await api('/auth/me');
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            location.assign(loginUrl());
            return;
          }
          // unreachable: try again
        }
        if (!stopped) open();
      }, 3000);
    });
  };
  open();

  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      source?.close();
    },
  };
}
