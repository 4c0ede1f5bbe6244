// @ts-check
import { ApiError, api, query } from './api.js';
import { h } from './dom.js';

/**
 * @typedef {{ id: string, name: string, email?: string, summary?: string }} Target
 * @typedef {'user' | 'escalation_policy' | 'schedule'} TargetKind
 */

/** How long typing pauses before the list is asked for. */
const DEBOUNCE_MS = 250;

let pickers = 0;

/**
 * A searchable picker of the incident's provider's users, escalation policies or schedules
 * (GET /v1/incidents/:id/targets): a combobox input with a listbox of results as one types
 * (debounced), ↑/↓ to move, Enter to choose, Esc to close. The chosen item's name is shown and
 * its id is what `value()` gives. When the provider cannot list, the reason is shown and what is
 * typed is taken as a raw id instead.
 *
 * @param {{
 *   incidentId: string,
 *   kind: TargetKind,
 *   label: string,
 *   placeholder?: string,
 *   required?: boolean,
 *   providerName: string,
 * }} opts
 */
export function createPicker(opts) {
  pickers += 1;
  const uid = `picker-${pickers}`;
  const what = { user: 'users', escalation_policy: 'escalation policies', schedule: 'schedules' }[opts.kind];
  const listbox = h('ul', {
    class: 'picker-list',
    id: `${uid}-list`,
    role: 'listbox',
    'aria-label': opts.label,
    hidden: true,
  });
  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id: `${uid}-input`,
      class: 'picker-input',
      role: 'combobox',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-autocomplete': 'list',
      'aria-expanded': 'false',
      'aria-controls': listbox.id,
      'aria-describedby': `${uid}-note`,
      placeholder: opts.placeholder ?? `Type a name to search ${what}`,
    })
  );
  const placeholder = input.placeholder;
  if (opts.required) input.required = true;
  const note = h('p', { class: 'picker-note', id: `${uid}-note`, 'aria-live': 'polite' });
  const element = h(
    'div',
    { class: 'picker' },
    h('label', { for: input.id }, h('span', { text: opts.label })),
    h('div', { class: 'picker-box' }, input, listbox),
    note,
  );

  /** @type {Target[]} */
  let items = [];
  let active = -1;
  /** @type {Target | null} */
  let chosen = null;
  /** Set when the provider cannot list: what is typed is sent as an id. */
  let fallback = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {AbortController | null} */
  let inFlight = null;
  let asked = '';

  const say = (/** @type {string} */ text, /** @type {string} */ kind = '') => {
    note.textContent = text;
    note.className = `picker-note${kind ? ` ${kind}` : ''}`;
  };

  const close = () => {
    listbox.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const highlight = (/** @type {number} */ index) => {
    active = index;
    for (const [i, li] of Array.from(listbox.children).entries()) {
      li.setAttribute('aria-selected', String(i === index));
      if (i === index) {
        input.setAttribute('aria-activedescendant', li.id);
        /** @type {HTMLElement} */ (li).scrollIntoView({ block: 'nearest' });
      }
    }
  };

  const choose = (/** @type {Target} */ item) => {
    chosen = item;
    input.value = item.name;
    close();
    say(`Chosen: ${item.name}${item.email ? ` <${item.email}>` : ''} (${opts.providerName} id ${item.id})`, 'chosen');
  };

  const show = () => {
    listbox.replaceChildren(
      ...items.map((item, i) =>
        h(
          'li',
          { id: `${uid}-option-${i}`, role: 'option', 'aria-selected': 'false', class: 'picker-option' },
          h('span', { class: 'picker-name', text: item.name }),
          item.email || item.summary
            ? h('span', { class: 'picker-meta', text: [item.email, item.summary].filter(Boolean).join(' · ') })
            : null,
        ),
      ),
    );
    if (items.length === 0) {
      listbox.append(h('li', { class: 'picker-empty', role: 'presentation', text: `No ${what} match “${asked}”` }));
    }
    listbox.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
    if (items.length > 0) highlight(0);
  };

  const search = async () => {
    const q = input.value.trim();
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    asked = q;
    try {
      /** @type {{ items: Target[] }} */
      const res = await api(
        `/v1/incidents/${encodeURIComponent(opts.incidentId)}/targets${query({ kind: opts.kind, q })}`,
        { signal: controller.signal },
      );
      if (controller.signal.aborted) return;
      items = res.items;
      input.placeholder = placeholder;
      if (!chosen) say(items.length > 0 ? `${items.length} ${what} found: ↑/↓ to move, Enter to choose` : '');
      if (document.activeElement === input) show();
    } catch (error) {
      if (controller.signal.aborted) return;
      fallback = true;
      close();
      const reason = error instanceof ApiError ? error.message : String(error);
      say(
        `${opts.providerName} ${what} cannot be listed here (${reason}). Type the ${opts.providerName} id instead.`,
        'error',
      );
      input.placeholder = `${opts.providerName} id`;
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    if (fallback) return;
    timer = setTimeout(() => void search(), DEBOUNCE_MS);
  };

  input.addEventListener('input', () => {
    if (chosen && input.value !== chosen.name) {
      chosen = null;
      say('');
    }
    schedule();
  });
  input.addEventListener('focus', () => {
    // After a failure, coming back to an empty field tries the provider again.
    if (fallback && input.value.trim() === '') fallback = false;
    if (!fallback && !chosen) schedule();
  });
  input.addEventListener('blur', () => {
    // Let a click on an option land first.
    setTimeout(close, 150);
  });
  input.addEventListener('keydown', (event) => {
    const open = !listbox.hidden && items.length > 0;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!open) {
        if (!fallback) void search();
        return;
      }
      const step = event.key === 'ArrowDown' ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if (event.key === 'Enter' && open && active >= 0) {
      // Enter chooses; it submits the form only once the list is closed.
      event.preventDefault();
      const item = items[active];
      if (item) choose(item);
    } else if (event.key === 'Escape' && !listbox.hidden) {
      // Closes the list without leaving the page.
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  });
  listbox.addEventListener('mousedown', (event) => {
    const li = event.target instanceof Element ? event.target.closest('[role="option"]') : null;
    if (!li) return;
    event.preventDefault();
    const index = Array.from(listbox.children).indexOf(li);
    const item = items[index];
    if (item) choose(item);
  });

  return {
    element,
    input,
    /**
     * The id to send: the chosen item's; what was typed when the provider cannot list; null when
     * nothing was chosen (with the reason shown when something was typed but not chosen).
     * @returns {string | null}
     */
    value() {
      if (chosen) return chosen.id;
      const typed = input.value.trim();
      if (fallback) return typed || null;
      if (typed) say(`Choose one of the ${what} from the list (type part of a name, then ↓ and Enter).`, 'error');
      return null;
    },
    /** Whether anything was typed or chosen. */
    filled() {
      return input.value.trim() !== '';
    },
    reset() {
      chosen = null;
      input.value = '';
      items = [];
      close();
      if (!fallback) say('');
    },
  };
}
