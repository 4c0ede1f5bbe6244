// @ts-check
import { conditionRank, knownCondition } from './common/conditions.js';

/**
 * What the status page shows, computed from the API's answers: pure functions, no DOM
 * (view.js renders them).
 */

/** @typedef {import('./types.js').Condition} Condition */
/** @typedef {import('./types.js').InternalService} InternalService */
/** @typedef {import('./types.js').ProviderComponent} ProviderComponent */
/** @typedef {import('./types.js').ProviderIncident} ProviderIncident */
/** @typedef {import('./types.js').Source} Source */

/**
 * Every provider that has a component here, in name order: the columns of the matrix.
 * @param {InternalService[]} services
 * @param {ProviderComponent[]} components every component (mapped or not)
 */
export function providersOf(services, components) {
  const names = new Set(components.map((c) => c.provider));
  for (const s of services) for (const c of s.components) names.add(c.provider);
  return [...names].sort((a, b) => a.localeCompare(b));
}

/**
 * A service's components by provider, each list worst first.
 * @param {InternalService} service
 * @returns {Map<string, ProviderComponent[]>}
 */
export function componentsByProvider(service) {
  /** @type {Map<string, ProviderComponent[]>} */
  const by = new Map();
  for (const c of service.components) by.set(c.provider, [...(by.get(c.provider) ?? []), c]);
  for (const list of by.values()) list.sort((a, b) => conditionRank(b.status) - conditionRank(a.status));
  return by;
}

/**
 * Services a provider problem touches now: anything but operational (unknown included: we
 * cannot tell that it is fine).
 * @param {InternalService[]} services
 */
export function affected(services) {
  return services.filter((s) => knownCondition(s.status) !== 'operational');
}

/** @type {Record<string, number>} */
const IMPACT = { critical: 3, major: 2, minor: 1, none: 0 };

/**
 * @typedef {object} IncidentRow
 * @property {string} key `<page id>/<incident id>`
 * @property {string} provider
 * @property {string} name
 * @property {string} status
 * @property {string} impact
 * @property {string | null} shortlink
 * @property {string | null} latestUpdate
 * @property {string[]} services the internal services it touches
 * @property {string[]} components names of our mapped components it names
 */

/**
 * The open provider incidents behind any service, each once, with every service it touches:
 * highest impact first.
 * @param {InternalService[]} services
 * @returns {IncidentRow[]}
 */
export function providerIncidents(services) {
  /** @type {Map<string, IncidentRow>} */
  const rows = new Map();
  for (const s of services) {
    const names = new Map(s.components.map((c) => [c.key, c.name]));
    for (const i of s.incidents) {
      const key = `${i.pageId}/${i.id}`;
      const row = rows.get(key) ?? {
        key,
        provider: i.provider,
        name: i.name,
        status: i.status,
        impact: i.impact,
        shortlink: i.shortlink,
        latestUpdate: i.latestUpdate,
        services: [],
        components: [],
      };
      if (!row.services.includes(s.service)) row.services.push(s.service);
      for (const k of i.components) {
        const name = names.get(k) ?? k;
        if (!row.components.includes(name)) row.components.push(name);
      }
      rows.set(key, row);
    }
  }
  return [...rows.values()].sort(
    (a, b) =>
      (IMPACT[b.impact] ?? 0) - (IMPACT[a.impact] ?? 0) ||
      a.provider.localeCompare(b.provider) ||
      a.name.localeCompare(b.name),
  );
}

/**
 * @typedef {object} SourceState
 * @property {'ok' | 'failing' | 'stale' | 'waiting' | 'pushed'} state
 * @property {Condition} condition how to colour it
 * @property {string} label
 */

/**
 * How a source is doing: answering, failing (since when, how often), stale (its components read
 * unknown), not polled yet, or fed by pushes alone (no URL to poll).
 * @param {Source} source
 * @returns {SourceState}
 */
export function sourceState(source) {
  if (source.staleSince) return { state: 'stale', condition: 'unknown', label: 'stale' };
  if (source.failing) {
    const n = source.failing.consecutiveFailures;
    return { state: 'failing', condition: 'partial_outage', label: `failing (${n} in a row)` };
  }
  if (!source.url) return { state: 'pushed', condition: 'operational', label: 'pushed to us' };
  if (!source.lastSuccessAt) return { state: 'waiting', condition: 'unknown', label: 'not polled yet' };
  return { state: 'ok', condition: 'operational', label: 'answering' };
}
