// @ts-check
import { ApiError, api } from './api.js';
import { exactTime } from './common/time.js';
import { append, externalLink, h, navLink } from './dom.js';
import {
  assigneeNames,
  changeText,
  contactItem,
  drillBadge,
  incidentNumber,
  providerConditionLine,
  providerName,
  providerNoteText,
  providerSeverityTag,
  refreshTimes,
  relativeTime,
  severityChip,
  severityLabel,
  statusBadge,
  truncationText,
  unownedBadge,
  unverifiedDrillBadge,
} from './format.js';
import { createGroupCard } from './grouping.js';
import { createPicker } from './picker.js';

/** @typedef {import('./types.js').Context} Context */
/** @typedef {import('./types.js').IncidentDetail} IncidentDetail */
/** @typedef {import('./types.js').Ownership} Ownership */
/** @typedef {import('./types.js').Contact} Contact */
/** @typedef {import('./types.js').ProviderCondition} ProviderCondition */
/** @typedef {import('./types.js').ProviderTimelineEntry} ProviderTimelineEntry */

/** Providers this service can act on (generic incidents are handled at their source). */
const ACTIONABLE = new Set(['pagerduty', 'opsgenie', 'alertmanager']);

/** @type {Record<string, string>} */
const KIND_LABELS = {
  triggered: 'Triggered',
  acknowledged: 'Acknowledged',
  unacknowledged: 'Unacknowledged',
  resolved: 'Resolved',
  reopened: 'Reopened',
  escalated: 'Escalated',
  reassigned: 'Reassigned',
  delegated: 'Delegated',
  priority_changed: 'Priority changed',
  note_added: 'Note',
  updated: 'Updated',
};

/** @param {string} iso e.g. "01/12/2026, 17:00" in the reader's locale */
function shortTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

/** @param {Contact[]} contacts */
function contactList(contacts) {
  return contacts.length === 0
    ? h('p', { class: 'muted', text: 'No contact methods in the catalogue.' })
    : h(
        'ul',
        { class: 'contact-list' },
        contacts.map((c) => h('li', {}, contactItem(c))),
      );
}

/**
 * Owners → on-call → fallback, in the order to try them.
 * @param {Ownership} o
 */
function escalationPath(o) {
  /** @type {HTMLElement[]} */
  const steps = [];
  if (o.owned) {
    steps.push(
      h(
        'li',
        {},
        h('h3', { text: 'Owners' }),
        h('p', { text: o.owners.join(', ') }),
        o.team ? h('p', { class: 'muted', text: `Team ${o.team}` }) : null,
      ),
      h(
        'li',
        {},
        h('h3', { text: 'On-call' }),
        o.oncall
          ? h('p', {}, h('strong', { class: 'handle', text: o.oncall }))
          : h('p', { class: 'muted', text: 'No on-call handle' }),
        contactList(o.contacts),
      ),
    );
  } else {
    steps.push(
      h(
        'li',
        { class: 'unowned-step' },
        h('h3', {}, unownedBadge()),
        h(
          'p',
          {},
          `No service named “`,
          h('code', { text: o.service }),
          '” in the catalogue: go straight to the fallback.',
        ),
      ),
    );
  }
  steps.push(
    h(
      'li',
      { class: o.owned ? '' : 'emphasis' },
      h('h3', { text: 'Fallback' }),
      h(
        'p',
        {},
        h('strong', { text: o.fallback.name }),
        o.fallback.oncall ? h('span', { class: 'handle', text: ` ${o.fallback.oncall}` }) : null,
      ),
      contactList(o.fallback.contacts),
    ),
  );
  return h('ol', { class: 'path' }, steps);
}

