// @ts-check
import { h, httpUrl } from './dom.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {import('./types.js').Contact} Contact */

export const SEVERITIES = /** @type {const} */ (['p0', 'p1', 'p2', 'p3', 'p4']);
export const STATUSES = /** @type {const} */ (['triggered', 'acknowledged', 'resolved']);

/** @type {Record<string, string>} */
const SEVERITY_WORDS = { p0: 'critical', p1: 'high', p2: 'medium', p3: 'low', p4: 'info' };

/** @type {Record<string, string>} */
const PROVIDERS = { pagerduty: 'PagerDuty', opsgenie: 'Opsgenie', alertmanager: 'Alertmanager', generic: 'Generic' };

/** @param {string} provider */
export function providerName(provider) {
  return PROVIDERS[provider] ?? provider;
}

/** @param {string} severity */
export function severityChip(severity) {
  const known = SEVERITY_WORDS[severity] !== undefined;
  return h('span', {
    class: `chip sev sev-${known ? severity : 'unknown'}`,
    title: `${severity.toUpperCase()} (${SEVERITY_WORDS[severity] ?? 'unknown'})`,
    text: severity.toUpperCase(),
  });
}

/** @param {string} status */
export function statusBadge(status) {
  const known = /** @type {readonly string[]} */ (STATUSES).includes(status);
  return h('span', { class: `status status-${known ? status : 'unknown'}`, text: status });
}

export function drillBadge() {
  return h('span', { class: 'badge drill', title: 'Synthetic drill incident: not a real outage', text: 'DRILL' });
}

export function unownedBadge() {
  return h('span', {
    class: 'badge unowned',
    title: 'No service in the catalogue matches: escalate to the fallback',
    text: 'UNOWNED',
  });
}

/**
 * "45s", "12m", "3h 5m", "2d 4h".
 * @param {number} ms
 */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/**
 * A <time> whose text is a duration relative to now; `refreshTimes` keeps it current.
 * @param {string | null} iso
 * @param {'age' | 'ago'} mode
 */
export function relativeTime(iso, mode) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  const el = h('time', { datetime: iso, title: absoluteTime(iso), data: { rel: mode } });
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

/** @param {string} iso */
export function absoluteTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} (${d.toISOString().replace('.000Z', 'Z')})`;
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
