// @ts-check

import { RequestError, request } from './client.js';
import { $, h, navLink } from './common/dom.js';
import { decisionView } from './decision.js';
import {
  DATA_LABELS,
  EXPOSURE_LABELS,
  fieldOfIssue,
  IMPACT_LABELS,
  RUNTIME_LABELS,
  SLA_LABELS,
  STATE_LABELS,
} from './model.js';

/** @typedef {import('./types.js').App} App */
/** @typedef {import('./types.js').Decision} Decision */
/** @typedef {import('./types.js').Template} Template */
/**
 * A discovered candidate as GET /apps/v1/discovery/candidates/<id> answers (what the form uses).
 * @typedef {{ id: string, kind: string, key: string, label: string, state: 'open' | 'registered' | 'dismissed',
 *   appId: string | null, dismissReason: string | null, sources: string[],
 *   suggestedOwner: { who: string, why: string | null } | null,
 *   prefill: { name: string, purpose: string, runtime: string, endpoints: { host: string, path: string }[],
 *     cloudResourceIds: string[], idpClientIds: string[], suggestedOwner: string | null } }} Candidate
 */

const OWNER_WHY = Object.freeze({ creator: 'created it', deployer: 'deployed it', caller: 'calls it most' });

/** Form fields, by the API's field path (a 400 names these). */
const FIELDS = [
  'template',
  'name',
  'purpose',
  'owner.name',
  'owner.contact',
  'team.name',
  'team.contact',
  'impact',
  'dataClasses',
  'exposure',
  'runtime',
  'namespace',
  'dedicatedNamespace',
  'publicStorage',
  'environments',
  'repository',
  'endpoints',
  'idpClientIds',
  'tags',
  'costCentre',
  'sla',
];

const idOf = (/** @type {string} */ field) => `f-${field.replace('.', '-')}`;

/**
 * A labelled control with a hint and a place for the API's error about it.
 * @param {string} field
 * @param {string} label
 * @param {HTMLElement} control
 * @param {string} [hint]
 */
function field(field, label, control, hint) {
  const id = idOf(field);
  control.id = id;
  control.setAttribute('name', field);
  const describedBy = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  return h(
    'div',
    { class: 'form-field', data: { field } },
    h('label', { class: 'field-label', for: id, text: label }),
    hint ? h('p', { id: `${id}-hint`, class: 'hint muted small', text: hint }) : null,
    control,
    h('p', { id: `${id}-error`, class: 'field-error', hidden: true }),
  );
}

/** @param {Record<string, string>} options @param {string} [placeholder] */
const select = (options, placeholder) =>
  h(
    'select',
    { required: true },
    placeholder ? h('option', { value: '', text: placeholder }) : null,
    Object.entries(options).map(([value, text]) => h('option', { value, text })),
  );

const list = (/** @type {string} */ text) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * What is being registered when it was discovered: what was found, who may own it, the
 * identifiers the app is given so that later runs match it.
 * @param {Candidate} c
 */
function discoveredCard(c) {
  const ids = [...c.prefill.endpoints.map((e) => e.host), ...c.prefill.cloudResourceIds, ...c.prefill.idpClientIds];
  const owner = c.suggestedOwner;
  return h(
    'section',
    { id: 'discovered-candidate', class: 'card discovered-candidate', 'aria-labelledby': 'discovered-title' },
    h('h2', { id: 'discovered-title', text: `Discovered ${c.kind}: ${c.label}` }),
    h(
      'p',
      {},
      `Found in ${c.sources.join(', ')}. `,
      owner
        ? `Suggested owner: ${owner.who} (${OWNER_WHY[/** @type {keyof typeof OWNER_WHY} */ (owner.why ?? 'caller')] ?? owner.why}). `
        : 'Nobody known to ask. ',
      'The form is filled in from what was found: check it and answer the classification questions.',
    ),
    h('p', { class: 'muted small' }, 'The app gets ', h('code', { text: ids.join(', ') }), ', so later runs match it.'),
  );
}

/**
 * Onboarding: an approved template, the app's facts and the classification questions; the
 * policy's decision at once, with its reasons; a field the API refuses is named next to it.
 * With `?candidate=<id>`, a discovered candidate is registered: the form starts from what
 * discovery found and the candidate is linked to the app.
 * @param {HTMLElement} view
 * @param {{ me: { subject: string, name: string | null, email: string | null }, search?: string }} ctx
 */
