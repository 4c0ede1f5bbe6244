// @ts-check

import { request } from './client.js';
import { h, navLink } from './common/dom.js';
import { clockTime, exactTime } from './common/time.js';
import { rolesOf } from './model.js';

/** `1 file`, `3 files`. */
const count = (/** @type {number} */ n, /** @type {string} */ one, /** @type {string} */ many) =>
  `${n} ${n === 1 ? one : many}`;

/**
 * @typedef {{ who: string, count: number, action?: string }} Counted
 * @typedef {{ source: string, format: string, action: string, at: string, file: string, line: number, text: string }} Evidence
 * @typedef {{
 *   id: string, kind: string, key: string, label: string, sources: string[], firstSeenAt: string, lastSeenAt: string,
 *   discoveredAt: string, sightings: number, creators: Counted[], topCallers: Counted[], evidence: Evidence[],
 *   flagged: boolean, flaggedAt: string | null, suggestedOwner: { who: string, why: string | null } | null,
 *   state: 'open' | 'registered' | 'dismissed', appId: string | null, taskId: string | null,
 *   decidedBy: string | null, dismissReason: string | null
 * }} Candidate
 * @typedef {{ file: string, line: number, message: string }} ReadError
 * @typedef {{ source: string, files: number, linesRead: number, sightings: number, appsMatched: number,
 *   newCandidates: number, errors: number, errorList: ReadError[], failed: string | null }} SourceReport
 * @typedef {{ id: string, trigger: string, requestedBy: string, status: string, startedAt: string,
 *   finishedAt: string | null, sources: SourceReport[], error: string | null,
 *   totals: { linesRead: number, sightings: number, appsMatched: number, newCandidates: number, flagged: number, errors: number } }} Run
 * @typedef {{ subject: string, roles: string[] }} Me
 */

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/** The states the list can show ('' = all). */
const STATES = Object.freeze({ open: 'Not registered', registered: 'Registered', dismissed: 'Dismissed', '': 'All' });

const WHY = Object.freeze({ creator: 'created it', deployer: 'deployed it', caller: 'calls it most' });

/** @param {string} iso */
const time = (iso) => h('time', { datetime: iso, title: exactTime(iso), text: clockTime(iso) });

/** @param {Candidate} c */
function flagCell(c) {
  if (c.state === 'registered')
    return h('span', {}, 'Registered ', c.appId ? navLink(`/apps/${c.appId}`, { text: 'open app' }) : null);
  if (c.state === 'dismissed') return h('span', { text: `Dismissed: ${c.dismissReason ?? ''}` });
  if (c.flagged && c.flaggedAt) return h('span', { class: 'badge badge-flagged' }, 'Flagged ', time(c.flaggedAt));
  return h('span', { class: 'muted' }, 'Found ', time(c.discoveredAt));
}

/** @param {Candidate} c */
function evidenceCell(c) {
  if (c.evidence.length === 0) return h('span', { class: 'muted', text: 'none kept' });
  return h(
    'details',
    {},
    h('summary', { text: `${c.evidence.length} line${c.evidence.length === 1 ? '' : 's'} (${c.sources.join(', ')})` }),
    h(
      'ul',
      { class: 'evidence-lines' },
      c.evidence.map((e) =>
        h(
          'li',
          {},
          h('strong', { text: `${e.source}/${e.file}:${e.line}` }),
          ` ${e.action} `,
          h('code', { text: e.text }),
        ),
      ),
    ),
  );
}

/**
 * Dismiss with a reason (approvers; audited by the service).
 * @param {Candidate} c @param {(text: string, kind: 'ok' | 'error') => void} say @param {() => Promise<void>} done
 */
function dismissForm(c, say, done) {
  const reason = h('input', {
    type: 'text',
    name: 'reason',
    required: true,
    maxlength: '2000',
    placeholder: 'Why it is not an app',
  });
  const submit = h('button', {
    type: 'submit',
    class: 'secondary',
    text: 'Dismiss',
    'aria-label': `Dismiss ${c.label}`,
  });
  const form = h(
    'form',
    { class: 'inline-form' },
    h('label', {}, h('span', { class: 'visually-hidden', text: 'Reason' }), reason),
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await request('POST', `/apps/v1/discovery/candidates/${encodeURIComponent(c.id)}/dismiss`, {
        body: { reason: /** @type {HTMLInputElement} */ (reason).value },
      });
      await done();
      say(`${c.label} is dismissed.`, 'ok');
    } catch (error) {
      submit.disabled = false;
      say(`Not dismissed: ${messageOf(error)}`, 'error');
    }
  });
  return form;
}

