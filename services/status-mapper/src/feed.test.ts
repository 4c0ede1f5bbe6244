import { describe, expect, it } from 'vitest';
import { changeEntry, httpUrl, incidentEntry, providerFeed } from './feed.js';
import type { ChangeRecord, HistoricChange, IncidentUpdateRecord } from './history.js';

const aChange = (overrides: Partial<HistoricChange> = {}, position = 1): ChangeRecord => ({
  position,
  pageUrl: 'https://yh6f0r4529hb.statuspage.io',
  change: {
    changeId: '0b6a2f5e-7f0e-4a43-9d35-6f0f6f1e2a11',
    provider: 'Cloudflare',
    page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
    component: {
      key: 'cloudflare/cdn1',
      id: 'cdn1',
      name: 'CDN Edge',
      group: { id: 'g1', name: 'Cloudflare Sites and Services' },
    },
    status: { from: 'operational', to: 'major_outage', providerStatus: 'major_outage', stale: null },
    incidents: [
      {
        id: 'inc1',
        name: 'Elevated errors',
        status: 'investigating',
        impact: 'major',
        shortlink: 'https://stspg.io/abc',
      },
    ],
    observedAt: '2025-11-21T08:01:02.000Z',
    source: 'poll',
    ...overrides,
  },
});

const anIncident = (overrides: Partial<IncidentUpdateRecord> = {}): IncidentUpdateRecord => ({
  pageId: 'cloudflare',
  provider: 'Cloudflare',
  pageUrl: 'https://yh6f0r4529hb.statuspage.io',
  incidentId: 'inc1',
  name: 'Elevated errors on the CDN edge',
  status: 'investigating',
  impact: 'major',
  shortlink: 'https://stspg.io/abc',
  latestUpdate: 'We are investigating.',
  updatedAt: '2025-11-21T08:02:00.000Z',
  components: [{ id: 'cdn1', name: 'CDN Edge', group: null }],
  ...overrides,
});

describe(changeEntry.name, () => {
  it('titles a change "Provider — Component: condition" and names the affected services and incident', () => {
    const entry = changeEntry(aChange(), ['api-gateway', 'frontend']);
    expect(entry).toEqual({
      id: 'urn:uuid:0b6a2f5e-7f0e-4a43-9d35-6f0f6f1e2a11',
      title: 'Cloudflare — CDN Edge: major outage',
      updated: '2025-11-21T08:01:02.000Z',
      summary:
        'CDN Edge (Cloudflare Sites and Services) went from operational to major outage.\n' +
        'Affects internal services: api-gateway, frontend.\n' +
        'Provider incident: Elevated errors (investigating, major impact).',
      links: [{ rel: 'alternate', href: 'https://stspg.io/abc' }],
      categories: [{ term: 'major_outage', label: 'major outage' }],
    });
  });

  it('says a stale component is unknown since when and why, with what the provider last said', () => {
    const entry = changeEntry(
      aChange({
        incidents: [],
        status: {
          from: 'operational',
          to: 'unknown',
          providerStatus: null,
          stale: { since: '2025-11-21T07:58:00.000Z', reason: 'answered 500', lastKnown: 'operational' },
        },
      }),
      [],
    );
    expect(entry.title).toBe('Cloudflare — CDN Edge: unknown, stale since 2025-11-21 07:58 UTC');
    expect(entry.summary).toBe(
      "Cloudflare's status page has not answered since 2025-11-21 07:58 UTC (answered 500): " +
        'CDN Edge (Cloudflare Sites and Services) reads unknown; last reported operational.\n' +
        'No internal service is mapped to it.',
    );
    // No incident link: the provider's page.
    expect(entry.links).toEqual([{ rel: 'alternate', href: 'https://yh6f0r4529hb.statuspage.io/' }]);
  });

  it("keeps a status word the provider does not document, and a component's first sighting", () => {
    const entry = changeEntry(
      aChange({
        incidents: [],
        status: { from: null, to: 'unknown', providerStatus: 'sort_of_down', stale: null },
      }),
      ['ci'],
    );
    expect(entry.summary).toBe(
      'CDN Edge (Cloudflare Sites and Services) was first seen in unknown.\n' +
        'The provider said "sort_of_down", a status we do not know.\n' +
        'Affects internal services: ci.',
    );
  });

  it('drops a provider link that is not http(s)', () => {
    const entry = changeEntry(
      aChange({
        incidents: [{ id: 'i', name: 'x', status: 'investigating', impact: 'minor', shortlink: 'javascript:alert(1)' }],
      }),
      [],
    );
    expect(entry.links).toEqual([{ rel: 'alternate', href: 'https://yh6f0r4529hb.statuspage.io/' }]);
    expect(changeEntry({ ...aChange({ incidents: [] }), pageUrl: null }, []).links).toBeUndefined();
  });
});

