// @ts-check
/**
 * Shapes of what the status-mapper API answers (src/internal-status.ts, src/routes/status.ts).
 * Types only: this module exports nothing at run time.
 */

/**
 * `operational`, `under_maintenance`, `degraded_performance`, `partial_outage`, `major_outage`
 * or `unknown` (a word we do not know, or a source that stopped answering).
 * @typedef {string} Condition
 */

/**
 * One provider component, as GET /status/internal and /status/v1/components give it.
 * @typedef {object} ProviderComponent
 * @property {string} key `<page id>/<component id>`
 * @property {string} pageId
 * @property {string} provider the provider's display name (`Cloudflare`)
 * @property {string} id
 * @property {string} name
 * @property {{ id: string, name: string } | null} group
 * @property {Condition} status
 * @property {string} since ISO 8601
 * @property {{ since: string, reason: string | null, lastKnown: Condition | null } | null} stale
 *   set while its source is stale: since when, why, and the last condition the provider reported
 * @property {string[]} [services] internal services it maps to (/status/v1/components only)
 */

/**
 * @typedef {object} ProviderIncident
 * @property {string} pageId
 * @property {string} provider
 * @property {string} id
 * @property {string} name the provider's text: untrusted
 * @property {string} status investigating, identified, monitoring…
 * @property {string} impact none, minor, major, critical
 * @property {string | null} shortlink
 * @property {string | null} latestUpdate the provider's latest update text: untrusted
 * @property {string[]} components keys of the mapped components it names
 */

/**
 * @typedef {object} InternalService
 * @property {string} service
 * @property {Condition} status the worst condition of its mapped components
 * @property {string | null} since
 * @property {ProviderComponent[]} components worst first
 * @property {ProviderIncident[]} incidents
 */

/**
 * @typedef {object} Source
 * @property {string} id
 * @property {string} [kind] statuspage | aws-health
 * @property {string} provider
 * @property {string | null} url
 * @property {number} intervalSeconds
 * @property {string | null} pageName
 * @property {string | null} lastPolledAt
 * @property {string | null} lastSuccessAt
 * @property {string | null} nextDueAt
 * @property {{ since: string | null, reason: string | null, consecutiveFailures: number } | null} failing
 * @property {string | null} staleSince
 */

export {};
