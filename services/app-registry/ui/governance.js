// @ts-check

import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime } from './common/time.js';
import { stateBadge, tierBadge } from './list.js';
import { RUNTIME_LABELS, STATE_LABELS } from './model.js';

/**
 * @typedef {{ appId: string, name: string, state: string, tier: string | null, owner: { name: string, contact: string | null } | null, team: { name: string, contact: string }, dueAt: string }} DueApp
 * @typedef {{ generatedAt: string, total: number, byState: Record<string, number>, byTier: Record<string, number>, byRuntime: Record<string, number>, templates: { onApproved: number, share: number | null, approved: string[] | null }, violations: { apps: number, total: number }, ownershipTasks: { open: number, apps: number, candidates: number, oldestOpenedAt: string | null }, dueSoon: { days: number, disable: DueApp[], purge: DueApp[] }, trend: { day: string, total: number, openViolations: number, openOwnershipTasks: number, onTemplate: number | null }[] }} Governance
 * @typedef {{ appId: string, app: string, state: string, tier: string | null, owner: { name: string, contact: string | null } | null, team: { name: string, contact: string }, control: string, rule: string, status: string, message: string, task: string }} Violation
 */

/**
 * A small table of counts, biggest first.
 * @param {string} caption @param {Record<string, number>} counts @param {Record<string, string>} [labels]
 */
function countsTable(caption, counts, labels = {}) {
  return h(
    'table',
    { class: 'counts' },
    h('caption', { text: caption }),
    h(
      'tbody',
      {},
      Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([key, n]) =>
          h('tr', {}, h('th', { scope: 'row', text: labels[key] ?? key }), h('td', { text: String(n) })),
        ),
    ),
  );
}

/** @param {string} title @param {DueApp[]} apps @param {string} verb @param {string} none */
function dueList(title, apps, verb, none) {
  return h(
    'div',
    {},
    h('h3', { text: `${title} (${apps.length})` }),
    apps.length === 0
      ? h('p', { class: 'muted', text: none })
      : h(
          'ul',
          { class: 'due' },
          apps.map((a) =>
            h(
              'li',
              {},
              navLink(`/apps/${a.appId}`, { text: a.name }),
              ` — ${verb} ${clockTime(a.dueAt)}; owner ${a.owner?.name ?? 'none'} (team ${a.team.name})`,
            ),
          ),
        ),
  );
}

/**
 * Governance for platform teams: the figures (apps by state, tier and runtime, template share,
 * violations, ownership tasks, what the sweep disables or purges soon, the trend), and the
 * policy's results per app: every app with a failing check, each check with its rule, what is
 * wrong and the owner's task.
 * @param {HTMLElement} view
 */
export async function renderGovernance(view) {
  document.title = 'Governance · Apps · micro-oncall';
  const [{ body: g }, { body: v }] = await Promise.all([
    request('GET', '/apps/v1/governance').then((r) => /** @type {{ body: Governance }} */ (r)),
    request('GET', '/apps/v1/violations?limit=1000').then((r) => /** @type {{ body: { items: Violation[] } }} */ (r)),
  ]);

  /** @type {Map<string, Violation[]>} */
  const byApp = new Map();
  for (const item of v.items) byApp.set(item.appId, [...(byApp.get(item.appId) ?? []), item]);

  const share =
    g.templates.share === null
      ? 'unknown (the policy could not list its templates)'
      : `${Math.round(g.templates.share * 100)} %`;
  const last = g.trend.at(-1);
  const first = g.trend[0];

  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Governance' })),
    h(
      'p',
      { class: 'muted' },
      `${g.total} apps (not purged), as of ${clockTime(g.generatedAt)}. `,
      navLink('/apps/exceptions', { text: 'Exceptions' }),
      ' · ',
      navLink('/apps/import', { text: 'Import' }),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'figures-title' },
      h('h2', { id: 'figures-title', text: 'Figures' }),
      h(
        'ul',
        { class: 'figures' },
        h(
          'li',
          {},
          h('strong', { text: String(g.violations.apps) }),
          ` apps with open violations (${g.violations.total} in all)`,
        ),
        h(
          'li',
          { id: 'ownership-tasks' },
          h('strong', { text: String(g.ownershipTasks.open) }),
          ` open ownership tasks: ${g.ownershipTasks.apps} ${g.ownershipTasks.apps === 1 ? 'app' : 'apps'} without an owner, `,
          navLink('/apps/discovered?state=open', {
            text: `${g.ownershipTasks.candidates} discovered ${g.ownershipTasks.candidates === 1 ? 'app' : 'apps'} nobody registered`,
          }),
          g.ownershipTasks.oldestOpenedAt ? `; the oldest since ${clockTime(g.ownershipTasks.oldestOpenedAt)}` : '',
        ),
        h('li', {}, h('strong', { text: share }), ` on an approved template (${g.templates.onApproved} apps)`),
        last && first && g.trend.length > 1
          ? h(
              'li',
              {},
              `Trend since ${first.day}: ${first.total} → ${last.total} apps, ${first.openViolations} → ${last.openViolations} open violations, ${first.openOwnershipTasks} → ${last.openOwnershipTasks} ownership tasks`,
            )
          : null,
      ),
      h(
        'div',
        { class: 'counts-grid' },
        countsTable('By state', g.byState, STATE_LABELS),
        countsTable('By tier', g.byTier),
        countsTable('By runtime', g.byRuntime, RUNTIME_LABELS),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'due-title' },
      h('h2', { id: 'due-title', text: `Due within ${g.dueSoon.days} days` }),
      h(
        'div',
        { class: 'detail-grid' },
        dueList('To be disabled', g.dueSoon.disable, 'disabled', 'No app is due to be disabled.'),
        dueList('To be purged', g.dueSoon.purge, 'purged', 'No app is due to be purged.'),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'results-title' },
      h('h2', {
        id: 'results-title',
        text: `Policy results: ${byApp.size} app${byApp.size === 1 ? '' : 's'} failing checks`,
      }),
      byApp.size === 0
        ? h('p', { class: 'muted', text: 'Every app meets the controls its tier requires.' })
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'violations' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['App', 'Owner', 'Failing checks'].map((t) => h('th', { scope: 'col', text: t })),
                ),
              ),
              h(
                'tbody',
                {},
                [...byApp.values()].map((items) => {
                  const first = /** @type {Violation} */ (items[0]);
                  return h(
                    'tr',
                    { data: { app: first.app } },
                    h(
                      'td',
                      {},
                      navLink(`/apps/${first.appId}`, { class: 'app-link', text: first.app }),
                      ' ',
                      stateBadge(first.state),
                      ' ',
                      tierBadge(first.tier),
                    ),
                    h('td', { text: `${first.owner?.name ?? 'no owner'} (team ${first.team.name})` }),
                    h(
                      'td',
                      {},
                      h(
                        'ul',
                        { class: 'checks' },
                        items.map((c) =>
                          h(
                            'li',
                            {},
                            h('span', { class: `control control-${c.status}`, text: c.status }),
                            ' ',
                            h('strong', { text: c.control.replaceAll('_', ' ') }),
                            h('span', { class: 'muted', text: ` (${c.rule})` }),
                            `: ${c.message}. `,
                            h('span', { class: 'fix', text: `To do: ${c.task}` }),
                          ),
                        ),
                      ),
                    ),
                  );
                }),
              ),
            ),
          ),
    ),
  );
}
