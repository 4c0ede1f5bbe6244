// @ts-check

import { RequestError, request } from './client.js';
import { getJson } from './common/api.js';
import { append, externalLink, h, isAllowedHref } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { decisionView } from './decision.js';
import { exceptionActions, exceptionRequestForm } from './exceptions.js';
import { stateBadge, tierBadge } from './list.js';
import {
  DATA_LABELS,
  EXPOSURE_LABELS,
  IMPACT_LABELS,
  lifecycleOf,
  RUNTIME_LABELS,
  rolesOf,
  SLA_LABELS,
  whyNotApprove,
  whyNotRestore,
} from './model.js';

/** @typedef {import('./types.js').App} App */
/** @typedef {import('./types.js').HistoryEntry} HistoryEntry */
/** @typedef {import('./types.js').Evidence} Evidence */
/** @typedef {import('./types.js').ControlException} ControlException */
/** @typedef {{ subject: string, roles: string[] }} Me */

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/** @param {string} iso */
const when = (iso) => h('time', { datetime: iso, title: exactTime(iso), text: clockTime(iso) });

/**
 * One app: fields, owners, lifecycle and what happens next, the latest decision with its
 * reasons, controls, evidence, exceptions, the append-only history, and the actions this
 * person may take (or why not).
 * @param {HTMLElement} view
 * @param {{ id: string, me: Me }} ctx
 */
export async function renderDetail(view, ctx) {
  const base = `/apps/v1/apps/${encodeURIComponent(ctx.id)}`;
  const notice = h('p', { id: 'action-result', class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });

  /** @param {string} text @param {'ok' | 'error'} kind */
  const say = (text, kind) => {
    notice.textContent = text;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
  };

  const load = async () => {
    const [app, history, evidence, exceptions] = await Promise.all([
      getJson(base),
      getJson(`${base}/history?limit=200`),
      getJson(`${base}/evidence`),
      getJson(`${base}/exceptions`),
    ]);
    if (app.notModified || history.notModified || evidence.notModified || exceptions.notModified) {
      throw new Error('unexpected 304');
    }
    return {
      app: /** @type {App} */ (app.body),
      etag: app.etag,
      history: /** @type {{ items: HistoryEntry[] }} */ (history.body).items,
      evidence: /** @type {{ items: Evidence[] }} */ (evidence.body).items,
      exceptions: /** @type {{ items: ControlException[] }} */ (exceptions.body).items,
    };
  };

  const render = async () => {
    let data;
    try {
      data = await load();
    } catch (error) {
      view.replaceChildren(
        h('p', { class: 'loading error', role: 'alert', text: `This app cannot be read: ${messageOf(error)}` }),
      );
      return;
    }
    const { app, etag } = data;
    const now = Date.now();
    /**
     * A button that does `act` (which answers what to tell), then shows the app as it is now.
     * @param {string} text @param {() => Promise<string>} act @param {string} [cls]
     */
    const action = (text, act, cls = 'secondary') => {
      const button = h('button', { type: 'button', class: cls, text });
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const done = await act();
          await render();
          say(done, 'ok');
        } catch (error) {
          button.disabled = false;
          say(`${text} failed: ${messageOf(error)}`, 'error');
        }
      });
      return button;
    };

    document.title = `${app.name} · Apps · micro-oncall`;
    const lc = lifecycleOf(app, now);
    const roles = rolesOf(ctx.me.roles);

    // Lifecycle and restore.
    const restoreWhyNot = whyNotRestore(app, ctx.me, now);
    const canRestore = ['idle', 'disabled', 'archived'].includes(app.state);
    const lifecycle = h(
      'section',
      { class: 'card lifecycle', 'aria-labelledby': 'lifecycle-title' },
      h('h2', { id: 'lifecycle-title', text: 'Lifecycle' }),
      h('p', { class: 'lc-now', text: lc.now }),
      lc.next ? h('p', { class: 'lc-next' }, h('strong', { text: 'Next: ' }), lc.next) : null,
      canRestore
        ? restoreWhyNot
          ? h('p', { class: 'why-not', text: `Restore: ${restoreWhyNot}` })
          : action(
              'Restore',
              async () => {
                await request('POST', `${base}/restore`);
                return `${app.name} is restored and active again.`;
              },
              'primary',
            )
        : null,
    );

    // The latest decision and, pending approval, approve or reject (or why not).
    const approveWhyNot = whyNotApprove(app, ctx.me);
    const decision = h(
      'section',
      { class: 'card decision-card', 'aria-labelledby': 'decision-title' },
      app.decision
        ? decisionView(app.decision)
        : h(
            'div',
            {},
            h('h2', { id: 'decision-title', text: 'Decision' }),
            h('p', { class: 'muted', text: 'No decision yet.' }),
          ),
      app.approval
        ? h('p', {
            class: 'approval muted',
            text: `Approved for ${app.approval.tier} risk by ${app.approval.by}, ${clockTime(app.approval.at)}.`,
          })
        : null,
      app.state === 'pending_approval'
        ? approveWhyNot
          ? h('p', { class: 'why-not', text: `Approve: ${approveWhyNot}` })
          : approvalForm(app, base, say, render)
        : null,
      roles.responder && ['held', 'refused'].includes(app.state)
        ? action('Decide again', async () => {
            await request('POST', `${base}/evaluate`);
            return 'The policy decided again.';
          })
        : null,
    );

    const fields = fieldsCard(app, etag, roles.responder, base, say, render);

    view.replaceChildren();
    append(view, [
      h(
        'div',
        { class: 'page-head' },
        h('h1', { id: 'page-title', text: app.name }),
        stateBadge(app.state),
        tierBadge(app.tier),
        app.openViolations > 0
          ? h('span', {
              class: 'violations-badge',
              text: `${app.openViolations} open violation${app.openViolations === 1 ? '' : 's'}`,
            })
          : null,
      ),
      app.purpose ? h('p', { class: 'purpose', text: app.purpose }) : null,
      notice,
      h('div', { class: 'detail-grid' }, lifecycle, decision),
      fields,
      evidenceCard(data.evidence),
      exceptionsCard(data.exceptions, app, ctx.me, roles.responder, say, render),
      historyCard(data.history),
    ]);
  };
  await render();
}

