// @ts-check

import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { filtersOf, queryOf, RUNTIME_LABELS, SORTS, STATE_LABELS, TIERS } from './model.js';

/** @typedef {import('./types.js').App} App */

const PAGE_SIZE = 50;

/**
 * A `<select>` in a labelled field.
 * @param {string} name
 * @param {string} label
 * @param {Record<string, string>} options value → text (the first entry is "any")
 * @param {string | undefined} value
 */
function selectField(name, label, options, value) {
  const id = `filter-${name}`;
  const select = h(
    'select',
    { id, name },
    Object.entries(options).map(([v, text]) => h('option', { value: v, text, selected: v === (value ?? '') })),
  );
  return h('label', { class: 'field', for: id }, label, select);
}

/** A state's badge: the words are always written out. @param {string} state */
export function stateBadge(state) {
  return h('span', { class: `state state-${state}`, text: STATE_LABELS[state] ?? state });
}

/** A tier's badge. @param {string | null} tier */
export function tierBadge(tier) {
  return h('span', { class: `tier tier-${tier ?? 'none'}`, text: tier ?? 'no tier' });
}

/**
 * The inventory: search, filters, sort, keyset paging; each row links to the app's page.
 * @param {HTMLElement} view
 * @param {{ search: string, navigate: (path: string) => void, canRegister: boolean }} ctx
 */
export async function renderList(view, ctx) {
  const filters = filtersOf(ctx.search);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find apps' },
    h(
      'label',
      { class: 'field grow', for: 'filter-q' },
      'Search',
      h('input', {
        id: 'filter-q',
        name: 'q',
        type: 'search',
        value: filters.q ?? '',
        placeholder: 'name, purpose, owner, tag, host…',
      }),
    ),
    selectField('state', 'State', { '': 'Any but purged', ...STATE_LABELS }, filters.state),
    selectField('tier', 'Tier', { '': 'Any', ...Object.fromEntries(TIERS.map((t) => [t, t])) }, filters.tier),
    selectField('runtime', 'Runtime', { '': 'Any', ...RUNTIME_LABELS }, filters.runtime),
    h(
      'label',
      { class: 'field', for: 'filter-team' },
      'Team',
      h('input', { id: 'filter-team', name: 'team', value: filters.team ?? '', size: 14 }),
    ),
    selectField('sort', 'Sort by', { ...SORTS }, filters.sort ?? 'name'),
    selectField('order', 'Order', { '': 'Default', asc: 'Ascending', desc: 'Descending' }, filters.order),
    h(
      'div',
      { class: 'field buttons' },
      h('button', { type: 'submit', class: 'primary', text: 'Apply' }),
      navLink('/apps/', { class: 'button secondary', text: 'Clear' }),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    /** @type {Record<string, string>} */
    const next = {};
    for (const [key, value] of data) if (typeof value === 'string') next[key] = value.trim();
    if (next.sort === 'name') delete next.sort;
    ctx.navigate(`/apps/${queryOf(next)}`);
  });
  for (const select of form.querySelectorAll('select')) select.addEventListener('change', () => form.requestSubmit());

  const status = h('p', { id: 'list-status', class: 'muted', role: 'status', 'aria-live': 'polite' });
  const body = h('tbody');
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'apps' },
      h('caption', { class: 'visually-hidden', text: 'Apps' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['App', 'State', 'Tier', 'Runtime', 'Team', 'Owner', 'Last activity', 'Violations'].map((t) =>
            h('th', { scope: 'col', text: t }),
          ),
        ),
      ),
      body,
    ),
  );
  const previous = h('button', { type: 'button', class: 'secondary', text: 'Previous page', disabled: true });
  const next = h('button', { type: 'button', class: 'secondary', text: 'Next page', disabled: true });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, next);

  view.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'page-title', text: 'Apps' }),
      h(
        'nav',
        { class: 'section-links', 'aria-label': 'Registry pages' },
        navLink('/apps/governance', { text: 'Governance' }),
        navLink('/apps/exceptions', { text: 'Exceptions' }),
        navLink('/apps/discovered', { text: 'Discovered' }),
        navLink('/apps/cost', { text: 'Cost' }),
        ctx.canRegister ? navLink('/apps/import', { text: 'Import' }) : null,
      ),
      ctx.canRegister ? navLink('/apps/new', { class: 'button primary', text: 'Register an app' }) : null,
    ),
    form,
    status,
    table,
    pager,
  );

  /** Cursors of the pages shown so far: [null (first), c1, c2…]. */
  /** @type {(string | null)[]} */
  const cursors = [null];
  const load = async () => {
    const cursor = cursors[cursors.length - 1] ?? null;
    status.textContent = 'Loading…';
    const query = queryOf(filters, cursor);
    const sep = query ? '&' : '?';
    const { body: page } = await request('GET', `/apps/v1/apps${query}${sep}limit=${PAGE_SIZE}`).then(
      (r) => /** @type {{ body: { items: App[], nextCursor: string | null } }} */ (r),
    );
    body.replaceChildren(...page.items.map(row));
    const first = (cursors.length - 1) * PAGE_SIZE + 1;
    status.textContent =
      page.items.length === 0
        ? cursors.length > 1
          ? 'No more apps.'
          : 'No app matches these filters.'
        : `Apps ${first}–${first + page.items.length - 1}${page.nextCursor ? ' (more on the next page)' : ''}`;
    previous.disabled = cursors.length < 2;
    next.disabled = !page.nextCursor;
    next.onclick = () => {
      cursors.push(page.nextCursor);
      void load().catch(failed);
    };
  };
  previous.onclick = () => {
    cursors.pop();
    void load().catch(failed);
  };
  /** @param {unknown} error */
  const failed = (error) => {
    status.textContent = `The apps cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    status.classList.add('error');
  };
  await load().catch(failed);
}

/** @param {App} app */
function row(app) {
  return h(
    'tr',
    { data: { app: app.name, state: app.state } },
    h(
      'td',
      { class: 'c-name' },
      navLink(`/apps/${app.id}`, { class: 'app-link', text: app.name }),
      app.purpose ? h('span', { class: 'purpose muted small', text: app.purpose }) : null,
    ),
    h('td', {}, stateBadge(app.state)),
    h('td', {}, tierBadge(app.tier)),
    h('td', { text: RUNTIME_LABELS[app.runtime] ?? app.runtime }),
    h('td', { text: app.team.name }),
    h('td', { text: app.owner?.name ?? '' }, app.owner ? null : h('span', { class: 'unowned', text: 'no owner' })),
    h(
      'td',
      {},
      h('time', {
        datetime: app.lifecycle.lastActivityAt,
        title: exactTime(app.lifecycle.lastActivityAt),
        text: clockTime(app.lifecycle.lastActivityAt),
      }),
    ),
    h('td', { class: app.openViolations > 0 ? 'violations' : 'muted', text: String(app.openViolations) }),
  );
}
