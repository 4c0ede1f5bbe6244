// @ts-check
import { ApiError } from './common/api.js';
import { $, followNavLinks, h } from './common/dom.js';
import { renderTopBar, startSignedIn } from './common/shell.js';
import { renderCost } from './cost.js';
import { renderDetail } from './detail.js';
import { renderDiscovered } from './discovery.js';
import { renderExceptions } from './exceptions.js';
import { renderGovernance } from './governance.js';
import { renderImport } from './import.js';
import { renderList } from './list.js';
import { rolesOf } from './model.js';
import { renderRegister } from './register.js';

/*
 * The app registry's pages at /apps/: the inventory (/apps/?filters), one app (/apps/<id>),
 * onboarding (/apps/new; /apps/new?candidate=<id> registers a discovered one), governance (/apps/governance), exceptions (/apps/exceptions),
 * discovered apps (/apps/discovered), cost (/apps/cost) and bulk import (/apps/import). Signed in with the product's one session (escalation's); the registry's
 * API is called with that user's bearer token (common/api.js). Links inside the section
 * (a[data-nav]) are followed without a page load; Back and Forward work.
 */

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

async function boot() {
  const main = $('#main');
  const bar = renderTopBar($('#topbar'), { section: 'apps', inApp: true });
  // Without a session the browser is on its way to sign in; a refusal is said on the page.
  const me = await startSignedIn(main);
  if (!me) return;
  bar.signedIn(me);
  const signedIn = me;

  const view = h('section', { class: 'view apps-page', tabindex: '-1', 'aria-labelledby': 'page-title' });
  main.replaceChildren(view);

  const route = async (/** @type {boolean} */ moved) => {
    const path = location.pathname;
    view.replaceChildren(h('p', { class: 'loading', text: 'Loading…' }));
    try {
      if (path === '/apps/new') {
        document.title = 'Register an app · micro-oncall';
        await renderRegister(view, { me: signedIn, search: location.search });
      } else if (path === '/apps/governance') {
        await renderGovernance(view);
      } else if (path === '/apps/exceptions') {
        await renderExceptions(view, { me: signedIn, search: location.search, navigate });
      } else if (path === '/apps/discovered') {
        await renderDiscovered(view, { me: signedIn, search: location.search, navigate });
      } else if (path === '/apps/cost') {
        await renderCost(view, { me: signedIn, search: location.search, navigate });
      } else if (path === '/apps/import') {
        await renderImport(view, { canImport: rolesOf(signedIn.roles).responder });
      } else if (/^\/apps\/app_[0-9a-f]+$/.test(path)) {
        await renderDetail(view, { id: path.slice('/apps/'.length), me: signedIn });
      } else {
        document.title = 'Apps · micro-oncall';
        await renderList(view, {
          search: location.search,
          navigate,
          canRegister: rolesOf(signedIn.roles).responder,
        });
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

  followNavLinks('/apps/', navigate);
  window.addEventListener('popstate', () => void route(true));
  await route(false);
}

void boot();
