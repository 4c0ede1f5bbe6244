// @ts-check

import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { rolesOf } from './model.js';

/**
 * @typedef {import('./types.js').ControlException} ControlException
 * @typedef {import('./types.js').App} App
 * @typedef {ControlException & { app: string, appState: string }} ListedException
 * @typedef {{ subject: string, roles: string[] }} Me
 * @typedef {(text: string, kind: 'ok' | 'error') => void} Say
 */

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/** The statuses the list can show ('' = all). */
const STATUSES = Object.freeze({
  pending: 'Waiting for an approver',
  approved: 'Approved',
  rejected: 'Rejected',
  '': 'All',
});

/**
 * Why this person may not decide the exception, or null when they may (the service checks again).
 * @param {ControlException} x @param {Me} me
 */
export function whyNotDecideException(x, me) {
  if (x.status !== 'pending') return null;
  if (!rolesOf(me.roles).approver) return 'Only an approver decides exceptions.';
  if (x.requestedBy === me.subject) return 'You asked for it: another approver must decide.';
  return null;
}

/**
 * Approve and Reject for a pending exception (or why not). Both are audited by the service.
 * @param {ControlException} x @param {Me} me @param {Say} say @param {() => Promise<void>} done
 */
export function exceptionActions(x, me, say, done) {
  if (x.status !== 'pending') return null;
  const whyNot = whyNotDecideException(x, me);
  if (whyNot) return h('span', { class: 'why-not', text: whyNot });
  const base = `/apps/v1/apps/${encodeURIComponent(x.appId)}/exceptions/${encodeURIComponent(x.id)}`;
  const approve = h('button', {
    type: 'button',
    class: 'primary',
    text: 'Approve',
    'aria-label': `Approve the ${x.control} exception`,
  });
  const reject = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Reject',
    'aria-label': `Reject the ${x.control} exception`,
  });
  const run = async (/** @type {'approve' | 'reject'} */ what) => {
    approve.disabled = reject.disabled = true;
    try {
      await request('POST', `${base}/${what}`);
      await done();
      say(`The ${x.control.replaceAll('_', ' ')} exception is ${what === 'approve' ? 'approved' : 'rejected'}.`, 'ok');
    } catch (error) {
      approve.disabled = reject.disabled = false;
      say(`${what === 'approve' ? 'Approval' : 'Rejection'} refused: ${messageOf(error)}`, 'error');
    }
  };
  approve.addEventListener('click', () => void run('approve'));
  reject.addEventListener('click', () => void run('reject'));
  return h('span', { class: 'buttons' }, approve, reject);
}

/** YYYY-MM-DD of a date `days` from now (the date input's value). @param {number} days */
const dateInDays = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Ask for a time-limited exception to one of the app's required controls that is not met (and
 * has no exception pending or in force).
 * @param {App} app @param {ControlException[]} existing @param {Say} say @param {() => Promise<void>} done
 */
