// @ts-check
import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { gameDaysSection } from './game-days.js';
import {
  approvalReasons,
  deadlineOf,
  highestSeverity,
  isOpen,
  personName,
  runOutcome,
  TARGET_LABELS,
} from './model.js';
import { countdown, environmentBadge, messageOf, rerender, resultLine, severityBadge, stateBadge } from './parts.js';

/** @typedef {import('./types.js').Scenario} Scenario */
/** @typedef {import('./types.js').Run} Run */
/** @typedef {import('./types.js').Settings} Settings */
/** @typedef {import('./types.js').KillSwitch} KillSwitch */

/**
 * @typedef {object} RunsContext
 * @property {Settings} settings
 * @property {{ propose: boolean, abort: boolean }} can
 * @property {string} search the page's query (`?scenario=<id>` preselects one)
 * @property {() => KillSwitch | null} killSwitch the switch as last read
 * @property {AbortSignal} signal aborted when the page leaves this view
 */

/**
 * Runs: start one (staging by default; production only where the deployment allows it, with an
 * opt-in and a reason), every run with its state and the countdown to its expiry, abort one.
 * @param {HTMLElement} view
 * @param {RunsContext} ctx
 * @returns {Promise<() => Promise<void>>} refreshes the list (called every few seconds)
 */
