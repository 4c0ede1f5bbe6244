// @ts-check
import { request } from './client.js';
import { authorizedFetch, errorOf } from './common/api.js';
import { h, navLink } from './common/dom.js';
import { clockTime, duration, exactTime } from './common/time.js';
import { deadlineOf, isOpen, personName, runOutcome, TARGET_LABELS } from './model.js';
import { countdown, environmentBadge, messageOf, rerender, resultLine, severityBadge, stateBadge } from './parts.js';

/** @typedef {import('./types.js').Run} Run */
/** @typedef {import('./types.js').Person} Person */

/**
 * One run as `GET /drills/v1/runs/:id` shows it (present.ts `runView`).
 * @typedef {Run & {
 *   runbook: { url: string, checklist: string[] } | null,
 *   steps: { index: number, offsetSeconds: number, action: string, alerts: string[], state: string,
 *     dueAt: string | null, firedAt: string | null, failedTarget: string | null, error: string | null }[],
 *   alerts: { key: string, target: string, state: string, severity: string, summary: string, service: string,
 *     lastSentAt: string | null, resolvedAt: string | null, lastError: string | null }[],
 * }} RunView
 */

/**
 * @typedef {object} ChecklistItem
 * @property {number} item
 * @property {string} text
 * @property {boolean} done
 * @property {string | null} note
 * @property {Person | null} changedBy
 * @property {string | null} changedAt
 */

/**
 * The drill report (`GET /drills/v1/runs/:id/report`, report.ts).
 * @typedef {object} Report
 * @property {{ url: string, checklist: ChecklistItem[] } | null} runbook
 * @property {{ incidents: number, acknowledged: number, escalated: number, resolved: number,
 *   firstAcknowledgedAfterStartSeconds: number | null, meanTimeToAcknowledgeSeconds: number | null,
 *   meanTimeToResolveSeconds: number | null, checklistDone: number, checklistItems: number }} summary
 * @property {{ incidentId: string, title: string | null, service: string | null, triggeredAt: string,
 *   acknowledgedAt: string | null, acknowledgedBy: string | null, escalatedAt: string | null,
 *   escalationLevel: number | null, resolvedAt: string | null, resolvedBy: string | null,
 *   timeToAcknowledgeSeconds: number | null, timeToEscalateSeconds: number | null,
 *   timeToResolveSeconds: number | null }[]} incidents
 * @property {{ at: string, source: 'simulator' | 'responders', what: string, incidentId: string | null }[]} timeline
 */

/**
 * @typedef {object} RunContext
 * @property {string} id the run id
 * @property {{ abort: boolean, propose: boolean }} can responders abort and tick the checklist
 * @property {AbortSignal} signal aborted when the page leaves this view
 */

/** Words for a step's state: done, pending, failed (and why), skipped. @type {Record<string, string>} */
const STEP_WORDS = { fired: 'done', pending: 'pending', failed: 'failed', skipped: 'skipped (the run ended first)' };

/** How long, to the second ("1m 35s"): responders' times are short. @param {number | null} seconds */
const span = (seconds) => {
  if (seconds === null) return '—';
  const m = Math.floor(seconds / 60);
  return m === 0 ? `${seconds}s` : m < 60 ? `${m}m ${seconds % 60}s` : duration(seconds * 1000);
};

/** @param {string | null} iso */
const at = (iso) => (iso ? h('time', { datetime: iso, title: exactTime(iso), text: clockTime(iso) }) : '—');

/**
 * The escalation dashboard's page of an incident: escalation serves the product's root, behind
 * the same gateway (and Ingress) as these pages, so a path on this host reaches it.
 * @param {string} incidentId
 * @param {string} label
 */
const incidentLink = (incidentId, label) =>
  h('a', { href: `/incidents/${encodeURIComponent(incidentId)}`, class: 'incident-link', text: label });

/**
 * The page of one run (/drills/runs/:id): its steps and their state (why a step failed), what is
 * firing at which target, the escalation incidents it produced with what responders did, the
 * countdown to expiry, abort, the runbook checklist (ticked by responders) and the report to export.
 * @param {HTMLElement} view
 * @param {RunContext} ctx
 * @returns {Promise<() => Promise<void>>} reads the run again (called every few seconds)
 */