/** @param {IncidentDetail['events'][number]} e */
function timelineItem(e) {
  const who = e.actor
    ? `${e.actor.name ?? e.actor.id ?? 'someone'}${e.actor.type === 'user' ? '' : ` (${e.actor.type})`}`
    : null;
  const changed = changeText(e.change);
  const truncated = truncationText(e.change);
  return h(
    'li',
    { class: `event kind-${/^[a-z_]+$/.test(e.kind) ? e.kind : 'other'}` },
    h('time', {
      datetime: e.occurredAt,
      title: exactTime(e.occurredAt),
      text: new Date(e.occurredAt).toLocaleString(),
    }),
    h(
      'div',
      { class: 'event-body' },
      h(
        'p',
        { class: 'event-head' },
        h('strong', { text: KIND_LABELS[e.kind] ?? e.kind }),
        who ? ` by ${who}` : null,
        h('span', { class: 'muted', text: ` · ${e.providerEventType}` }),
        // The event's own claim, believed or not: the incident's head says which.
        e.drill ? h('span', { class: 'muted', text: ' · drill marker' }) : null,
      ),
      changed ? h('p', { class: 'event-change', text: changed }) : null,
      truncated ? h('p', { class: 'event-warning', role: 'note', text: truncated }) : null,
      e.note ? h('p', { class: 'note', text: e.note }) : null,
    ),
  );
}

/** @type {Record<ProviderTimelineEntry['kind'], string>} */
const PROVIDER_NOTE_LABELS = {
  began: 'Provider condition',
  changed: 'Provider condition changed',
  ended: 'Provider recovered',
};

/** @param {ProviderTimelineEntry} e */
function providerTimelineItem(e) {
  const label =
    e.kind === 'ended' && e.to !== 'operational' ? 'Provider condition no longer mapped' : PROVIDER_NOTE_LABELS[e.kind];
  return h(
    'li',
    { class: `event provider-note pn-${e.kind}` },
    h('time', { datetime: e.at, title: exactTime(e.at), text: new Date(e.at).toLocaleString() }),
    h(
      'div',
      { class: 'event-body' },
      h(
        'p',
        { class: 'event-head' },
        h('strong', { text: label }),
        h('span', { class: 'muted', text: ` · ${e.provider} status page` }),
      ),
      h('p', { class: 'event-change', text: providerNoteText(e) }),
    ),
  );
}

/**
 * The provider conditions affecting the incident's service now, with the provider's incidents
 * behind them (names and links from the provider: inert text, http(s) links only).
 * @param {ProviderCondition[]} conditions
 */
function providerStatusCard(conditions) {
  return h(
    'section',
    { class: 'card provider-status', 'aria-labelledby': 'provider-status-title' },
    h('h2', { id: 'provider-status-title', text: 'Provider status (likely related)' }),
    h(
      'ul',
      { class: 'provider-status-list' },
      conditions.map((c) =>
        h(
          'li',
          {},
          providerConditionLine(c),
          c.incidents.length === 0
            ? null
            : h(
                'ul',
                { class: 'provider-incidents' },
                c.incidents.map((i) =>
                  h(
                    'li',
                    {},
                    i.shortlink ? externalLink(i.shortlink, i.name || i.id) : h('span', { text: i.name || i.id }),
                    h('span', { class: 'muted', text: ` · ${i.status}, impact ${i.impact}` }),
                  ),
                ),
              ),
        ),
      ),
    ),
  );
}

/**
 * The page of one incident (`/incidents/:id`): state, escalation path, timeline, links and, for
 * responders, the actions. It re-reads the incident whenever the live feed reports a change.
 *
 * @param {string} id
 * @param {Context} ctx
 * @param {{ backUrl: string }} opts
 */
