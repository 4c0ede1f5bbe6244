// @ts-check
import { request } from './client.js';
import { externalLink, h, navLink } from './common/dom.js';
import { clockTime, duration, exactTime } from './common/time.js';
import { approvalReasons, highestSeverity, personName, timelineSeconds } from './model.js';
import { environmentBadge, severityBadge } from './parts.js';

/** @typedef {import('./types.js').Scenario} Scenario */
/** @typedef {import('./types.js').Settings} Settings */

/**
 * The scenarios: the latest version of each, with its team, the environment it is written for,
 * the highest severity it fires (and whether that needs an approver), and a way to start a run.
 * @param {HTMLElement} view
 * @param {{ settings: Settings, canPropose: boolean }} ctx
 */
export async function renderScenarios(view, ctx) {
  const { items } = /** @type {{ items: Scenario[] }} */ (await request('GET', '/drills/v1/scenarios'));
  const threshold = ctx.settings.approval.severityThreshold;
  const rows = items.map((s) => {
    const severity = highestSeverity(s.definition);
    const needs = approvalReasons(severity, 'staging', threshold);
    return h(
      'tr',
      { data: { scenario: s.id } },
      h(
        'td',
        { class: 'c-name' },
        h('span', { class: 'scenario-name', text: s.name }),
        h('code', { class: 'muted small scenario-id', text: s.id }),
        h('span', { class: 'description muted', text: s.definition.description }),
        h('span', { class: 'small' }, externalLink(s.definition.runbook.url, 'Runbook')),
      ),
      h(
        'td',
        { class: 'c-version' },
        h('span', { text: `v${s.version}` }),
        h('span', {
          class: 'muted small',
          text: s.source === 'builtin' ? 'built-in' : `by ${personName(s.createdBy)}`,
          title: exactTime(s.createdAt),
        }),
      ),
      h('td', { text: s.team }),
      h('td', {}, environmentBadge(s.environment)),
      h(
        'td',
        {},
        severityBadge(severity),
        h('span', { class: 'muted small block', text: needs.length > 0 ? 'needs an approver' : 'starts at once' }),
      ),
      h('td', {
        class: 'c-timeline',
        text: `${s.definition.timeline.length} steps over ${duration(timelineSeconds(s.definition) * 1000)}`,
      }),
      h(
        'td',
        { class: 'c-actions' },
        ctx.canPropose
          ? navLink(`/drills/runs?scenario=${encodeURIComponent(s.id)}`, {
              class: 'button secondary',
              text: 'Start a run',
              'aria-label': `Start a run of ${s.name}`,
            })
          : null,
      ),
    );
  });
  view.replaceChildren(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'page-title', text: 'Scenarios' }),
      h('p', {
        class: 'muted',
        text: `${items.length} scenarios, latest versions · as of ${clockTime(new Date().toISOString())}`,
      }),
    ),
    h(
      'p',
      { class: 'intro' },
      `Each scenario is a timeline of synthetic alerts. Runs go to staging unless you choose production; runs that fire ${threshold} or worse, and every production run, need a second person with the approver role.`,
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'scenarios' },
        h('caption', { class: 'visually-hidden', text: 'Scenarios' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Scenario', 'Version', 'Team', 'Target environment', 'Severity', 'Timeline', ''].map((label) =>
              h(
                'th',
                { scope: 'col', text: label },
                label === '' ? h('span', { class: 'visually-hidden', text: 'Actions' }) : null,
              ),
            ),
          ),
        ),
        h('tbody', {}, rows),
      ),
      items.length === 0 ? h('p', { class: 'empty', text: 'No scenarios yet.' }) : null,
    ),
  );
}