export function exceptionRequestForm(app, existing, say, done) {
  const now = Date.now();
  const covered = new Set(
    existing
      .filter((x) => x.status === 'pending' || (x.status === 'approved' && Date.parse(x.expiresAt) > now))
      .map((x) => x.control),
  );
  const open = (app.decision?.controls ?? []).filter(
    (c) => c.id !== 'human_approval' && !covered.has(c.id) && ['missing', 'failing', 'violated'].includes(c.status),
  );
  if (open.length === 0) return null;
  const control = h(
    'select',
    { id: 'exception-control', name: 'control', required: true },
    open.map((c) => h('option', { value: c.id, text: `${c.title} (${c.status})` })),
  );
  const reason = h('textarea', { id: 'exception-reason', name: 'reason', rows: 2, required: true, maxlength: 2000 });
  const until = h('input', {
    id: 'exception-until',
    name: 'until',
    type: 'date',
    required: true,
    value: dateInDays(30),
    min: dateInDays(1),
  });
  const problem = h('p', { class: 'form-problem', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'secondary', text: 'Ask for the exception' });
  const form = h(
    'form',
    { class: 'approval-form exception-form', 'aria-labelledby': 'exception-form-title' },
    h('h3', { id: 'exception-form-title', text: 'Ask for an exception' }),
    h('p', {
      class: 'muted small',
      text: 'One control, until a date; another approver decides, and it ends on its own.',
    }),
    h('label', { class: 'field', for: 'exception-control' }, 'Control', control),
    h('label', { class: 'field', for: 'exception-reason' }, 'Why (the approver reads it)', reason),
    h('label', { class: 'field', for: 'exception-until' }, 'Until (end of the day, UTC)', until),
    problem,
    h('div', { class: 'buttons' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    submit.disabled = true;
    try {
      await request('POST', `/apps/v1/apps/${encodeURIComponent(app.id)}/exceptions`, {
        body: {
          control: control.value,
          reason: reason.value.trim(),
          expiresAt: `${until.value}T23:59:59Z`,
        },
      });
      await done();
      say('Exception asked for: an approver decides it.', 'ok');
    } catch (error) {
      submit.disabled = false;
      problem.textContent = `Not asked: ${messageOf(error)}`;
      problem.hidden = false;
    }
  });
  return form;
}

/**
 * Exceptions across all apps: by default those waiting for an approver, each with Approve and
 * Reject (not for the person who asked); the others with who decided them.
 * @param {HTMLElement} view
 * @param {{ me: Me, search: string, navigate: (path: string) => void }} ctx
 */
export async function renderExceptions(view, ctx) {
  document.title = 'Exceptions · Apps · micro-oncall';
  const status = new URLSearchParams(ctx.search).get('status') ?? 'pending';
  const notice = h('p', { id: 'action-result', class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
  /** @type {Say} */
  const say = (text, kind) => {
    notice.textContent = text;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
  };
  const select = h(
    'select',
    { id: 'exceptions-status', name: 'status' },
    Object.entries(STATUSES).map(([v, text]) => h('option', { value: v, text, selected: v === status })),
  );
  select.addEventListener('change', () =>
    ctx.navigate(select.value ? `/apps/exceptions?status=${select.value}` : '/apps/exceptions?status='),
  );
  const list = h('div', {});

  const load = async () => {
    const query = status ? `?status=${encodeURIComponent(status)}` : '';
    const { body } = /** @type {{ body: { items: ListedException[] } }} */ (
      await request('GET', `/apps/v1/exceptions${query}`)
    );
    list.replaceChildren(
      body.items.length === 0
        ? h('p', {
            class: 'muted',
            text: status === 'pending' ? 'No exception is waiting for an approver.' : 'No exceptions.',
          })
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'exceptions-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['App', 'Control', 'Why', 'Until', 'Asked by', 'Status'].map((t) =>
                    h('th', { scope: 'col', text: t }),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                body.items.map((x) =>
                  h(
                    'tr',
                    { data: { exception: x.id, app: x.app } },
                    h('td', {}, navLink(`/apps/${x.appId}`, { class: 'app-link', text: x.app })),
                    h('td', { text: x.control.replaceAll('_', ' ') }),
                    h('td', { text: x.reason }),
                    h(
                      'td',
                      {},
                      h('time', { datetime: x.expiresAt, title: exactTime(x.expiresAt), text: clockTime(x.expiresAt) }),
                    ),
                    h('td', { text: x.requestedBy }),
                    h(
                      'td',
                      {},
                      x.status === 'pending'
                        ? exceptionActions(x, ctx.me, say, load)
                        : h('span', { text: `${x.status}${x.decidedBy ? ` by ${x.decidedBy}` : ''}` }),
                    ),
                  ),
                ),
              ),
            ),
          ),
    );
  };

  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Exceptions' })),
    h(
      'p',
      { class: 'muted' },
      'Time-limited exceptions to one control of one app. A responder asks on the app’s page; another approver decides here. Every request and decision is audited. ',
      navLink('/apps/governance', { text: 'Governance' }),
    ),
    h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Which exceptions' },
      h('label', { class: 'field', for: 'exceptions-status' }, 'Show', select),
    ),
    notice,
    list,
  );
  await load();
}