export async function renderRun(view, ctx) {
  const base = `/drills/v1/runs/${encodeURIComponent(ctx.id)}`;
  const load = async () =>
    /** @type {[RunView, Report]} */ (await Promise.all([request('GET', base), request('GET', `${base}/report`)]));
  let [run, report] = await load();
  let receivedAt = Date.now();
  let abortDraft = /** @type {string | null} */ (null);
  const abortResult = resultLine('run-abort-result');
  const checklistResult = resultLine('checklist-result');
  const exportResult = resultLine('export-result');

  const head = h('div', {});
  const steps = h('div', { class: 'table-wrap' });
  const firing = h('div', { class: 'table-wrap' });
  const incidents = h('div', {});
  const checklist = h('div', {});
  const timeline = h('div', { class: 'table-wrap' });

  const drawHead = () => {
    const deadline = deadlineOf(run.secondsLeft, receivedAt);
    const outcome = runOutcome(run);
    document.title = `${run.scenario.name} · Drill run · micro-oncall`;
    return nodes(
      h('p', { class: 'small' }, navLink('/drills/runs', { id: 'back-to-runs', text: '← All runs' })),
      h(
        'div',
        { class: 'page-head' },
        h('h1', { id: 'page-title' }, h('span', { class: 'scenario-name', text: run.scenario.name })),
        h('span', { class: 'muted', text: `v${run.scenario.version} · ${run.team}` }),
      ),
      h(
        'dl',
        { class: 'fields' },
        fact('State', stateBadge(run.state)),
        fact('Environment', environmentBadge(run.environment)),
        fact('Severity', severityBadge(run.severity)),
        fact(
          deadline === null ? 'Ended' : run.state === 'awaiting_approval' ? 'Lapses' : 'Expires',
          deadline === null ? at(run.endedAt) : countdown(deadline, 'expires'),
        ),
        fact('Targets', run.targets.map((t) => TARGET_LABELS[t] ?? t).join(', ')),
        fact('Requested by', personName(run.requestedBy)),
        run.approval.required ? fact('Approved by', personName(run.approval.approvedBy)) : null,
        fact('Run id', h('code', { text: run.id })),
      ),
      outcome ? h('p', { class: 'outcome', text: outcome }) : null,
      abortControls(),
    );
  };

  const abortControls = () => {
    if (!ctx.can.abort || !isOpen(run.state)) return abortResult.el;
    if (abortDraft === null) {
      return h(
        'div',
        { class: 'run-actions' },
        h('button', {
          id: 'run-abort',
          type: 'button',
          class: 'secondary danger',
          text: 'Abort this run',
          on: {
            click: () => {
              abortDraft = '';
              drawAll();
              document.getElementById('run-abort-reason')?.focus();
            },
          },
        }),
        abortResult.el,
      );
    }
    const cancel = () => {
      abortDraft = null;
      drawAll();
      document.getElementById('run-abort')?.focus();
    };
    const input = h('input', {
      id: 'run-abort-reason',
      name: 'reason',
      required: true,
      minlength: '3',
      maxlength: '1000',
      value: abortDraft,
      on: { input: () => (abortDraft = input.value) },
    });
    const form = h(
      'form',
      {
        class: 'inline-form run-actions',
        'aria-label': 'Abort this run',
        on: {
          submit: async (/** @type {Event} */ event) => {
            event.preventDefault();
            try {
              await request('POST', `${base}/abort`, { reason: input.value });
              abortDraft = null;
              abortResult.ok('Aborted: everything it fired is being resolved.');
            } catch (error) {
              abortResult.failed(messageOf(error));
            }
            await refresh().catch(() => drawAll());
            abortResult.el.tabIndex = -1;
            abortResult.el.focus();
          },
          keydown: (/** @type {Event} */ event) => {
            if (/** @type {KeyboardEvent} */ (event).key === 'Escape') cancel();
          },
        },
      },
      h('label', { for: input.id, class: 'field' }, 'Why abort?', input),
      h(
        'span',
        { class: 'buttons' },
        h('button', { id: 'run-abort-confirm', type: 'submit', class: 'primary danger', text: 'Abort run' }),
        h('button', {
          id: 'run-abort-cancel',
          type: 'button',
          class: 'secondary',
          text: 'Cancel',
          on: { click: cancel },
        }),
      ),
    );
    return [form, abortResult.el];
  };

  const drawSteps = () => [
    table(
      'run-steps',
      'The scenario timeline and what happened to each step',
      ['Step', 'At', 'Action', 'Alerts', 'State', 'Fired', 'Why'],
      run.steps.map((s) =>
        h(
          'tr',
          { data: { step: String(s.index), state: s.state } },
          h('td', { text: String(s.index + 1) }),
          h('td', { text: `+${duration(s.offsetSeconds * 1000)}` }),
          h('td', { text: s.action.replace('_', ' ') }),
          h('td', { text: s.alerts.join(', ') || '—' }),
          h('td', {}, h('span', { class: `step-state step-${s.state}`, text: STEP_WORDS[s.state] ?? s.state })),
          h('td', {}, s.firedAt ? at(s.firedAt) : s.dueAt ? h('span', { class: 'muted' }, 'due ', at(s.dueAt)) : '—'),
          h('td', {
            class: s.error ? 'error-text' : 'muted',
            text: s.error ? `${TARGET_LABELS[s.failedTarget ?? ''] ?? s.failedTarget}: ${s.error}` : '',
          }),
        ),
      ),
    ),
  ];

  const drawFiring = () =>
    run.alerts.length === 0
      ? [h('p', { class: 'empty', text: 'Nothing fired yet.' })]
      : [
          table(
            'run-alerts',
            'Every alert the run fired, per target',
            ['Alert', 'Target', 'Severity', 'State', 'Summary', 'Last sent'],
            run.alerts.map((a) =>
              h(
                'tr',
                { data: { alert: a.key, target: a.target, state: a.state } },
                h('td', {}, h('code', { text: a.key }), h('span', { class: 'muted small block', text: a.service })),
                h('td', { text: TARGET_LABELS[a.target] ?? a.target }),
                h('td', {}, severityBadge(a.severity)),
                h(
                  'td',
                  {},
                  h('span', { class: `alert-state alert-${a.state}`, text: a.state }),
                  a.lastError ? h('span', { class: 'error-text small block', text: a.lastError }) : null,
                ),
                h('td', { text: a.summary }),
                h('td', {}, at(a.resolvedAt ?? a.lastSentAt)),
              ),
            ),
          ),
        ];

  const drawIncidents = () => {
    const s = report.summary;
    return [
      h(
        'p',
        { id: 'report-summary' },
        `${s.incidents === 1 ? '1 incident' : `${s.incidents} incidents`} in escalation · ${s.acknowledged} acknowledged · ${s.escalated} escalated · ${s.resolved} resolved. ` +
          `First acknowledgement ${span(s.firstAcknowledgedAfterStartSeconds)} after the start; mean time to acknowledge ${span(s.meanTimeToAcknowledgeSeconds)}, to resolve ${span(s.meanTimeToResolveSeconds)}.`,
      ),
      report.incidents.length === 0
        ? h('p', { class: 'empty', text: 'No incident from this run has reached escalation yet.' })
        : h(
            'div',
            { class: 'table-wrap' },
            table(
              'run-incidents',
              'The escalation incidents the run produced and what responders did',
              ['Incident', 'Triggered', 'Acknowledged', 'Escalated', 'Resolved'],
              report.incidents.map((i) =>
                h(
                  'tr',
                  { data: { incident: i.incidentId } },
                  h(
                    'td',
                    {},
                    incidentLink(i.incidentId, i.title ?? i.incidentId),
                    h('span', {
                      class: 'muted small block',
                      text: [i.service, i.incidentId].filter(Boolean).join(' · '),
                    }),
                  ),
                  h('td', {}, at(i.triggeredAt)),
                  responseCell(i.timeToAcknowledgeSeconds, i.acknowledgedBy),
                  responseCell(i.timeToEscalateSeconds, i.escalationLevel ? `level ${i.escalationLevel}` : null),
                  responseCell(i.timeToResolveSeconds, i.resolvedBy),
                ),
              ),
            ),
          ),
    ];
  };

  /** @param {ChecklistItem} c */
  const checklistItem = (c) => {
    const box = h('input', {
      id: `checklist-${c.item}`,
      type: 'checkbox',
      disabled: !ctx.can.propose,
      'aria-describedby': `checklist-by-${c.item}`,
      on: {
        change: async () => {
          const done = box.checked;
          try {
            await request('POST', `${base}/checklist/${c.item}`, { done });
            checklistResult.ok(`${done ? 'Ticked' : 'Unticked'}: ${c.text}`);
          } catch (error) {
            box.checked = !done;
            checklistResult.failed(messageOf(error));
          }
          await refresh().catch(() => drawAll());
        },
      },
    });
    box.checked = c.done;
    return h(
      'li',
      { class: c.done ? 'checklist-item done' : 'checklist-item' },
      box,
      h('label', { for: box.id, text: c.text }),
      h('span', {
        id: `checklist-by-${c.item}`,
        class: 'muted small',
        text: c.changedBy
          ? ` ${c.done ? 'ticked' : 'unticked'} by ${personName(c.changedBy)} at ${clockTime(c.changedAt ?? '')}`
          : '',
      }),
      c.note ? h('span', { class: 'small block', text: c.note }) : null,
    );
  };

  const drawChecklist = () => {
    if (!report.runbook)
      return [h('p', { class: 'empty', text: 'The scenario version of this run is gone: no runbook.' })];
    const { url, checklist: items } = report.runbook;
    return nodes(
      h(
        'p',
        {},
        `${report.summary.checklistDone} of ${report.summary.checklistItems} done. Runbook: `,
        h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: url }),
      ),
      run.startedAt === null
        ? h('p', { class: 'notice', text: 'The run has not started: there is nothing to tick yet.' })
        : ctx.can.propose
          ? null
          : h('p', { class: 'notice', text: 'Ticking the checklist needs the responder role.' }),
      h(
        'ul',
        { class: 'checklist', 'aria-label': 'Runbook checklist' },
        items.map((c) => checklistItem(c)),
      ),
      checklistResult.el,
    );
  };

  const drawTimeline = () => [
    table(
      'run-timeline',
      'What was fired and what responders did, in time order',
      ['Time', 'Who', 'What'],
      report.timeline.map((t) =>
        h(
          'tr',
          { data: { source: t.source } },
          h('td', {}, at(t.at)),
          h('td', { text: t.source === 'simulator' ? 'simulator' : 'responders' }),
          h('td', {}, t.what, t.incidentId ? [' · ', incidentLink(t.incidentId, t.incidentId)] : null),
        ),
      ),
    ),
  ];

  /** @param {'md' | 'json'} format */
  const exportReport = async (format) => {
    try {
      const res = await authorizedFetch(`${base}/report${format === 'md' ? '?format=md' : ''}`, {
        headers: { accept: format === 'md' ? 'text/markdown' : 'application/json' },
        cache: 'no-store',
      });
      if (!res.ok) throw await errorOf(res);
      const name = `drill-report-${run.scenario.id}-${run.id}.${format}`;
      const link = h('a', { href: '/', download: name, hidden: true });
      link.href = URL.createObjectURL(await res.blob());
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      exportResult.ok(`Saved ${name}`);
    } catch (error) {
      exportResult.failed(messageOf(error));
    }
  };

  function drawAll() {
    rerender(head, drawHead);
    rerender(steps, drawSteps);
    rerender(firing, drawFiring);
    rerender(incidents, drawIncidents);
    rerender(checklist, drawChecklist);
    rerender(timeline, drawTimeline);
  }

  let shown = '';
  async function refresh() {
    const [nextRun, nextReport] = await load();
    if (ctx.signal.aborted) return;
    run = nextRun;
    report = nextReport;
    receivedAt = Date.now();
    // Countdowns tick by themselves; the sections are rebuilt only when the run or its report
    // changed (typing an abort reason is not a change: the field keeps what is typed).
    const signature = JSON.stringify([
      { ...run, secondsLeft: null },
      { ...report, generatedAt: null, run: null },
    ]);
    if (signature === shown) return;
    shown = signature;
    drawAll();
  }

  view.replaceChildren(
    head,
    section('Steps', 'run-steps-title', steps),
    section('What is firing, where', 'run-alerts-title', firing),
    section('Incidents in escalation', 'run-incidents-title', incidents),
    section('Runbook checklist', 'run-checklist-title', checklist),
    section(
      'Report',
      'run-report-title',
      h(
        'div',
        { class: 'buttons' },
        h('button', {
          id: 'export-md',
          type: 'button',
          class: 'secondary',
          text: 'Export report (Markdown)',
          on: { click: () => void exportReport('md') },
        }),
        h('button', {
          id: 'export-json',
          type: 'button',
          class: 'secondary',
          text: 'Export report (JSON)',
          on: { click: () => void exportReport('json') },
        }),
      ),
      exportResult.el,
      timeline,
    ),
  );
  drawAll();
  shown = JSON.stringify([
    { ...run, secondsLeft: null },
    { ...report, generatedAt: null, run: null },
  ]);
  return refresh;
}