export async function renderRegister(view, ctx) {
  const candidateId = new URLSearchParams(ctx.search ?? '').get('candidate');
  /** @type {Candidate | null} */
  const candidate = candidateId
    ? /** @type {{ body: Candidate }} */ (
        await request('GET', `/apps/v1/discovery/candidates/${encodeURIComponent(candidateId)}`)
      ).body
    : null;
  if (candidate && candidate.state !== 'open') {
    view.replaceChildren(
      h('h1', { id: 'page-title', text: 'Register an app' }),
      h(
        'p',
        { class: 'notice notice-error', role: 'alert' },
        candidate.state === 'registered'
          ? `${candidate.label} is registered already. `
          : `${candidate.label} was dismissed: ${candidate.dismissReason ?? ''}. `,
        candidate.appId ? navLink(`/apps/${candidate.appId}`, { text: 'Open the app' }) : null,
        ' ',
        navLink('/apps/discovered', { text: 'Back to Discovered' }),
      ),
    );
    return;
  }
  const templateSelect = select({}, 'Loading templates…');
  const form = h(
    'form',
    { class: 'register', novalidate: true, 'aria-labelledby': 'page-title' },
    h(
      'fieldset',
      {},
      h('legend', { text: 'The app' }),
      field('template', 'Template', templateSelect, 'The approved starter it was made from.'),
      field(
        'name',
        'Name',
        h('input', { required: true, autocomplete: 'off' }),
        'What telemetry and incidents call it: lowercase letters, digits and dashes.',
      ),
      field('purpose', 'Purpose', h('textarea', { rows: 2 }), 'What it does, for whom.'),
      field('repository', 'Repository URL', h('input', { type: 'url' })),
      field('environments', 'Environments', h('input', { value: 'production' }), 'Comma-separated.'),
      field('endpoints', 'Hosts', h('input', {}), 'Host names it answers on, comma-separated.'),
    ),
    h(
      'fieldset',
      {},
      h('legend', { text: 'Owners' }),
      field('owner.name', 'Owner (a person)', h('input', { required: true, value: ctx.me.name ?? '' })),
      field(
        'owner.contact',
        "Owner's contact",
        h('input', { required: true, value: ctx.me.email ?? '' }),
        'An email address or a chat handle.',
      ),
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', id: 'f-i-own', name: 'iOwn', checked: true }),
        'I am the owner (I can restore it myself)',
      ),
      field('team.name', 'Team', h('input', { required: true })),
      field('team.contact', "Team's contact", h('input', { required: true }), 'A channel or a mailing list.'),
    ),
    h(
      'fieldset',
      {},
      h('legend', { text: 'Classification' }),
      field('impact', 'How much does the business depend on it?', select(IMPACT_LABELS, 'Choose…')),
      h(
        'fieldset',
        {
          class: 'checks form-field',
          id: idOf('dataClasses'),
          'aria-describedby': `${idOf('dataClasses')}-error`,
          data: { field: 'dataClasses' },
        },
        h('legend', { text: 'Which data does it handle?' }),
        Object.entries(DATA_LABELS).map(([value, text]) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'dataClasses', value }), text),
        ),
        h('p', { id: `${idOf('dataClasses')}-error`, class: 'field-error', hidden: true }),
      ),
      field('exposure', 'Who can reach it?', select(EXPOSURE_LABELS, 'Choose…')),
      field('runtime', 'Where does it run?', select(RUNTIME_LABELS, 'Choose…')),
      field('namespace', 'Namespace', h('input', {}), 'Where a container runs (personal data needs one of its own).'),
      h(
        'div',
        { class: 'form-field checks' },
        h(
          'label',
          { class: 'check' },
          h('input', { type: 'checkbox', id: idOf('dedicatedNamespace'), name: 'dedicatedNamespace' }),
          'The namespace is dedicated to this app',
        ),
        h(
          'label',
          { class: 'check' },
          h('input', { type: 'checkbox', id: idOf('publicStorage'), name: 'publicStorage' }),
          'It keeps data in publicly readable storage',
        ),
      ),
      field(
        'idpClientIds',
        'Sign-in (SSO) client ids',
        h('input', {}),
        'The identity provider client ids it signs people in with, comma-separated.',
      ),
      field('sla', 'Support promise', select(SLA_LABELS)),
      field('tags', 'Tags', h('input', {}), 'Comma-separated.'),
      field('costCentre', 'Cost centre', h('input', {})),
    ),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', text: 'Register' })),
  );
  const problem = h('p', { id: 'form-problem', class: 'form-problem', role: 'alert', hidden: true });
  const result = h('div', { id: 'result', tabindex: '-1' });
  const card = candidate ? discoveredCard(candidate) : null;
  if (candidate) {
    const p = candidate.prefill;
    /** @param {string} name @param {string} value */
    const fill = (name, value) => {
      const control = form.querySelector(`#${idOf(name)}`);
      if (control instanceof HTMLInputElement || control instanceof HTMLTextAreaElement) control.value = value;
      if (control instanceof HTMLSelectElement) control.value = value;
    };
    fill('name', p.name);
    fill('purpose', p.purpose);
    fill('runtime', p.runtime);
    fill('endpoints', p.endpoints.map((e) => e.host).join(', '));
    fill('idpClientIds', p.idpClientIds.join(', '));
  }
  view.replaceChildren(
    h('h1', { id: 'page-title', text: candidate ? `Register ${candidate.label}` : 'Register an app' }),
    ...(card ? [card] : []),
    h('p', {
      class: 'muted',
      text: 'Answer the questions: the policy decides at once and says why. Low risk goes straight through; above the threshold an approver decides.',
    }),
    problem,
    form,
    result,
  );

  try {
    const { body } = await request('GET', '/apps/v1/templates');
    const templates = /** @type {{ items: Template[] }} */ (body).items;
    templateSelect.replaceChildren(
      h('option', {
        value: '',
        text: templates.length ? 'Choose a template…' : 'No approved template (the policy cannot be read)',
      }),
      ...templates.map((t) => h('option', { value: t.name, text: `${t.name} — ${t.description}` })),
    );
  } catch (error) {
    templateSelect.replaceChildren(h('option', { value: '', text: 'Templates cannot be read' }));
    problem.textContent = `The approved templates cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    problem.hidden = false;
  }

  const clearErrors = () => {
    problem.hidden = true;
    for (const el of form.querySelectorAll('.field-error')) {
      el.textContent = '';
      /** @type {HTMLElement} */ (el).hidden = true;
    }
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const data = new FormData(form);
    const text = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
    const orNull = (/** @type {string} */ name) => text(name) || null;
    /** @type {Record<string, unknown>} */
    const body = {
      template: orNull('template'),
      name: text('name'),
      purpose: text('purpose'),
      owner:
        text('owner.name') || text('owner.contact')
          ? { name: text('owner.name'), contact: text('owner.contact') }
          : null,
      ownerSubject: data.get('iOwn') === 'on' ? ctx.me.subject : null,
      team: { name: text('team.name'), contact: text('team.contact') },
      impact: text('impact'),
      dataClasses: data.getAll('dataClasses').map(String),
      exposure: text('exposure'),
      runtime: text('runtime'),
      namespace: orNull('namespace'),
      dedicatedNamespace: data.get('dedicatedNamespace') === 'on',
      publicStorage: data.get('publicStorage') === 'on',
      environments: list(text('environments')),
      repository: orNull('repository'),
      endpoints: list(text('endpoints')).map((host) => ({ host })),
      idpClientIds: list(text('idpClientIds')),
      tags: list(text('tags')),
      costCentre: orNull('costCentre'),
      sla: text('sla') || 'best_effort',
    };
    const submit = /** @type {HTMLButtonElement} */ ($('button[type="submit"]', form));
    submit.disabled = true;
    try {
      const { body: answer } = await request(
        'POST',
        candidate ? `/apps/v1/discovery/candidates/${encodeURIComponent(candidate.id)}/register` : '/apps/v1/apps',
        { body },
      );
      const { app, decision, token } = /** @type {{ app: App, decision: Decision, token: string }} */ (answer);
      result.replaceChildren(registered(app, decision, token, candidate));
      result.focus();
      form.hidden = true;
      // The answer says what became of the candidate.
      if (card) card.hidden = true;
    } catch (error) {
      if (error instanceof RequestError && error.status === 400 && error.issues.length > 0) {
        /** @type {HTMLElement | null} */
        let first = null;
        const general = [];
        for (const issue of error.issues) {
          const name = fieldOfIssue(issue.path, FIELDS);
          const slot = name ? form.querySelector(`#${idOf(name)}-error`) : null;
          if (!name || !(slot instanceof HTMLElement)) {
            general.push(`${issue.path}: ${issue.message}`);
            continue;
          }
          slot.textContent = slot.hidden ? issue.message : `${slot.textContent}; ${issue.message}`;
          slot.hidden = false;
          const control = form.querySelector(`#${idOf(name)}`);
          if (control instanceof HTMLElement) {
            control.setAttribute('aria-invalid', 'true');
            first ??= control;
          }
        }
        problem.textContent =
          general.length > 0 ? `Please correct: ${general.join('; ')}` : 'Please correct the fields marked below.';
        problem.hidden = false;
        (first ?? problem).focus();
      } else {
        problem.textContent = `The app was not registered: ${error instanceof Error ? error.message : String(error)}`;
        problem.hidden = false;
        problem.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });
}