export async function renderRuns(view, ctx) {
  const [{ items: scenarios }, first] = await Promise.all([
    /** @type {Promise<{ items: Scenario[] }>} */ (request('GET', '/drills/v1/scenarios')),
    /** @type {Promise<{ items: Run[] }>} */ (request('GET', '/drills/v1/runs')),
  ]);
  const tbody = h('tbody', {});
  const status = h('p', { id: 'runs-status', class: 'muted small', role: 'status' });
  const empty = h('p', { class: 'empty', text: 'No runs yet.', hidden: true });
  /** Abort reasons being typed, by run id: kept across refreshes. @type {Map<string, string>} */
  const drafts = new Map();
  /** What the last action on a run answered, by run id. @type {Map<string, { ok: boolean, text: string }>} */
  const results = new Map();
  let runs = first.items;
  let receivedAt = Date.now();
  let shown = '';

  const gameDays = gameDaysSection();
  const refresh = async () => {
    const [{ items }] = await Promise.all([
      /** @type {Promise<{ items: Run[] }>} */ (request('GET', '/drills/v1/runs')),
      gameDays.refresh(),
    ]);
    runs = items;
    receivedAt = Date.now();
    draw();
  };

  /** @param {Run} run */
  const abortCell = (run) => {
    const result = results.get(run.id);
    const resultEl = result
      ? h('p', {
          id: `abort-result-${run.id}`,
          class: `result ${result.ok ? 'result-ok' : 'result-error'}`,
          role: 'status',
          tabindex: '-1',
          text: result.text,
        })
      : null;
    // An ended run keeps the answer to the abort that ended it.
    if (!ctx.can.abort || !isOpen(run.state)) return resultEl;
    if (!drafts.has(run.id)) {
      return [
        h('button', {
          id: `abort-${run.id}`,
          type: 'button',
          class: 'secondary danger',
          text: 'Abort',
          'aria-label': `Abort the run of ${run.scenario.name}`,
          on: {
            click: () => {
              drafts.set(run.id, '');
              results.delete(run.id);
              draw(true);
              document.getElementById(`abort-reason-${run.id}`)?.focus();
            },
          },
        }),
        resultEl,
      ];
    }
    const input = h('input', {
      id: `abort-reason-${run.id}`,
      name: 'reason',
      required: true,
      minlength: '3',
      maxlength: '1000',
      value: drafts.get(run.id) ?? '',
      on: { input: () => drafts.set(run.id, input.value) },
    });
    const form = h(
      'form',
      {
        class: 'inline-form',
        'aria-label': `Abort the run of ${run.scenario.name}`,
        on: {
          submit: async (/** @type {Event} */ event) => {
            event.preventDefault();
            const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
            button.disabled = true;
            try {
              await request('POST', `/drills/v1/runs/${run.id}/abort`, { reason: input.value });
              drafts.delete(run.id);
              results.set(run.id, { ok: true, text: 'Aborted: everything it fired is being resolved.' });
            } catch (error) {
              results.set(run.id, { ok: false, text: `Refused: ${messageOf(error)}` });
            }
            await refresh().catch(() => draw(true));
            // The keyboard stays with the run: on what the API answered.
            document.getElementById(`abort-result-${run.id}`)?.focus();
          },
          keydown: (/** @type {Event} */ event) => {
            if (/** @type {KeyboardEvent} */ (event).key !== 'Escape') return;
            drafts.delete(run.id);
            draw(true);
            document.getElementById(`abort-${run.id}`)?.focus();
          },
        },
      },
      h('label', { for: input.id, class: 'field' }, 'Why abort?', input),
      h(
        'span',
        { class: 'buttons' },
        h('button', { id: `abort-confirm-${run.id}`, type: 'submit', class: 'primary danger', text: 'Abort run' }),
        h('button', {
          id: `abort-cancel-${run.id}`,
          type: 'button',
          class: 'secondary',
          text: 'Cancel',
          on: {
            click: () => {
              drafts.delete(run.id);
              draw(true);
              document.getElementById(`abort-${run.id}`)?.focus();
            },
          },
        }),
      ),
    );
    return [form, resultEl];
  };

  /** @param {Run} run */
  const timeCell = (run) => {
    const deadline = deadlineOf(run.secondsLeft, receivedAt);
    if (deadline !== null) {
      return h(
        'td',
        { class: 'c-time' },
        h('span', { class: 'muted small block', text: run.state === 'awaiting_approval' ? 'lapses' : 'expires' }),
        countdown(deadline, run.state === 'awaiting_approval' ? 'lapses' : 'expires'),
      );
    }
    return h(
      'td',
      { class: 'c-time' },
      h('span', { class: 'muted small block', text: 'ended' }),
      h('span', { text: run.endedAt ? clockTime(run.endedAt) : '—', title: run.endedAt ? exactTime(run.endedAt) : '' }),
    );
  };

  /** @param {Run} run */
  const row = (run) =>
    h(
      'tr',
      { data: { run: run.id, state: run.state, environment: run.environment } },
      h(
        'td',
        { class: 'c-name' },
        navLink(`/drills/runs/${run.id}`, {
          class: 'scenario-name',
          text: run.scenario.name,
          title: "The run's page: steps, incidents, checklist, report",
        }),
        h('span', { class: 'muted small', text: ` v${run.scenario.version} · ${run.team}` }),
        runOutcome(run) ? h('span', { class: 'outcome small block', text: runOutcome(run) }) : null,
      ),
      h('td', {}, environmentBadge(run.environment)),
      h('td', {}, severityBadge(run.severity)),
      h('td', {}, stateBadge(run.state)),
      timeCell(run),
      h(
        'td',
        {},
        h('span', { text: personName(run.requestedBy) }),
        h('span', { class: 'muted small block', text: clockTime(run.createdAt), title: exactTime(run.createdAt) }),
      ),
      h('td', { class: 'c-actions' }, abortCell(run)),
    );

  /** @param {boolean} [force] */
  function draw(force = false) {
    const signature = JSON.stringify(runs.map((r) => ({ ...r, secondsLeft: null })));
    status.textContent = `${runs.length === 1 ? '1 run' : `${runs.length} runs`}, newest first · ${runs.filter((r) => isOpen(r.state)).length} open`;
    empty.hidden = runs.length > 0;
    // Countdowns tick by themselves; the rows are rebuilt only when something else changed.
    if (!force && signature === shown) return;
    shown = signature;
    rerender(tbody, () => runs.map(row));
  }

  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Runs' })),
    ctx.can.propose
      ? startForm(scenarios, ctx, async (run) => {
          await refresh();
          return run;
        })
      : h('p', { class: 'notice', text: 'Starting a drill needs the responder role.' }),
    h('h2', { class: 'section-title', text: 'Every run' }),
    status,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'runs' },
        h('caption', { class: 'visually-hidden', text: 'Runs, newest first' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Scenario', 'Environment', 'Severity', 'State', 'Countdown', 'Requested by', 'Actions'].map((label) =>
              h('th', { scope: 'col', text: label }),
            ),
          ),
        ),
        tbody,
      ),
      empty,
    ),
    gameDays.element,
  );
  draw(true);
  await gameDays.refresh();
  return refresh;
}

/**
 * The form that proposes a run. Staging is the default; production is marked as such, needs an
 * opt-in and a reason, and is offered only where the deployment allows it.
 * @param {Scenario[]} scenarios
 * @param {RunsContext} ctx
 * @param {(run: Run) => Promise<Run>} started
 */
