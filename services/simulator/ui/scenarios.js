// @ts-check
import { request } from './client.js';
import { authorizedFetch } from './common/api.js';
import { externalLink, h, navLink } from './common/dom.js';
import { clockTime, duration, exactTime } from './common/time.js';
import {
  approvalReasons,
  degradations,
  fieldWords,
  highestSeverity,
  personName,
  scenarioFormat,
  timelineSeconds,
} from './model.js';
import { environmentBadge, messageOf, resultLine, severityBadge } from './parts.js';

/** @typedef {import('./types.js').Scenario} Scenario */
/** @typedef {import('./types.js').Settings} Settings */
/** @typedef {{ path: string, line?: number, message: string }} Issue */

/** The API takes a scenario of at most 256 kB (`express.json`/`express.text` limits in app.ts). */
const MAX_BYTES = 256 * 1024;

/**
 * The scenarios: the latest version of each, with its team, the environment it is written for,
 * the highest severity it fires (and whether that needs an approver), and a way to start a run;
 * for responders, a form to add a scenario (or a new version of one) in YAML or JSON, pasted or
 * from a file, with the API's objections listed field by field.
 * @param {HTMLElement} view
 * @param {{ settings: Settings, canPropose: boolean }} ctx
 */
export async function renderScenarios(view, ctx) {
  const { items } = /** @type {{ items: Scenario[] }} */ (await request('GET', '/drills/v1/scenarios'));
  const threshold = ctx.settings.approval.severityThreshold;
  /** @param {Scenario} s @param {boolean} fresh */
  const row = (s, fresh) => {
    const severity = highestSeverity(s.definition);
    const needs = approvalReasons(severity, 'staging', threshold);
    const degraded = degradations(s.definition);
    return h(
      'tr',
      { data: { scenario: s.id }, class: fresh ? 'just-saved' : '' },
      h(
        'td',
        { class: 'c-name' },
        h('span', { class: 'scenario-name', text: s.name }),
        h('code', { class: 'muted small scenario-id', text: s.id }),
        h('span', { class: 'description muted', text: s.definition.description }),
        h('span', { class: 'small' }, externalLink(s.definition.runbook.url, 'Runbook')),
      ),
      h(
        'td',
        { class: 'c-version' },
        h('span', { text: `v${s.version}` }),
        h('span', {
          class: 'muted small',
          text: s.source === 'builtin' ? 'built-in' : `by ${personName(s.createdBy)}`,
          title: exactTime(s.createdAt),
        }),
      ),
      h('td', { text: s.team }),
      h('td', {}, environmentBadge(s.environment)),
      h(
        'td',
        {},
        severityBadge(severity),
        h('span', { class: 'muted small block', text: needs.length > 0 ? 'needs an approver' : 'starts at once' }),
      ),
      h(
        'td',
        { class: 'c-timeline' },
        h('span', {
          text: `${s.definition.timeline.length} steps over ${duration(timelineSeconds(s.definition) * 1000)}`,
        }),
        degraded.length > 0
          ? h('span', { class: 'muted small block degradations', text: `Degrades ${degraded.join('; ')}` })
          : null,
      ),
      h(
        'td',
        { class: 'c-actions' },
        ctx.canPropose
          ? navLink(`/drills/runs?scenario=${encodeURIComponent(s.id)}`, {
              class: 'button secondary',
              text: 'Start a run',
              'aria-label': `Start a run of ${s.name}`,
            })
          : null,
      ),
    );
  };
  const tbody = h(
    'tbody',
    {},
    items.map((s) => row(s, false)),
  );
  const count = h('p', { class: 'muted' });
  const empty = h('p', { class: 'empty', text: 'No scenarios yet.' });
  /** @param {Scenario[]} list @param {string | null} saved the id just saved (its row is marked) */
  const show = (list, saved) => {
    tbody.replaceChildren(...list.map((s) => row(s, s.id === saved)));
    count.textContent = `${list.length} scenarios, latest versions · as of ${clockTime(new Date().toISOString())}`;
    empty.hidden = list.length > 0;
  };
  show(items, null);
  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Scenarios' }), count),
    h(
      'p',
      { class: 'intro' },
      `Each scenario is a timeline of synthetic alerts. Runs go to staging unless you choose production; runs that fire ${threshold} or worse, and every production run, need a second person with the approver role.`,
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'scenarios' },
        h('caption', { class: 'visually-hidden', text: 'Scenarios' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Scenario', 'Version', 'Team', 'Target environment', 'Severity', 'Timeline', ''].map((label) =>
              h(
                'th',
                { scope: 'col', text: label },
                label === '' ? h('span', { class: 'visually-hidden', text: 'Actions' }) : null,
              ),
            ),
          ),
        ),
        tbody,
      ),
      empty,
    ),
    ctx.canPropose
      ? addForm(async (saved) => {
          const { items: list } = /** @type {{ items: Scenario[] }} */ (await request('GET', '/drills/v1/scenarios'));
          show(list, saved.id);
        })
      : h('p', { class: 'muted', text: 'Adding a scenario needs the responder role.' }),
  );
}

/**
 * The form that adds a scenario, or a new version of one: YAML or JSON pasted into the text
 * area or read from a file into it (so it can be checked and corrected before it is sent). A
 * refusal lists each field the API named, in words, with its line and a way to go to it.
 * @param {(saved: Scenario) => Promise<void>} saved
 */