/**
 * @param {App} app
 * @param {string} base
 * @param {(text: string, kind: 'ok' | 'error') => void} say
 * @param {() => Promise<void>} render
 */
function approvalForm(app, base, say, render) {
  const comment = h('textarea', { id: 'decision-comment', rows: 2 });
  const approve = h('button', { type: 'button', class: 'primary', text: 'Approve' });
  const reject = h('button', { type: 'button', class: 'secondary', text: 'Reject' });
  const run = async (/** @type {'approve' | 'reject'} */ what) => {
    const text = comment.value.trim();
    if (what === 'reject' && !text) {
      say('Say why you reject it (the requester reads it).', 'error');
      comment.focus();
      return;
    }
    approve.disabled = reject.disabled = true;
    try {
      await request('POST', `${base}/${what}`, {
        body: what === 'approve' ? (text ? { comment: text } : {}) : { reason: text },
      });
      await render();
      say(`${app.name} is ${what === 'approve' ? 'approved' : 'rejected'}.`, 'ok');
    } catch (error) {
      approve.disabled = reject.disabled = false;
      // 403: the service says why (your own request, not an approver…).
      say(`${what === 'approve' ? 'Approval' : 'Rejection'} refused: ${messageOf(error)}`, 'error');
    }
  };
  approve.addEventListener('click', () => void run('approve'));
  reject.addEventListener('click', () => void run('reject'));
  return h(
    'div',
    { class: 'approval-form' },
    h('label', { class: 'field', for: 'decision-comment' }, 'Comment (required to reject)', comment),
    h('div', { class: 'buttons' }, approve, reject),
  );
}

/** @param {string} label @param {unknown} value */
const item = (label, value) =>
  h(
    'div',
    {},
    h('dt', { text: label }),
    h(
      'dd',
      {},
      value === null || value === undefined || value === ''
        ? h('span', { class: 'muted', text: '—' })
        : /** @type {Node | string} */ (value),
    ),
  );

/**
 * The app's fields, with an edit form (If-Match with the ETag; 409 = changed by someone else).
 * @param {App} app
 * @param {string | null} etag
 * @param {boolean} canEdit
 * @param {string} base
 * @param {(text: string, kind: 'ok' | 'error') => void} say
 * @param {() => Promise<void>} render
 */