function startForm(scenarios, ctx, started) {
  const wanted = new URLSearchParams(ctx.search).get('scenario');
  const threshold = ctx.settings.approval.severityThreshold;
  const select = h(
    'select',
    { id: 'start-scenario', name: 'scenario', required: true },
    scenarios.map((s) =>
      h('option', { value: s.id, text: `${s.name} (v${s.version}, ${s.team})`, selected: s.id === wanted }),
    ),
  );
  const envRadio = (
    /** @type {'staging' | 'production'} */ value,
    /** @type {string} */ label,
    /** @type {string} */ hint,
  ) => {
    const id = `start-env-${value}`;
    const allowed = value === 'staging' || ctx.settings.productionAllowed;
    return h(
      'div',
      { class: `env-choice env-choice-${value}` },
      h('input', {
        id,
        type: 'radio',
        name: 'environment',
        value,
        checked: value === 'staging',
        disabled: !allowed,
        'aria-describedby': `${id}-hint`,
      }),
      h('label', { for: id, class: 'env-label', text: label }),
      h('span', {
        id: `${id}-hint`,
        class: 'muted small block',
        text: allowed ? hint : `${hint} Production drills are off in this deployment.`,
      }),
    );
  };
  const optIn = h('input', { id: 'start-production-opt-in', type: 'checkbox', name: 'productionOptIn' });
  const reason = h('textarea', {
    id: 'start-reason',
    name: 'reason',
    rows: '2',
    minlength: '10',
    maxlength: '1000',
    'aria-describedby': 'start-reason-hint',
  });
  const production = h(
    'fieldset',
    { class: 'production-confirm', hidden: true },
    h('legend', { text: 'This drill pages real people' }),
    h(
      'label',
      { class: 'check', for: optIn.id },
      optIn,
      'I mean production: send this drill to the production targets',
    ),
    h(
      'label',
      { class: 'field', for: reason.id },
      'Why is a production drill needed?',
      reason,
      h('span', { id: 'start-reason-hint', class: 'muted small', text: 'At least 10 characters; it is audited.' }),
    ),
  );
  const plan = h('p', { id: 'start-plan', class: 'plan', role: 'status', 'aria-live': 'polite' });
  const killNote = h('p', {
    id: 'start-kill-note',
    class: 'notice notice-error',
    text: 'The kill switch is engaged: a new run is refused until someone re-arms it.',
    hidden: true,
  });
  const result = resultLine('start-result');
  const submit = h('button', { id: 'start-submit', type: 'submit', class: 'primary', text: 'Start run' });

  const environment = () =>
    /** @type {'staging' | 'production'} */ (
      /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="environment"]:checked'))?.value ??
        'staging'
    );
  const update = () => {
    const env = environment();
    production.hidden = env !== 'production';
    submit.textContent = env === 'production' ? 'Start PRODUCTION run' : 'Start run';
    submit.classList.toggle('danger', env === 'production');
    const scenario = scenarios.find((s) => s.id === select.value);
    const targets = ctx.settings.targets[env];
    const to =
      targets.length > 0
        ? `Alerts go to ${targets.map((t) => TARGET_LABELS[t] ?? t).join(', ')} (${env}).`
        : `No drill target is configured for ${env} here.`;
    const reasons = scenario ? approvalReasons(highestSeverity(scenario.definition), env, threshold) : [];
    plan.textContent = `${to} ${reasons.length > 0 ? `It needs an approver before anything is fired: ${reasons.join('; ')}.` : 'It starts at once.'}`;
    killNote.hidden = !ctx.killSwitch()?.engaged;
  };

  const form = h(
    'form',
    {
      class: 'card start-form',
      'aria-labelledby': 'start-title',
      on: {
        change: update,
        submit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          result.clear();
          const env = environment();
          /** @type {Record<string, unknown>} */
          const body = { scenario: select.value, environment: env };
          if (env === 'production') {
            body.productionOptIn = optIn.checked;
            if (reason.value.trim()) body.reason = reason.value.trim();
          }
          submit.disabled = true;
          try {
            const run = await started(/** @type {Run} */ (await request('POST', '/drills/v1/runs', body)));
            result.ok(
              run.state === 'awaiting_approval'
                ? `${run.scenario.name} is proposed and waits for an approver (see Approvals): ${run.approval.reasons.join('; ')}.`
                : `${run.scenario.name} is ${run.state} in ${run.environment}.`,
            );
          } catch (error) {
            result.failed(messageOf(error));
          } finally {
            submit.disabled = false;
            update();
          }
        },
      },
    },
    h('h2', { id: 'start-title', text: 'Start a run' }),
    h('div', { class: 'start-grid' }, h('label', { class: 'field', for: select.id }, 'Scenario', select)),
    h(
      'fieldset',
      { class: 'environments' },
      h('legend', { text: 'Target environment' }),
      envRadio('staging', 'Staging', 'The default: nothing real is paged.'),
      envRadio('production', 'PRODUCTION', 'Real paging; always needs an approver.'),
    ),
    production,
    plan,
    killNote,
    h('p', { class: 'buttons' }, submit),
    result.el,
  );
  queueMicrotask(update);
  // The kill switch changes while the form is open: its note follows (app.js announces it).
  document.addEventListener('drills:kill-switch', update, { signal: ctx.signal });
  return form;
}
