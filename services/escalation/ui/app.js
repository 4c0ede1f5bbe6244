// @ts-check
import { ApiError, api, loginUrl, setCsrfToken } from './api.js';
import { createAuditView } from './audit.js';
import { renderTopBar } from './common/shell.js';
import { createDashboard } from './dashboard.js';
import { createIncidentView } from './detail.js';
import { $, followNavLinks, h } from './dom.js';
import { createFiguresView } from './figures.js';
import { connectLive } from './live.js';

/** @typedef {import('./types.js').Me} Me */
/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {import('./types.js').Context} Context */
/** @typedef {{ element: HTMLElement, destroy(): void }} View */

/** @type {Record<import('./live.js').LiveState, string>} */
const LIVE_TEXT = {
  connecting: 'Connecting to live updates…',
  'catching-up': 'Catching up…',
  live: 'Live',
  paused: 'Live updates paused, reconnecting…',
};

/**
 * @param {Me} me
 * @param {'viewer' | 'responder' | 'admin'} role
 */
function hasRole(me, role) {
  return me.roles.some(
    (r) => r === role || r === 'admin' || (role === 'viewer' && (r === 'responder' || r === 'approver')),
  );
}

/** @param {EventTarget | null} target */
function isTyping(target) {
  // A checkbox takes no text: the list's shortcuts still work from a row's selection box.
  if (target instanceof HTMLInputElement && (target.type === 'checkbox' || target.type === 'radio')) return false;
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}

async function boot() {
  const main = $('#main');
  // The product's top bar: Incidents and the Audit log are this page's; other sections are other services' pages.
  const bar = renderTopBar($('#topbar'), {
    section: 'incidents',
    inApp: true,
    links: [
      { id: 'figures', label: 'Figures', href: '/figures' },
      { id: 'audit', label: 'Audit log', href: '/audit' },
    ],
  });
  /** @type {Me} */
  let me;
  try {
    me = await api('/auth/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.assign(loginUrl());
      return;
    }
    main.replaceChildren(
      h('p', {
        class: 'loading error',
        text: `The escalation service cannot tell who you are: ${error instanceof Error ? error.message : String(error)}`,
      }),
    );
    return;
  }
  setCsrfToken(me.csrfToken);

  /** @type {Set<(incident: Incident) => void>} */
  const listeners = new Set();
  /** @type {Context} */
  const ctx = {
    me,
    can: (role) => hasRole(me, role),
    navigate,
    onIncident(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  /** @type {ReturnType<typeof createDashboard> | null} */
  let dashboard = null;
  /** @type {View | null} */
  let current = null;

  // ---- header: who is signed in, live state, navigation
  const liveState = bar.liveState;
  const live = connectLive({
    onIncident: (incident) => {
      for (const listener of listeners) listener(incident);
    },
    onState: (state) => {
      liveState.dataset.state = state;
      liveState.textContent = LIVE_TEXT[state];
    },
    sinceHint: () => dashboard?.maxSeq() ?? 0,
    // Too many changes were missed to replay them: load what is shown afresh.
    onReset: () => {
      dashboard?.reload();
      if (current && location.pathname.startsWith('/incidents/')) route();
    },
  });
  bar.show('figures', ctx.can('viewer'));
  bar.show('audit', ctx.can('admin'));
  bar.signedIn(me, {
    // Signing out ends the stream server-side: stop first, so that is not taken for a session lost elsewhere.
    before: () => live.stop(),
    failed: (message) => {
      live.resume();
      liveState.textContent = `Sign-out failed: ${message}`;
    },
    after: () => current?.destroy(),
  });

  // ---- views
  /** @type {string | null} */
  let lastIncident = null;
  let listScroll = 0;
  let inApp = false;

  const getDashboard = () => {
    if (!dashboard) {
      dashboard = createDashboard(ctx);
      dashboard.element.hidden = true;
      main.prepend(dashboard.element);
    }
    return dashboard;
  };

  const route = () => {
    if (dashboard && !dashboard.element.hidden) listScroll = window.scrollY;
    current?.destroy();
    current?.element.remove();
    current = null;
    const path = location.pathname;
    const incident = /^\/incidents\/([^/]+)$/.exec(path);
    bar.setCurrent(null);
    if (incident?.[1]) {
      if (dashboard) dashboard.element.hidden = true;
      lastIncident = decodeURIComponent(incident[1]);
      current = createIncidentView(lastIncident, ctx, { backUrl: dashboard ? dashboard.url() : '/' });
    } else if (path === '/audit') {
      if (dashboard) dashboard.element.hidden = true;
      current = createAuditView(ctx);
      bar.setCurrent('audit');
    } else if (path === '/figures') {
      if (dashboard) dashboard.element.hidden = true;
      current = createFiguresView(ctx);
      bar.setCurrent('figures');
    } else {
      const list = getDashboard();
      list.show();
      bar.setCurrent('incidents');
      window.scrollTo(0, listScroll);
      if (lastIncident) list.focusIncident(lastIncident);
      return;
    }
    main.append(current.element);
    window.scrollTo(0, 0);
    current.element.tabIndex = -1;
    current.element.focus({ preventScroll: true });
  };

  /** @param {string} url */
  function navigate(url) {
    history.pushState({ inApp: true }, '', url);
    inApp = true;
    route();
  }

  const goBack = () => {
    if (inApp && history.state?.inApp) history.back();
    else navigate(dashboard ? dashboard.url() : '/');
  };

  followNavLinks('/', navigate);
  window.addEventListener('popstate', route);

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = isTyping(event.target);
    const onList = current === null && dashboard !== null && !dashboard.element.hidden;
    if (event.key === 'Escape') {
      if (typing && event.target instanceof HTMLElement) event.target.blur();
      else if (!onList) goBack();
      return;
    }
    if (typing || !onList || !dashboard) return;
    if (event.key === '/') {
      event.preventDefault();
      dashboard.focusSearch();
    } else if (event.key === 'j') {
      event.preventDefault();
      dashboard.move(1);
    } else if (event.key === 'k') {
      event.preventDefault();
      dashboard.move(-1);
    } else if (event.key === 'x') {
      // Selects or unselects the focused row, for bulk actions (responders).
      if (dashboard.toggleFocused()) event.preventDefault();
    }
  });

  route();
}

void boot();
