// @ts-check
import { ApiError } from './api.js';

/*
 * Acting on several incidents at once from the list (bulk acknowledge, resolve, add note): the
 * selection, which of the selected incidents an action applies to, sending it with a small
 * concurrency limit, and each incident's result in words. No DOM here: dashboard.js draws it.
 *
 * A bulk action is one request per incident to the same endpoint the incident page uses
 * (`POST /v1/incidents/:id/actions`), so the server checks, audits and answers each one exactly as
 * it does a single action; nothing is sent in one batch.
 */

/** @typedef {import('./types.js').Incident} Incident */
/** @typedef {'acknowledge' | 'resolve' | 'note'} BulkAction */
/** @typedef {'succeeded' | 'refused' | 'failed' | 'unknown' | 'skipped'} BulkOutcome */
/** @typedef {{ id: string, outcome: BulkOutcome, text: string }} BulkResult */

/** Requests in flight at once: enough to be quick, few enough not to flood the provider. */
export const BULK_CONCURRENCY = 4;

/** Providers this service can act on (generic incidents are handled at their source). */
const ACTIONABLE = new Set(['pagerduty', 'opsgenie', 'alertmanager']);

/** @type {Record<string, string>} */
const PROVIDER_NAMES = { pagerduty: 'PagerDuty', opsgenie: 'Opsgenie', alertmanager: 'Alertmanager' };

/** @type {Record<BulkAction, { label: string, running: string, done: string }>} */
export const BULK_ACTIONS = {
  acknowledge: { label: 'Acknowledge', running: 'Acknowledging', done: 'acknowledged' },
  resolve: { label: 'Resolve', running: 'Resolving', done: 'resolved' },
  note: { label: 'Add note', running: 'Adding the note to', done: 'noted' },
};

/** The word a result is shown with (never colour alone). */
/** @type {Record<BulkOutcome, string>} */
export const OUTCOME_LABELS = {
  succeeded: 'Done',
  refused: 'Refused',
  failed: 'Failed',
  unknown: 'Outcome unknown',
  skipped: 'Skipped',
};

/** Whether the list offers a checkbox for the incident: only those this service can act on. */
export function isSelectable(/** @type {Pick<Incident, 'provider'>} */ incident) {
  return ACTIONABLE.has(incident.provider);
}

/**
 * The list's selection: incident ids, in the order they were selected. It holds only incidents
 * the list shows: `keepOnly` drops the others after every change of the list (an incident that
 * is resolved off the list, or hidden by a filter, leaves the selection, so nothing unseen is
 * acted on).
 */
export function createSelection() {
  /** @type {Set<string>} */
  const ids = new Set();
  return {
    has: (/** @type {string} */ id) => ids.has(id),
    get size() {
      return ids.size;
    },
    /** The selected ids, in selection order. */
    ids: () => [...ids],
    /** @param {string} id @param {boolean} [on] @returns {boolean} whether it is selected now */
    toggle(id, on = !ids.has(id)) {
      if (on) ids.add(id);
      else ids.delete(id);
      return on;
    },
    /** Selects every id given, or unselects them all (the header's checkbox). @param {Iterable<string>} list @param {boolean} on */
    setAll(list, on) {
      for (const id of list) {
        if (on) ids.add(id);
        else ids.delete(id);
      }
    },
    clear() {
      ids.clear();
    },
    /**
     * Drops every selected id not in `shown`; returns the ids dropped.
     * @param {Set<string>} shown
     */
    keepOnly(shown) {
      const dropped = [...ids].filter((id) => !shown.has(id));
      for (const id of dropped) ids.delete(id);
      return dropped;
    },
    /**
     * What the header's checkbox shows for the selectable incidents shown.
     * @param {string[]} shown
     * @returns {'none' | 'some' | 'all'}
     */
    headerState(shown) {
      const selected = shown.filter((id) => ids.has(id)).length;
      if (selected === 0) return 'none';
      return selected === shown.length ? 'all' : 'some';
    },
  };
}

/**
 * The ids from `from` to `to` (either order, both included) in the list's order: what a
 * Shift+click selects. Just `to` when `from` is not in the list (no anchor, or it left the list).
 * @param {string[]} list
 * @param {string | null} from
 * @param {string} to
 */
export function rangeBetween(list, from, to) {
  const a = from === null ? -1 : list.indexOf(from);
  const b = list.indexOf(to);
  if (b === -1) return [];
  if (a === -1) return [to];
  return list.slice(Math.min(a, b), Math.max(a, b) + 1);
}

/**
 * Why the action is not sent for this incident, or null when it is. What would only be refused
 * (Alertmanager takes no notes) or mean nothing (acknowledging an acknowledged incident) is
 * skipped here, said as such; everything else goes to the server, which decides and audits.
 * @param {BulkAction} action
 * @param {Pick<Incident, 'provider' | 'status'>} incident
 * @returns {string | null}
 */