describe(incidentEntry.name, () => {
  it('titles an incident update with its status and gives its latest text and the affected services', () => {
    const entry = incidentEntry(anIncident(), ['api-gateway', 'frontend']);
    expect(entry).toMatchObject({
      title: 'Cloudflare — Elevated errors on the CDN edge: investigating',
      updated: '2025-11-21T08:02:00.000Z',
      summary:
        'We are investigating.\n\nImpact: major. Components: CDN Edge.\nAffects internal services: api-gateway, frontend.',
      links: [{ rel: 'alternate', href: 'https://stspg.io/abc' }],
    });
    expect(entry.id).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps an entry id stable across reads, and gives a new update or status a new id', () => {
    const id = incidentEntry(anIncident(), []).id;
    expect(incidentEntry(anIncident(), []).id).toBe(id);
    expect(incidentEntry(anIncident({ updatedAt: '2025-11-21T08:30:00.000Z' }), []).id).not.toBe(id);
    expect(incidentEntry(anIncident({ status: 'resolved' }), []).id).not.toBe(id);
  });
});

describe(providerFeed.name, () => {
  const base = {
    selfUrl: 'https://oncall.example.com/status/feed.atom',
    currentUrl: 'https://oncall.example.com/status/internal',
    servicesFor: (c: { name: string }) => (c.name === 'CDN Edge' ? ['frontend'] : []),
  };

  it('lists changes and incident updates newest first, bounded, and is as new as its newest entry', () => {
    const changes = [
      aChange({ changeId: '00000000-0000-4000-8000-000000000001', observedAt: '2025-11-21T08:00:00.000Z' }, 1),
      aChange({ changeId: '00000000-0000-4000-8000-000000000002', observedAt: '2025-11-21T08:05:00.000Z' }, 2),
      // Same instant as the one before: the later change (higher position) first.
      aChange({ changeId: '00000000-0000-4000-8000-000000000003', observedAt: '2025-11-21T08:05:00.000Z' }, 3),
    ];
    const feed = providerFeed({ ...base, changes, incidents: [anIncident({ updatedAt: '2025-11-21T08:02:00.000Z' })] });
    expect(feed.updated).toBe('2025-11-21T08:05:00.000Z');
    expect(feed.id).toBe(base.selfUrl);
    const label = new Map(changes.map((c) => [`urn:uuid:${c.change.changeId}`, `change ${c.position}`]));
    expect(feed.entries.map((e) => label.get(e.id) ?? e.title)).toEqual([
      'change 3',
      'change 2',
      'Cloudflare — Elevated errors on the CDN edge: investigating',
      'change 1',
    ]);
    expect(feed.entries[0]!.summary).toContain('Affects internal services: frontend.');
    expect(providerFeed({ ...base, changes, incidents: [], limit: 2 }).entries).toHaveLength(2);
  });

  it('is a valid empty feed before anything has changed', () => {
    const feed = providerFeed({ ...base, changes: [], incidents: [] });
    expect(feed.entries).toEqual([]);
    expect(feed.updated).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe(httpUrl.name, () => {
  it('keeps absolute http(s) URLs only', () => {
    expect(httpUrl('https://stspg.io/abc')).toBe('https://stspg.io/abc');
    expect(httpUrl('javascript:alert(1)')).toBeNull();
    expect(httpUrl('data:text/html,<b>')).toBeNull();
    expect(httpUrl('/relative')).toBeNull();
    expect(httpUrl(null)).toBeNull();
  });
});
