// @ts-check
/**
 * What the drills pages say, as pure functions (unit-tested in model.test.ts): who may do what,
 * the words for the API's values, a scenario's highest severity and length, the countdowns.
 */

/** @typedef {import('./types.js').Scenario} Scenario */
/** @typedef {import('./types.js').Run} Run */

/** Our severities, worst first (incident-model's `Severity`). */
export const SEVERITIES = Object.freeze(['critical', 'high', 'medium', 'low', 'info']);

/** @type {Readonly<Record<string, string>>} */
export const STATE_LABELS = Object.freeze({
  awaiting_approval: 'awaiting approval',
  rejected: 'rejected',
  running: 'running',
  completed: 'completed',
  aborted: 'aborted',
  expired: 'expired',
  failed: 'failed',
});

/** States a run never leaves (incident-model's `FINAL_DRILL_RUN_STATES`). */
const FINAL_STATES = new Set(['rejected', 'completed', 'aborted', 'expired', 'failed']);

/** @type {Readonly<Record<string, string>>} */
export const TARGET_LABELS = Object.freeze({
  pagerduty: 'PagerDuty Events',
  alertmanager: 'Alertmanager',
  ingest: 'our webhook-ingest',
});

/** @param {string} state */
export const isOpen = (state) => !FINAL_STATES.has(state);

/**
 * What the signed-in user may do here, as the API decides it (service-kit's `hasRole`: `admin`
 * includes every role; `responder` and `approver` include `viewer`).
 * @param {readonly string[]} roles
 */
export function rolesOf(roles) {
  const admin = roles.includes('admin');
  const responder = admin || roles.includes('responder');
  const approver = admin || roles.includes('approver');
  return {
    /** Propose a run, abort one (`responder`). */
    propose: responder,
    abort: responder,
    /** Approve or reject a proposal (`approver`). */
    approve: approver,
    /** Engage or re-arm the global kill switch (`approver`, or `admin`). */
    killSwitch: approver,
  };
}

/** @param {string} severity */
const rank = (severity) => {
  const i = SEVERITIES.indexOf(severity);
  return i < 0 ? SEVERITIES.length : i;
};

/**
 * The highest severity a scenario's timeline reaches (what a run of it is rated, and what the
 * approval threshold is compared with).
 * @param {Scenario['definition']} definition
 * @returns {string}
 */
export function highestSeverity(definition) {
  /** @type {string[]} */
  const seen = [];
  for (const step of definition.timeline) {
    if (step.severity) seen.push(step.severity);
    if (Array.isArray(step.alerts)) {
      for (const alert of step.alerts) if (typeof alert === 'object' && alert.severity) seen.push(alert.severity);
    }
  }
  return seen.sort((a, b) => rank(a) - rank(b))[0] ?? 'info';
}

/**
 * Whether a run at `severity` in `environment` needs a second person's approval, and why: the
 * same rule and words as the API's (src/policy.ts), so the form says beforehand what the run
 * will say.
 * @param {string} severity
 * @param {'staging' | 'production'} environment
 * @param {string} threshold the deployment's `APPROVAL_SEVERITY_THRESHOLD`
 * @returns {string[]} the reasons (none: it starts at once)
 */
export function approvalReasons(severity, environment, threshold) {
  const reasons = [];
  if (rank(severity) <= rank(threshold))
    reasons.push(`it fires ${severity} alerts (approval is needed from ${threshold})`);
  if (environment === 'production') reasons.push('it targets production');
  return reasons;
}

/**
 * How long a scenario's timeline lasts, in seconds (its last step's offset).
 * @param {Scenario['definition']} definition
 */
export function timelineSeconds(definition) {
  return definition.timeline.reduce((max, step) => Math.max(max, step.at), 0);
}

/**
 * When a countdown the API gave as `secondsLeft` (answered at `receivedAt`, browser time) ends,
 * in browser time: the server's clock decides how much is left, not the browser's.
 * @param {number | null} secondsLeft
 * @param {number} receivedAt
 * @returns {number | null}
 */
export function deadlineOf(secondsLeft, receivedAt) {
  return secondsLeft === null ? null : receivedAt + secondsLeft * 1000;
}

/**
 * @param {{ name: string | null, subject: string } | null} person
 */
export const personName = (person) => (person ? (person.name ?? person.subject) : 'nobody');

/**
 * One line on how a run ended, or what it waits for.
 * @param {Run} run
 */
export function runOutcome(run) {
  if (run.failure) {
    return `Step ${run.failure.step + 1} failed at ${TARGET_LABELS[run.failure.target] ?? run.failure.target}: ${run.failure.error}`;
  }
  if (run.state === 'awaiting_approval') return `Waits for an approver: ${run.approval.reasons.join('; ')}`;
  // The API's end reason says what happened ("aborted: …", "kill switch engaged: …").
  if (!isOpen(run.state) && run.endReason) {
    return run.endedBy ? `${run.endReason} (by ${personName(run.endedBy)})` : run.endReason;
  }
  if (run.state === 'running' && run.approval.approvedBy) return `Approved by ${personName(run.approval.approvedBy)}`;
  return '';
}

/**
 * What the `degrade` steps of a scenario turn on while a run lasts, in words (none: an empty list).
 * @param {Scenario['definition']} definition
 * @returns {string[]}
 */
export function degradations(definition) {
  return definition.timeline.flatMap((step) => {
    if (step.action !== 'degrade') return [];
    if (step.fault === 'latency') return [`${step.service}: +${step.latencyMs} ms latency`];
    if (step.fault === 'error_rate')
      return [`${step.service}: ${Math.round((step.errorRate ?? 0) * 1000) / 10}% of requests fail`];
    return [`${step.service}: ${step.dependency} switched off`];
  });
}

/** What a numbered item under a key is called, in words: `timeline.2` is step 3. */
const ITEM_WORDS = Object.freeze({ timeline: 'step', alerts: 'alert', checklist: 'checklist item', labels: 'label' });

/**
 * A field of a scenario as the API names it (`timeline.2.alerts.0.severity`), in words for the
 * form's error list: `step 3 › alert 1 › severity`.
 * @param {string} path
 */
export function fieldWords(path) {
  if (path === '(document)') return 'the document';
  if (path === '(root)' || path === '') return 'the scenario';
  const parts = path.split('.');
  /** @type {string[]} */
  const words = [];
  for (const [i, part] of parts.entries()) {
    if (/^\d+$/.test(part)) continue;
    const next = parts[i + 1];
    if (next !== undefined && /^\d+$/.test(next)) {
      const word = /** @type {Record<string, string>} */ (ITEM_WORDS)[part] ?? `${part} item`;
      words.push(`${word} ${Number(next) + 1}`);
    } else words.push(part);
  }
  return words.join(' › ');
}

/**
 * How to send a pasted or uploaded scenario: JSON when the text is a JSON object, YAML
 * otherwise (the API then names the line of a syntax error, which JSON parsing would not).
 * @param {string} text
 * @returns {'json' | 'yaml'}
 */
export function scenarioFormat(text) {
  if (!text.trimStart().startsWith('{')) return 'yaml';
  try {
    JSON.parse(text);
    return 'json';
  } catch {
    return 'yaml';
  }
}