/**
 * The elements among `children`, flattened (a section's optional parts are null when absent).
 * @param {...(import('./common/dom.js').Child | import('./common/dom.js').Child[])} children
 * @returns {Node[]}
 */
const nodes = (...children) => children.flat().filter((c) => c instanceof Node);

/**
 * @param {string} label
 * @param {import('./common/dom.js').Child | import('./common/dom.js').Child[]} value
 */
const fact = (label, value) => h('div', {}, h('dt', { text: label }), h('dd', {}, value));

/**
 * @param {string} title
 * @param {string} id
 * @param {...HTMLElement} children
 */
const section = (title, id, ...children) =>
  h(
    'section',
    { class: 'run-section', 'aria-labelledby': id },
    h('h2', { id, class: 'section-title', text: title }),
    children,
  );

/**
 * @param {string} id
 * @param {string} caption
 * @param {string[]} columns
 * @param {HTMLElement[]} rows
 */
const table = (id, caption, columns, rows) =>
  h(
    'table',
    { id, class: 'runs run-table' },
    h('caption', { class: 'visually-hidden', text: caption }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => h('th', { scope: 'col', text: c })),
      ),
    ),
    h('tbody', {}, rows),
  );

/**
 * How long responders took, and who.
 * @param {number | null} seconds
 * @param {string | null} by
 */
const responseCell = (seconds, by) =>
  h(
    'td',
    {},
    h('span', { text: seconds === null ? 'not yet' : `after ${span(seconds)}` }),
    by ? h('span', { class: 'muted small block', text: by }) : null,
  );
