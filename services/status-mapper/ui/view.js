// @ts-check
import { conditionLabel, knownCondition } from './common/conditions.js';
import { externalLink, h } from './common/dom.js';
import { clockTime, duration, exactTime } from './common/time.js';
import { affected, componentsByProvider, providerIncidents, providersOf, sourceState } from './model.js';

/*
 * The status page's parts, built with h() only: every provider text (component and incident
 * names, update texts, failure reasons) goes in as text, inert whatever it contains (ADR 0005).
 */

/** @typedef {import('./types.js').InternalService} InternalService */
/** @typedef {import('./types.js').ProviderComponent} ProviderComponent */
/** @typedef {import('./types.js').Source} Source */

/**
 * A condition badge: the words always written out, the colour from the shared look.
 * @param {string | null | undefined} status
 */
export function conditionBadge(status) {
  const known = knownCondition(status);
  return h('span', { class: `condition condition-${known}`, text: conditionLabel(known) });
}

/**
 * "08:01 (42m ago)", the exact time in a title.
 * @param {string | null} iso
 * @param {number} now
 */
function since(iso, now) {
  if (!iso) return h('span', { class: 'muted', text: '—' });
  return h('time', {
    datetime: iso,
    title: exactTime(iso),
    text: `${clockTime(iso, { now })} (${duration(now - Date.parse(iso))} ago)`,
  });
}

/**
 * One component in a matrix cell: its condition and name; when its source is stale, "unknown —
 * stale since …" with the last condition the provider reported.
 * @param {ProviderComponent} c
 * @param {number} now
 */
function componentLine(c, now) {
  const name = c.group ? `${c.name} (${c.group.name})` : c.name;
  if (c.stale) {
    return h(
      'li',
      { class: 'component stale', data: { key: c.key } },
      conditionBadge('unknown'),
      ' ',
      h('span', { class: 'component-name', text: name }),
      h(
        'span',
        { class: 'stale-note' },
        `unknown — stale since ${clockTime(c.stale.since, { now })}`,
        c.stale.lastKnown ? `; last known: ${conditionLabel(c.stale.lastKnown)}` : '',
      ),
    );
  }
  return h(
    'li',
    { class: 'component', data: { key: c.key } },
    conditionBadge(c.status),
    ' ',
    h('span', { class: 'component-name', text: name }),
    knownCondition(c.status) === 'operational'
      ? null
      : h('span', { class: 'muted since', text: ` since ${clockTime(c.since, { now })}` }),
  );
}

/**
 * The matrix: one row per internal service (worst first), its worst condition and since when,
 * then one column per provider with the mapped components behind it.
 * @param {InternalService[]} services
 * @param {string[]} providers
 * @param {number} now
 */
function servicesTable(services, providers, now) {
  if (services.length === 0) {
    return h('p', {
      class: 'empty',
      text: 'No internal service is mapped to a provider component yet (STATUS_MAPPING_FILE).',
    });
  }
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col', text: 'Service' }),
    h('th', { scope: 'col', text: 'Condition' }),
    h('th', { scope: 'col', text: 'Since' }),
    providers.map((p) => h('th', { scope: 'col', text: p })),
  );
  const rows = services.map((s) => {
    const byProvider = componentsByProvider(s);
    const stale = s.components.find((c) => c.stale);
    return h(
      'tr',
      { class: `service row-${knownCondition(s.status)}`, data: { service: s.service } },
      h('th', { scope: 'row', class: 'service-name', text: s.service }),
      h(
        'td',
        { class: 'c-condition' },
        conditionBadge(s.status),
        stale?.stale && knownCondition(s.status) === 'unknown'
          ? h('div', { class: 'stale-note', text: `stale since ${clockTime(stale.stale.since, { now })}` })
          : null,
      ),
      h('td', { class: 'c-since' }, since(s.since, now)),
      providers.map((p) => {
        const list = byProvider.get(p) ?? [];
        return h(
          'td',
          { class: 'c-provider' },
          list.length === 0
            ? h('span', { class: 'muted', title: `nothing of ${p} is mapped to ${s.service}` }, '—')
            : h(
                'ul',
                { class: 'components', 'aria-label': `${p} components behind ${s.service}` },
                list.map((c) => componentLine(c, now)),
              ),
        );
      }),
    );
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'matrix' },
      h('caption', {
        class: 'visually-hidden',
        text: 'Our services by provider: the worst provider condition affecting each service, since when, and the provider components behind it',
      }),
      h('thead', {}, head),
      h('tbody', {}, rows),
    ),
  );
}

/**
 * The open provider incidents behind our services, each once, highest impact first. The
 * provider's incident name and latest update are shown as text.
 * @param {InternalService[]} services
 */
