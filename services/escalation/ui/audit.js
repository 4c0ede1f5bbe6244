// @ts-check
import { ApiError, api, query } from './api.js';
import { h, navLink } from './dom.js';
import { absoluteTime, providerName } from './format.js';

/** @typedef {import('./types.js').Context} Context */
/** @typedef {import('./types.js').AuditRow} AuditRow */

const FILTERS = /** @type {const} */ (['actor', 'incidentId', 'action', 'outcome', 'from', 'to']);
const ACTIONS = ['acknowledge', 'escalate', 'reassign', 'resolve', 'note', 'sign_in', 'sign_out', 'audit_export'];
const OUTCOMES = ['succeeded', 'failed', 'denied'];

/**
 * `datetime-local` values have no zone; the API wants an ISO timestamp with one.
 * @param {string} local
 */
function toIso(local) {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** @param {string} iso */
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** @param {AuditRow} r */
function auditRow(r) {
  const who = r.actor.name ?? r.actor.email ?? r.actor.subject;
  return h(
    'tr',
    { class: `audit-${OUTCOMES.includes(r.outcome) ? r.outcome : 'other'}`, data: { id: r.id } },
    h(
      'td',
      { class: 'nowrap' },
      h('time', { datetime: r.at, title: absoluteTime(r.at), text: new Date(r.at).toLocaleString() }),
    ),
    h(
      'td',
      {},
      h('span', { text: who }),
      r.actor.email && r.actor.email !== who ? h('div', { class: 'muted', text: r.actor.email }) : null,
    ),
    h('td', {}, h('code', { text: r.action })),
    h(
      'td',
      {},
      r.incidentId
        ? navLink(`/incidents/${encodeURIComponent(r.incidentId)}`, {}, h('code', { text: r.incidentId }))
        : h('span', { class: 'muted', text: '—' }),
    ),
    h('td', {}, h('span', { class: `outcome outcome-${r.outcome}`, text: r.outcome })),
    h(
      'td',
      {},
      r.provider ? providerName(r.provider) : '—',
      r.providerStatus !== null ? h('span', { class: 'muted', text: ` ${r.providerStatus}` }) : null,
    ),
    h('td', { class: 'detail-cell', text: r.detail }),
    h('td', {}, h('code', { class: 'small', text: r.requestId })),
  );
}

/**
 * The audit log (`/audit`, admins): who did what through this service, filterable, with
 * JSONL/CSV exports of the same selection.
 *
 * @param {Context} ctx
 */
export function createAuditView(ctx) {
  const element = h(
    'section',
    { class: 'view audit', 'aria-labelledby': 'audit-title' },
    h('h1', { id: 'audit-title', text: 'Audit log' }),
  );
  if (!ctx.can('admin')) {
    element.append(h('p', { class: 'loading error', text: 'The audit log needs the admin role.' }));
    return { element, destroy() {} };
  }
  const params = new URLSearchParams(location.search);
  /** @param {string} name @param {string} label @param {HTMLElement} input */
  const field = (name, label, input) => {
    input.setAttribute('name', name);
    input.id = `audit-${name}`;
    return h('label', { class: 'field' }, h('span', { text: label }), input);
  };
  /** @param {string[]} values @param {string} all */
  const select = (values, all) =>
    h(
      'select',
      {},
      h('option', { value: '', text: all }),
      values.map((v) => h('option', { value: v, text: v })),
    );
  const form = h(
    'form',
    { class: 'toolbar audit-filters', 'aria-label': 'Filter the audit log' },
    h(
      'div',
      { class: 'filter-row' },
      field('actor', 'Actor (subject, email or name)', h('input', { autocomplete: 'off' })),
      field('incidentId', 'Incident id', h('input', { autocomplete: 'off', placeholder: 'inc_…', size: 28 })),
      field('action', 'Action', select(ACTIONS, 'Any action')),
      field('outcome', 'Outcome', select(OUTCOMES, 'Any outcome')),
      field('from', 'From', h('input', { type: 'datetime-local' })),
      field('to', 'To', h('input', { type: 'datetime-local' })),
      h(
        'div',
        { class: 'field buttons' },
        h('button', { type: 'submit', class: 'primary', text: 'Apply' }),
        h('button', { type: 'reset', class: 'secondary', text: 'Clear' }),
      ),
    ),
  );
  for (const name of FILTERS) {
    const input = /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name));
    const value = params.get(name) ?? '';
    if (input) input.value = name === 'from' || name === 'to' ? toLocalInput(value) : value;
  }

  const exportJsonl = h('a', { class: 'button secondary', download: '', text: 'Export JSONL' });
  const exportCsv = h('a', { class: 'button secondary', download: '', text: 'Export CSV' });
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', text: 'Load older entries', hidden: true });
  const table = h(
    'table',
    { class: 'audit-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Time', 'Actor', 'Action', 'Incident', 'Outcome', 'Provider', 'Detail', 'Request id'].map((t) =>
          h('th', { scope: 'col', text: t }),
        ),
      ),
    ),
    tbody,
  );
  element.append(
    form,
    h('div', { class: 'list-head' }, summary, h('div', { class: 'exports' }, exportJsonl, exportCsv)),
    h('div', { class: 'table-wrap' }, table),
    more,
  );

  /** @type {Record<string, string>} */
  let filters = {};
  /** @type {string | null} */
  let cursor = null;
  let shown = 0;
  /** @type {AbortController | null} */
  let inflight = null;

  const readForm = () => {
    const data = new FormData(form);
    /** @type {Record<string, string>} */
    const next = {};
    for (const name of FILTERS) {
      const raw = String(data.get(name) ?? '').trim();
      const value = name === 'from' || name === 'to' ? (raw ? toIso(raw) : '') : raw;
      if (value) next[name] = value;
    }
    return next;
  };

  /** @param {boolean} append */
  const fetchPage = async (append) => {
    inflight?.abort();
    inflight = new AbortController();
    if (!append) {
      cursor = null;
      shown = 0;
      summary.textContent = 'Loading…';
    }
    more.disabled = true;
    try {
      /** @type {{ items: AuditRow[], nextCursor: string | null }} */
      const page = await api(`/v1/audit${query({ ...filters, limit: 100, cursor: append ? cursor : null })}`, {
        signal: inflight.signal,
      });
      const fragment = document.createDocumentFragment();
      for (const r of page.items) fragment.appendChild(auditRow(r));
      if (append) tbody.appendChild(fragment);
      else tbody.replaceChildren(fragment);
      shown += page.items.length;
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      summary.textContent =
        shown === 0
          ? 'No audit entries match.'
          : `${shown.toLocaleString()} ${shown === 1 ? 'entry' : 'entries'}, newest first${cursor ? ' (more below)' : ''}`;
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return;
      summary.textContent = `Could not load the audit log: ${error instanceof ApiError ? error.message : String(error)}`;
    } finally {
      more.disabled = false;
    }
  };

  const apply = () => {
    filters = readForm();
    history.replaceState(history.state, '', `/audit${query(filters)}`);
    exportJsonl.setAttribute('href', `/v1/audit/export${query({ ...filters, format: 'jsonl' })}`);
    exportCsv.setAttribute('href', `/v1/audit/export${query({ ...filters, format: 'csv' })}`);
    void fetchPage(false);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener('reset', () => setTimeout(apply, 0));
  more.addEventListener('click', () => void fetchPage(true));
  apply();

  return {
    element,
    destroy() {
      inflight?.abort();
    },
  };
}
