// @ts-check
import { request } from './client.js';
import { append, h } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { personName } from './model.js';
import { messageOf } from './parts.js';

/** @typedef {import('./types.js').KillSwitch} KillSwitch */

/**
 * The global kill switch: whether it is engaged, since when, by whom and why; engage it (every
 * running drill stops and everything it fired is resolved; new runs are refused) or re-arm it,
 * for the roles the API allows (approver, admin).
 * @param {HTMLElement} view
 * @param {{ canUse: boolean, current: KillSwitch, changed: (state: KillSwitch) => void }} ctx
 * @returns {(state: KillSwitch) => void} shows the switch as read meanwhile
 */
export function renderKillSwitch(view, ctx) {
  const stateCard = h('section', { class: 'card kill-state', 'aria-labelledby': 'kill-state-title' });
  const result = h('p', { id: 'kill-switch-result', class: 'result', role: 'status', tabindex: '-1' });
  const reason = h('input', {
    id: 'kill-switch-reason',
    name: 'reason',
    required: true,
    minlength: '3',
    maxlength: '1000',
  });
  const submit = h('button', { id: 'kill-switch-submit', type: 'submit', class: 'primary' });
  const hint = h('span', { id: 'kill-switch-reason-hint', class: 'muted small' });
  reason.setAttribute('aria-describedby', hint.id);
  let state = ctx.current;

  const show = (/** @type {KillSwitch} */ next) => {
    state = next;
    const since = next.changedAt
      ? `${next.engaged ? 'Engaged' : 'Re-armed'} by ${personName(next.changedBy)} at ${clockTime(next.changedAt)}`
      : 'Never engaged';
    stateCard.replaceChildren();
    append(stateCard, [
      h('h2', { id: 'kill-state-title', text: 'Kill switch' }),
      h('p', {
        id: 'kill-switch-state',
        class: `kill-word ${next.engaged ? 'kill-engaged' : 'kill-armed'}`,
        text: next.engaged ? 'ENGAGED: no drill runs' : 'Armed: drills may run',
      }),
      h('p', { text: since, title: next.changedAt ? exactTime(next.changedAt) : '' }),
      next.reason
        ? h('p', {}, h('span', { class: 'muted', text: 'Reason: ' }), h('span', { text: next.reason }))
        : null,
    ]);
    submit.textContent = next.engaged ? 'Re-arm' : 'Engage the kill switch';
    submit.classList.toggle('danger', !next.engaged);
    hint.textContent = next.engaged
      ? 'Re-arming lets new drills start again. Say why it is safe now; it is audited.'
      : 'Every running drill stops at once and everything it fired is resolved; no new drill starts until someone re-arms. It is audited.';
  };

  const form = h(
    'form',
    {
      class: 'card kill-form',
      'aria-labelledby': 'kill-form-title',
      on: {
        submit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          const engaging = !state.engaged;
          submit.disabled = true;
          try {
            const answer = /** @type {KillSwitch & { stoppedRuns?: string[] }} */ (
              await request('POST', `/drills/v1/kill-switch/${engaging ? 'engage' : 'rearm'}`, { reason: reason.value })
            );
            reason.value = '';
            result.className = 'result result-ok';
            const stopped = answer.stoppedRuns?.length ?? 0;
            result.textContent = engaging
              ? `Engaged. ${stopped === 1 ? '1 drill was stopped' : `${stopped} drills were stopped`}; everything they fired is being resolved.`
              : 'Re-armed: drills may run again.';
            show(answer);
            ctx.changed(answer);
          } catch (error) {
            result.className = 'result result-error';
            result.textContent = `Refused: ${messageOf(error)}`;
          } finally {
            submit.disabled = false;
            result.focus();
          }
        },
      },
    },
    h('h2', { id: 'kill-form-title', text: 'Engage or re-arm' }),
    h('label', { class: 'field', for: reason.id }, 'Reason', reason, hint),
    h('p', { class: 'buttons' }, submit),
    result,
  );

  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Kill switch' })),
    h(
      'p',
      { class: 'intro' },
      'One switch for every drill, on every replica: engaged, it stops every running drill within seconds, resolves everything they fired at every target, and refuses new runs until re-armed.',
    ),
    h(
      'div',
      { class: 'kill-grid' },
      stateCard,
      ctx.canUse
        ? form
        : h('p', { class: 'why-not', text: 'Engaging or re-arming the kill switch needs the approver or admin role.' }),
    ),
  );
  show(state);
  return (next) => {
    if (JSON.stringify(next) !== JSON.stringify(state)) show(next);
  };
}
