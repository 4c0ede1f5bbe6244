// @ts-check
import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { environmentBadge, rerender, severityBadge } from './parts.js';

/*
 * The game days on the runs page: each recurring drill with its schedule, state, next occurrence
 * and the last result (the run it started, or why it was skipped). Read-only: game days are
 * created, approved, paused and deleted through the API (docs/runbooks/simulator.md).
 */

/**
 * @typedef {object} GameDayOccurrence
 * @property {string} scheduledAt
 * @property {'started' | 'skipped' | 'starting'} outcome
 * @property {string | null} reason
 * @property {{ id: string, state: string | null } | null} run
 */

/**
 * @typedef {object} GameDay
 * @property {string} id
 * @property {string} name
 * @property {{ id: string, version: number }} scenario
 * @property {'staging' | 'production'} environment
 * @property {string} severity
 * @property {string} cron
 * @property {string} timezone
 * @property {'awaiting_approval' | 'active' | 'paused'} state
 * @property {string | null} nextOccurrenceAt
 * @property {GameDayOccurrence | null} lastOccurrence
 */

/** @type {Readonly<Record<string, string>>} */
export const GAME_DAY_STATE_LABELS = Object.freeze({
  awaiting_approval: 'awaiting approval',
  active: 'active',
  paused: 'paused',
});

/**
 * The last result in words: the run it started and how that went, or why it was skipped.
 * @param {GameDayOccurrence | null} last
 */
export function lastResultText(last) {
  if (!last) return 'not run yet';
  if (last.outcome === 'starting') return 'starting…';
  if (last.outcome === 'skipped') return `skipped: ${last.reason ?? 'no reason recorded'}`;
  return `run ${last.run?.state ?? 'started'}`;
}

/** The game days section; `refresh()` reads them again. */
export function gameDaysSection() {
  const tbody = h('tbody', {});
  const empty = h('p', { class: 'empty', text: 'No game days scheduled.', hidden: true });
  /** @type {GameDay[]} */
  let days = [];

  /** @param {string | null} at */
  const time = (at) => (at ? h('span', { text: clockTime(at), title: exactTime(at) }) : h('span', { text: '—' }));

  /** @param {GameDay} day */
  const row = (day) => {
    const last = day.lastOccurrence;
    return h(
      'tr',
      { data: { gameDay: day.id, state: day.state } },
      h(
        'td',
        { class: 'c-name' },
        h('span', { class: 'scenario-name', text: day.name }),
        h('span', { class: 'muted small block', text: `${day.scenario.id} v${day.scenario.version}` }),
      ),
      h('td', {}, environmentBadge(day.environment), ' ', severityBadge(day.severity)),
      h('td', {}, h('code', { text: day.cron }), h('span', { class: 'muted small block', text: day.timezone })),
      h(
        'td',
        {},
        h('span', { class: `state state-${day.state}`, text: GAME_DAY_STATE_LABELS[day.state] ?? day.state }),
      ),
      h('td', { class: 'c-time' }, time(day.nextOccurrenceAt)),
      h(
        'td',
        {},
        last?.run
          ? navLink(`/drills/runs/${last.run.id}`, { text: lastResultText(last) })
          : h('span', { text: lastResultText(last) }),
        last
          ? h('span', {
              class: 'muted small block',
              text: clockTime(last.scheduledAt),
              title: exactTime(last.scheduledAt),
            })
          : null,
      ),
    );
  };

  const refresh = async () => {
    const { items } = /** @type {{ items: GameDay[] }} */ (await request('GET', '/drills/v1/game-days'));
    const changed = JSON.stringify(items) !== JSON.stringify(days);
    days = items;
    empty.hidden = days.length > 0;
    if (changed) rerender(tbody, () => days.map(row));
  };

  const element = h(
    'section',
    { id: 'game-days', 'aria-labelledby': 'game-days-title' },
    h('h2', { id: 'game-days-title', class: 'section-title', text: 'Game days' }),
    h('p', {
      class: 'muted small',
      text: 'Drills on a schedule, approved once; each occurrence starts a run unless the kill switch is engaged.',
    }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'runs game-days' },
        h('caption', { class: 'visually-hidden', text: 'Game days' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Game day', 'Environment', 'Schedule', 'State', 'Next occurrence', 'Last result'].map((label) =>
              h('th', { scope: 'col', text: label }),
            ),
          ),
        ),
        tbody,
      ),
      empty,
    ),
  );
  return { element, refresh };
}