/**
 * The answer to a registration: the decision with its reasons, the token (shown once).
 * @param {App} app
 * @param {Decision} decision
 * @param {string} token
 * @param {Candidate | null} candidate the discovered candidate it was registered from, if any
 */
function registered(app, decision, token, candidate) {
  return h(
    'section',
    { class: 'card registered', 'aria-labelledby': 'registered-title' },
    h(
      'h2',
      { id: 'registered-title' },
      `${app.name} is `,
      h('span', { class: `state state-${app.state}`, text: STATE_LABELS[app.state] ?? app.state }),
    ),
    decisionView(decision, { headingLevel: 'h3' }),
    h(
      'div',
      { class: 'token' },
      h('h3', { text: 'Pipeline token (shown once)' }),
      h('p', {
        class: 'muted small',
        text: 'Store it as a secret of the app’s pipeline: it posts the SBOM, scans and SSO client id with it.',
      }),
      h('code', { class: 'token-value', text: token }),
    ),
    candidate
      ? h(
          'p',
          { class: 'linked-candidate' },
          `The discovered ${candidate.kind} ${candidate.label} is linked to it: it leaves the Discovered list, its ownership task is resolved, and later runs count its traffic as this app's activity. `,
          navLink('/apps/discovered', { text: 'Back to Discovered' }),
        )
      : null,
    h('p', {}, navLink(`/apps/${app.id}`, { class: 'button secondary', text: `Open ${app.name}` })),
  );
}
