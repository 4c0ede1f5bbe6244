// @ts-check
import { renderApprovals } from './approvals.js';
import { request } from './client.js';
import { ApiError } from './common/api.js';
import { $, append, followNavLinks, h, navLink } from './common/dom.js';
import { renderTopBar, startSignedIn } from './common/shell.js';
import { clockTime, exactTime } from './common/time.js';
import { renderKillSwitch } from './kill-switch.js';
import { personName, rolesOf } from './model.js';
import { messageOf, tickCountdowns } from './parts.js';
import { renderRun } from './run.js';
import { renderRuns } from './runs.js';
import { renderScenarios } from './scenarios.js';

/*
 * The simulator's pages at /drills/: scenarios (/drills/), runs (/drills/runs), the approvals
 * inbox (/drills/approvals) and the kill switch (/drills/kill-switch); one run's page is
 * /drills/runs/:id. Signed in with the
 * product's one session (escalation's); the simulator's API is called with that user's bearer
 * token (common/api.js). Every page shows the kill switch when it is engaged, read again every
 * few seconds with the page's own data; countdowns tick every second. Links inside the section
 * (a[data-nav]) are followed without a page load; Back and Forward work.
 */

/** @typedef {import('./types.js').KillSwitch} KillSwitch */
/** @typedef {import('./types.js').Settings} Settings */

const REFRESH_MS = 5000;

const SCENARIOS = { id: 'scenarios', path: '/drills/', label: 'Scenarios', title: 'Drills' };
const RUNS = { id: 'runs', path: '/drills/runs', label: 'Runs', title: 'Drill runs' };
const RUN_PATH = /^\/drills\/runs\/([0-9a-f-]{36})$/;
const PAGES = [
  SCENARIOS,
  RUNS,
  { id: 'approvals', path: '/drills/approvals', label: 'Approvals', title: 'Drill approvals' },
  { id: 'kill-switch', path: '/drills/kill-switch', label: 'Kill switch', title: 'Drill kill switch' },
];

