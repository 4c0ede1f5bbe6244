// @ts-check
import { conditionLabel, knownCondition } from './common/conditions.js';
import { clockTime, duration, exactTime } from './common/time.js';
import { h, httpUrl } from './dom.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {import('./types.js').Contact} Contact */
/** @typedef {import('./types.js').Assignee} Assignee */
/** @typedef {import('./types.js').EventChange} EventChange */
/** @typedef {import('./types.js').ProviderCondition} ProviderCondition */
/** @typedef {import('./types.js').ProviderTimelineEntry} ProviderTimelineEntry */

/**
 * Our severity scale, highest first (incident-model's `SEVERITIES`). Words, never `P1`-style
 * names: those are the providers' priorities, shown beside ours as they sent them
 * (docs/adr/0008-severity-words-and-provider-priority.md).
 */
export const SEVERITIES = /** @type {const} */ (['critical', 'high', 'medium', 'low', 'info']);
export const STATUSES = /** @type {const} */ (['triggered', 'acknowledged', 'resolved']);

/** @type {Record<string, string>} */
const SEVERITY_LABELS = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', info: 'Info' };

/** @type {Record<string, string>} */
const PROVIDERS = { pagerduty: 'PagerDuty', opsgenie: 'Opsgenie', alertmanager: 'Alertmanager', generic: 'Generic' };

/** @param {string} provider */
export function providerName(provider) {
  return PROVIDERS[provider] ?? provider;
}

/**
 * How responders read a severity: `Critical` … `Info` (an unknown value as it is).
 * @param {string} severity
 */
export function severityLabel(severity) {
  return SEVERITY_LABELS[severity] ?? severity;
}

/**
 * What the provider itself called it, with whose name it is: "PagerDuty priority P1",
 * "Alertmanager severity warning". Null when the provider sent none.
 * @param {string} provider
 * @param {string | null | undefined} value
 */
export function providerSeverityText(provider, value) {
  if (!value) return null;
  const what = provider === 'pagerduty' || provider === 'opsgenie' ? 'priority' : 'severity';
  return `${providerName(provider)} ${what} ${value}`;
}

/** @param {string} severity */
export function severityChip(severity) {
  const known = SEVERITY_LABELS[severity] !== undefined;
  return h('span', {
    class: `chip sev sev-${known ? severity : 'unknown'}`,
    title: `Severity ${severityLabel(severity).toLowerCase()} (micro-oncall's scale, critical to info)`,
    text: severityLabel(severity),
  });
}

/**
 * The provider's own priority or severity name beside our chip, verbatim; `long` spells out
 * whose it is ("PagerDuty priority P1"), otherwise only the name shows and the tooltip says it.
 * @param {Pick<Incident, 'provider' | 'providerSeverity'>} incident
 * @param {{ long?: boolean }} [opts]
 */
export function providerSeverityTag(incident, opts = {}) {
  const text = providerSeverityText(incident.provider, incident.providerSeverity);
  if (!text || !incident.providerSeverity) return null;
  return h('span', {
    class: 'provider-sev',
    title: `${text}, as ${providerName(incident.provider)} sent it`,
    text: opts.long ? text : incident.providerSeverity,
  });
}

/**
 * "Grace Hopper", "Grace Hopper, Lin Level-Two"; null for nobody.
 * @param {Assignee[] | null | undefined} assignees
 */
export function assigneeNames(assignees) {
  return assignees && assignees.length > 0 ? assignees.map((a) => a.name).join(', ') : null;
}

/** `#123`: the incident's short number here, what responders say aloud. @param {number} n */
export function incidentNumber(n) {
  return `#${n}`;
}

/** Providers whose incidents say who they are assigned to, and who acknowledged them. */
const ASSIGNING = new Set(['pagerduty', 'opsgenie']);
const ACKNOWLEDGING = new Set(['pagerduty', 'opsgenie']);

/**
 * @typedef {object} HandlingCell
 * @property {string} text what the cell shows (an em dash when there is nothing to show)
 * @property {string} title the whole story, for the tooltip
 * @property {string | null} missing why there is nothing ("not reported by Alertmanager"), said in text too
 */

