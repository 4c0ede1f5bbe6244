// @ts-check
import { ApiError, api } from './api.js';
import { summary as bulkSummary, isSelectable, runBulk } from './bulk.js';
import { append, externalLink, h, navLink } from './dom.js';
import { incidentNumber, providerName, severityChip, statusBadge } from './format.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {import('./types.js').GroupAlert} GroupAlert */
/** @typedef {import('./types.js').Context} Context */

/** A group shown as one row: it holds more than one alert. @param {Pick<Incident, 'group'>} i */
export const isGroup = (i) => (i.group?.alerts ?? 0) > 1;

/** `4 alerts`. @param {number} n */
export const alertCount = (n) => `${n} alert${n === 1 ? '' : 's'}`;

/**
 * The list's entries: each group of related alerts (ADR 0019) as ONE entry, its lead alert carrying
 * the group's status and worst severity; every other incident as it is. What the group holds is
 * taken from its member the server described last (the highest change number), so a merge or a
 * split seen on the live feed moves the rows at once.
 * @param {Incident[]} all
 * @returns {Incident[]}
 */
export function collapseGroups(all) {
  /** @type {Incident[]} */
  const entries = [];
  /** @type {Map<string, Incident[]>} */
  const groups = new Map();
  for (const i of all) {
    if (i.group && isGroup(i)) {
      const members = groups.get(i.group.id);
      if (members) members.push(i);
      else groups.set(i.group.id, [i]);
    } else entries.push(i);
  }
  for (const members of groups.values()) {
    const freshest = members.reduce((a, b) => (b.changeSeq > a.changeSeq ? b : a));
    const group = freshest.group;
    if (!group || !isGroup(freshest)) {
      entries.push(...members);
      continue;
    }
    // The lead when it is loaded; otherwise (resolved, not loaded) the lowest number here.
    const lead = members.find((m) => m.id === group.leadId) ?? [...members].sort((a, b) => a.number - b.number)[0];
    if (lead) entries.push({ ...lead, status: group.status, severity: group.severity, group });
  }
  return entries;
}

/**
 * The incidents an action on these entries acts on: a group's every loaded alert (those of `all`
 * in the same group, lowest number first), anything else itself.
 * @param {Incident[]} entries
 * @param {Incident[]} all every incident loaded, as the server described it
 */
export function expandGroups(entries, all) {
  /** @type {Map<string, Incident>} */
  const out = new Map();
  for (const entry of entries) {
    const groupId = entry.group && isGroup(entry) ? entry.group.id : null;
    const members = groupId
      ? all.filter((i) => i.group?.id === groupId).sort((a, b) => a.number - b.number)
      : [all.find((i) => i.id === entry.id) ?? entry];
    for (const member of members) out.set(member.id, member);
  }
  return [...out.values()];
}

/** Labels that tell a group's alerts apart: the usual ones first, then any other that differs. */
const TELLING = ['pod', 'instance', 'container', 'node', 'host', 'job'];

/**
 * The labels whose values differ between the alerts (at most `max`), e.g. `pod`, `instance`.
 * @param {Pick<GroupAlert, 'labels'>[]} alerts
 * @param {number} [max]
 */
export function tellingLabels(alerts, max = 3) {
  const keys = new Set(alerts.flatMap((a) => Object.keys(a.labels)));
  const differs = (/** @type {string} */ k) => new Set(alerts.map((a) => a.labels[k] ?? '')).size > 1;
  const found = [...TELLING.filter((k) => keys.has(k) && differs(k))];
  for (const k of [...keys].sort()) if (!found.includes(k) && differs(k)) found.push(k);
  return found.slice(0, max);
}

/**
 * The incident page's card for its group: the alerts it holds (number, labels that tell them apart,
 * severity, state, link), acknowledging all of them at once (each through its own provider, as the
 * list's bulk action does: for Alertmanager, a silence per alert), splitting one out, and merging
 * this incident into another's group. Merge and split are audited and published by the server.
 * @param {string} id the incident shown
 * @param {Context} ctx
 */
