// @ts-check
import { ApiError, api, query } from './api.js';
import { h } from './dom.js';

/** @typedef {import('./types.js').Context} Context */
/** @typedef {{ p50: number | null, mean: number | null }} Duration */
/**
 * The figures of a set of incidents (src/figures.ts).
 * @typedef {{ incidents: number, acknowledged: number, mttaSeconds: Duration, resolved: number, mttrSeconds: Duration }} Figures
 */
/** @typedef {Figures & { key: string }} GroupFigures */
/**
 * GET /v1/stats.
 * @typedef {object} FiguresReport
 * @property {{ from: string, to: string }} window
 * @property {'service' | 'team' | 'severity'} groupBy
 * @property {Figures} total
 * @property {GroupFigures[]} groups
 * @property {{ total: Figures, groups: GroupFigures[] }} drills
 * @property {number} unverifiedDrillMarkers
 * @property {{ day: string, incidents: number, drills: number }[]} perDay
 * @property {{ alert: string, incidents: number, events: number }[]} noisiest
 */

/** The windows offered, in hours. */
export const WINDOWS = /** @type {const} */ ([
  { id: '24h', label: 'Last 24 hours', hours: 24 },
  { id: '7d', label: 'Last 7 days', hours: 24 * 7 },
  { id: '30d', label: 'Last 30 days', hours: 24 * 30 },
]);
const GROUPS = /** @type {const} */ ([
  { id: 'service', label: 'Service' },
  { id: 'team', label: 'Team' },
  { id: 'severity', label: 'Severity' },
]);

/**
 * A duration in seconds as people read it: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`; `—` for none.
 * @param {number | null} seconds
 */
export function durationText(seconds) {
  if (seconds === null) return '—';
  if (Math.round(seconds) < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/**
 * `1 incident`, `2 incidents`.
 * @param {number} n
 * @param {string} noun
 */
const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * A table with a caption and column headers; `rows` are arrays of cell texts (the first a row header).
 * @param {string} caption
 * @param {string[]} columns
 * @param {string[][]} rows
 * @param {string} empty what to say when there are no rows
 */
function table(caption, columns, rows, empty) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'figures-table' },
      h('caption', { text: caption }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: String(columns.length), class: 'muted', text: empty }))
          : rows.map(([head, ...cells]) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row', text: head ?? '' }),
                cells.map((c) => h('td', { text: c })),
              ),
            ),
      ),
    ),
  );
}

const FIGURE_COLUMNS = [
  'Incidents',
  'Acknowledged',
  'MTTA median',
  'MTTA mean',
  'Resolved',
  'MTTR median',
  'MTTR mean',
];

/** @param {string} key @param {Figures} f */
const figureRow = (key, f) => [
  key,
  String(f.incidents),
  String(f.acknowledged),
  durationText(f.mttaSeconds.p50),
  durationText(f.mttaSeconds.mean),
  String(f.resolved),
  durationText(f.mttrSeconds.p50),
  durationText(f.mttrSeconds.mean),
];

/**
 * @param {string} caption
 * @param {string} groupLabel
 * @param {{ total: Figures, groups: GroupFigures[] }} figures
 * @param {string} empty
 */
const figuresTable = (caption, groupLabel, figures, empty) =>
  table(
    caption,
    [groupLabel, ...FIGURE_COLUMNS],
    figures.groups.length === 0
      ? []
      : [...figures.groups.map((g) => figureRow(g.key, g)), figureRow('All', figures.total)],
    empty,
  );

/**
 * Figures (`/figures`, viewers): MTTA and MTTR per service, team or severity over the last
 * 24 hours, 7 or 30 days, with drills apart; incidents per day; the noisiest alerts.
 *
 * @param {Context} ctx
 */
