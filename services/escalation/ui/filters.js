// @ts-check
/**
 * The incident list's filter, sort and search, as pure functions over the incidents the page
 * holds: read from and written back to the address bar, matched and ordered without asking the
 * server. No DOM here (dashboard.js wires these to its controls), so they are unit-tested in Node.
 */
import { SEVERITIES, STATUSES } from './format.js';

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {'severity' | 'updated' | 'newest' | 'oldest'} Sort */
/**
 * @typedef {object} Filter
 * @property {Set<string>} status empty: every status
 * @property {Set<string>} severity empty: every severity
 * @property {string} service
 * @property {string} owner an owner, team or on-call handle; `unowned`
 * @property {string} q
 * @property {Sort} sort
 * @property {boolean} hideDrills
 */

/** What the list shows without a `status` in the address: the open incidents. */
export const DEFAULT_STATUS = ['triggered', 'acknowledged'];

/**
 * The orders the list offers, with their labels; the first is the default.
 * @type {Readonly<Record<Sort, string>>}
 */
export const SORTS = {
  severity: 'Severity, then last update',
  updated: 'Last update (newest first)',
  newest: 'Age (newest first)',
  oldest: 'Age (oldest first)',
};

/** @type {Record<string, number>} */
const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));
/**
 * Severity names in addresses saved before ADR 0008, and what they meant: old links keep working.
 * @type {Record<string, string>}
 */
const LEGACY_SEVERITIES = { p0: 'critical', p1: 'high', p2: 'medium', p3: 'low', p4: 'info' };
/** @type {Record<string, number>} */
const STATUS_RANK = { triggered: 0, acknowledged: 1, resolved: 2 };

/**
 * The filter in the address bar: `?status=triggered&severity=critical,high&service=…&owner=…&q=…&sort=…&drills=hide`.
 * Unknown statuses, severities and sorts are dropped; what is missing takes its default. The
 * severity names of old links (`p0`…`p4`) are read as what they meant.
 * @param {string} search
 * @returns {Filter}
 */
export function parseFilter(search) {
  const p = new URLSearchParams(search);
  /** @param {string} name @param {readonly string[]} allowed @param {string[]} fallback @param {Record<string, string>} [aliases] */
  const set = (name, allowed, fallback, aliases = {}) => {
    const raw = p.get(name);
    if (raw === null) return new Set(fallback);
    return new Set(
      raw
        .split(',')
        .map((v) => (Object.hasOwn(aliases, v) ? (aliases[v] ?? v) : v))
        .filter((v) => allowed.includes(v)),
    );
  };
  const sort = p.get('sort') ?? 'severity';
  return {
    status: set('status', STATUSES, DEFAULT_STATUS),
    severity: set('severity', SEVERITIES, [], LEGACY_SEVERITIES),
    service: p.get('service') ?? '',
    owner: p.get('owner') ?? '',
    q: p.get('q') ?? '',
    sort: sort in SORTS ? /** @type {Sort} */ (sort) : 'severity',
    hideDrills: p.get('drills') === 'hide',
  };
}

/**
 * The address-bar query for `f` (`''` for the default filter): the inverse of {@link parseFilter},
 * leaving out what is at its default, values in a fixed order so that equal filters give equal strings.
 * @param {Filter} f
 */
export function filterSearch(f) {
  const p = new URLSearchParams();
  const status = STATUSES.filter((s) => f.status.has(s));
  if (status.join(',') !== DEFAULT_STATUS.join(',')) p.set('status', status.join(','));
  if (f.severity.size > 0) p.set('severity', SEVERITIES.filter((s) => f.severity.has(s)).join(','));
  if (f.service) p.set('service', f.service);
  if (f.owner) p.set('owner', f.owner);
  if (f.q) p.set('q', f.q);
  if (f.sort !== 'severity') p.set('sort', f.sort);
  if (f.hideDrills) p.set('drills', 'hide');
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * Whether `f` can show resolved incidents (which the page loads only when asked to).
 * @param {Filter} f
 */
export function wantsResolved(f) {
  return f.status.size === 0 || f.status.has('resolved');
}

/**
 * The names the owner filter matches for an incident: its owners, team and on-call handle.
 * @param {Incident} i
 */
export function ownerKeys(i) {
  const o = i.ownership;
  return [...o.owners, o.team, o.oncall].filter(
    /** @param {string | null} v @returns {v is string} */ (v) => typeof v === 'string' && v !== '',
  );
}

/**
 * Whether the list shows `i` under `f`. The search is case-insensitive over the title, the
 * service, our id and the provider's id.
 * @param {Incident} i
 * @param {Filter} f
 */
export function matchesFilter(i, f) {
  if (f.status.size > 0 && !f.status.has(i.status)) return false;
  if (f.severity.size > 0 && !f.severity.has(i.severity)) return false;
  if (f.service && i.service !== f.service) return false;
  if (f.hideDrills && i.drill) return false;
  if (f.owner === 'unowned' ? i.ownership.owned : f.owner && !ownerKeys(i).includes(f.owner)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (
      !i.title.toLowerCase().includes(q) &&
      !i.service.toLowerCase().includes(q) &&
      !i.id.includes(q) &&
      !i.providerId.toLowerCase().includes(q)
    )
      return false;
  }
  return true;
}

/**
 * The list's order for `sort`; every order ends with the newest update, then the id, so it is total.
 * - `severity`: highest severity first, then triggered before acknowledged before resolved;
 * - `updated`: newest update first;
 * - `newest` / `oldest`: by creation time.
 * @param {Sort} sort
 * @returns {(a: Incident, b: Incident) => number}
 */
export function comparator(sort) {
  /** @param {Incident} a @param {Incident} b */
  const newestUpdate = (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id);
  switch (sort) {
    case 'updated':
      return newestUpdate;
    case 'newest':
      return (a, b) => b.createdAt.localeCompare(a.createdAt) || newestUpdate(a, b);
    case 'oldest':
      return (a, b) => a.createdAt.localeCompare(b.createdAt) || newestUpdate(a, b);
    default:
      return (a, b) =>
        (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
        (STATUS_RANK[a.status] ?? 9) - (STATUS_RANK[b.status] ?? 9) ||
        newestUpdate(a, b);
  }
}

/**
 * The incidents the list shows under `f`, in its order.
 * @param {Iterable<Incident>} incidents
 * @param {Filter} f
 */
export function applyFilter(incidents, f) {
  return [...incidents].filter((i) => matchesFilter(i, f)).sort(comparator(f.sort));
}

/**
 * The service and owner choices: whatever the incidents have, plus the filter's current choice
 * (so a filter from a link stays selectable before any incident matches it), sorted.
 * @param {Iterable<Incident>} incidents
 * @param {Filter} f
 */
export function filterChoices(incidents, f) {
  /** @type {Set<string>} */
  const services = new Set();
  /** @type {Set<string>} */
  const owners = new Set();
  for (const i of incidents) {
    services.add(i.service);
    for (const key of ownerKeys(i)) owners.add(key);
  }
  if (f.service) services.add(f.service);
  if (f.owner && f.owner !== 'unowned') owners.add(f.owner);
  return { services: [...services].sort(), owners: [...owners].sort() };
}