/**
 * What this person can do with an open candidate: register it (responders: the registration page,
 * filled in from what discovery found), dismiss it (approvers), or read who can.
 * @param {Candidate} c @param {{ responder: boolean, approver: boolean }} roles
 * @param {(text: string, kind: 'ok' | 'error') => void} say @param {() => Promise<void>} done
 */
function actionsCell(c, roles, say, done) {
  if (c.state !== 'open') return null;
  if (!roles.responder && !roles.approver) {
    return h('span', { class: 'why-not', text: 'A responder registers it; an approver may dismiss it.' });
  }
  return h(
    'div',
    { class: 'candidate-actions' },
    roles.responder
      ? navLink(`/apps/new?candidate=${encodeURIComponent(c.id)}`, {
          class: 'button primary',
          text: 'Register',
          'aria-label': `Register ${c.label}`,
        })
      : null,
    roles.approver ? dismissForm(c, say, done) : null,
  );
}

/**
 * How the run came about. A Kafka topic of raw log lines has one rolling report per day
 * (trigger `stream`), requested by `stream:<topic>` (discovery/stream.ts).
 * @param {Run} run
 */
function trigger(run) {
  if (run.trigger === 'stream') return `stream ${run.requestedBy.replace(/^stream:/, '')}, that day's lines`;
  return run.trigger === 'manual' ? `asked for by ${run.requestedBy}` : 'daily';
}

/** @param {Run} run */
function runReport(run) {
  const t = run.totals;
  return h(
    'li',
    { class: 'run-report', data: { run: run.id, status: run.status } },
    h(
      'p',
      {},
      h('strong', { text: run.status }),
      ' · ',
      time(run.startedAt),
      ` · ${trigger(run)} · `,
      `${count(t.linesRead, 'line', 'lines')} read, ${count(t.appsMatched, 'app', 'apps')} matched, ${count(t.newCandidates, 'new candidate', 'new candidates')}, ${t.flagged} flagged, ${count(t.errors, 'error', 'errors')}`,
    ),
    run.error ? h('p', { class: 'error', text: run.error }) : null,
    h(
      'ul',
      {},
      run.sources.map((s) =>
        h(
          'li',
          { data: { source: s.source } },
          h('strong', { text: s.source }),
          s.failed
            ? h('span', { class: 'error', text: ` failed: ${s.failed}` })
            : ` ${run.requestedBy.startsWith('stream:') ? '' : `${count(s.files, 'file', 'files')}, `}${count(s.linesRead, 'line', 'lines')}, ${count(s.appsMatched, 'app', 'apps')} matched, ${s.newCandidates} new, ${count(s.errors, 'error', 'errors')}`,
          s.errorList.length > 0
            ? h(
                'ul',
                { class: 'read-errors' },
                s.errorList.map((e) => h('li', {}, h('code', { text: `${e.file}:${e.line}` }), ` ${e.message}`)),
              )
            : null,
        ),
      ),
    ),
  );
}

/**
 * Discovered: what the sources show that nobody registered (flag, suggested owner, evidence),
 * and the last runs' reports with errors by source.
 * @param {HTMLElement} view
 * @param {{ me: Me, search: string, navigate: (path: string) => void }} ctx
 */
