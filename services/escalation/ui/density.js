// @ts-check
/**
 * The incident list's row density, remembered per signed-in user in this browser: comfortable
 * (every detail, wrapped) or compact (one line a row, for alert storms). Escalation keeps no
 * user preferences server-side, so it lives in localStorage under the user's subject: people who
 * share a browser each keep their own.
 */

/** @typedef {'comfortable' | 'compact'} Density */

/** @type {readonly Density[]} */
export const DENSITIES = ['comfortable', 'compact'];

/** @type {Record<Density, string>} */
export const DENSITY_LABELS = { comfortable: 'Comfortable', compact: 'Compact' };

/** @param {string} subject the signed-in user's subject (`Me.subject`) */
export function densityKey(subject) {
  return `micro-oncall:escalation:list-density:${subject}`;
}

/**
 * The user's density: what they chose last in this browser, comfortable when nothing (or
 * something unreadable) is stored or storage is unavailable (private mode, blocked).
 * @param {Pick<Storage, 'getItem'> | null | undefined} storage
 * @param {string} subject
 * @returns {Density}
 */
export function loadDensity(storage, subject) {
  try {
    return storage?.getItem(densityKey(subject)) === 'compact' ? 'compact' : 'comfortable';
  } catch {
    return 'comfortable';
  }
}

/**
 * Remembers the user's density. Storage that refuses (full, blocked) only means it is not
 * remembered: the list still switches.
 * @param {Pick<Storage, 'setItem'> | null | undefined} storage
 * @param {string} subject
 * @param {Density} density
 */
export function saveDensity(storage, subject, density) {
  try {
    storage?.setItem(densityKey(subject), density);
  } catch {
    // Not remembered; nothing else depends on it.
  }
}

/** localStorage when the browser lets the page use it, else null. */
export function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