/** @param {string} text @param {string} title @returns {HandlingCell} */
const known = (text, title) => ({ text, title, missing: null });
/** @param {string} why @returns {HandlingCell} */
const missing = (why) => ({ text: '—', title: why.charAt(0).toUpperCase() + why.slice(1), missing: why });

/**
 * Who did it, as the provider named them: their name, else their id, else what kind of actor it was.
 * @param {import('./types.js').Actor} actor
 */
export function actorName(actor) {
  return actor.name ?? actor.id ?? (actor.type === 'system' ? 'the system' : `an ${actor.type}`);
}

/**
 * The list's handling columns (assigned to, acknowledged by, escalation level) as the provider
 * reported them, never guessed: where it did not report one, an em dash and "not reported by
 * <provider>".
 * @param {Pick<Incident, 'provider' | 'assignees' | 'acknowledgedAt' | 'acknowledgedBy' | 'escalation'>} i
 * @returns {{ assignedTo: HandlingCell, acknowledgedBy: HandlingCell, level: HandlingCell }}
 */
export function handlingCells(i) {
  const provider = providerName(i.provider);
  const names = assigneeNames(i.assignees);
  const assignedTo = !ASSIGNING.has(i.provider)
    ? missing(`not reported by ${provider}`)
    : names
      ? known(names, `Assigned to ${names} in ${provider}`)
      : known('Unassigned', `Nobody is assigned in ${provider}`);
  const acknowledgedBy = i.acknowledgedBy
    ? known(actorName(i.acknowledgedBy), `Acknowledged by ${actorName(i.acknowledgedBy)} in ${provider}`)
    : !ACKNOWLEDGING.has(i.provider) || i.acknowledgedAt
      ? missing(`not reported by ${provider}`)
      : missing('not acknowledged');
  const policy = i.escalation?.policy ? ` · escalation policy ${i.escalation.policy}` : '';
  const level =
    typeof i.escalation?.level === 'number'
      ? known(String(i.escalation.level), `Escalation level ${i.escalation.level}${policy} (${provider})`)
      : { ...missing(`not reported by ${provider}`), title: `Escalation level not reported by ${provider}${policy}` };
  return { assignedTo, acknowledgedBy, level };
}

/**
 * One handling cell's content: the text, or an em dash that says why in words to screen readers
 * (and to anyone who hovers it).
 * @param {HandlingCell} cell
 */
export function handlingCell(cell) {
  if (cell.missing === null) return h('span', { class: 'handling', title: cell.title, text: cell.text });
  return h(
    'span',
    { class: 'handling not-reported', title: cell.title },
    h('span', { 'aria-hidden': 'true', text: '—' }),
    h('span', { class: 'visually-hidden', text: cell.missing }),
  );
}

/**
 * What an event changed, in words, for the timeline: who it went to, along which escalation and
 * level, the priority before and after. Null when the event says nothing more than its kind.
 * (Left-out alerts are a warning of their own: {@link truncationText}.)
 * @param {EventChange | null | undefined} change
 */