export async function renderDiscovered(view, ctx) {
  document.title = 'Discovered · Apps · micro-oncall';
  const roles = rolesOf(ctx.me.roles);
  const params = new URLSearchParams(ctx.search);
  const state = params.get('state') ?? 'open';
  const notice = h('p', { id: 'action-result', class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true });
  /** @type {(text: string, kind: 'ok' | 'error') => void} */
  const say = (text, kind) => {
    notice.textContent = text;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
  };
  const select = h(
    'select',
    { id: 'discovered-state', name: 'state' },
    Object.entries(STATES).map(([v, text]) => h('option', { value: v, text, selected: v === state })),
  );
  select.addEventListener('change', () => ctx.navigate(`/apps/discovered?state=${select.value}`));
  const summary = h('p', { class: 'muted' });
  const list = h('div', {});
  const runs = h('ol', { class: 'run-reports' });

  const load = async () => {
    const query = state ? `?state=${encodeURIComponent(state)}` : '';
    const [candidates, recent] = await Promise.all([
      request('GET', `/apps/v1/discovery/candidates${query}`),
      request('GET', '/apps/v1/discovery/runs?limit=5'),
    ]);
    const body = /** @type {{ items: Candidate[], counts: Record<string, number> }} */ (candidates.body);
    summary.textContent = `${body.counts.open} not registered (${body.counts.flagged} flagged), ${body.counts.registered} registered, ${body.counts.dismissed} dismissed.`;
    list.replaceChildren(
      body.items.length === 0
        ? h('p', { class: 'muted', text: 'Nothing discovered here.' })
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'discovered-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['What', 'Flag', 'Suggested owner', 'Seen', 'Evidence', ''].map((t) =>
                    h('th', { scope: 'col', text: t }),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                body.items.map((c) =>
                  h(
                    'tr',
                    { data: { candidate: c.id, label: c.label } },
                    h(
                      'td',
                      {},
                      h('strong', { text: c.label }),
                      h('br'),
                      h('span', { class: 'muted', text: `${c.kind} · ${c.key}` }),
                    ),
                    h('td', {}, flagCell(c)),
                    h(
                      'td',
                      {},
                      c.suggestedOwner
                        ? `${c.suggestedOwner.who} (${WHY[/** @type {keyof typeof WHY} */ (c.suggestedOwner.why ?? 'caller')] ?? c.suggestedOwner.why})`
                        : (c.creators[0]?.who ?? c.topCallers[0]?.who ?? '—'),
                    ),
                    h('td', { class: 'seen' }, `${c.sightings}× · last `, time(c.lastSeenAt)),
                    h('td', {}, evidenceCell(c)),
                    h('td', {}, actionsCell(c, roles, say, load)),
                  ),
                ),
              ),
            ),
          ),
    );
    const recentRuns = /** @type {{ items: Run[] }} */ (recent.body).items;
    runs.replaceChildren(
      ...(recentRuns.length === 0 ? [h('li', { class: 'muted', text: 'No run yet.' })] : recentRuns.map(runReport)),
    );
  };

  const runNow = roles.admin ? h('button', { type: 'button', class: 'primary', text: 'Run discovery now' }) : null;
  runNow?.addEventListener('click', async () => {
    runNow.disabled = true;
    try {
      const started = /** @type {{ body: Run }} */ (await request('POST', '/apps/v1/discovery/runs')).body;
      say('Discovery is running…', 'ok');
      // Its report when it is done (a run over big sources can take minutes: then reload later).
      /** @type {Run | null} */
      let done = null;
      for (let i = 0; i < 120 && !done; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const run = /** @type {{ body: Run }} */ (await request('GET', `/apps/v1/discovery/runs/${started.id}`)).body;
        if (run.status !== 'running') done = run;
      }
      await load();
      say(
        done
          ? `Discovery ${done.status}: ${count(done.totals.newCandidates, 'new candidate', 'new candidates')}, ${done.totals.flagged} flagged, ${count(done.totals.errors, 'error', 'errors')}.`
          : 'Discovery is still running: reload the page later for its report.',
        done && done.status !== 'failed' ? 'ok' : 'error',
      );
    } catch (error) {
      say(`Not started: ${messageOf(error)}`, 'error');
    } finally {
      runNow.disabled = false;
    }
  });

  view.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', { id: 'page-title', text: 'Discovered' }), runNow),
    h(
      'p',
      { class: 'muted' },
      'Apps nobody registered that the cloud audit logs, gateway logs, identity providers, invoices and SaaS connector lists show. One still unregistered a day after it was found is flagged, with the person who created, deployed or bought it (else its most frequent caller) as its suggested owner and an ownership task. A responder registers it (the registration form comes filled in from what was found, and the app matches it from then on); an approver dismisses one that is not an app, with a reason. Flagged ones are ownership tasks too. ',
      navLink('/apps/governance', { text: 'Governance' }),
    ),
    h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Which candidates' },
      h('label', { class: 'field', for: 'discovered-state' }, 'Show', select),
    ),
    notice,
    summary,
    list,
    h('h2', { text: 'Last runs' }),
    runs,
  );
  await load();
}
