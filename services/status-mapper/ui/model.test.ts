import { describe, expect, it } from 'vitest';
import { affected, componentsByProvider, providerIncidents, providersOf, sourceState } from './model.js';
import type { InternalService, ProviderComponent, Source } from './types.js';

const component = (provider: string, name: string, status: string, extra: Partial<ProviderComponent> = {}) =>
  ({
    key: `${provider.toLowerCase()}/${name}`,
    pageId: provider.toLowerCase(),
    provider,
    id: name,
    name,
    group: null,
    status,
    since: '2026-12-01T08:01:00.000Z',
    stale: null,
    ...extra,
  }) satisfies ProviderComponent;

const incident = (provider: string, id: string, impact: string, components: string[], latestUpdate: string) => ({
  pageId: provider.toLowerCase(),
  provider,
  id,
  name: `${provider} incident ${id}`,
  status: 'investigating',
  impact,
  shortlink: null,
  latestUpdate,
  components,
});

const cdn = component('Cloudflare', 'CDN', 'major_outage');
const dns = component('Cloudflare', 'DNS', 'operational');
const actions = component('GitHub', 'Actions', 'degraded_performance');
const services: InternalService[] = [
  {
    service: 'checkout',
    status: 'major_outage',
    since: cdn.since,
    components: [dns, cdn],
    incidents: [incident('Cloudflare', 'i1', 'minor', [cdn.key], 'Investigating <b>errors</b>')],
  },
  {
    service: 'search',
    status: 'major_outage',
    since: cdn.since,
    components: [cdn, actions],
    incidents: [
      incident('Cloudflare', 'i1', 'minor', [cdn.key], 'Investigating <b>errors</b>'),
      incident('GitHub', 'g1', 'major', [actions.key], 'Delays'),
    ],
  },
  { service: 'ledger', status: 'operational', since: null, components: [dns], incidents: [] },
];

describe('status page model', () => {
  it('has a column for every provider, mapped or not, and lists components per provider worst first', () => {
    const unmapped = component('Atlassian', 'Jira', 'operational');
    expect(providersOf(services, [unmapped])).toEqual(['Atlassian', 'Cloudflare', 'GitHub']);
    const checkout = componentsByProvider(services[0]!);
    expect(checkout.get('Cloudflare')?.map((c) => c.name)).toEqual(['CDN', 'DNS']);
    expect(checkout.has('GitHub')).toBe(false);
  });

  it('counts a service with an unknown condition as affected', () => {
    const unknown: InternalService = {
      service: 'billing',
      status: 'unknown',
      since: null,
      components: [],
      incidents: [],
    };
    expect(affected([...services, unknown]).map((s) => s.service)).toEqual(['checkout', 'search', 'billing']);
  });

  it('lists each provider incident once with every service it touches, highest impact first', () => {
    const rows = providerIncidents(services);
    expect(rows.map((r) => [r.key, r.services, r.components])).toEqual([
      ['github/g1', ['search'], ['Actions']],
      ['cloudflare/i1', ['checkout', 'search'], ['CDN']],
    ]);
    expect(rows[1]?.latestUpdate).toBe('Investigating <b>errors</b>');
  });

  it('tells answering, failing, stale, not yet polled and pushed-only sources apart', () => {
    const base: Source = {
      id: 'cloudflare',
      provider: 'Cloudflare',
      url: 'https://www.cloudflarestatus.com/api/v2/summary.json',
      intervalSeconds: 60,
      pageName: 'Cloudflare',
      lastPolledAt: '2026-12-01T08:00:00.000Z',
      lastSuccessAt: '2026-12-01T08:00:00.000Z',
      nextDueAt: '2026-12-01T08:01:00.000Z',
      failing: null,
      staleSince: null,
    };
    const failing = { since: '2026-12-01T08:00:00.000Z', reason: 'answered 500', consecutiveFailures: 2 };
    expect(sourceState(base).state).toBe('ok');
    expect(sourceState({ ...base, failing })).toMatchObject({ state: 'failing', label: 'failing (2 in a row)' });
    expect(sourceState({ ...base, failing, staleSince: failing.since }).state).toBe('stale');
    expect(sourceState({ ...base, lastSuccessAt: null }).state).toBe('waiting');
    expect(sourceState({ ...base, url: null, lastSuccessAt: null }).state).toBe('pushed');
  });
});