function fieldsCard(app, etag, canEdit, base, say, render) {
  const list = (/** @type {string[]} */ items) => (items.length ? items.join(', ') : null);
  const dl = h(
    'dl',
    { class: 'fields' },
    item(
      'Owner',
      app.owner
        ? `${app.owner.name} · ${app.owner.contact}`
        : h('span', { class: 'unowned', text: 'no owner: an ownership task is open' }),
    ),
    item('Team', `${app.team.name} · ${app.team.contact}`),
    item('Runtime', RUNTIME_LABELS[app.runtime] ?? app.runtime),
    item('Impact', IMPACT_LABELS[app.impact] ?? app.impact),
    item('Data', list(app.dataClasses.map((d) => DATA_LABELS[d] ?? d))),
    item('Exposure', EXPOSURE_LABELS[app.exposure] ?? app.exposure),
    item('Namespace', app.namespace ? `${app.namespace}${app.dedicatedNamespace ? ' (dedicated)' : ''}` : null),
    item('Public storage', app.publicStorage ? 'yes' : 'no'),
    item('Environments', list(app.environments)),
    item(
      'Repository',
      app.repository && isAllowedHref(app.repository) ? externalLink(app.repository, app.repository) : app.repository,
    ),
    item('Hosts', list(app.endpoints.map((e) => `${e.host}${e.path === '/' ? '' : e.path}`))),
    item('SSO client ids', list(app.idpClientIds)),
    item('Cloud resources', list(app.cloudResourceIds)),
    item('Template', app.template),
    item('Support', SLA_LABELS[app.sla] ?? app.sla),
    item('Cost centre', app.costCentre),
    item('Tags', list(app.tags)),
    item('Registered', `${clockTime(app.createdAt)} by ${app.requestedBy} (${app.origin.source})`),
    item('Id', h('code', { text: app.id })),
  );
  const card = h(
    'section',
    { class: 'card fields-card', 'aria-labelledby': 'fields-title' },
    h('h2', { id: 'fields-title', text: 'About this app' }),
    dl,
  );
  if (!canEdit || app.state === 'purged' || !etag) return card;

  const edit = h('button', { type: 'button', class: 'secondary', text: 'Edit' });
  card.append(edit);
  edit.addEventListener('click', () => {
    const input = (
      /** @type {string} */ id,
      /** @type {string} */ label,
      /** @type {string} */ value,
      textarea = false,
    ) => {
      const control = textarea ? h('textarea', { id, rows: 2 }) : h('input', { id, value });
      if (textarea) /** @type {HTMLTextAreaElement} */ (control).value = value;
      return h('label', { class: 'field', for: id }, label, control);
    };
    const form = h(
      'form',
      { class: 'edit-form', 'aria-label': `Edit ${app.name}` },
      input('e-purpose', 'Purpose', app.purpose, true),
      input('e-owner-name', 'Owner', app.owner?.name ?? ''),
      input('e-owner-contact', "Owner's contact", app.owner?.contact ?? ''),
      input('e-team-name', 'Team', app.team.name),
      input('e-team-contact', "Team's contact", app.team.contact),
      input('e-tags', 'Tags (comma-separated)', app.tags.join(', ')),
      input('e-cost', 'Cost centre', app.costCentre ?? ''),
      h('p', { id: 'edit-problem', class: 'field-error', role: 'alert', hidden: true }),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary', text: 'Save' }),
        h('button', { type: 'button', class: 'secondary', text: 'Cancel', on: { click: () => void render() } }),
      ),
    );
    card.replaceChildren(h('h2', { id: 'fields-title', text: `Edit ${app.name}` }), form);
    /** @param {string} id */
    const value = (id) => /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`)).value.trim();
    const problem = /** @type {HTMLElement} */ (form.querySelector('#edit-problem'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      problem.hidden = true;
      const ownerName = value('e-owner-name');
      const ownerContact = value('e-owner-contact');
      const patch = {
        purpose: value('e-purpose'),
        owner: ownerName || ownerContact ? { name: ownerName, contact: ownerContact } : null,
        team: { name: value('e-team-name'), contact: value('e-team-contact') },
        tags: value('e-tags')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        costCentre: value('e-cost') || null,
      };
      try {
        await request('PATCH', base, { body: patch, ifMatch: etag });
        await render();
        say(`${app.name} is saved.`, 'ok');
      } catch (error) {
        if (error instanceof RequestError && error.status === 409) {
          problem.replaceChildren(
            'Changed by someone else since you opened it — reload to see their change, then edit again. ',
            h('button', { type: 'button', class: 'secondary', text: 'Reload', on: { click: () => void render() } }),
          );
        } else if (error instanceof RequestError && error.issues.length > 0) {
          problem.textContent = error.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
        } else {
          problem.textContent = `Not saved: ${messageOf(error)}`;
        }
        problem.hidden = false;
      }
    });
    /** @type {HTMLElement} */ (form.querySelector('#e-purpose')).focus();
  });
  return card;
}

/** @param {Evidence[]} items */
function evidenceCard(items) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'evidence-title' },
    h('h2', { id: 'evidence-title', text: 'Evidence' }),
    items.length === 0
      ? h('p', {
          class: 'muted',
          text: 'No evidence yet: pipelines post SBOMs, scans and the SSO client id with the app’s token.',
        })
      : h(
          'ul',
          { class: 'evidence' },
          items.map((e) =>
            h(
              'li',
              {},
              h('strong', { text: `${e.kind} (${e.format})` }),
              ' ',
              when(e.receivedAt),
              ' ',
              h('span', { class: 'muted', text: summaryText(e.summary) }),
            ),
          ),
        ),
  );
}

/** @param {Record<string, unknown>} summary */
function summaryText(summary) {
  return Object.entries(summary)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

/**
 * The app's exceptions, Approve/Reject on pending ones (an approver who did not ask), and the
 * form to ask for one (a responder, for a control that is not met).
 * @param {ControlException[]} items @param {App} app @param {Me} me @param {boolean} canAsk
 * @param {(text: string, kind: 'ok' | 'error') => void} say @param {() => Promise<void>} render
 */
function exceptionsCard(items, app, me, canAsk, say, render) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'exceptions-title' },
    h('h2', { id: 'exceptions-title', text: 'Exceptions' }),
    items.length === 0
      ? h('p', { class: 'muted', text: 'No exception to any control.' })
      : h(
          'ul',
          { class: 'exceptions' },
          items.map((x) =>
            h(
              'li',
              {},
              h('strong', { text: x.control }),
              ` — ${x.status}, until ${clockTime(x.expiresAt)}: `,
              h('span', { text: x.reason }),
              h('span', {
                class: 'muted',
                text: ` (asked by ${x.requestedBy}${x.decidedBy ? `, decided by ${x.decidedBy}` : ''}) `,
              }),
              exceptionActions(x, me, say, render),
            ),
          ),
        ),
    canAsk ? exceptionRequestForm(app, items, say, render) : null,
  );
}

/** @param {unknown} v */
const show = (v) => {
  const text = v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
};

/** @param {HistoryEntry[]} items */
function historyCard(items) {
  return h(
    'section',
    { class: 'card history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title', text: 'History' }),
    h('p', {
      class: 'muted small',
      text: 'Every change, newest first. The history is append-only: nothing in it is ever changed or removed.',
    }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'history-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['When', 'Who', 'What', 'Changes'].map((t) => h('th', { scope: 'col', text: t })),
          ),
        ),
        h(
          'tbody',
          {},
          items.map((e) =>
            h(
              'tr',
              { data: { action: e.action } },
              h('td', {}, when(e.at)),
              h('td', { text: e.actorName ?? e.actorSubject }),
              h(
                'td',
                {},
                h('span', { class: 'action', text: e.action.replaceAll('_', ' ') }),
                e.detail ? h('span', { class: 'muted small detail', text: e.detail }) : null,
              ),
              h(
                'td',
                {},
                h(
                  'ul',
                  { class: 'changes' },
                  Object.entries(e.changes)
                    .slice(0, 12)
                    .map(([k, c]) => h('li', {}, h('code', { text: k }), ` ${show(c.from)} → ${show(c.to)}`)),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