async function boot() {
  const main = $('#main');
  const banner = $('#kill-switch-banner');
  const bar = renderTopBar($('#topbar'), { section: 'drills', inApp: true });
  // Without a session the browser is on its way to sign in; a refusal is said on the page.
  const me = await startSignedIn(main);
  if (!me) return;
  const signedIn = me;
  const can = rolesOf(me.roles);
  /** @type {ReturnType<typeof setInterval>[]} */
  const timers = [];
  bar.signedIn(me, {
    // Signed out: nothing may ask for a token any more (that would send the browser to sign in).
    before: () => {
      for (const t of timers) clearInterval(t);
      banner.hidden = true;
    },
  });

  /** @type {Settings} */
  let settings;
  /** @type {KillSwitch} */
  let killSwitch;
  try {
    [settings, killSwitch] = await Promise.all([
      /** @type {Promise<Settings>} */ (request('GET', '/drills/v1/settings')),
      /** @type {Promise<KillSwitch>} */ (request('GET', '/drills/v1/kill-switch')),
    ]);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthenticated') return;
    main.replaceChildren(h('p', { class: 'loading error', role: 'alert', text: messageOf(error) }));
    return;
  }

  const links = PAGES.map((p) => navLink(p.path, { id: `drills-nav-${p.id}`, text: p.label }));
  const subnav = h('nav', { class: 'subnav', 'aria-label': 'Drills' }, links);
  const view = h('section', { class: 'view drills-page', tabindex: '-1', 'aria-labelledby': 'page-title' });
  main.replaceChildren(subnav, view);

  const showBanner = () => {
    banner.hidden = !killSwitch.engaged;
    if (!killSwitch.engaged) {
      banner.replaceChildren();
      return;
    }
    banner.replaceChildren();
    append(banner, [
      h('strong', {
        class: 'kill-banner-title',
        text: 'Kill switch engaged: every drill is stopped and no new drill can start.',
      }),
      h(
        'span',
        { title: killSwitch.changedAt ? exactTime(killSwitch.changedAt) : '' },
        `Engaged by ${personName(killSwitch.changedBy)}${killSwitch.changedAt ? ` at ${clockTime(killSwitch.changedAt)}` : ''}: `,
        h('span', { class: 'kill-banner-reason', text: killSwitch.reason ?? 'no reason given' }),
      ),
      location.pathname === '/drills/kill-switch'
        ? null
        : navLink('/drills/kill-switch', {
            text: can.killSwitch ? 'Re-arm on the kill switch page' : 'Kill switch page',
          }),
    ]);
  };
  /** @param {KillSwitch} next */
  const killSwitchChanged = (next) => {
    const changed = JSON.stringify(next) !== JSON.stringify(killSwitch);
    killSwitch = next;
    if (!changed) return;
    showBanner();
    document.dispatchEvent(new CustomEvent('drills:kill-switch'));
  };

  /** Refreshes what the current view shows (none: nothing to read again). @type {(() => Promise<void>) | null} */
  let refreshView = null;
  /** Shows the kill switch as read meanwhile on the kill switch page. @type {((state: KillSwitch) => void) | null} */
  let showKillSwitch = null;
  /** @type {AbortController | null} */
  let leaving = null;

  const route = async (/** @type {boolean} */ moved) => {
    const path = location.pathname;
    // One run's page (/drills/runs/:id) belongs to Runs.
    const runId = RUN_PATH.exec(path)?.[1] ?? null;
    const page = runId ? RUNS : (PAGES.find((p) => p.path === path) ?? SCENARIOS);
    leaving?.abort();
    leaving = new AbortController();
    refreshView = null;
    showKillSwitch = null;
    document.title = `${page.title} · micro-oncall`;
    for (const [i, a] of links.entries()) {
      if (PAGES[i] === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    showBanner();
    view.replaceChildren(h('p', { class: 'loading', text: 'Loading…' }));
    try {
      if (runId) {
        refreshView = await renderRun(view, { id: runId, can, signal: leaving.signal });
      } else if (page.id === 'runs') {
        refreshView = await renderRuns(view, {
          settings,
          can,
          search: location.search,
          killSwitch: () => killSwitch,
          signal: leaving.signal,
        });
      } else if (page.id === 'approvals') {
        refreshView = await renderApprovals(view, { me: signedIn, settings, canApprove: can.approve });
      } else if (page.id === 'kill-switch') {
        showKillSwitch = renderKillSwitch(view, {
          canUse: can.killSwitch,
          current: killSwitch,
          changed: (next) => {
            killSwitchChanged(next);
            void refreshView?.();
          },
        });
      } else {
        await renderScenarios(view, { settings, canPropose: can.propose });
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') return;
      view.replaceChildren(h('p', { class: 'loading error', role: 'alert', text: messageOf(error) }));
    }
    // After a move, focus goes to the new view (screen readers hear its title).
    if (moved) view.focus();
  };

  /** @param {string} path */
  function navigate(path) {
    history.pushState(null, '', path);
    void route(true);
  }

  followNavLinks('/drills/', navigate);
  window.addEventListener('popstate', () => void route(true));

  let polling = false;
  const poll = async () => {
    if (polling || document.hidden) return;
    polling = true;
    try {
      const next = /** @type {KillSwitch} */ (await request('GET', '/drills/v1/kill-switch'));
      killSwitchChanged(next);
      showKillSwitch?.(next);
      await refreshView?.();
      // Said once, not at every read: the indicator is a live region.
      if (bar.liveState.dataset.state !== 'polling') {
        bar.liveState.dataset.state = 'polling';
        bar.liveState.textContent = `Updated every ${REFRESH_MS / 1000} s`;
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unauthenticated') return;
      bar.liveState.dataset.state = 'paused';
      bar.liveState.textContent = `Not updating: ${messageOf(error)}`;
    } finally {
      polling = false;
    }
  };
  timers.push(setInterval(() => void poll(), REFRESH_MS));
  timers.push(setInterval(() => tickCountdowns(Date.now()), 1000));
  await route(false);
}

void boot();
