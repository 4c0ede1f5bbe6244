// @ts-check
import { ApiError, api } from './api.js';
import {
  BULK_ACTIONS,
  summary as bulkSummary,
  createSelection,
  isSelectable,
  OUTCOME_LABELS,
  rangeBetween,
  resultText,
  runBulk,
} from './bulk.js';
import { browserStorage, DENSITIES, DENSITY_LABELS, loadDensity, saveDensity } from './density.js';
import { externalLink, h, navLink } from './dom.js';
import { applyFilter, filterChoices, filterSearch, parseFilter, SORTS, wantsResolved } from './filters.js';
import {
  assigneeNames,
  contactItem,
  drillBadge,
  handlingCell,
  handlingCells,
  incidentNumber,
  providerConditionLines,
  providerName,
  providerSeverityTag,
  refreshTimes,
  relativeTime,
  SEVERITIES,
  STATUSES,
  severityChip,
  severityLabel,
  statusBadge,
  unownedBadge,
  unverifiedDrillBadge,
} from './format.js';
import { alertCount, collapseGroups, expandGroups, isGroup } from './grouping.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {import('./types.js').Context} Context */
/** @typedef {import('./filters.js').Sort} Sort */

const RESOLVED_LIMIT = 500;

/** The list's columns: class suffix, header, and what the header means in full. */
const COLUMNS = /** @type {const} */ ([
  ['number', '#', 'Incident number here'],
  ['sev', 'Sev', 'Severity, and the provider’s own priority'],
  ['title', 'Incident', 'Incident'],
  ['service', 'Service', 'Service'],
  ['owner', 'Owner · on-call · contact', 'Owner, on-call and contact from the service catalogue'],
  ['assigned', 'Assigned to', 'Who the provider says it is assigned to'],
  ['acked', 'Acked by', 'Who acknowledged it, as the provider reported it'],
  ['level', 'Level', 'Escalation level the provider reported'],
  ['status', 'Status', 'Status'],
  ['age', 'Age', 'Time since it was created'],
  ['updated', 'Updated', 'Time since its last event'],
  ['provider', 'Provider', 'The incident at its provider'],
]);

/** @param {Incident['ownership']} o */
function ownerCell(o) {
  const contacts = (/** @type {import('./types.js').Contact[]} */ list) =>
    list.length === 0
      ? null
      : h(
          'div',
          { class: 'contacts' },
          list.slice(0, 2).flatMap((c, i) => {
            const item = contactItem(c);
            if (i > 0) item.prepend('· ');
            return [i > 0 ? ' ' : null, item];
          }),
        );
  if (!o.owned) {
    return [
      h(
        'div',
        { class: 'fallback-line' },
        unownedBadge(),
        ' → ',
        h('strong', { text: o.fallback.name }),
        o.fallback.oncall ? h('span', { class: 'handle', text: ` ${o.fallback.oncall}` }) : null,
      ),
      contacts(o.fallback.contacts),
    ];
  }
  return [
    h(
      'div',
      { class: 'oncall-line' },
      o.oncall ? h('strong', { class: 'handle', text: o.oncall }) : null,
      h('span', { class: 'owners', text: `${o.oncall ? ' · ' : ''}${o.owners.join(', ')}` }),
    ),
    contacts(o.contacts),
  ];
}

/**
 * Fills `tr` with the incident's cells. Called for new rows and, in place, for every change.
 * @param {HTMLTableRowElement} tr
 * @param {Incident} i
 * @param {HTMLTableCellElement | null} [lead] the selection cell, for people who can act (kept, not rebuilt)
 */