export function createGroupCard(id, ctx) {
  const canAct = ctx.can('responder');
  const element = h('section', { class: 'card group-card', 'aria-labelledby': 'group-title', hidden: true });
  const message = h('p', { class: 'action-message', role: 'status', 'aria-live': 'polite', hidden: true });
  let busy = false;
  /** @type {{ id: string, number: number, title: string }[] | null} */
  let candidates = null;
  /** @type {import('./types.js').IncidentDetail | null} */
  let shown = null;

  /** @param {'info' | 'ok' | 'error'} kind @param {string} text */
  const say = (kind, text) => {
    message.hidden = false;
    message.className = `action-message ${kind}`;
    message.textContent = text;
  };
  const failure = (/** @type {unknown} */ error) =>
    error instanceof ApiError
      ? `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`
      : String(error);

  /** @param {string} alertId @param {number} number */
  const split = async (alertId, number) => {
    if (busy) return;
    busy = true;
    say('info', `Splitting ${incidentNumber(number)} out of the group…`);
    try {
      await api(`/v1/incidents/${encodeURIComponent(alertId)}/split`, { method: 'POST', body: {} });
      say('ok', `${incidentNumber(number)} is split out of the group: it shows as its own incident.`);
    } catch (error) {
      say('error', `Split failed: ${failure(error)}`);
    } finally {
      busy = false;
    }
  };

  const acknowledgeAll = async () => {
    if (busy || !shown) return;
    busy = true;
    const alerts = shown.alerts;
    say('info', bulkSummary('acknowledge', [], alerts.length));
    /** @type {import('./bulk.js').BulkResult[]} */
    const settled = [];
    const results = await runBulk(
      'acknowledge',
      alerts,
      (alertId, body) => api(`/v1/incidents/${encodeURIComponent(alertId)}/actions`, { method: 'POST', body }),
      { onResult: (r) => settled.push(r) },
    );
    busy = false;
    const troubled = results.some((r) => r.outcome === 'failed' || r.outcome === 'refused' || r.outcome === 'unknown');
    const numberOf = new Map(alerts.map((a) => [a.id, incidentNumber(a.number)]));
    say(
      troubled ? 'error' : 'ok',
      `${bulkSummary('acknowledge', results, alerts.length)}. ${results
        .map((r) => `${numberOf.get(r.id)}: ${r.text}`)
        .join('; ')}`,
    );
  };

  const mergeSelect = h('select', { id: 'merge-into', name: 'into', required: true });
  const mergeButton = h('button', { type: 'submit', class: 'secondary', text: 'Merge' });
  const mergeForm = h(
    'form',
    { class: 'merge-form', 'aria-label': 'Merge into another incident’s group' },
    h('label', { for: 'merge-into', text: 'Merge this incident into the group of' }),
    h('div', { class: 'merge-row' }, mergeSelect, mergeButton),
  );
  mergeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const into = mergeSelect.value;
    if (!into || busy) return;
    busy = true;
    const target = candidates?.find((c) => c.id === into);
    say('info', `Merging into the group of ${target ? incidentNumber(target.number) : into}…`);
    try {
      /** @type {{ detail: string }} */
      const res = await api(`/v1/incidents/${encodeURIComponent(id)}/merge`, { method: 'POST', body: { into } });
      say('ok', `Done: ${res.detail}.`);
    } catch (error) {
      say('error', `Merge failed: ${failure(error)}`);
    } finally {
      busy = false;
    }
  });

  /** Open incidents to merge into (loaded once, when the card is first shown to a responder). */
  const loadCandidates = async () => {
    if (candidates) return;
    candidates = [];
    try {
      /** @type {{ items: Incident[] }} */
      const page = await api('/v1/incidents?active=true&limit=500');
      const service = shown?.incident.service;
      const ownGroup = shown?.incident.group?.id;
      candidates = collapseGroups(page.items)
        .filter((i) => i.id !== id && !(ownGroup && i.group?.id === ownGroup))
        .sort((a, b) => Number(b.service === service) - Number(a.service === service) || b.number - a.number)
        .map((i) => ({
          id: i.id,
          number: i.number,
          title: `${i.title}${isGroup(i) && i.group ? ` (${alertCount(i.group.alerts)})` : ''} · ${i.service}`,
        }));
    } catch (error) {
      say('error', `Could not load the incidents to merge into: ${failure(error)}`);
    }
    mergeSelect.replaceChildren(
      h('option', { value: '', text: candidates.length ? 'Choose an open incident…' : 'No other open incidents' }),
      ...candidates.map((c) => h('option', { value: c.id, text: `${incidentNumber(c.number)} ${c.title}` })),
    );
  };

  /** @param {import('./types.js').IncidentDetail} detail */
  const render = (detail) => {
    shown = detail;
    const alerts = detail.alerts ?? [];
    const grouped = alerts.length > 1;
    element.hidden = !grouped && !canAct;
    if (element.hidden) return;
    const labels = tellingLabels(alerts);
    const group = detail.incident.group;
    const counts = group
      ? Object.entries(group.byStatus)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => `${n} ${s}`)
          .join(' · ')
      : '';
    const actionable = alerts.some((a) => isSelectable(a) && a.status === 'triggered');
    element.replaceChildren();
    append(element, [
      h('h2', { id: 'group-title', text: grouped ? `Alerts in this group (${alerts.length})` : 'Grouping' }),
      grouped ? h('p', { class: 'muted group-counts', text: counts }) : null,
      grouped
        ? h(
            'table',
            { class: 'group-alerts' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col', text: '#' }),
                h('th', { scope: 'col', text: 'Alert' }),
                labels.map((k) => h('th', { scope: 'col', text: k })),
                h('th', { scope: 'col', text: 'Severity' }),
                h('th', { scope: 'col', text: 'Status' }),
                h('th', { scope: 'col', text: 'Link' }),
                canAct ? h('th', { scope: 'col', text: 'Group' }) : null,
              ),
            ),
            h(
              'tbody',
              {},
              alerts.map((a) =>
                h(
                  'tr',
                  { 'data-id': a.id, class: a.id === detail.incident.id ? 'current' : '' },
                  h('td', { text: incidentNumber(a.number) }),
                  h(
                    'td',
                    {},
                    a.id === detail.incident.id
                      ? h('span', { text: `${a.title} (this page)` })
                      : navLink(`/incidents/${encodeURIComponent(a.id)}`, { text: a.title }),
                  ),
                  labels.map((k) => h('td', {}, h('code', { text: a.labels[k] ?? '—' }))),
                  h('td', {}, severityChip(a.severity)),
                  h('td', {}, statusBadge(a.status)),
                  h('td', {}, externalLink(a.providerUrl, providerName(a.provider))),
                  canAct
                    ? h(
                        'td',
                        {},
                        h('button', {
                          type: 'button',
                          class: 'secondary split',
                          text: 'Split out',
                          'aria-label': `Split ${incidentNumber(a.number)} out of this group`,
                          on: { click: () => void split(a.id, a.number) },
                        }),
                      )
                    : null,
                ),
              ),
            ),
          )
        : h('p', { class: 'muted', text: 'This incident is on its own. Merge it into a related incident’s group:' }),
      canAct && grouped && actionable
        ? h('button', {
            type: 'button',
            class: 'primary ack-group',
            text: `Acknowledge all ${alertCount(alerts.length)}`,
            on: { click: () => void acknowledgeAll() },
          })
        : null,
      canAct ? mergeForm : null,
      message,
    ]);
    if (canAct) void loadCandidates();
  };

  return { element, render };
}