function incidentList(services) {
  const incidents = providerIncidents(services);
  if (incidents.length === 0) {
    return h('p', { class: 'empty', text: 'No open provider incident names a component of our services.' });
  }
  return h(
    'ol',
    { class: 'provider-incidents' },
    incidents.map((i) =>
      h(
        'li',
        { class: 'card provider-incident', data: { key: i.key } },
        h(
          'h3',
          {},
          h('span', { class: 'provider', text: i.provider }),
          ' — ',
          h('span', { class: 'incident-name', text: i.name }),
        ),
        h(
          'p',
          { class: 'incident-meta' },
          h('span', {
            class: `impact impact-${['critical', 'major', 'minor'].includes(i.impact) ? i.impact : 'none'}`,
            text: `${i.impact} impact`,
          }),
          ' ',
          h('span', { class: 'incident-status', text: i.status }),
          ' · affects ',
          h('strong', { text: i.services.join(', ') }),
          i.components.length > 0 ? ` through ${i.components.join(', ')}` : '',
          i.shortlink ? ' · ' : '',
          i.shortlink ? externalLink(i.shortlink, `${i.provider}'s page`) : null,
        ),
        i.latestUpdate
          ? h(
              'figure',
              { class: 'update' },
              h('figcaption', { class: 'muted', text: 'Latest update from the provider' }),
              h('blockquote', { class: 'update-text', text: i.latestUpdate }),
            )
          : h('p', { class: 'muted', text: 'No update text from the provider yet.' }),
      ),
    ),
  );
}

/**
 * The sources and how each is doing; failing ones with the reason.
 * @param {Source[]} sources
 * @param {ProviderComponent[]} unmapped components no rule maps to a service
 * @param {number} now
 */
function sourcesTable(sources, unmapped, now) {
  const rows = sources.map((s) => {
    const state = sourceState(s);
    const why = s.failing?.reason ?? null;
    return h(
      'tr',
      { class: `source source-${state.state}`, data: { source: s.id } },
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'source-id', text: s.id }),
        h('div', { class: 'muted small', text: s.pageName ?? s.provider }),
      ),
      h('td', {}, h('span', { class: `condition condition-${state.condition}`, text: state.label })),
      h(
        'td',
        {},
        s.staleSince
          ? h('span', { class: 'stale-note', text: `stale since ${clockTime(s.staleSince, { now })}` })
          : s.failing?.since
            ? h('span', { text: `since ${clockTime(s.failing.since, { now })}` })
            : h('span', { class: 'muted', text: '—' }),
        why ? h('div', { class: 'failure-reason', text: why }) : null,
      ),
      h('td', {}, since(s.lastSuccessAt, now)),
      h(
        'td',
        {},
        s.nextDueAt
          ? h('time', { datetime: s.nextDueAt, title: exactTime(s.nextDueAt), text: clockTime(s.nextDueAt, { now }) })
          : h('span', { class: 'muted', text: '—' }),
      ),
    );
  });
  return [
    sources.length === 0
      ? h('p', { class: 'empty', text: 'No sources are configured (STATUS_SOURCES_FILE).' })
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'sources' },
            h('caption', {
              class: 'visually-hidden',
              text: 'Status sources: how each is answering, and why a failing one fails',
            }),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Source', 'State', 'Failing', 'Last good answer', 'Next poll'].map((t) =>
                  h('th', { scope: 'col', text: t }),
                ),
              ),
            ),
            h('tbody', {}, rows),
          ),
        ),
    unmapped.length === 0
      ? null
      : h(
          'details',
          { class: 'unmapped' },
          h('summary', {
            text: `${unmapped.length} provider component${unmapped.length === 1 ? ' is' : 's are'} not mapped to any of our services`,
          }),
          h(
            'ul',
            {},
            unmapped.map((c) =>
              h(
                'li',
                {},
                conditionBadge(c.status),
                ' ',
                h('span', { text: `${c.provider}: ${c.group ? `${c.group.name} / ` : ''}${c.name}` }),
              ),
            ),
          ),
        ),
  ];
}

/**
 * @typedef {object} StatusData
 * @property {InternalService[]} services
 * @property {Source[]} sources
 * @property {ProviderComponent[]} components every component, with the services it maps to
 */

/**
 * The whole page body for `data`.
 * @param {StatusData} data
 * @param {number} now
 */
export function statusPage(data, now) {
  const providers = providersOf(data.services, data.components);
  const hit = affected(data.services);
  const unmapped = data.components.filter((c) => (c.services ?? []).length === 0);
  const summary =
    data.services.length === 0
      ? 'No internal service is mapped yet.'
      : hit.length === 0
        ? `All ${data.services.length} mapped services: no provider problem.`
        : `${hit.length} of ${data.services.length} services affected by a provider: ${hit.map((s) => s.service).join(', ')}.`;
  return [
    h(
      'div',
      { class: 'page-head' },
      h('h1', { id: 'page-title', text: 'Provider status' }),
      h('p', { class: 'summary', id: 'summary', text: summary }),
    ),
    h(
      'section',
      { class: 'block', 'aria-labelledby': 'services-title' },
      h('h2', { id: 'services-title', text: 'Our services × providers' }),
      servicesTable(data.services, providers, now),
    ),
    h(
      'section',
      { class: 'block', 'aria-labelledby': 'incidents-title' },
      h('h2', { id: 'incidents-title', text: 'Provider incidents' }),
      incidentList(data.services),
    ),
    h(
      'section',
      { class: 'block', 'aria-labelledby': 'sources-title' },
      h('h2', { id: 'sources-title', text: 'Sources' }),
      sourcesTable(data.sources, unmapped, now),
    ),
  ];
}
