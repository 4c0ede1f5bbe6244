// @ts-check
/**
 * What the registry's pages say, as pure functions (unit-tested in model.test.ts): the words for
 * the API's values, the list's query from its filters and back, and what happens next to an app.
 */

/** @typedef {import('./types.js').App} App */

/** @type {Readonly<Record<string, string>>} */
export const STATE_LABELS = Object.freeze({
  pending_approval: 'pending approval',
  held: 'held for review',
  refused: 'refused',
  active: 'active',
  idle: 'idle',
  disabled: 'disabled',
  archived: 'archived',
  purged: 'purged',
});

/** @type {Readonly<Record<string, string>>} */
export const RUNTIME_LABELS = Object.freeze({
  serverless_function: 'Serverless function',
  wasm: 'WebAssembly',
  container: 'Container',
  low_code: 'Low-code platform',
  saas_connector: 'SaaS connector',
  other: 'Other',
});

/** @type {Readonly<Record<string, string>>} */
export const IMPACT_LABELS = Object.freeze({
  business_critical: 'Business critical: the business stops without it',
  business_helpful: 'Business helpful: people work around it for a while',
  experimental: 'Experimental: a trial or a convenience',
});

/** @type {Readonly<Record<string, string>>} */
export const EXPOSURE_LABELS = Object.freeze({
  internal_network: 'Internal network only',
  authenticated_api: 'An API that needs sign-in',
  public_url: 'A public URL anyone can open',
});

/** @type {Readonly<Record<string, string>>} */
export const DATA_LABELS = Object.freeze({
  pii: 'Personal data (PII)',
  phi: 'Health data (PHI)',
  regulated: 'Regulated (payments, finance…)',
  internal: 'Internal business data',
  public: 'Public data only',
});

/** @type {Readonly<Record<string, string>>} */
export const SLA_LABELS = Object.freeze({
  best_effort: 'Best effort',
  business_hours: 'Business hours',
  always_on: 'Around the clock',
});

/** @type {Readonly<Record<string, string>>} */
export const OUTCOME_LABELS = Object.freeze({
  approve: 'Approved',
  needs_approval: 'Sent for approval',
  refuse: 'Refused',
  hold: 'Held for review',
});

export const TIERS = Object.freeze(['low', 'medium', 'high', 'none']);
export const SORTS = Object.freeze({
  name: 'Name',
  lastActivityAt: 'Last activity',
  createdAt: 'Registered',
  updatedAt: 'Last changed',
  riskScore: 'Risk score',
});

/** The list's filters, as the page's URL and the API's query carry them. */
export const FILTER_KEYS = Object.freeze(['q', 'state', 'tier', 'runtime', 'team', 'sort', 'order']);

/**
 * The filters of a query string (`?state=idle&q=expense`): known keys with a value only.
 * @param {string} search
 * @returns {Record<string, string>}
 */
export function filtersOf(search) {
  const params = new URLSearchParams(search);
  /** @type {Record<string, string>} */
  const out = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) out[key] = value;
  }
  return out;
}

/**
 * The query string for `filters` (and a cursor for the next page): empty values left out.
 * @param {Record<string, string>} filters
 * @param {string | null} [cursor]
 */
export function queryOf(filters, cursor = null) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  if (cursor) params.set('cursor', cursor);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const DAY_MS = 86_400_000;

/**
 * A date as people read it in a sentence: "3 Dec 2026".
 * @param {string} iso
 */
export function day(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' }).format(d);
}

/**
 * "in 12 days", "today", "3 days ago".
 * @param {string} iso
 * @param {number} now
 */
export function relativeDays(iso, now) {
  const days = Math.round((new Date(iso).getTime() - now) / DAY_MS);
  if (days === 0) return 'today';
  if (days > 0) return `in ${days} day${days === 1 ? '' : 's'}`;
  return `${-days} day${days === -1 ? '' : 's'} ago`;
}

/**
 * Where the app is in its lifecycle and what happens next, in one sentence. The grace periods
 * are the service's settings (README: IDLE_AFTER_DAYS_*, DISABLE_AFTER_IDLE_DAYS,
 * ARCHIVE_AFTER_DISABLED_DAYS); the dates the API gives (archived, restorable until, exempt
 * until) are said exactly.
 * @param {App} app
 * @param {number} now
 * @returns {{ now: string, next: string }}
 */