function renderRow(tr, i, lead = null) {
  const leadFocused = lead?.contains(document.activeElement) === true;
  const hadFocus = !leadFocused && tr.contains(document.activeElement);
  tr.className = `incident row-${i.status}${i.ownership.owned ? '' : ' unowned'}${i.drill ? ' is-drill' : ''}`;
  tr.dataset.id = i.id;
  tr.dataset.severity = i.severity;
  tr.dataset.status = i.status;
  const title = navLink(`/incidents/${encodeURIComponent(i.id)}`, { class: 'title-link', text: i.title });
  const assigned = assigneeNames(i.assignees);
  const handling = handlingCells(i);
  tr.replaceChildren(
    ...(lead ? [lead] : []),
    h('td', { class: 'c-number', role: 'cell', text: incidentNumber(i.number) }),
    h('td', { class: 'c-sev', role: 'cell' }, severityChip(i.severity), providerSeverityTag(i)),
    h(
      'td',
      { class: 'c-title', role: 'cell' },
      title,
      // A group of related alerts shown as this one row (ADR 0019).
      i.group && isGroup(i)
        ? h('span', {
            class: 'group-badge',
            title: Object.entries(i.group.byStatus)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${n} ${s}`)
              .join(', '),
            text: alertCount(i.group.alerts),
          })
        : null,
      assigned ? h('div', { class: 'assignee muted', text: `Assigned to ${assigned}` }) : null,
      // Provider conditions affecting the service (live incidents only; the live feed keeps them current).
      providerConditionLines(i.providerConditions, { max: 2 }),
      i.drill || i.unverifiedDrillMarker || !i.ownership.owned
        ? h(
            'div',
            { class: 'badges' },
            i.drill ? drillBadge(i.drillRun) : null,
            i.unverifiedDrillMarker ? unverifiedDrillBadge(i.unverifiedDrillMarkerReason) : null,
            i.ownership.owned ? null : unownedBadge(),
          )
        : null,
    ),
    h(
      'td',
      { class: 'c-service', role: 'cell' },
      h('span', { class: 'service-name', text: i.ownership.name ?? i.service }),
      i.ownership.name !== i.service || i.ownership.team
        ? h('div', {
            class: 'muted slug',
            text: [i.ownership.name !== i.service ? i.service : '', i.ownership.team ? `team ${i.ownership.team}` : '']
              .filter(Boolean)
              .join(' · '),
          })
        : null,
    ),
    h('td', { class: 'c-owner', role: 'cell' }, ownerCell(i.ownership)),
    h('td', { class: 'c-assigned', role: 'cell' }, handlingCell(handling.assignedTo)),
    h('td', { class: 'c-acked', role: 'cell' }, handlingCell(handling.acknowledgedBy)),
    h('td', { class: 'c-level', role: 'cell' }, handlingCell(handling.level)),
    h('td', { class: 'c-status', role: 'cell' }, statusBadge(i.status)),
    h('td', { class: 'c-age', role: 'cell' }, relativeTime(i.createdAt, 'age')),
    h('td', { class: 'c-updated', role: 'cell' }, relativeTime(i.updatedAt, 'ago')),
    h('td', { class: 'c-provider', role: 'cell' }, externalLink(i.providerUrl, providerName(i.provider))),
  );
  if (hadFocus) title.focus({ preventScroll: true });
  else if (leadFocused) lead.querySelector('input')?.focus({ preventScroll: true });
}

/**
 * The list of incidents: every active incident is loaded once (`limit=5000`), then kept current
 * by the live feed; filtering and sorting happen here, over that set, without asking the server.
 *
 * @param {Context} ctx
 */
export function createDashboard(ctx) {
  /** @type {Map<string, Incident>} */
  const incidents = new Map();
  /** @type {Map<string, HTMLTableRowElement>} */
  const rows = new Map();
  /** Rows to flash because the live feed changed them. */
  const flashed = new Set();
  let filter = parseFilter(location.search);
  let loaded = false;
  let resolvedLoaded = false;
  let truncated = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pending;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let searchTimer;
  let knownServices = '';
  let knownOwners = '';

  // ---- controls
  const search = h('input', {
    type: 'search',
    id: 'search',
    class: 'search',
    placeholder: 'Search title, service or id  — press /',
    'aria-label': 'Search incidents by title, service or id',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const checkboxes = (
    /** @type {string} */ name,
    /** @type {readonly string[]} */ values,
    /** @type {(v: string) => Node | string} */ label,
  ) =>
    values.map((value) =>
      h(
        'label',
        { class: `toggle toggle-${value}` },
        h('input', { type: 'checkbox', name, value }),
        typeof label(value) === 'string' ? h('span', { text: /** @type {string} */ (label(value)) }) : label(value),
      ),
    );
  const severityBoxes = h(
    'fieldset',
    { class: 'group' },
    h('legend', { text: 'Severity' }),
    checkboxes('severity', SEVERITIES, severityLabel),
  );
  const statusBoxes = h(
    'fieldset',
    { class: 'group' },
    h('legend', { text: 'Status' }),
    checkboxes('status', STATUSES, (v) => v),
  );
  const serviceSelect = h('select', { id: 'filter-service', name: 'service' });
  const ownerSelect = h('select', { id: 'filter-owner', name: 'owner' });
  const sortSelect = h(
    'select',
    { id: 'sort', name: 'sort' },
    Object.entries(SORTS).map(([value, label]) => h('option', { value, text: label })),
  );
  const drillBox = h('input', { type: 'checkbox', name: 'hideDrills', id: 'hide-drills' });
  const clear = h('button', { type: 'button', class: 'secondary', text: 'Clear filters' });

  const toolbar = h(
    'form',
    { class: 'toolbar', role: 'search', 'aria-label': 'Filter incidents' },
    h(
      'div',
      { class: 'search-row' },
      search,
      h('label', { class: 'field inline-select' }, h('span', { text: 'Sort' }), sortSelect),
      h('label', { class: 'field inline' }, drillBox, h('span', { text: 'Hide drills' })),
      clear,
    ),
    h(
      'div',
      { class: 'filter-row' },
      severityBoxes,
      statusBoxes,
      h('label', { class: 'field' }, h('span', { text: 'Service' }), serviceSelect),
      h('label', { class: 'field' }, h('span', { text: 'Owner' }), ownerSelect),
    ),
  );

  // ---- density: comfortable (every detail) or compact (one line a row), remembered per user
  const storage = browserStorage();
  let density = loadDensity(storage, ctx.me.subject);
  const densityButtons = DENSITIES.map((value) =>
    h('button', {
      type: 'button',
      class: 'secondary density-option',
      'data-density': value,
      text: DENSITY_LABELS[value],
    }),
  );
  const densityControl = h(
    'div',
    { class: 'density', role: 'group', 'aria-label': 'Row density' },
    h('span', { class: 'density-label', 'aria-hidden': 'true', text: 'Rows' }),
    densityButtons,
  );
  const applyDensity = () => {
    table.classList.toggle('compact', density === 'compact');
    for (const button of densityButtons) {
      button.setAttribute('aria-pressed', String(button.dataset.density === density));
    }
  };
  densityControl.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-density]') : null;
    if (!(button instanceof HTMLButtonElement)) return;
    const next = button.dataset.density === 'compact' ? 'compact' : 'comfortable';
    if (next === density) return;
    density = next;
    saveDensity(storage, ctx.me.subject, density);
    applyDensity();
  });

  // ---- selection and bulk actions: for people who may act (viewers see no checkboxes)
  const canAct = ctx.can('responder');
  const selection = createSelection();
  /** Selection cells by incident id, kept across re-renders (so a focused checkbox stays focused). */
  /** @type {Map<string, HTMLTableCellElement>} */
  const selectCells = new Map();
  /** The selectable incidents shown, in list order (set by layout). */
  /** @type {string[]} */
  let shownSelectable = [];
  let bulkRunning = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let disarmTimer;
  const selectAll = canAct
    ? h('input', { type: 'checkbox', class: 'select-all', 'aria-label': 'Select all incidents shown' })
    : null;

  const counts = h('div', { class: 'counts', 'aria-label': 'Open incidents by severity' });
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite', text: 'Loading incidents…' });
  const tbody = h('tbody', { role: 'rowgroup' });
  const table = h(
    'table',
    { class: 'incidents', role: 'table', 'aria-describedby': 'list-summary' },
    h(
      'thead',
      { role: 'rowgroup' },
      h(
        'tr',
        { role: 'row' },
        selectAll ? h('th', { scope: 'col', role: 'columnheader', class: 'c-select' }, selectAll) : null,
        COLUMNS.map(([key, label, title]) =>
          key === 'number'
            ? // "#" read aloud is "number sign": say "Number".
              h(
                'th',
                { scope: 'col', role: 'columnheader', class: 'c-number', title },
                h('span', { 'aria-hidden': 'true', text: label }),
                h('span', { class: 'visually-hidden', text: 'Number' }),
              )
            : h('th', { scope: 'col', role: 'columnheader', class: `c-${key}`, text: label, title }),
        ),
      ),
    ),
    tbody,
  );
  summary.id = 'list-summary';
  table.classList.toggle('selectable', canAct);
  applyDensity();
  const empty = h('p', { class: 'empty', hidden: true });

  // The bulk bar: shown while incidents are selected or a bulk action's results are on show.
  const bulkCount = h('strong', { class: 'bulk-count' });
  const ackButton = h('button', { type: 'button', class: 'primary', text: BULK_ACTIONS.acknowledge.label });
  const resolveButton = h('button', { type: 'button', class: 'resolve', text: BULK_ACTIONS.resolve.label });
  const noteButton = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Add note…',
    'aria-expanded': 'false',
    'aria-controls': 'bulk-note',
  });
  const clearSelection = h('button', { type: 'button', class: 'secondary', text: 'Clear' });
  const noteText = h('textarea', { id: 'bulk-note-text', name: 'note', rows: 2, maxlength: 10000, required: true });
  const noteForm = h(
    'form',
    { class: 'bulk-note', id: 'bulk-note', 'aria-label': 'Note for the selected incidents', hidden: true },
    h('label', { for: 'bulk-note-text', text: 'Note to add to each selected incident' }),
    noteText,
    h(
      'div',
      { class: 'bulk-note-buttons' },
      h('button', { type: 'submit', class: 'primary', text: 'Add note' }),
      h('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => closeNote() } }),
    ),
  );
  const bulkStatus = h('p', { class: 'bulk-status', role: 'status', 'aria-live': 'polite' });
  const bulkResults = h('ol', { class: 'bulk-results', 'aria-label': 'Result for each incident', hidden: true });
  const bulkBar = h(
    'section',
    { class: 'bulk-bar', 'aria-label': 'Selected incidents', hidden: true },
    h(
      'div',
      { class: 'bulk-row' },
      bulkCount,
      h(
        'div',
        { class: 'bulk-actions', role: 'group', 'aria-label': 'Act on the selected incidents' },
        ackButton,
        resolveButton,
        noteButton,
        clearSelection,
      ),
      bulkStatus,
    ),
    noteForm,
    bulkResults,
  );

  const element = h(
    'section',
    { class: 'view dashboard', 'aria-label': 'Active incidents' },
    toolbar,
    h('div', { class: 'list-head' }, counts, h('div', { class: 'list-side' }, summary, densityControl)),
    h('div', { class: 'table-wrap' }, table),
    canAct ? bulkBar : null,
    empty,
  );

  const syncControls = () => {
    search.value = filter.q;
    for (const box of severityBoxes.querySelectorAll('input')) box.checked = filter.severity.has(box.value);
    for (const box of statusBoxes.querySelectorAll('input')) box.checked = filter.status.has(box.value);
    sortSelect.value = filter.sort;
    drillBox.checked = filter.hideDrills;
    rebuildOptions(true);
  };

  /** Service and owner choices are whatever the loaded incidents have (plus the current choice). */
  const rebuildOptions = (/** @type {boolean} */ force) => {
    const { services, owners } = filterChoices(incidents.values(), filter);
    const serviceKey = services.join('\n');
    const ownerKey = owners.join('\n');
    if (force || serviceKey !== knownServices) {
      knownServices = serviceKey;
      serviceSelect.replaceChildren(
        h('option', { value: '', text: 'All services' }),
        ...services.map((s) => h('option', { value: s, text: s })),
      );
      serviceSelect.value = filter.service;
    }
    if (force || ownerKey !== knownOwners) {
      knownOwners = ownerKey;
      ownerSelect.replaceChildren(
        h('option', { value: '', text: 'Anyone' }),
        h('option', { value: 'unowned', text: 'Unowned (fallback)' }),
        ...owners.map((s) => h('option', { value: s, text: s })),
      );
      ownerSelect.value = filter.owner;
    }
  };

  const readControls = () => {
    filter = {
      status: new Set([...statusBoxes.querySelectorAll('input')].filter((b) => b.checked).map((b) => b.value)),
      severity: new Set([...severityBoxes.querySelectorAll('input')].filter((b) => b.checked).map((b) => b.value)),
      service: serviceSelect.value,
      owner: ownerSelect.value,
      q: search.value.trim(),
      sort: /** @type {Sort} */ (sortSelect.value),
      hideDrills: drillBox.checked,
    };
    history.replaceState(history.state, '', `${location.pathname}${filterSearch(filter)}`);
    if (wantsResolved(filter)) void loadResolved();
    layout();
  };

  toolbar.addEventListener('change', (event) => {
    if (event.target !== search) readControls();
  });
  toolbar.addEventListener('submit', (event) => event.preventDefault());
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(readControls, 150);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      if (search.value) {
        search.value = '';
        readControls();
      } else search.blur();
    } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
      event.preventDefault();
      move(1);
    }
  });
  clear.addEventListener('click', () => {
    filter = parseFilter('');
    syncControls();
    readControls();
  });

  // ---- model
  /** @param {Incident} i */
  const rowFor = (i) => {
    let tr = rows.get(i.id);
    if (!tr) {
      tr = h('tr', { role: 'row' });
      renderRow(tr, i, selectCell(i));
      rows.set(i.id, tr);
      paintSelection(i.id);
    }
    return tr;
  };

  /**
   * Keeps the newer of what we have and what arrived (list answers and live events can cross).
   * @param {Incident} incident
   * @param {boolean} live
   */
  const merge = (incident, live) => {
    const current = incidents.get(incident.id);
    if (current && current.changeSeq >= incident.changeSeq) return;
    incidents.set(incident.id, incident);
    const tr = rows.get(incident.id);
    // A group's row shows the group, not this alert: layout renders it.
    if (tr && !isGroup(incident)) {
      renderRow(tr, incident, selectCell(incident));
      paintSelection(incident.id);
    }
    if (live && loaded) flashed.add(incident.id);
    schedule();
  };

  const schedule = () => {
    if (pending === undefined) pending = setTimeout(layout, 40);
  };

  /** Puts the matching rows in order, moving only the rows that are out of place. */
  const layout = () => {
    clearTimeout(pending);
    pending = undefined;
    if (!loaded) return;
    rebuildOptions(false);
    // Each group of related alerts as one entry (its lead, with the group's status and severity).
    const all = collapseGroups([...incidents.values()]);
    const visible = applyFilter(all, filter);
    if (Math.abs(tbody.rows.length - visible.length) > 200) {
      // Big change (first render, a filter): build the rows off-document and swap them in at once.
      const fragment = document.createDocumentFragment();
      for (const i of visible) {
        const tr = rowFor(i);
        if (isGroup(i)) renderRow(tr, i, selectCell(i));
        fragment.appendChild(tr);
      }
      tbody.replaceChildren(fragment);
    } else {
      // Small change (live updates): move only the rows that are out of place.
      /** @type {ChildNode | null} */
      let cursor = tbody.firstChild;
      for (const i of visible) {
        const tr = rowFor(i);
        if (isGroup(i)) renderRow(tr, i, selectCell(i));
        if (tr === cursor) cursor = cursor.nextSibling;
        else tbody.insertBefore(tr, cursor);
      }
      while (cursor) {
        const next = cursor.nextSibling;
        tbody.removeChild(cursor);
        cursor = next;
      }
    }
    if (canAct) {
      // The selection holds only incidents shown: one resolved off the list, or filtered out, leaves it.
      shownSelectable = visible.filter(isSelectable).map((i) => i.id);
      for (const id of selection.keepOnly(new Set(shownSelectable))) paintSelection(id);
      syncBulkBar();
    }
    const flashing = [...flashed].map((id) => rows.get(id)).filter((tr) => tr !== undefined);
    flashed.clear();
    if (flashing.length > 0 && flashing.length <= 50) {
      for (const tr of flashing) tr.classList.remove('flash');
      void tbody.offsetWidth; // one reflow restarts every animation
      for (const tr of flashing) tr.classList.add('flash');
    }
    renderCounts(all, visible.length);
  };

  /** @param {Incident[]} all @param {number} shown */
  const renderCounts = (all, shown) => {
    const open = all.filter((i) => i.status !== 'resolved');
    /** @type {Record<string, number>} */
    const bySeverity = {};
    for (const i of open) bySeverity[i.severity] = (bySeverity[i.severity] ?? 0) + 1;
    const triggered = open.filter((i) => i.status === 'triggered').length;
    const unowned = open.filter((i) => !i.ownership.owned).length;
    counts.replaceChildren(
      ...SEVERITIES.map((s) =>
        h(
          'span',
          { class: `count sev-${s}${bySeverity[s] ? '' : ' zero'}` },
          h('b', { text: bySeverity[s] ?? 0 }),
          ` ${severityLabel(s).toLowerCase()}`,
        ),
      ),
      h(
        'span',
        { class: `count count-triggered${triggered ? '' : ' zero'}` },
        h('b', { text: triggered }),
        ' triggered',
      ),
      h('span', { class: `count count-unowned${unowned ? '' : ' zero'}` }, h('b', { text: unowned }), ' unowned'),
    );
    const scope = wantsResolved(filter) ? 'incidents' : 'open incidents';
    summary.textContent =
      `Showing ${shown.toLocaleString()} of ${open.length.toLocaleString()} open` +
      (wantsResolved(filter) ? ` and ${(all.length - open.length).toLocaleString()} recently resolved` : '') +
      ' incidents' +
      (truncated ? ' (only the 5,000 most recent open incidents are loaded)' : '');
    empty.hidden = shown > 0;
    empty.textContent =
      all.length === 0 ? 'No open incidents right now.' : `No ${scope} match these filters. Clear filters to see all.`;
    document.title = `${triggered > 0 ? `(${triggered}) ` : ''}Incidents · micro-oncall`;
  };

  const load = async () => {
    try {
      /** @type {{ items: Incident[], nextCursor: string | null }} */
      const page = await api('/v1/incidents?active=true&limit=5000');
      for (const i of page.items) merge(i, false);
      truncated = page.nextCursor !== null;
      if (wantsResolved(filter)) await loadResolved();
      loaded = true;
      layout();
      syncControls();
    } catch (error) {
      summary.textContent = '';
      empty.hidden = false;
      empty.replaceChildren(
        `Could not load incidents: ${error instanceof ApiError ? error.message : String(error)} `,
        h('button', { type: 'button', text: 'Try again', on: { click: () => void load() } }),
      );
    }
  };

  const loadResolved = async () => {
    if (resolvedLoaded) return;
    resolvedLoaded = true;
    try {
      /** @type {{ items: Incident[] }} */
      const page = await api(`/v1/incidents?status=resolved&limit=${RESOLVED_LIMIT}`);
      for (const i of page.items) merge(i, false);
    } catch {
      resolvedLoaded = false;
    }
  };

  // ---- selection
  /**
   * The row's selection cell (responders only): a checkbox for incidents this service can act on.
   * @param {Incident} i
   */
  function selectCell(i) {
    if (!canAct) return null;
    let td = selectCells.get(i.id);
    if (!td) {
      td = h('td', { class: 'c-select', role: 'cell' });
      if (isSelectable(i)) td.append(h('input', { type: 'checkbox', class: 'row-select' }));
      else td.title = `${providerName(i.provider)} incidents are handled at their source`;
      selectCells.set(i.id, td);
    }
    td.querySelector('input')?.setAttribute('aria-label', `Select ${incidentNumber(i.number)} ${i.title}`);
    return td;
  }

  /** Shows the row's selection: its checkbox and a highlight. @param {string} id */
  function paintSelection(id) {
    const on = selection.has(id);
    rows.get(id)?.classList.toggle('selected', on);
    const box = selectCells.get(id)?.querySelector('input');
    if (box) box.checked = on;
  }

  function syncBulkBar() {
    if (!canAct || !selectAll) return;
    const n = selection.size;
    bulkBar.hidden = n === 0 && bulkResults.hidden && !bulkRunning;
    bulkCount.textContent = `${n.toLocaleString()} selected`;
    for (const b of [ackButton, resolveButton, noteButton]) b.disabled = bulkRunning || n === 0;
    if (n === 0) closeNote();
    // Resolve armed for another number of incidents than now selected: ask again.
    const armedFor = resolveButton.dataset.armedFor;
    if (armedFor !== undefined && (bulkRunning || armedFor !== String(n))) disarmResolve();
    const state = selection.headerState(shownSelectable);
    selectAll.checked = state === 'all';
    selectAll.indeterminate = state === 'some';
    selectAll.disabled = shownSelectable.length === 0;
  }

  /** @param {string} id @param {boolean} [on] */
  const toggleSelected = (id, on) => {
    selection.toggle(id, on);
    paintSelection(id);
    syncBulkBar();
  };

  /** The row last selected or unselected by hand: where a Shift+click range starts. */
  /** @type {string | null} */
  let anchor = null;
  /** Shift+click on a checkbox: every row from the last one clicked to this one takes its state. */
  let shiftClick = false;
  tbody.addEventListener('click', (event) => {
    if (event.target instanceof HTMLInputElement && event.target.classList.contains('row-select')) {
      shiftClick = event.shiftKey;
    }
  });
  tbody.addEventListener('change', (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.classList.contains('row-select')) return;
    const id = box.closest('tr')?.dataset.id;
    if (!id) return;
    if (shiftClick) {
      const range = rangeBetween(shownSelectable, anchor, id);
      selection.setAll(range, box.checked);
      for (const other of range) paintSelection(other);
    }
    shiftClick = false;
    anchor = id;
    toggleSelected(id, box.checked);
  });
  selectAll?.addEventListener('change', () => {
    selection.setAll(shownSelectable, selectAll.checked);
    for (const id of shownSelectable) paintSelection(id);
    syncBulkBar();
  });
  clearSelection.addEventListener('click', () => {
    const was = selection.ids();
    selection.clear();
    for (const id of was) paintSelection(id);
    bulkResults.hidden = true;
    bulkResults.replaceChildren();
    bulkStatus.textContent = '';
    syncBulkBar();
  });

  // ---- bulk actions: one request per incident, to the endpoint the incident page uses
  /** @param {Incident} i */
  const resultItem = (i) =>
    h(
      'li',
      { class: 'bulk-result pending', 'data-id': i.id },
      navLink(`/incidents/${encodeURIComponent(i.id)}`, { text: `${incidentNumber(i.number)} ${i.title}` }),
      h('span', { class: 'bulk-outcome', text: 'Waiting…' }),
    );

  /**
   * @param {import('./bulk.js').BulkAction} action
   * @param {string} [note]
   */
  const runAction = async (action, note) => {
    if (bulkRunning) return;
    // A group's row acts on each of its alerts.
    const loaded = [...incidents.values()];
    const shown = new Map(collapseGroups(loaded).map((i) => [i.id, i]));
    const targets = expandGroups(
      selection
        .ids()
        .map((id) => shown.get(id) ?? incidents.get(id))
        .filter((i) => i !== undefined),
      loaded,
    );
    if (targets.length === 0) return;
    bulkRunning = true;
    /** @type {Map<string, HTMLElement>} */
    const items = new Map(targets.map((i) => [i.id, resultItem(i)]));
    bulkResults.replaceChildren(...items.values());
    bulkResults.hidden = false;
    bulkStatus.className = 'bulk-status';
    bulkStatus.textContent = bulkSummary(action, [], targets.length);
    syncBulkBar();
    /** @type {import('./bulk.js').BulkResult[]} */
    const settled = [];
    const results = await runBulk(
      action,
      targets,
      (id, body) => api(`/v1/incidents/${encodeURIComponent(id)}/actions`, { method: 'POST', body }),
      {
        note,
        onResult: (r) => {
          settled.push(r);
          const li = items.get(r.id);
          if (li) {
            li.className = `bulk-result result-${r.outcome}`;
            li.querySelector('.bulk-outcome')?.replaceChildren(
              h('strong', { text: OUTCOME_LABELS[r.outcome] }),
              `: ${r.text}`,
            );
            li.title = resultText(r);
          }
          bulkStatus.textContent = bulkSummary(action, settled, targets.length);
        },
      },
    );
    // Done or skipped: off the selection. Refused or failed: kept, to look at or try again.
    for (const r of results) {
      if (r.outcome !== 'failed' && r.outcome !== 'refused') {
        selection.toggle(r.id, false);
        paintSelection(r.id);
      }
    }
    const troubled = results.some((r) => r.outcome === 'failed' || r.outcome === 'refused' || r.outcome === 'unknown');
    bulkStatus.className = `bulk-status ${troubled ? 'error' : 'ok'}`;
    bulkRunning = false;
    syncBulkBar();
  };

  function disarmResolve() {
    clearTimeout(disarmTimer);
    delete resolveButton.dataset.armedFor;
    resolveButton.textContent = BULK_ACTIONS.resolve.label;
  }
  ackButton.addEventListener('click', () => void runAction('acknowledge'));
  resolveButton.addEventListener('click', () => {
    // Resolving ends the incidents for everyone: the first click only arms the button.
    if (resolveButton.dataset.armedFor !== String(selection.size)) {
      resolveButton.dataset.armedFor = String(selection.size);
      resolveButton.textContent = `Click again to resolve ${selection.size.toLocaleString()}`;
      disarmTimer = setTimeout(disarmResolve, 5000);
      return;
    }
    disarmResolve();
    void runAction('resolve');
  });
  function closeNote() {
    noteForm.hidden = true;
    noteButton.setAttribute('aria-expanded', 'false');
  }
  noteButton.addEventListener('click', () => {
    const open = noteForm.hidden;
    noteForm.hidden = !open;
    noteButton.setAttribute('aria-expanded', String(open));
    if (open) noteText.focus();
  });
  noteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = noteText.value.trim();
    if (!text) return;
    closeNote();
    void runAction('note', text).then(() => {
      noteText.value = '';
    });
  });

  // ---- keyboard: j/k move between rows, Enter follows the focused link
  /** @param {number} delta */
  const move = (delta) => {
    const list = /** @type {HTMLTableRowElement[]} */ ([...tbody.rows]);
    if (list.length === 0) return;
    const current = list.findIndex((tr) => tr.contains(document.activeElement));
    const next =
      current === -1 ? (delta > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, current + delta));
    const link = list[next]?.querySelector('a.title-link');
    if (link instanceof HTMLElement) {
      link.focus();
      list[next]?.scrollIntoView({ block: 'nearest' });
    }
  };
  tbody.addEventListener('focusin', (event) => {
    for (const tr of tbody.querySelectorAll('tr.current')) tr.classList.remove('current');
    if (event.target instanceof Element) event.target.closest('tr')?.classList.add('current');
  });

  setInterval(() => {
    if (!element.hidden) refreshTimes(tbody);
  }, 15_000);

  syncControls();
  void load();
  ctx.onIncident((incident) => merge(incident, true));

  return {
    element,
    /** Shown again (e.g. back from an incident): take the filter from the address bar. */
    show() {
      const next = filterSearch(parseFilter(location.search));
      if (next !== filterSearch(filter)) {
        filter = parseFilter(location.search);
        syncControls();
        if (wantsResolved(filter)) void loadResolved();
      }
      element.hidden = false;
      layout();
      refreshTimes(tbody);
    },
    /** The list's address with its filter, to come back to. */
    url() {
      return `/${filterSearch(filter)}`;
    },
    focusSearch() {
      search.focus();
      search.select();
    },
    move,
    /** Selects or unselects the focused row (the `x` key); false when there is nothing to toggle. */
    toggleFocused() {
      const tr = document.activeElement?.closest('tbody tr');
      const id = tr instanceof HTMLTableRowElement && tbody.contains(tr) ? tr.dataset.id : undefined;
      if (!canAct || !id || !selectCells.get(id)?.querySelector('input')) return false;
      anchor = id;
      toggleSelected(id);
      return true;
    },
    /** Loads the list afresh (the live feed missed too much to replay): drops what may be stale. */
    reload() {
      incidents.clear();
      loaded = false;
      resolvedLoaded = false;
      void load();
    },
    /** The newest change sequence among the incidents loaded (0 before the list arrived). */
    maxSeq() {
      let max = 0;
      if (loaded) for (const i of incidents.values()) if (i.changeSeq > max) max = i.changeSeq;
      return max;
    },
    /** Focus the row of `id` (coming back from its detail page). */
    focusIncident(/** @type {string} */ id) {
      const link = rows.get(id)?.querySelector('a.title-link');
      if (link instanceof HTMLElement && link.isConnected) {
        link.focus({ preventScroll: true });
        link.closest('tr')?.scrollIntoView({ block: 'nearest' });
      }
    },
  };
}
