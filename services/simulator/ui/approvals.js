// @ts-check
import { request } from './client.js';
import { h } from './common/dom.js';
import { clockTime, duration, exactTime } from './common/time.js';
import { deadlineOf, personName, TARGET_LABELS } from './model.js';
import { countdown, environmentBadge, messageOf, rerender, severityBadge } from './parts.js';

/** @typedef {import('./types.js').Run} Run */
/** @typedef {import('./types.js').Settings} Settings */
/** @typedef {import('./common/types.js').Me} Me */

/**
 * The approvals inbox: every run waiting for a second person. Someone with the approver role
 * approves (the run starts) or rejects it with a reason; the API decides, and when it refuses
 * (the requester themselves, no recent multi-factor sign-in) its words are shown as they are.
 * @param {HTMLElement} view
 * @param {{ me: Me, settings: Settings, canApprove: boolean }} ctx
 * @returns {Promise<() => Promise<void>>} refreshes the inbox
 */
export async function renderApprovals(view, ctx) {
  const list = h('div', { class: 'approvals' });
  const status = h('p', { id: 'approvals-status', class: 'muted small', role: 'status' });
  /** Reject reasons being typed, by run id. @type {Map<string, string>} */
  const drafts = new Map();
  /** What the last action on a proposal answered, by run id (kept when it leaves the inbox). @type {Map<string, { ok: boolean, text: string, run: Run }>} */
  const results = new Map();
  /** @type {Run[]} */
  let runs = [];
  let receivedAt = Date.now();
  let shown = '';

  /**
   * @param {Run} run
   * @param {'approve' | 'reject'} action
   * @param {Record<string, string>} [body]
   */
  const act = async (run, action, body) => {
    try {
      const after = /** @type {Run} */ (await request('POST', `/drills/v1/runs/${run.id}/${action}`, body ?? {}));
      drafts.delete(run.id);
      results.set(run.id, {
        ok: true,
        run: after,
        text:
          action === 'approve'
            ? `Approved: ${after.scenario.name} is ${after.state}.`
            : `Rejected: ${after.scenario.name} will not run.`,
      });
    } catch (error) {
      results.set(run.id, { ok: false, run, text: `Refused: ${messageOf(error)}` });
    }
    await refresh().catch(() => draw(true));
    document.getElementById(`approval-result-${run.id}`)?.focus();
  };

  /** @param {Run} run */
  const card = (run) => {
    const result = results.get(run.id);
    const waiting = run.state === 'awaiting_approval';
    const mine = run.requestedBy?.subject === ctx.me.subject;
    const deadline = deadlineOf(run.secondsLeft, receivedAt);
    const reason = h('input', {
      id: `reject-reason-${run.id}`,
      name: 'reason',
      minlength: '3',
      maxlength: '1000',
      required: true,
      value: drafts.get(run.id) ?? '',
      on: { input: () => drafts.set(run.id, reason.value) },
    });
    const actions =
      waiting && ctx.canApprove
        ? h(
            'div',
            { class: 'approval-actions' },
            mine ? h('p', { class: 'why-not', text: 'You proposed this run: someone else must approve it.' }) : null,
            h('button', {
              id: `approve-${run.id}`,
              type: 'button',
              class: 'primary',
              text: 'Approve and start',
              'aria-label': `Approve and start ${run.scenario.name}`,
              on: { click: () => act(run, 'approve') },
            }),
            h(
              'form',
              {
                class: 'inline-form',
                'aria-label': `Reject ${run.scenario.name}`,
                on: {
                  submit: (/** @type {Event} */ event) => {
                    event.preventDefault();
                    void act(run, 'reject', { reason: reason.value });
                  },
                },
              },
              h('label', { class: 'field', for: reason.id }, 'Why reject?', reason),
              h('button', { id: `reject-${run.id}`, type: 'submit', class: 'secondary', text: 'Reject' }),
            ),
          )
        : waiting
          ? h('p', {
              class: 'why-not',
              text: `Approving needs the approver role; you are signed in with: ${ctx.me.roles.join(', ') || 'no role'}.`,
            })
          : null;
    return h(
      'article',
      {
        class: `card approval${run.environment === 'production' ? ' approval-production' : ''}`,
        data: { run: run.id, state: run.state },
        'aria-labelledby': `approval-title-${run.id}`,
      },
      h(
        'h2',
        { id: `approval-title-${run.id}` },
        environmentBadge(run.environment),
        ' ',
        h('span', { class: 'scenario-name', text: run.scenario.name }),
        h('span', { class: 'muted small', text: ` v${run.scenario.version} · ${run.team}` }),
      ),
      h(
        'dl',
        { class: 'fields' },
        h('div', {}, h('dt', { text: 'Severity' }), h('dd', {}, severityBadge(run.severity))),
        h(
          'div',
          {},
          h('dt', { text: 'Requested by' }),
          h('dd', {
            text: `${personName(run.requestedBy)} at ${clockTime(run.createdAt)}`,
            title: exactTime(run.createdAt),
          }),
        ),
        h('div', {}, h('dt', { text: 'Needs approval because' }), h('dd', { text: run.approval.reasons.join('; ') })),
        run.productionReason
          ? h('div', {}, h('dt', { text: 'Why production' }), h('dd', { text: run.productionReason }))
          : null,
        h(
          'div',
          {},
          h('dt', { text: 'Targets' }),
          h('dd', { text: run.targets.map((t) => TARGET_LABELS[t] ?? t).join(', ') }),
        ),
        h(
          'div',
          {},
          h('dt', { text: waiting ? 'Proposal lapses' : 'State' }),
          h('dd', {}, waiting && deadline !== null ? countdown(deadline, 'lapses') : run.state.replace('_', ' ')),
        ),
        h('div', {}, h('dt', { text: 'Runs for at most' }), h('dd', { text: duration(run.maxDurationSeconds * 1000) })),
      ),
      actions,
      result
        ? h('p', {
            id: `approval-result-${run.id}`,
            class: `result ${result.ok ? 'result-ok' : 'result-error'}`,
            role: 'status',
            tabindex: '-1',
            text: result.text,
          })
        : null,
    );
  };

  /** @param {boolean} [force] */
  function draw(force = false) {
    // A proposal someone just decided stays in view with its outcome until the page is left.
    const decided = [...results.values()].filter((r) => r.ok && !runs.some((w) => w.id === r.run.id)).map((r) => r.run);
    const all = [...runs, ...decided];
    status.textContent =
      runs.length === 0
        ? 'Nothing waits for approval.'
        : `${runs.length} ${runs.length === 1 ? 'run waits' : 'runs wait'} for approval.`;
    const signature = JSON.stringify([all.map((r) => ({ ...r, secondsLeft: null })), [...results.entries()]]);
    if (!force && signature === shown) return;
    shown = signature;
    rerender(list, () => all.map(card));
  }

  async function refresh() {
    const { items } = /** @type {{ items: Run[] }} */ (await request('GET', '/drills/v1/runs?state=awaiting_approval'));
    runs = items;
    receivedAt = Date.now();
    draw();
  }

  const maxAge = ctx.settings.approval.mfa?.maxAuthAgeSeconds;
  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Approvals' })),
    h(
      'p',
      { class: 'intro' },
      `Runs that fire ${ctx.settings.approval.severityThreshold} or worse, and every production run, wait here for a second person with the approver role. Approving needs a multi-factor sign-in${maxAge ? ` within the last ${duration(maxAge * 1000)}` : ''}; nobody approves their own run.`,
    ),
    status,
    list,
  );
  await refresh();
  draw(true);
  return refresh;
}