export function lifecycleOf(app, now) {
  const lc = app.lifecycle;
  const exempt = lc.exemptUntil && new Date(lc.exemptUntil).getTime() > now;
  const exemption = exempt && lc.exemptUntil ? ` Exempt from the lifecycle until ${day(lc.exemptUntil)}.` : '';
  switch (app.state) {
    case 'active':
      return {
        now: `Active; last used ${day(lc.lastActivityAt)} (${relativeDays(lc.lastActivityAt, now)}).`,
        next: exempt
          ? `Exempt from the lifecycle until ${day(/** @type {string} */ (lc.exemptUntil))}.`
          : `Goes idle after its tier's idle period without activity (${app.tier ?? 'high'} tier).`,
      };
    case 'idle':
      return {
        now: `Idle since ${day(app.stateChangedAt)}; last used ${day(lc.lastActivityAt)}.`,
        next: `Disabled after the idle grace period unless used (any activity makes it active again), or restore it now.${exemption}`,
      };
    case 'disabled':
      return {
        now: `Disabled on ${day(lc.disabledAt ?? app.stateChangedAt)}; the owner was notified.`,
        next: `Archived after the grace period unless restored.${exemption}`,
      };
    case 'archived':
      return {
        now: `Archived on ${day(lc.archivedAt ?? app.stateChangedAt)}; its code and data references are kept.`,
        next: lc.restorableUntil
          ? `Restorable until ${day(lc.restorableUntil)} (${relativeDays(lc.restorableUntil, now)}); purged after that, for good.${exemption}`
          : `Purged at the end of its restore window.${exemption}`,
      };
    case 'purged':
      return { now: `Purged on ${day(app.stateChangedAt)}.`, next: 'Nothing: a purge is final. Its history stays.' };
    case 'pending_approval':
      return { now: 'Waiting for an approver.', next: 'An approver who neither requested nor owns it decides.' };
    case 'held':
      return {
        now: 'Held for review: the policy could not decide.',
        next: 'Decided again on "Decide again" and by every lifecycle sweep; never approved by default.',
      };
    case 'refused':
      return { now: 'Refused by the policy.', next: 'Change what the reasons say, then decide again.' };
    default:
      return { now: STATE_LABELS[app.state] ?? app.state, next: '' };
  }
}

/**
 * @typedef {object} Roles
 * @property {boolean} responder
 * @property {boolean} approver
 * @property {boolean} admin
 */

/**
 * The roles as the service counts them (an admin may do everything; service-kit's hasRole).
 * @param {string[]} roles
 * @returns {Roles}
 */
export function rolesOf(roles) {
  const admin = roles.includes('admin');
  return {
    admin,
    approver: admin || roles.includes('approver'),
    responder: admin || roles.includes('responder'),
  };
}

/**
 * Why this person may not approve (or reject) the app, or null when they may.
 * @param {App} app
 * @param {{ subject: string, roles: string[] }} me
 */
export function whyNotApprove(app, me) {
  if (app.state !== 'pending_approval') return null;
  if (!rolesOf(me.roles).approver) return 'Only an approver decides: you are not one.';
  if (app.requestedBy === me.subject) return 'You requested this app: another approver must decide.';
  if (app.ownerSubject === me.subject) return 'You own this app: another approver must decide.';
  return null;
}

/**
 * Why this person may not restore the app, or null when they may.
 * @param {App} app
 * @param {{ subject: string, roles: string[] }} me
 * @param {number} now
 */
export function whyNotRestore(app, me, now) {
  if (!['idle', 'disabled', 'archived'].includes(app.state)) return null;
  const { restorableUntil } = app.lifecycle;
  if (app.state === 'archived' && restorableUntil && new Date(restorableUntil).getTime() <= now) {
    return `The restore window ended on ${day(restorableUntil)}.`;
  }
  if (rolesOf(me.roles).admin) return null;
  if (app.ownerSubject && app.ownerSubject === me.subject) return null;
  return app.ownerSubject
    ? 'Only its owner or an admin can restore it.'
    : 'Only an admin can restore it: it has no owner on record.';
}

/**
 * The API's field path for a 400 issue (`owner.name`, `endpoints.0.host`) → the form field it
 * belongs to (the first segment that is a form field, most specific first).
 * @param {string} path
 * @param {readonly string[]} fields
 */
export function fieldOfIssue(path, fields) {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join('.');
    if (fields.includes(candidate)) return candidate;
  }
  return null;
}
