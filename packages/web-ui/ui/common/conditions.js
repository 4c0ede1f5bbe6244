// @ts-check
/**
 * Conditions of provider components (status-mapper's statuses: incident-model's
 * `ComponentStatus`) as the product's pages show them, whichever service the page belongs to.
 */

/**
 * Conditions, worst last, in the order of incident-model's `componentStatusRank`: `unknown` ranks
 * above maintenance and below any confirmed degradation.
 * @type {Readonly<Record<string, number>>}
 */
const RANK = {
  operational: 0,
  under_maintenance: 1,
  unknown: 2,
  degraded_performance: 3,
  partial_outage: 4,
  major_outage: 5,
};

/**
 * The condition when it is one we know, else `unknown` (also safe as a class name).
 * @param {string | null | undefined} status
 * @returns {string}
 */
export function knownCondition(status) {
  return typeof status === 'string' && Object.hasOwn(RANK, status) ? status : 'unknown';
}

/**
 * Where a condition stands, worst highest (an unknown word ranks as `unknown`).
 * @param {string | null | undefined} status
 */
export function conditionRank(status) {
  return RANK[knownCondition(status)] ?? RANK.unknown ?? 2;
}

/**
 * For people: `major_outage` → `major outage` (a word we do not know reads `unknown`).
 * @param {string | null | undefined} status
 */
export function conditionLabel(status) {
  return knownCondition(status).replace(/_/g, ' ');
}
