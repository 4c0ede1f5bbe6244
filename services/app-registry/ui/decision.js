// @ts-check
import { h } from './common/dom.js';
import { OUTCOME_LABELS } from './model.js';

/** @typedef {import('./types.js').Decision} Decision */

/**
 * A policy decision as people read it: the outcome, the tier and score, the explanation, each
 * reason (its rule, what is wrong, what to change) and the controls the tier requires.
 * @param {Decision} decision
 * @param {{ headingLevel?: 'h2' | 'h3' }} [opts]
 */
export function decisionView(decision, opts = {}) {
  const heading = opts.headingLevel ?? 'h2';
  return h(
    'section',
    { class: `decision outcome-${decision.outcome}`, 'aria-labelledby': 'decision-title' },
    h(
      heading,
      { id: 'decision-title' },
      h('span', { class: 'outcome', text: OUTCOME_LABELS[decision.outcome] ?? decision.outcome }),
    ),
    h(
      'p',
      { class: 'decision-meta muted' },
      decision.tier ? `${decision.tier} risk (score ${decision.score ?? '?'})` : 'no tier',
      decision.policyVersion ? ` · policy ${decision.policyVersion}` : '',
    ),
    h('p', { class: 'explanation', text: decision.explanation }),
    decision.reasons.length > 0
      ? h(
          'ol',
          { class: 'reasons', 'aria-label': 'Reasons' },
          decision.reasons.map((r) =>
            h(
              'li',
              { class: 'reason', data: { rule: r.rule } },
              h('span', { class: 'rule', text: r.rule }),
              h('span', { class: 'reason-message', text: r.message }),
              r.fix ? h('span', { class: 'fix' }, h('strong', { text: 'What to change: ' }), r.fix) : null,
            ),
          ),
        )
      : null,
    decision.controls.length > 0 ? controlsTable(decision.controls) : null,
  );
}

/** @param {import('./types.js').Control[]} controls */
export function controlsTable(controls) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'controls' },
      h('caption', { text: 'Controls this tier requires' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Control', 'Rule', 'Status', 'What we know', 'What to change'].map((t) =>
            h('th', { scope: 'col', text: t }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        controls.map((c) =>
          h(
            'tr',
            { data: { control: c.id } },
            h('td', { text: c.title }),
            h('td', {}, h('code', { text: c.rule })),
            h('td', {}, h('span', { class: `control control-${c.status}`, text: c.status })),
            h('td', { text: c.message }),
            h('td', { text: c.fix }),
          ),
        ),
      ),
    ),
  );
}
