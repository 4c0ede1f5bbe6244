// @ts-check
import { signedInUser } from './api.js';
import { h } from './dom.js';

/** @typedef {import('./types.js').Me} Me */
/** @typedef {import('./types.js').Section} Section */

/**
 * The product's sections, in navigation order: the one list every page's top bar shows. A
 * service whose pages join the product adds its section here (and its paths to its descriptor's
 * `publicPaths`, which the Ingress and the development gateway route).
 * @type {readonly Section[]}
 */
export const SECTIONS = Object.freeze([
  { id: 'incidents', label: 'Incidents', href: '/' },
  { id: 'status', label: 'Status', href: '/status/' },
  { id: 'apps', label: 'Apps', href: '/apps/' },
  { id: 'drills', label: 'Drills', href: '/drills/' },
]);

/**
 * @typedef {object} TopBarOptions
 * @property {string} section the section this page belongs to
 * @property {string[]} [hide] sections this page leaves out of its navigation
 * @property {{ id: string, label: string, href: string }[]} [links] the page's own links after
 *   the sections (escalation's Audit log), hidden until `show(id)`
 * @property {boolean} [inApp] links of this page's own section and its own links are followed by
 *   the page without a page load (they get `data-nav`); other sections are other services' pages
 */

/**
 * @typedef {object} SignOutHooks
 * @property {() => void} [before] just before the request (stop a live stream: the server ends it)
 * @property {(message: string) => void} [failed] the request failed; the page goes on signed in
 * @property {() => void} [after] signed out, before the page says so
 */

/**
 * @typedef {object} TopBar
 * @property {HTMLElement} liveState the live-updates indicator: set `dataset.state` and its text
 * @property {(id: string | null) => void} setCurrent marks one link (a section or the page's own) as the current page
 * @property {(id: string, shown?: boolean) => void} show shows (or hides) one of the page's own links
 * @property {(me: Me, hooks?: SignOutHooks) => void} signedIn names who is signed in and offers Sign out
 */

/**
 * Renders the product's top bar into `header` (`<header class="topbar">`): the brand, the
 * navigation (every section of `SECTIONS`, then the page's own links), the live-updates
 * indicator, who is signed in and Sign out. Sign-out is escalation's (`POST /auth/logout`): it
 * ends the one session every page of the product uses.
 *
 * @param {HTMLElement} header
 * @param {TopBarOptions} opts
 * @returns {TopBar}
 */
export function renderTopBar(header, opts) {
  const inApp = opts.inApp ?? false;
  const hidden = new Set(opts.hide ?? []);
  /** @type {Map<string, HTMLAnchorElement>} */
  const links = new Map();
  const link = (/** @type {string} */ id, /** @type {string} */ label, /** @type {string} */ href, own = false) => {
    const a = h('a', { id: `nav-${id}`, href, text: label, 'data-nav': inApp && (own || id === opts.section) });
    links.set(id, a);
    return a;
  };
  const nav = h(
    'nav',
    { 'aria-label': 'Sections' },
    SECTIONS.filter((s) => !hidden.has(s.id)).map((s) => link(s.id, s.label, s.href)),
    (opts.links ?? []).map((l) => {
      const a = link(l.id, l.label, l.href, true);
      a.hidden = true;
      return a;
    }),
  );
  const home = SECTIONS[0]?.href ?? '/';
  const brand = h(
    'a',
    { class: 'brand', href: home, 'data-nav': inApp && opts.section === SECTIONS[0]?.id },
    'micro-oncall',
  );
  const liveState = h('p', { id: 'live-state', class: 'live-state', role: 'status', 'aria-live': 'polite' });
  const who = h('p', { id: 'who', class: 'who' });
  const signOut = h('button', { id: 'sign-out', type: 'button', class: 'secondary', text: 'Sign out', hidden: true });
  header.replaceChildren(brand, nav, liveState, who, signOut);

  const setCurrent = (/** @type {string | null} */ id) => {
    for (const [key, a] of links) {
      if (key === id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  };
  setCurrent(opts.section);

  return {
    liveState,
    setCurrent,
    show(id, shown = true) {
      const a = links.get(id);
      if (a) a.hidden = !shown;
    },
    signedIn(me, hooks = {}) {
      const roles = me.roles.length > 0 ? me.roles.join(', ') : 'no role';
      who.replaceChildren(
        h('span', { class: 'who-name', text: me.name ?? me.email ?? me.subject }),
        h('span', { class: 'role', text: roles }),
      );
      signOut.hidden = false;
      signOut.onclick = async () => {
        signOut.disabled = true;
        hooks.before?.();
        const problem = await logout(me.csrfToken);
        if (problem) {
          signOut.disabled = false;
          if (hooks.failed) hooks.failed(problem);
          else liveState.textContent = `Sign-out failed: ${problem}`;
          return;
        }
        hooks.after?.();
        who.replaceChildren();
        signOut.hidden = true;
        liveState.textContent = '';
        delete liveState.dataset.state;
        const main = document.getElementById('main');
        main?.replaceChildren(signedOutView());
      };
    },
  };
}

/**
 * Ends the product's session everywhere (every tab, every service's pages, live streams).
 * @param {string} csrfToken
 * @returns {Promise<string | null>} why it failed, or null when signed out
 */
async function logout(csrfToken) {
  try {
    const res = await fetch('/auth/logout', {
      method: 'POST',
      headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
      credentials: 'same-origin',
    });
    if (res.ok) return null;
    const body = await res.json().catch(() => null);
    const message = body?.error?.message;
    return typeof message === 'string' ? message : `the server answered ${res.status}`;
  } catch {
    return 'the sign-in service cannot be reached (network error); try again';
  }
}

/** What a page shows once signed out: a way back in, to the same page. */
export function signedOutView() {
  const back = `/auth/login?returnTo=${encodeURIComponent(location.pathname + location.search)}`;
  return h(
    'section',
    { class: 'view signed-out' },
    h('h1', { text: 'You are signed out' }),
    h('p', {}, h('a', { class: 'button primary', href: back, text: 'Sign in again' })),
  );
}

/**
 * Who is signed in, as a page starts: while the sign-in service cannot be reached, `main` says so
 * and when it tries again; a refusal that signing in cannot cure is said there too (then null, as
 * without a session, when the browser is already on its way to sign in).
 * @param {HTMLElement} main
 * @returns {Promise<Me | null>}
 */
export async function startSignedIn(main) {
  const say = (/** @type {string} */ text) =>
    main.replaceChildren(h('p', { class: 'loading error', role: 'status', text }));
  try {
    return await signedInUser((message, seconds) =>
      say(`Cannot tell who you are: ${message}; trying again in ${seconds} s`),
    );
  } catch (error) {
    say(`Cannot tell who you are: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}
