// @ts-check
import { ApiError, api, loginUrl, query } from './api.js';
import { exactTime } from './common/time.js';
import { h, navLink } from './dom.js';
import { providerName } from './format.js';

/** @typedef {import('./types.js').Context} Context */
/** @typedef {import('./types.js').AuditRow} AuditRow */

const FILTERS = /** @type {const} */ (['actor', 'incidentId', 'action', 'outcome', 'from', 'to']);
const ACTIONS = [
  'acknowledge',
  'escalate',
  'reassign',
  'resolve',
  'note',
  'invalid_action',
  'sign_in',
  'sign_out',
  'audit_export',
  // Only ever refused (outcome `denied`): reads by someone without the role.
  'audit_read',
  'incident_read',
  'stream',
  'stats_read',
  'request',
];
/** `pending`: written before a provider is called; the action's outcome follows with the same action id. */
const OUTCOMES = ['succeeded', 'failed', 'unknown', 'denied', 'pending'];

const NO_OUTCOME =
  'No outcome is recorded for this action: it may still be in progress, or the service stopped while the provider was being called. Check the incident at the provider.';

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

/**
 * How a row's outcome reads. A `pending` row is the start of an action: when its outcome is in
 * the list (newer rows come first) it reads "started", else "pending" with an explanation.
 * @param {AuditRow} r
 * @param {{ settled: Set<string>, complete: boolean }} seen action ids with an outcome so far; complete: the list is not filtered to pending rows
 * @returns {{ text: string, title?: string, className: string }}
 */
function outcomeLabel(r, seen) {
  if (r.outcome !== 'pending') return { text: r.outcome, className: r.outcome };
  if (r.actionId && seen.settled.has(r.actionId)) {
    return { text: 'started', title: 'Its outcome is the newer entry with the same action id.', className: 'started' };
  }
  return seen.complete
    ? { text: 'pending', title: NO_OUTCOME, className: 'pending' }
    : { text: 'pending', title: 'Filtered to pending entries: outcomes are not shown.', className: 'started' };
}

/**
 * @param {AuditRow} r
 * @param {{ settled: Set<string>, complete: boolean }} seen
 */
function auditRow(r, seen) {
  if (r.actionId && r.outcome !== 'pending') seen.settled.add(r.actionId);
  const label = outcomeLabel(r, seen);
  const who = r.actor.name ?? r.actor.email ?? r.actor.subject;
  return h(
    'tr',
    { class: `audit-${OUTCOMES.includes(r.outcome) ? label.className : 'other'}`, data: { id: r.id } },
    h(
      'td',
      { class: 'nowrap' },
      h('time', { datetime: r.at, title: exactTime(r.at), text: new Date(r.at).toLocaleString() }),
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
    h(
      'td',
      {},
      h('span', { class: `outcome outcome-${label.className}`, text: label.text, title: label.title ?? null }),
    ),
    h(
      'td',
      {},
      r.provider ? providerName(r.provider) : '—',
      r.providerStatus !== null ? h('span', { class: 'muted', text: ` ${r.providerStatus}` }) : null,
    ),
    h('td', { class: 'detail-cell', text: r.detail }),
    h(
      'td',
      {},
      h('code', { class: 'small', text: r.requestId }),
      r.actionId
        ? h('div', { class: 'muted small', title: r.actionId, text: `action ${r.actionId.slice(0, 8)}` })
        : null,
    ),
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

  const exportJsonl = h('button', { type: 'button', class: 'secondary', text: 'Export JSONL' });
  const exportCsv = h('button', { type: 'button', class: 'secondary', text: 'Export CSV' });
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
  /** Action ids whose outcome is among the rows shown (see outcomeLabel). */
  let seen = { settled: new Set(), complete: true };

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
      if (!append) seen = { settled: new Set(), complete: filters.outcome !== 'pending' };
      const fragment = document.createDocumentFragment();
      for (const r of page.items) fragment.appendChild(auditRow(r, seen));
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

  /**
   * Downloads the applied selection. The export is a POST with the CSRF token (it writes an
   * audit row, so no link may trigger it from another site); the file is saved from the answer.
   * @param {'jsonl' | 'csv'} format
   * @param {HTMLButtonElement} button
   */
  const download = async (format, button) => {
    button.disabled = true;
    const before = summary.textContent;
    summary.textContent = `Exporting ${format.toUpperCase()}…`;
    try {
      const res = await fetch('/v1/audit/export', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': ctx.me.csrfToken },
        body: JSON.stringify({ ...filters, format }),
      });
      if (res.status === 401) {
        location.assign(loginUrl());
        return;
      }
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        const message = body?.error?.message;
        throw new Error(typeof message === 'string' ? message : `the server answered ${res.status}`);
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `audit.${format}`;
      const url = URL.createObjectURL(await res.blob());
      const link = h('a', { download: name, hidden: true });
      link.href = url; // an object URL of the answer we just received (h() allows no blob: links)
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      summary.textContent = before;
    } catch (error) {
      summary.textContent = `Could not export the audit log: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      button.disabled = false;
    }
  };
  exportJsonl.addEventListener('click', () => void download('jsonl', /** @type {HTMLButtonElement} */ (exportJsonl)));
  exportCsv.addEventListener('click', () => void download('csv', /** @type {HTMLButtonElement} */ (exportCsv)));

  const apply = () => {
    filters = readForm();
    history.replaceState(history.state, '', `/audit${query(filters)}`);
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
