// @ts-check

import { authorizedFetch } from './common/api.js';
import { h, navLink } from './common/dom.js';

/** @typedef {{ row?: number | null, line?: number | null, field?: string | null, path?: string, message: string }} RowIssue */

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

const FORMATS = Object.freeze({
  csv: 'CSV (a header row, one app per row)',
  yaml: 'YAML (a list of apps)',
  backstage: 'Backstage catalog entities (catalog-info.yaml, kinds Component and System)',
});

/** The format a file's name suggests. @param {string} name */
export function formatOfFile(name) {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.includes('catalog-info')) return 'backstage';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return null;
}

/**
 * Bulk import: a CSV, YAML or Backstage file (chosen or pasted) sent to POST /apps/v1/import.
 * All or nothing: when the service refuses it, each problem is listed with its row, line and
 * field, and nothing was imported.
 * @param {HTMLElement} view
 * @param {{ canImport: boolean }} ctx
 */
export async function renderImport(view, ctx) {
  document.title = 'Import apps · micro-oncall';
  const head = h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Import apps' }));
  if (!ctx.canImport) {
    view.replaceChildren(head, h('p', { class: 'why-not', text: 'Only a responder imports apps: you are not one.' }));
    return;
  }
  const file = h('input', {
    id: 'import-file',
    name: 'file',
    type: 'file',
    accept: '.csv,.yaml,.yml,text/csv,application/yaml',
  });
  const format = h(
    'select',
    { id: 'import-format', name: 'format' },
    Object.entries(FORMATS).map(([v, text]) => h('option', { value: v, text })),
  );
  const text = h('textarea', {
    id: 'import-text',
    name: 'text',
    rows: 12,
    spellcheck: false,
    wrap: 'off',
    class: 'code',
  });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Import' });
  const result = h('div', { id: 'import-result', role: 'status', 'aria-live': 'polite' });

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    const guessed = formatOfFile(chosen.name);
    if (guessed) format.value = guessed;
    text.value = await chosen.text();
  });

  const form = h(
    'form',
    { class: 'register import-form', 'aria-labelledby': 'page-title' },
    h(
      'fieldset',
      {},
      h('legend', { text: 'The file' }),
      h(
        'label',
        { class: 'form-field', for: 'import-file' },
        h('span', { class: 'field-label', text: 'Choose a file' }),
        file,
      ),
      h(
        'label',
        { class: 'form-field', for: 'import-format' },
        h('span', { class: 'field-label', text: 'Format' }),
        format,
      ),
      h(
        'label',
        { class: 'form-field', for: 'import-text' },
        h('span', { class: 'field-label', text: 'Or paste it' }),
        h('span', {
          class: 'hint muted small',
          text: 'Apps match by name: new ones are registered, known ones updated. An export imports again unchanged.',
        }),
        text,
      ),
    ),
    h('div', { class: 'buttons' }, submit, navLink('/apps/', { class: 'button secondary', text: 'Back to the apps' })),
    result,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!text.value.trim()) {
      result.replaceChildren(
        h('p', { class: 'notice notice-error', text: 'Choose a file or paste its content first.' }),
      );
      text.focus();
      return;
    }
    submit.disabled = true;
    result.replaceChildren(h('p', { class: 'loading', text: 'Importing…' }));
    try {
      const res = await authorizedFetch(`/apps/v1/import?format=${encodeURIComponent(format.value)}`, {
        method: 'POST',
        headers: {
          'content-type': format.value === 'csv' ? 'text/csv' : 'application/yaml',
          accept: 'application/json',
        },
        body: text.value,
        cache: 'no-store',
      });
      const body = await res.json().catch(() => null);
      if (res.ok) {
        result.replaceChildren(
          h(
            'p',
            { class: 'notice notice-ok' },
            `Imported ${body.imported} app${body.imported === 1 ? '' : 's'}: ${body.created} new, ${body.updated} updated, ${body.unchanged} unchanged${body.skipped?.length ? `, ${body.skipped.length} entities of other kinds left alone` : ''}. `,
            navLink('/apps/?sort=updatedAt&order=desc', { text: 'See them' }),
          ),
        );
      } else {
        /** @type {RowIssue[]} */
        const issues = Array.isArray(body?.error?.details?.issues) ? body.error.details.issues : [];
        result.replaceChildren(
          h('p', {
            class: 'notice notice-error',
            role: 'alert',
            text: body?.error?.message ?? `The service answered ${res.status}.`,
          }),
          issues.length
            ? h(
                'table',
                { class: 'import-issues' },
                h('caption', { text: 'Nothing was imported. Fix these rows and import the file again:' }),
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['Row', 'Line', 'Field', 'Problem'].map((t) => h('th', { scope: 'col', text: t })),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  issues.map((i) =>
                    h(
                      'tr',
                      {},
                      h('td', { text: i.row == null ? '—' : String(i.row) }),
                      h('td', { text: i.line == null ? '—' : String(i.line) }),
                      h('td', {}, h('code', { text: i.field ?? i.path ?? '—' })),
                      h('td', { text: i.message }),
                    ),
                  ),
                ),
              )
            : '',
        );
      }
    } catch (error) {
      result.replaceChildren(
        h('p', { class: 'notice notice-error', role: 'alert', text: `Not imported: ${messageOf(error)}` }),
      );
    } finally {
      submit.disabled = false;
    }
  });

  view.replaceChildren(head, form);
}