function addForm(saved) {
  const file = h('input', {
    id: 'scenario-file',
    type: 'file',
    name: 'file',
    accept: '.yaml,.yml,.json,application/json,application/yaml,text/yaml',
    'aria-describedby': 'scenario-file-hint',
  });
  const text = h('textarea', {
    id: 'scenario-text',
    name: 'scenario',
    class: 'scenario-text',
    rows: '16',
    spellcheck: 'false',
    autocapitalize: 'off',
    'aria-describedby': 'scenario-text-hint',
    placeholder: 'id: checkout-errors\nname: Checkout errors\nteam: storefront\n…',
  });
  const errors = h('div', { id: 'scenario-errors', class: 'field-errors', tabindex: '-1', hidden: true });
  const result = resultLine('scenario-result');
  const submit = h('button', { id: 'scenario-submit', type: 'submit', class: 'primary', text: 'Save scenario' });

  const clearErrors = () => {
    errors.hidden = true;
    errors.replaceChildren();
    text.removeAttribute('aria-invalid');
    text.setAttribute('aria-describedby', 'scenario-text-hint');
  };

  /** Puts the caret on `line` of the text area (1-based) and scrolls it into view. @param {number} line */
  const goToLine = (line) => {
    const lines = text.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    const height = Number.parseFloat(getComputedStyle(text).lineHeight) || 20;
    text.scrollTop = Math.max(0, (line - 3) * height);
  };

  /** @param {string} message @param {Issue[]} issues */
  const showErrors = (message, issues) => {
    const items = issues.map((issue) =>
      h(
        'li',
        { data: { path: issue.path } },
        h('strong', { class: 'field-name', text: fieldWords(issue.path) }),
        issue.line ? h('span', { class: 'muted', text: ` (line ${issue.line})` }) : null,
        `: ${issue.message} `,
        issue.path.startsWith('(') ? null : h('code', { class: 'muted small', text: issue.path }),
        ' ',
        issue.line
          ? h('button', {
              type: 'button',
              class: 'link-button small',
              text: `Go to line ${issue.line}`,
              on: { click: () => goToLine(/** @type {number} */ (issue.line)) },
            })
          : null,
      ),
    );
    errors.replaceChildren(
      ...[
        h('p', {
          class: 'field-errors-title',
          text:
            issues.length === 0
              ? `Not saved: ${message}`
              : `Not saved: ${issues.length === 1 ? 'one field needs' : `${issues.length} fields need`} correcting.`,
        }),
        issues.length > 0 ? h('ul', {}, items) : null,
      ].filter((el) => el !== null),
    );
    errors.hidden = false;
    text.setAttribute('aria-invalid', 'true');
    text.setAttribute('aria-describedby', 'scenario-text-hint scenario-errors');
    errors.focus();
  };

  const form = h(
    'form',
    {
      class: 'card start-form scenario-form',
      'aria-labelledby': 'scenario-form-title',
      on: {
        submit: async (/** @type {Event} */ event) => {
          event.preventDefault();
          result.clear();
          clearErrors();
          const body = text.value;
          if (!body.trim()) {
            showErrors('paste a scenario or choose a file first.', []);
            return;
          }
          const format = scenarioFormat(body);
          submit.disabled = true;
          try {
            const res = await authorizedFetch('/drills/v1/scenarios', {
              method: 'POST',
              headers: {
                accept: 'application/json',
                'content-type': format === 'json' ? 'application/json' : 'application/yaml',
              },
              body,
              cache: 'no-store',
            });
            const answer = await res.json().catch(() => null);
            if (!res.ok) {
              const error = answer?.error;
              showErrors(
                typeof error?.message === 'string' ? error.message : `the server answered ${res.status}`,
                Array.isArray(error?.details?.issues) ? error.details.issues : [],
              );
              return;
            }
            const scenario = /** @type {Scenario & { created: boolean }} */ (answer);
            result.ok(
              scenario.created
                ? `Saved ${scenario.name} (${scenario.id}) as version ${scenario.version}; it is in the list above.`
                : `Unchanged: ${scenario.id} version ${scenario.version} already has this content.`,
            );
            file.value = '';
            await saved(scenario);
          } catch (error) {
            result.failed(messageOf(error));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('h2', { id: 'scenario-form-title', text: 'Add a scenario' }),
    h('p', {
      class: 'muted small',
      text: 'Paste a scenario in YAML or JSON, or read one from a file. Saving an id that exists with other content makes a new version of it; built-in scenarios cannot be changed here. Add a degrade step to turn on a fault-injection flag for a service until the run ends.',
    }),
    h(
      'label',
      { class: 'field', for: file.id },
      'Read from a file (optional)',
      file,
      h('span', {
        id: 'scenario-file-hint',
        class: 'muted small',
        text: 'A .yaml, .yml or .json file of at most 256 kB; its text appears below.',
      }),
    ),
    h(
      'label',
      { class: 'field', for: text.id },
      'Scenario (YAML or JSON)',
      text,
      h('span', {
        id: 'scenario-text-hint',
        class: 'muted small',
        text: 'JSON when the text is a JSON object, YAML otherwise.',
      }),
    ),
    errors,
    h('p', { class: 'buttons' }, submit),
    result.el,
  );

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    result.clear();
    clearErrors();
    if (chosen.size > MAX_BYTES) {
      showErrors(`${chosen.name} is ${Math.ceil(chosen.size / 1024)} kB; a scenario may be at most 256 kB.`, []);
      return;
    }
    try {
      text.value = await chosen.text();
      result.ok(`Read ${chosen.name}: check it below, then save.`);
    } catch (error) {
      showErrors(`${chosen.name} could not be read: ${messageOf(error)}`, []);
    }
  });
  return form;
}
