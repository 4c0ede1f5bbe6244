// @ts-check
import { ApiError, getJson, readEvents } from './common/api.js';
import { $, h } from './common/dom.js';
import { renderTopBar, startSignedIn } from './common/shell.js';
import { statusPage } from './view.js';

/*
 * The consolidated status page at /status/: our services × providers, the provider incidents
 * behind them, the sources. Signed in with the product's one session (escalation's); status-mapper's
 * API is called with that user's bearer token (common/api.js). Live: GET /status/v1/stream (read
 * with fetch, since EventSource cannot send the token); each change re-reads /status/internal
 * (with its ETag). Without the stream (404) or when it drops, every 30 s instead.
 */

/** @typedef {import('./view.js').StatusData} StatusData */
/** @typedef {import('./types.js').InternalService} InternalService */
/** @typedef {import('./types.js').Source} Source */
/** @typedef {import('./types.js').ProviderComponent} ProviderComponent */

const POLL_MS = 30_000;
/** While the stream is live, sources (whose failures are not changes) are re-read this often. */
const LIVE_REFRESH_MS = 60_000;
/** Changes often come in bursts (one per component of a page): one re-read for a burst. */
const COALESCE_MS = 250;

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

async function boot() {
  const main = $('#main');
  const bar = renderTopBar($('#topbar'), { section: 'status' });
  const liveState = bar.liveState;
  /** @param {'connecting' | 'live' | 'polling' | 'paused'} state @param {string} text */
  const setLive = (state, text) => {
    liveState.dataset.state = state;
    liveState.textContent = text;
  };

  // Without a session the browser is on its way to sign in; a refusal is said on the page.
  const me = await startSignedIn(main);
  if (!me) return;

  /** @type {StatusData} */
  const data = { services: [], sources: [], components: [] };
  /** @type {string | null} */
  let etag = null;
  let loaded = false;
  let stopped = false;
  const view = h('section', { class: 'view status-page', 'aria-labelledby': 'page-title' });
  const problem = h('p', { class: 'loading error', role: 'alert', hidden: true });
  main.replaceChildren(problem, h('p', { class: 'loading', text: 'Loading provider status…' }));

  const render = () => {
    if (stopped) return;
    view.replaceChildren(...statusPage(data, Date.now()));
    if (!loaded) {
      loaded = true;
      main.replaceChildren(problem, view);
    }
  };

  /** Re-reads what the page shows; /status/internal only when it changed (ETag). */
  const refresh = async () => {
    const [internal, sources, components] = await Promise.all([
      getJson('/status/internal', { etag }),
      getJson('/status/v1/sources'),
      getJson('/status/v1/components'),
    ]);
    if (!internal.notModified) {
      data.services = /** @type {{ services: InternalService[] }} */ (internal.body).services;
      etag = internal.etag;
    }
    if (!sources.notModified) data.sources = /** @type {{ items: Source[] }} */ (sources.body).items;
    if (!components.notModified)
      data.components = /** @type {{ items: ProviderComponent[] }} */ (components.body).items;
    problem.hidden = true;
    render();
  };

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let soon;
  let live = false;
  let streamMissing = false;
  /** @type {AbortController | null} */
  let stream = null;

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(tick, live ? LIVE_REFRESH_MS : POLL_MS);
  };
  const refreshNow = async () => {
    try {
      await refresh();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') return;
      problem.textContent = `Could not refresh: ${messageOf(error)}. Showing what was last read; trying again.`;
      problem.hidden = false;
    }
  };
  async function tick() {
    await refreshNow();
    if (!live && !streamMissing && !stopped) void openStream();
    schedule();
  }

  async function openStream() {
    if (live || stopped) return;
    setLive('connecting', 'Connecting to live updates…');
    stream = new AbortController();
    try {
      await readEvents('/status/v1/stream', {
        signal: stream.signal,
        onOpen: () => {
          live = true;
          setLive('live', 'Live');
          schedule();
        },
        onEvent: (event) => {
          if (event.event !== 'change' && event.event !== 'reset') return;
          clearTimeout(soon);
          soon = setTimeout(() => void refreshNow(), COALESCE_MS);
        },
      });
    } catch (error) {
      if (stopped || (error instanceof DOMException && error.name === 'AbortError')) return;
      if (error instanceof ApiError && error.status === 404) streamMissing = true;
      else if (error instanceof ApiError && error.code === 'unauthenticated') return;
    }
    // The stream ended, dropped or is not there: poll (and try the stream again at each poll).
    live = false;
    if (!stopped) {
      setLive('polling', 'Updating every 30 s');
      schedule();
    }
  }

  bar.signedIn(me, {
    before: () => {
      stopped = true;
      stream?.abort();
      clearTimeout(timer);
      clearTimeout(soon);
    },
    failed: (message) => {
      stopped = false;
      setLive('polling', `Sign-out failed: ${message}`);
      schedule();
      void openStream();
    },
  });

  try {
    await refresh();
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthenticated') return;
    main.replaceChildren(
      h('p', { class: 'loading error', role: 'alert', text: `The status service cannot be read: ${messageOf(error)}` }),
    );
    schedule();
    return;
  }
  void openStream();
  schedule();
}

void boot();