export function skipReason(action, incident) {
  const provider = PROVIDER_NAMES[incident.provider] ?? incident.provider;
  if (!ACTIONABLE.has(incident.provider)) return `${provider} incidents are handled at their source`;
  if (incident.status === 'resolved' && action !== 'note') return 'already resolved';
  if (action === 'acknowledge' && incident.status === 'acknowledged') return 'already acknowledged';
  if (action === 'note' && incident.provider === 'alertmanager') return 'Alertmanager incidents take no notes';
  return null;
}

/**
 * The request body of the action for one incident.
 * @param {BulkAction} action
 * @param {string} [note]
 */
export function actionBody(action, note) {
  if (action === 'note') {
    const text = (note ?? '').trim();
    if (!text) throw new Error('a note needs some text');
    return { action, note: text };
  }
  return { action };
}

/**
 * What an incident's request came to, in words, from the API's answer or error.
 * @param {string} id
 * @param {{ ok: true, detail?: string } | { ok: false, error: unknown }} answer
 * @returns {BulkResult}
 */
export function resultOf(id, answer) {
  if (answer.ok) return { id, outcome: 'succeeded', text: answer.detail || 'done' };
  const error = answer.error;
  if (!(error instanceof ApiError)) {
    return { id, outcome: 'failed', text: error instanceof Error ? error.message : String(error) };
  }
  const ref = error.requestId ? ` (request ${error.requestId})` : '';
  // The provider may have done it: not called a failure (the incident page says the same).
  if (error.code === 'outcome_unknown') return { id, outcome: 'unknown', text: `${error.message}${ref}` };
  // 4xx: refused here before anything reached the provider (or not allowed at all).
  const refused = error.status >= 400 && error.status < 500;
  return { id, outcome: refused ? 'refused' : 'failed', text: `${error.message}${ref}` };
}

/** The result as one line of text, e.g. `Failed: PagerDuty answered 404: Not Found`. @param {BulkResult} r */
export function resultText(r) {
  return `${OUTCOME_LABELS[r.outcome]}: ${r.text}`;
}

/**
 * One line for the bar: progress while running, then the tally, e.g.
 * `Acknowledge: 9 done, 1 failed` or `Acknowledging 10 incidents… 4 of 10 answered`.
 * @param {BulkAction} action
 * @param {BulkResult[]} results
 * @param {number} total incidents in the run (skipped ones included)
 */
export function summary(action, results, total) {
  const { label, running } = BULK_ACTIONS[action];
  const plural = (/** @type {number} */ n) => `${n} incident${n === 1 ? '' : 's'}`;
  if (results.length < total) return `${running} ${plural(total)}… ${results.length} of ${total} answered`;
  /** @type {Record<BulkOutcome, number>} */
  const tally = { succeeded: 0, refused: 0, failed: 0, unknown: 0, skipped: 0 };
  for (const r of results) tally[r.outcome] += 1;
  const parts = /** @type {BulkOutcome[]} */ (['succeeded', 'failed', 'refused', 'unknown', 'skipped'])
    .filter((o) => tally[o] > 0)
    .map((o) => `${tally[o]} ${OUTCOME_LABELS[o].toLowerCase()}`);
  return `${label} on ${plural(total)}: ${parts.join(', ')}`;
}

/**
 * Runs `work` for every item, at most `concurrency` at a time, in order of the list; calls
 * `onResult` as each one settles. Resolves with the results in the list's order; never rejects
 * (`work` turns its own errors into results).
 * @template T
 * @param {T[]} items
 * @param {(item: T) => Promise<BulkResult>} work
 * @param {{ concurrency?: number, onResult?: (result: BulkResult, index: number) => void }} [opts]
 * @returns {Promise<BulkResult[]>}
 */
export async function runPool(items, work, opts = {}) {
  const concurrency = Math.max(1, opts.concurrency ?? BULK_CONCURRENCY);
  /** @type {BulkResult[]} */
  const results = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      const result = await work(/** @type {T} */ (items[index]));
      results[index] = result;
      opts.onResult?.(result, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

/**
 * Carries out `action` on each incident: skipped where `skipReason` says so, otherwise one
 * `send(id, body)` per incident (the caller's POST to `/v1/incidents/:id/actions`, with its own
 * Idempotency-Key), at most `concurrency` at a time. Each incident's result is reported as it
 * comes (`onResult`) and returned in the incidents' order.
 * @param {BulkAction} action
 * @param {Pick<Incident, 'id' | 'provider' | 'status'>[]} incidents
 * @param {(id: string, body: Record<string, unknown>) => Promise<{ detail?: string } | undefined>} send
 * @param {{ note?: string, concurrency?: number, onResult?: (result: BulkResult, index: number) => void }} [opts]
 */
export function runBulk(action, incidents, send, opts = {}) {
  const body = actionBody(action, opts.note);
  return runPool(
    incidents,
    async (incident) => {
      const skip = skipReason(action, incident);
      if (skip) return { id: incident.id, outcome: /** @type {const} */ ('skipped'), text: skip };
      try {
        const answer = await send(incident.id, body);
        return resultOf(incident.id, { ok: true, detail: answer?.detail });
      } catch (error) {
        return resultOf(incident.id, { ok: false, error });
      }
    },
    opts,
  );
}
