// @ts-check
import { h } from './common/dom.js';
import { duration } from './common/time.js';
import { STATE_LABELS } from './model.js';

/*
 * Small pieces the drills pages share: badges whose words are always written out (colour is
 * never the only cue), countdowns that tick, a result line, and re-rendering that keeps the
 * keyboard focus where it was.
 */

/** A run's state. @param {string} state */
export function stateBadge(state) {
  return h('span', { class: `state state-${state}`, text: STATE_LABELS[state] ?? state });
}

/** A severity. @param {string} severity */
export function severityBadge(severity) {
  return h('span', { class: `badge sev sev-${severity}`, text: severity.toUpperCase() });
}

/** The environment: production is marked in words and with a border, never by colour alone. @param {string} environment */
export function environmentBadge(environment) {
  return environment === 'production'
    ? h('span', { class: 'env env-production', text: 'PRODUCTION' })
    : h('span', { class: 'env env-staging', text: 'staging' });
}

/**
 * A countdown to `deadline` (browser time), kept up to date by `tickCountdowns`.
 * @param {number} deadline
 * @param {string} label what ends ("expires", "lapses"), for screen readers and the title
 */
export function countdown(deadline, label) {
  const el = h('span', {
    class: 'countdown',
    data: { deadline: String(deadline) },
    title: `${label} at ${new Date(deadline).toLocaleTimeString()}`,
  });
  el.textContent = countdownText(deadline, Date.now());
  return el;
}

/** @param {number} deadline @param {number} now */
const countdownText = (deadline, now) => (deadline <= now ? 'now' : `in ${duration(deadline - now)}`);

/** Updates every countdown on the page. @param {number} now */
export function tickCountdowns(now) {
  for (const el of document.querySelectorAll('.countdown[data-deadline]')) {
    const deadline = Number(/** @type {HTMLElement} */ (el).dataset.deadline);
    const text = countdownText(deadline, now);
    if (el.textContent !== text) el.textContent = text;
  }
}

/**
 * A line saying how an action went: the API's own message as text.
 * @param {string} id
 */
export function resultLine(id) {
  const el = h('p', { id, class: 'result', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    /** @param {string} message */
    ok(message) {
      el.className = 'result result-ok';
      el.textContent = message;
    },
    /** @param {string} message */
    failed(message) {
      el.className = 'result result-error';
      el.textContent = `Refused: ${message}`;
    },
    clear() {
      el.className = 'result';
      el.textContent = '';
    },
  };
}

/**
 * Replaces `container`'s children with what `build` gives, then puts the keyboard focus back on
 * the element with the same id (a refresh must not throw someone tabbing through the rows out).
 * @param {HTMLElement} container
 * @param {() => (Node | string)[]} build
 */
export function rerender(container, build) {
  const active = document.activeElement;
  const id = active instanceof HTMLElement && container.contains(active) ? active.id : '';
  // A field being typed in keeps its caret and selection, or the next keys land elsewhere.
  const start = isTextField(active) ? active.selectionStart : null;
  const end = isTextField(active) ? active.selectionEnd : null;
  container.replaceChildren(...build());
  if (!id) return;
  const next = document.getElementById(id);
  next?.focus();
  if (isTextField(next) && start !== null && end !== null) next.setSelectionRange(start, end);
}

/** @param {Element | null} el @returns {el is HTMLInputElement | HTMLTextAreaElement} */
const isTextField = (el) =>
  (el instanceof HTMLInputElement && el.selectionStart !== null) || el instanceof HTMLTextAreaElement;

/** @param {unknown} error */
export const messageOf = (error) => (error instanceof Error ? error.message : String(error));