export function createIncidentView(id, ctx, opts) {
  /** @type {IncidentDetail | null} */
  let detail = null;
  /** What the last successful action should lead to, to say when the provider confirmed it. */
  /** @type {{ status: string, verb: string } | null} */
  let expecting = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let reloadTimer;
  let busy = false;

  const back = navLink(opts.backUrl, { class: 'back', text: '← All incidents' }, h('kbd', { text: 'Esc' }));
  const head = h('header', { class: 'incident-head' });
  const state = h('div', { class: 'state' });
  const timeline = h('ol', { class: 'timeline' });
  const side = h('aside', { class: 'side' });
  const message = h('p', { class: 'action-message', role: 'status', 'aria-live': 'polite', hidden: true });
  const actions = h('section', { class: 'card actions', 'aria-labelledby': 'actions-title', hidden: true });
  const groupCard = createGroupCard(id, ctx);
  const body = h(
    'div',
    { class: 'detail-grid', hidden: true },
    h(
      'div',
      { class: 'main-col' },
      state,
      actions,
      groupCard.element,
      h('section', { class: 'card' }, h('h2', { id: 'timeline-title', text: 'Timeline' }), timeline),
    ),
    side,
  );
  /** Who is on call now: the incident's PagerDuty escalation policy or Opsgenie schedule (loaded once per page). */
  const onCallCard = h('section', { class: 'card oncall', 'aria-labelledby': 'oncall-title', hidden: true });
  let onCallAsked = false;
  const loadOnCall = async () => {
    if (onCallAsked || !detail) return;
    onCallAsked = true;
    const i = detail.incident;
    const opsgenie = i.provider === 'opsgenie';
    if (!opsgenie && (i.provider !== 'pagerduty' || !i.labels?.escalation_policy_id)) return;
    onCallCard.hidden = false;
    const title = h('h2', { id: 'oncall-title', text: 'On call now' });
    onCallCard.replaceChildren(
      title,
      h('p', { class: 'muted', text: `Asking ${opsgenie ? 'Opsgenie' : 'PagerDuty'}…` }),
    );
    try {
      /** @type {{ policy: { id: string, name: string | null } | null, schedule?: { id: string, name: string, chosenBy: 'team' | 'default', team?: string } | null, reason?: string, items: { level: number, user: { name: string, email?: string, summary?: string }, schedule: string | null, end: string | null }[] }} */
      const res = await api(`/v1/incidents/${encodeURIComponent(id)}/oncall`);
      const s = res.schedule;
      if (opsgenie && !s) {
        onCallCard.replaceChildren(
          title,
          h('p', {
            class: 'muted',
            text: `${res.reason ?? 'No Opsgenie schedule applies: who is on call cannot be known here'}.`,
          }),
        );
        return;
      }
      onCallCard.replaceChildren(
        title,
        h('p', {
          class: 'muted',
          text: s
            ? `Opsgenie schedule ${s.name} (${s.chosenBy === 'team' ? `owned by ${s.team}, a team of this alert` : 'the configured default: no team of this alert owns a schedule'})`
            : `PagerDuty escalation policy ${res.policy?.name ?? res.policy?.id ?? ''}`,
        }),
        res.items.length === 0
          ? h('p', { class: 'muted', text: `Nobody is on call for this ${s ? 'schedule' : 'policy'} now.` })
          : h(
              'ol',
              { class: 'oncall-levels' },
              res.items.map((o) =>
                h(
                  'li',
                  {},
                  // Opsgenie schedules have no levels.
                  s ? null : h('span', { class: 'oncall-level', text: `Level ${o.level}` }),
                  s ? null : ' ',
                  h('strong', { text: o.user.summary ? `${o.user.name} (${o.user.summary})` : o.user.name }),
                  o.schedule || o.end
                    ? h('span', {
                        class: 'muted',
                        text: ` (${[o.schedule, o.end ? `until ${shortTime(o.end)}` : null].filter(Boolean).join(', ')})`,
                      })
                    : null,
                ),
              ),
            ),
      );
    } catch (error) {
      onCallCard.replaceChildren(
        title,
        h('p', {
          class: 'muted',
          text: `Who is on call cannot be shown: ${error instanceof ApiError ? error.message : String(error)}`,
        }),
      );
    }
  };
  const status = h('p', { class: 'loading', text: 'Loading incident…' });
  const element = h('section', { class: 'view detail', 'aria-labelledby': 'incident-title' }, back, head, status, body);

  /**
   * @param {'info' | 'ok' | 'error'} kind
   * @param {string} text
   */
  const say = (kind, text) => {
    message.hidden = false;
    message.className = `action-message ${kind}`;
    message.textContent = text;
  };

  const render = () => {
    if (!detail) return;
    const { incident: i, ownership: o } = detail;
    const assigned = assigneeNames(i.assignees);
    head.replaceChildren(
      h(
        'div',
        { class: 'head-line' },
        h('span', { class: 'incident-number', title: 'Incident number here', text: incidentNumber(i.number) }),
        severityChip(i.severity),
        providerSeverityTag(i, { long: true }),
        statusBadge(i.status),
        i.drill ? drillBadge(i.drillRun) : null,
        i.unverifiedDrillMarker ? unverifiedDrillBadge(i.unverifiedDrillMarkerReason) : null,
        o.owned ? null : unownedBadge(),
      ),
      h('h1', { id: 'incident-title', text: i.title }),
      ...(i.unverifiedDrillMarker
        ? [
            h('p', {
              class: 'event-warning unverified-drill-warning',
              role: 'note',
              text: `Unverified drill marker: ${i.unverifiedDrillMarkerReason ?? 'no active drill run matches'}. Treated as a real incident: notified and counted.`,
            }),
          ]
        : []),
      ...(assigned
        ? [
            h(
              'p',
              { class: 'assignee' },
              'Assigned to ',
              h('strong', { text: assigned }),
              ` in ${providerName(i.provider)}`,
            ),
          ]
        : []),
    );
    state.replaceChildren(
      h(
        'dl',
        { class: 'facts' },
        h(
          'div',
          {},
          h('dt', { text: 'Service' }),
          h('dd', { text: o.name && o.name !== i.service ? `${o.name} (${i.service})` : i.service }),
        ),
        h('div', {}, h('dt', { text: 'Age' }), h('dd', {}, relativeTime(i.createdAt, 'age'))),
        h('div', {}, h('dt', { text: 'Last update' }), h('dd', {}, relativeTime(i.updatedAt, 'ago'))),
        h('div', {}, h('dt', { text: 'Urgency' }), h('dd', { text: i.urgency })),
        h(
          'div',
          {},
          h('dt', { text: 'Provider' }),
          h('dd', {}, externalLink(i.providerUrl, `${providerName(i.provider)} ${i.providerId}`)),
        ),
        h('div', {}, h('dt', { text: 'Acknowledged' }), h('dd', {}, relativeTime(i.acknowledgedAt, 'ago'))),
        h('div', {}, h('dt', { text: 'Resolved' }), h('dd', {}, relativeTime(i.resolvedAt, 'ago'))),
      ),
      ...(i.providerConditions?.length ? [providerStatusCard(i.providerConditions)] : []),
    );
    // The incident's events and the provider conditions noted while it was live, in time order
    // (a stable sort: events keep their order at equal times).
    const entries = [
      ...detail.events.map((e) => ({ at: Date.parse(e.occurredAt), item: () => timelineItem(e) })),
      ...(detail.providerTimeline ?? []).map((e) => ({ at: Date.parse(e.at), item: () => providerTimelineItem(e) })),
    ].sort((a, b) => a.at - b.at);
    timeline.replaceChildren(
      ...(entries.length === 0
        ? [h('li', { class: 'muted', text: 'No events recorded yet.' })]
        : entries.map((e) => e.item())),
    );
    const labels = Object.entries(i.labels ?? {});
    side.replaceChildren();
    append(side, [
      h(
        'section',
        { class: `card escalation${o.owned ? '' : ' unowned'}` },
        h('h2', { text: 'Escalation path' }),
        escalationPath(o),
      ),
      onCallCard,
      h(
        'section',
        { class: 'card' },
        h('h2', { text: 'Links' }),
        h(
          'ul',
          { class: 'links' },
          h('li', {}, externalLink(i.providerUrl, `Open in ${providerName(i.provider)}`)),
          i.links.map((l) => h('li', {}, externalLink(l.href, l.text || l.href))),
        ),
      ),
      labels.length === 0
        ? null
        : h(
            'section',
            { class: 'card' },
            h('h2', { text: 'Labels' }),
            h(
              'dl',
              { class: 'labels' },
              labels.map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', { text: v }))),
            ),
          ),
      h(
        'section',
        { class: 'card ids' },
        h('h2', { text: 'Identifiers' }),
        h(
          'dl',
          {},
          h('div', {}, h('dt', { text: 'Incident' }), h('dd', {}, h('code', { text: i.id }))),
          h('div', {}, h('dt', { text: 'Dedup key' }), h('dd', {}, h('code', { text: i.dedupKey }))),
        ),
      ),
    ]);
    document.title = `${severityLabel(i.severity)}: ${i.title} · micro-oncall`;
    groupCard.render(detail);
    updateButtons();
    if (expecting && i.status === expecting.status) {
      say('ok', `${providerName(i.provider)} confirmed: the incident is ${i.status}.`);
      expecting = null;
    }
  };

  // ---- actions (responders)
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  /**
   * @param {string} label
   * @param {string} className
   */
  const button = (label, className) => {
    const b = h('button', { type: 'submit', class: className, text: label });
    buttons.push(b);
    return b;
  };

  /**
   * Sends one action and reports the outcome in plain words.
   * @param {string} verb e.g. 'Acknowledge'
   * @param {Record<string, unknown>} body
   * @param {string | null} expectStatus
   * @param {HTMLFormElement} [form] reset on success
   */
  const send = async (verb, body, expectStatus, form) => {
    if (!detail || busy) return;
    const provider = providerName(detail.incident.provider);
    busy = true;
    updateButtons();
    say('info', `Sending ${verb.toLowerCase()} to ${provider}…`);
    try {
      /** @type {{ detail: string }} */
      const res = await api(`/v1/incidents/${encodeURIComponent(id)}/actions`, { method: 'POST', body });
      expecting = expectStatus ? { status: expectStatus, verb } : null;
      say(
        'ok',
        `${verb} sent to ${provider}: ${res.detail}.${expectStatus ? ` This page updates when ${provider} reports the change.` : ''}`,
      );
      form?.reset();
    } catch (error) {
      const text = error instanceof ApiError ? error.message : String(error);
      const ref = error instanceof ApiError && error.requestId ? ` (request ${error.requestId})` : '';
      // The provider may have done it: do not call that a failure.
      const unknown = error instanceof ApiError && error.code === 'outcome_unknown';
      say('error', `${verb} ${unknown ? 'outcome unknown' : 'failed'}: ${text}${ref}`);
    } finally {
      busy = false;
      updateButtons();
    }
  };

  const updateButtons = () => {
    const s = detail?.incident.status;
    for (const b of buttons) {
      const role = b.dataset.action;
      b.disabled = busy || (role === 'acknowledge' && s !== 'triggered') || (role === 'resolve' && s === 'resolved');
    }
  };

  const buildActions = () => {
    if (!detail) return;
    const provider = detail.incident.provider;
    actions.hidden = false;
    if (!ctx.can('responder')) {
      actions.replaceChildren(
        h('h2', { id: 'actions-title', text: 'Actions' }),
        h('p', {
          class: 'muted',
          text: 'You can look but not act: acknowledging, escalating and resolving need the responder role.',
        }),
      );
      return;
    }
    if (!ACTIONABLE.has(provider)) {
      actions.replaceChildren(
        h('h2', { id: 'actions-title', text: 'Actions' }),
        h('p', {
          class: 'muted',
          text: `${providerName(provider)} incidents are handled at their source; use the links to act on it there.`,
        }),
      );
      return;
    }
    const quick = (/** @type {string} */ verb, /** @type {string} */ action, /** @type {string} */ status) => {
      const b = button(verb, action === 'resolve' ? 'resolve' : 'primary');
      b.dataset.action = action;
      b.type = 'button';
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let disarm;
      b.addEventListener('click', () => {
        // Resolving ends the page for everyone: the first click only arms the button.
        if (action === 'resolve' && b.dataset.armed !== 'true') {
          b.dataset.armed = 'true';
          b.textContent = 'Click again to resolve';
          disarm = setTimeout(() => {
            b.dataset.armed = 'false';
            b.textContent = verb;
          }, 5000);
          return;
        }
        clearTimeout(disarm);
        b.dataset.armed = 'false';
        b.textContent = verb;
        void send(verb, { action }, status);
      });
      return b;
    };
    // Pickers of the provider's escalation policies and users (GET .../targets): names shown, ids sent.
    const policyPicker = createPicker({
      incidentId: id,
      kind: 'escalation_policy',
      label: provider === 'pagerduty' ? 'or escalation policy' : 'Escalation',
      providerName: providerName(provider),
    });
    const escalate = h(
      'form',
      { class: 'action-form', 'aria-label': 'Escalate' },
      h('h3', { text: 'Escalate' }),
      provider === 'pagerduty'
        ? h(
            'label',
            {},
            h('span', { text: 'Level' }),
            h('input', { type: 'number', name: 'level', min: 1, max: 20, inputmode: 'numeric' }),
          )
        : null,
      policyPicker.element,
      button('Escalate', 'secondary'),
    );
    escalate.addEventListener('reset', () => policyPicker.reset());
    escalate.addEventListener('submit', (event) => {
      event.preventDefault();
      const level = String(new FormData(escalate).get('level') ?? '').trim();
      const policy = policyPicker.value();
      if (policy === null && policyPicker.filled()) return; // the picker says what to do
      /** @type {Record<string, unknown>} */
      const body = { action: 'escalate' };
      if (level) body.level = Number(level);
      if (policy) body.escalationPolicyId = policy;
      void send('Escalate', body, null, escalate);
    });
    const userPicker = createPicker({
      incidentId: id,
      kind: 'user',
      label: `${providerName(provider)} user`,
      providerName: providerName(provider),
      required: true,
    });
    const reassign = h(
      'form',
      { class: 'action-form', 'aria-label': 'Reassign' },
      h('h3', { text: 'Reassign' }),
      userPicker.element,
      button('Reassign', 'secondary'),
    );
    reassign.addEventListener('reset', () => userPicker.reset());
    reassign.addEventListener('submit', (event) => {
      event.preventDefault();
      const userId = userPicker.value();
      if (userId === null) return; // the picker says what to do
      void send('Reassign', { action: 'reassign', userId }, null, reassign);
    });
    const note = h(
      'form',
      { class: 'action-form note-form', 'aria-label': 'Add note' },
      h('h3', { text: 'Add note' }),
      h(
        'label',
        {},
        h('span', { class: 'visually-hidden', text: 'Note' }),
        h('textarea', { name: 'note', rows: 3, required: true, maxlength: 10000 }),
      ),
      button('Add note', 'secondary'),
    );
    note.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = String(new FormData(note).get('note') ?? '').trim();
      if (text) void send('Add note', { action: 'note', note: text }, null, note);
    });
    actions.replaceChildren(
      h('h2', { id: 'actions-title', text: 'Actions' }),
      h(
        'div',
        { class: 'quick-actions' },
        quick('Acknowledge', 'acknowledge', 'acknowledged'),
        quick('Resolve', 'resolve', 'resolved'),
      ),
      message,
      // Alertmanager has no escalation, assignment or notes: acknowledging silences the alert.
      provider === 'alertmanager'
        ? h('p', {
            class: 'muted',
            text: 'Acknowledging creates a silence for this alert in Alertmanager; resolving expires it. The alert itself resolves when its source stops firing it.',
          })
        : h('div', { class: 'action-forms' }, escalate, provider === 'pagerduty' ? reassign : null, note),
    );
    updateButtons();
  };

  const load = async () => {
    try {
      detail = await api(`/v1/incidents/${encodeURIComponent(id)}`);
      status.hidden = true;
      body.hidden = false;
      if (actions.childElementCount === 0) buildActions();
      render();
      void loadOnCall();
    } catch (error) {
      if (detail) return; // keep showing what we have; the next change retries
      status.className = 'loading error';
      status.textContent =
        error instanceof ApiError && error.status === 404
          ? 'This incident does not exist (or not yet: it appears when its first event arrives).'
          : `Could not load the incident: ${error instanceof ApiError ? error.message : String(error)}`;
    }
  };

  const unsubscribe = ctx.onIncident((incident) => {
    // This incident, or an alert of its group (the group's list shows their state).
    if (incident.id !== id && !detail?.alerts?.some((a) => a.id === incident.id)) return;
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void load(), 150);
  });
  const ticker = setInterval(() => refreshTimes(state), 15_000);
  void load();

  return {
    element,
    destroy() {
      unsubscribe();
      clearInterval(ticker);
      clearTimeout(reloadTimer);
    },
  };
}