export function createFiguresView(ctx) {
  const element = h(
    'section',
    { class: 'view figures', 'aria-labelledby': 'figures-title' },
    h('h1', { id: 'figures-title', text: 'Figures' }),
  );
  if (!ctx.can('viewer')) {
    element.append(h('p', { class: 'loading error', text: 'The figures need the viewer role.' }));
    return { element, destroy() {} };
  }
  const params = new URLSearchParams(location.search);
  const windowSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'figures-window', name: 'window' },
      WINDOWS.map((w) => h('option', { value: w.id, text: w.label })),
    )
  );
  const groupSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'figures-group', name: 'groupBy' },
      GROUPS.map((g) => h('option', { value: g.id, text: g.label })),
    )
  );
  windowSelect.value = WINDOWS.some((w) => w.id === params.get('window')) ? String(params.get('window')) : '7d';
  groupSelect.value = GROUPS.some((g) => g.id === params.get('groupBy')) ? String(params.get('groupBy')) : 'service';
  const form = h(
    'form',
    { class: 'toolbar', 'aria-label': 'Choose the figures' },
    h(
      'div',
      { class: 'filter-row' },
      h('label', { class: 'field', for: 'figures-window' }, h('span', { text: 'Window' }), windowSelect),
      h('label', { class: 'field', for: 'figures-group' }, h('span', { text: 'Group by' }), groupSelect),
      h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary', text: 'Show' })),
    ),
  );
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const results = h('div', { class: 'figures-results' });
  element.append(form, summary, results);

  /** @type {AbortController | null} */
  let inflight = null;

  const load = async () => {
    inflight?.abort();
    inflight = new AbortController();
    const chosen = WINDOWS.find((w) => w.id === windowSelect.value) ?? WINDOWS[1];
    const groupBy = groupSelect.value;
    const label = GROUPS.find((g) => g.id === groupBy)?.label ?? 'Group';
    history.replaceState(history.state, '', `/figures${query({ window: chosen.id, groupBy })}`);
    const to = new Date();
    const from = new Date(to.getTime() - chosen.hours * 3_600_000);
    summary.textContent = 'Loading…';
    try {
      /** @type {FiguresReport} */
      const report = await api(`/v1/stats${query({ from: from.toISOString(), to: to.toISOString(), groupBy })}`, {
        signal: inflight.signal,
      });
      const unverified = report.unverifiedDrillMarkers;
      summary.textContent =
        `${chosen.label}: ${count(report.total.incidents, 'incident')}, ` +
        `${count(report.drills.total.incidents, 'drill')} (shown apart)` +
        (unverified > 0
          ? `; ${count(unverified, 'incident')} with an unverified drill marker ${unverified === 1 ? 'counts' : 'count'} as real.`
          : '.');
      results.replaceChildren(
        h('h2', { text: 'Incidents (drills excluded)' }),
        figuresTable(
          `Time to acknowledge (MTTA) and to resolve (MTTR) by ${label.toLowerCase()}, drills excluded`,
          label,
          report,
          'No incidents in this window.',
        ),
        h('h2', { text: 'Drills' }),
        figuresTable(
          `Drills by ${label.toLowerCase()}: the same figures, kept out of the ones above`,
          label,
          report.drills,
          'No drills in this window.',
        ),
        h('h2', { text: 'Incidents per day' }),
        table(
          'Incidents and drills that started each day (UTC)',
          ['Day', 'Incidents', 'Drills'],
          report.perDay.map((d) => [d.day, String(d.incidents), String(d.drills)]),
          'No days in this window.',
        ),
        h('h2', { text: 'Noisiest alerts' }),
        table(
          'Alerts with the most incidents in this window, drills excluded',
          ['Alert', 'Incidents', 'Events'],
          report.noisiest.map((n) => [n.alert, String(n.incidents), String(n.events)]),
          'No alerts in this window.',
        ),
      );
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') return;
      summary.textContent = `The figures could not be loaded: ${error instanceof ApiError || error instanceof Error ? error.message : String(error)}`;
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  windowSelect.addEventListener('change', () => void load());
  groupSelect.addEventListener('change', () => void load());
  void load();

  return {
    element,
    destroy() {
      inflight?.abort();
    },
  };
}