export function changeText(change) {
  if (!change) return null;
  /** @type {string[]} */
  const parts = [];
  const to = assigneeNames(change.assignees);
  if (change.assignees) parts.push(to ? `to ${to}` : 'to nobody');
  if (change.escalationLevel !== undefined) parts.push(`level ${change.escalationLevel}`);
  if (change.escalationPolicy) parts.push(`via ${change.escalationPolicy}`);
  if (change.priority) {
    const { from, to: next } = change.priority;
    parts.push(`priority ${from ?? 'none'} → ${next ?? 'none'}`);
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}

/**
 * The warning for alerts Alertmanager left out of a notification, or null.
 * @param {EventChange | null | undefined} change
 */
export function truncationText(change) {
  const n = change?.truncatedAlerts ?? 0;
  if (n <= 0) return null;
  return `Alertmanager left ${n} more alert${n === 1 ? '' : 's'} of this group out of the notification (max_alerts): see Alertmanager for all of them.`;
}

/** @param {string} status */
export function statusBadge(status) {
  const known = /** @type {readonly string[]} */ (STATUSES).includes(status);
  return h('span', { class: `status status-${known ? status : 'unknown'}`, text: status });
}

/**
 * A verified drill (its run registered by the simulator and active when it arrived), linked to its run.
 * @param {{ id: string, url: string } | null} run
 */
export function drillBadge(run) {
  const title = run ? `Verified drill, run ${run.id}: not a real outage` : 'Verified drill: not a real outage';
  return run
    ? h('a', { class: 'badge drill', href: run.url, title, text: `DRILL ${run.id.slice(0, 8)}`, 'data-run': run.id })
    : h('span', { class: 'badge drill', title, text: 'DRILL' });
}

/**
 * Marked as a drill, but no active drill run matches: a real incident, notified and counted.
 * @param {string | null} reason
 */
export function unverifiedDrillBadge(reason) {
  return h('span', {
    class: 'badge unverified-drill',
    title: `Treated as a real incident: ${reason ?? 'no active drill run matches'}`,
    text: 'UNVERIFIED DRILL MARKER',
  });
}

export function unownedBadge() {
  return h('span', {
    class: 'badge unowned',
    title: 'No service in the catalogue matches: escalate to the fallback',
    text: 'UNOWNED',
  });
}

/**
 * A <time> whose text is a duration relative to now; `refreshTimes` keeps it current.
 * @param {string | null} iso
 * @param {'age' | 'ago'} mode
 */
export function relativeTime(iso, mode) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const el = h('time', { datetime: iso, title: exactTime(iso), data: { rel: mode } });
  el.textContent = relativeText(iso, mode, Date.now());
  return el;
}

/**
 * @param {string} iso
 * @param {string | undefined} mode
 * @param {number} now
 */
function relativeText(iso, mode, now) {
  const d = duration(now - Date.parse(iso));
  return mode === 'ago' ? `${d} ago` : d;
}

/**
 * Re-computes every relative <time> under `root` (one pass; text only changes when it differs).
 * @param {ParentNode} root
 */
export function refreshTimes(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[data-rel]')) {
    if (!(el instanceof HTMLElement)) continue;
    const next = relativeText(el.getAttribute('datetime') ?? '', el.dataset.rel, now);
    if (el.textContent !== next) el.textContent = next;
  }
}

/** @type {Record<string, string>} */
const CONTACT_LABELS = {
  email: 'email',
  slack: 'Slack',
  phone: 'phone',
  sms: 'SMS',
  pagerduty: 'PagerDuty',
  opsgenie: 'Opsgenie',
  url: 'link',
};

/**
 * One way to reach someone, from the service catalogue. Email and phone numbers become
 * mailto:/tel: links only when they look like one; URLs only when they are http(s).
 * @param {Contact} contact
 */
export function contactItem(contact) {
  const label = h('span', { class: 'contact-type', text: CONTACT_LABELS[contact.type] ?? contact.type });
  const value = contact.value;
  /** @type {HTMLElement} */
  let target;
  if (contact.type === 'email' && /^[^\s@/\\:]+@[^\s@/\\:]+$/.test(value)) {
    target = h('a', { href: `mailto:${value}`, text: value });
  } else if ((contact.type === 'phone' || contact.type === 'sms') && /^\+?[0-9 ()-]{3,}$/.test(value)) {
    target = h('a', { href: `tel:${value.replace(/[^0-9+]/g, '')}`, text: value });
  } else if (contact.type === 'url' && httpUrl(value)) {
    target = h('a', { href: httpUrl(value), target: '_blank', rel: 'noopener noreferrer', text: value });
  } else {
    target = h('span', { text: value });
  }
  return h('span', { class: 'contact' }, label, ' ', target);
}

/**
 * The incident's first escalation target as a short phrase, for the list.
 * @param {Incident} incident
 */
export function ownerSummary(incident) {
  const o = incident.ownership;
  return o.owned ? [o.team, ...o.owners].filter(Boolean).join(' ') : `unowned ${o.fallback.name}`;
}

// ---- provider conditions (status-mapper, through escalation's provider-status consumer)

/**
 * The condition of a provider component: "major outage since 08:01"; a provider whose page does
 * not answer, "unknown — stale since 08:30".
 * @param {{ status: string, since: string, stale: ProviderCondition['stale'] }} c
 * @param {(iso: string) => string} time
 */
function conditionPhrase(c, time) {
  return c.stale
    ? `unknown — stale since ${time(c.stale.since)}`
    : `${conditionLabel(c.status)} since ${time(c.since)}`;
}

/**
 * "Cloudflare — CDN Edge: major outage since 08:01 (likely related)".
 * @param {ProviderCondition} c
 * @param {(iso: string) => string} [time]
 */
export function providerConditionText(c, time = (iso) => clockTime(iso)) {
  return `${c.provider} — ${c.component}: ${conditionPhrase(c, time)} (likely related)`;
}

/**
 * A provider entry of the timeline in words: the condition began ("major outage since 08:01
 * (likely related)"), changed ("now partial outage, was major outage"), or ended ("recovered at
 * 09:10, was major outage since 08:01"; or no longer mapped to the incident's service).
 * @param {ProviderTimelineEntry} e
 * @param {(iso: string) => string} [time]
 */
export function providerNoteText(e, time = (iso) => clockTime(iso)) {
  const who = `${e.provider} — ${e.component}`;
  const was = e.from ? conditionLabel(e.from) : null;
  if (e.kind === 'began')
    return `${who}: ${conditionPhrase({ status: e.to, since: e.since, stale: e.stale }, time)} (likely related)`;
  if (e.kind === 'changed') {
    const now = e.stale ? `unknown — stale since ${time(e.stale.since)}` : conditionLabel(e.to);
    return `${who}: now ${now}${was ? `, was ${was}` : ''}`;
  }
  const before =
    e.from === 'unknown' && e.stale ? `unknown — stale since ${time(e.stale.since)}` : `${was} since ${time(e.since)}`;
  if (e.to === 'operational') return `${who}: recovered at ${time(e.at)}, was ${before}`;
  return `${who}: no longer mapped to this service (${conditionLabel(e.to)})`;
}

/**
 * The provider's incidents behind a condition, for a tooltip: "Cloudflare incident: Elevated
 * errors on the CDN edge (investigating)". Empty when there is none.
 * @param {ProviderCondition} c
 */
export function providerIncidentsText(c) {
  return c.incidents.map((i) => `${c.provider} incident: ${i.name} (${i.status})`).join('\n');
}

/**
 * One provider condition as a line under the incident's title: marked with its condition, the
 * provider's incidents in the tooltip. Provider text goes in through textContent only.
 * @param {ProviderCondition} c
 */
export function providerConditionLine(c) {
  const kind = c.stale ? 'stale' : knownCondition(c.status).replace(/_/g, '-');
  const incidents = providerIncidentsText(c);
  return h(
    'div',
    {
      class: `provider-condition pc-${kind}`,
      title: `Provider status from ${c.provider}'s status page${incidents ? `\n${incidents}` : ''}`,
    },
    h('span', { class: 'pc-mark', 'aria-hidden': 'true', text: c.stale ? '?' : '!' }),
    h('span', { class: 'pc-text', text: providerConditionText(c) }),
  );
}

/**
 * The provider conditions of an incident, worst first; past `max`, "and N more provider conditions".
 * Null when there is none.
 * @param {ProviderCondition[] | undefined} conditions
 * @param {{ max?: number }} [opts]
 */
export function providerConditionLines(conditions, opts = {}) {
  if (!conditions || conditions.length === 0) return null;
  const max = opts.max ?? conditions.length;
  const more = conditions.length - max;
  return h(
    'div',
    { class: 'provider-conditions', role: 'note', 'aria-label': 'Provider status likely related' },
    conditions.slice(0, max).map(providerConditionLine),
    more > 0
      ? h('div', { class: 'muted pc-more', text: `and ${more} more provider condition${more === 1 ? '' : 's'}` })
      : null,
  );
}
