import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { describe, expect, it } from 'vitest';
import { diffComponents } from './changes.js';
import { Mapping } from './config/mapping.js';
import { loadSources } from './config/sources.js';
import { internalStatus } from './internal-status.js';

const tempDir = temporaryDirectories();
const file = (name: string, text: string) => {
  const path = join(tempDir('status-mapper-unit-'), name);
  writeFileSync(path, text);
  return path;
};

const cdn = {
  pageId: 'cloudflare',
  id: 'cdn1',
  name: 'CDN Edge',
  group: { id: 'g1', name: 'Cloudflare Sites and Services' },
};
const fra = {
  pageId: 'cloudflare',
  id: 'fra1',
  name: 'Frankfurt, Germany - (FRA)',
  group: { id: 'g2', name: 'Europe' },
};
const actions = { pageId: 'github', id: 'act1', name: 'Actions', group: null };

const mapping = Mapping.fromRules({
  'cloudflare-cdn-edge': { page: 'cloudflare', component: 'CDN Edge', services: ['frontend', 'api-gateway'] },
  'cloudflare-by-id': { page: 'cloudflare', component: 'cdn1', services: ['frontend'] },
  'cloudflare-europe': { page: 'cloudflare', group: 'Europe', services: ['eu-edge'] },
  'github-actions': { page: 'github', namePattern: '^act', services: ['ci'] },
});

describe(Mapping.name, () => {
  it('maps a component by name or id, by group and by name pattern, merging the services', () => {
    expect(mapping.servicesFor(cdn)).toEqual(['api-gateway', 'frontend']);
    expect(mapping.servicesFor(fra)).toEqual(['eu-edge']);
    expect(mapping.servicesFor(actions)).toEqual(['ci']);
  });

  it('leaves a component of another page, or matched by nothing, unmapped', () => {
    expect(mapping.servicesFor({ ...cdn, pageId: 'github' })).toEqual([]);
    expect(mapping.servicesFor({ pageId: 'cloudflare', id: 'dns1', name: 'DNS', group: null })).toEqual([]);
  });

  it('names the line of each problem in the file', () => {
    const path = file(
      'mapping.yml',
      `mappings:
  ok:
    page: cloudflare
    component: CDN Edge
    services: [frontend]
  two-matchers:
    page: cloudflare
    component: CDN Edge
    group: Europe
    services: [frontend]
  bad-services:
    page: cloudflare
    group: Europe
    services: "frontend"
  unknown-page:
    page: nowhere
    namePattern: "(unclosed"
    services: [x]
`,
    );
    expect(() => Mapping.fromFile(path, ['cloudflare'])).toThrowError(
      expect.objectContaining({
        problems: expect.arrayContaining([
          'line 7: mappings.two-matchers: give exactly one of component, group, namePattern, aws',
          expect.stringMatching(/^line 14: mappings\.bad-services\.services: /),
          expect.stringMatching(/^line 17: mappings\.unknown-page\.namePattern: not a valid regular expression/),
        ]),
      }),
    );
  });

  it('refuses a rule for a page the sources file does not have, naming the line', () => {
    const path = file('mapping.yml', 'mappings:\n  x:\n    page: nowhere\n    component: A\n    services: [a]\n');
    expect(() => Mapping.fromFile(path, ['cloudflare'])).toThrowError(
      /line 3: mappings\.x\.page: no page "nowhere" in the sources file/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const path = file('mapping.yml', 'mappings:\n  x:\n    page: [unclosed\n');
    expect(() => Mapping.fromFile(path)).toThrowError(/line \d+:/);
  });
});

describe(loadSources.name, () => {
  it('reads pages with defaults', () => {
    const path = file(
      'sources.yml',
      'pages:\n  - id: cloudflare\n    provider: Cloudflare\n    url: https://yh6f0r4529hb.statuspage.io/api/v2/summary.json\n',
    );
    expect(loadSources(path)).toEqual([
      {
        id: 'cloudflare',
        provider: 'Cloudflare',
        url: 'https://yh6f0r4529hb.statuspage.io/api/v2/summary.json',
        intervalSeconds: 60,
        jitterSeconds: 10,
      },
    ]);
  });

  it('refuses a wrong URL, a too-short interval, an unknown key and a duplicate id, naming where', () => {
    const path = file(
      'sources.yml',
      `pages:
  - id: a
    provider: A
    url: https://a.example/summary
    intervalSeconds: 10
    colour: blue
  - id: b
    provider: B
    url: https://b.example/api/v2/summary.json
  - id: b
    provider: B again
    url: https://b.example/api/v2/summary.json
`,
    );
    let error: { problems: string[] } | undefined;
    try {
      loadSources(path);
    } catch (e) {
      error = e as { problems: string[] };
    }
    expect(error?.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 4: pages\.0\.url: must end with \/api\/v2\/summary\.json/),
        expect.stringMatching(/^line 5: pages\.0\.intervalSeconds: at least 60/),
        expect.stringMatching(/^line 2: pages\.0: .*colour/),
      ]),
    );
    const dup = file(
      'dup.yml',
      'pages:\n  - {id: b, provider: B, url: "https://b.example/api/v2/summary.json"}\n  - {id: b, provider: C, url: "https://c.example/api/v2/summary.json"}\n',
    );
    expect(() => loadSources(dup)).toThrowError(/pages\.1\.id: b is already used by pages\.0/);
  });
});

describe(diffComponents.name, () => {
  const seen = (id: string, status: 'operational' | 'major_outage' | 'unknown') => ({
    id,
    name: id,
    group: null,
    status,
    providerStatus: status,
  });

  it('reports only what changed, and a first sighting only when it is not operational', () => {
    const changes = diffComponents(
      [
        { componentId: 'a', status: 'operational' },
        { componentId: 'b', status: 'operational' },
      ],
      [seen('a', 'operational'), seen('b', 'major_outage'), seen('c', 'operational'), seen('d', 'unknown')],
    );
    expect(changes.map((c) => [c.component.id, c.from, c.to])).toEqual([
      ['b', 'operational', 'major_outage'],
      ['d', null, 'unknown'],
    ]);
  });
});

describe(internalStatus.name, () => {
  const state = (
    c: typeof cdn,
    status: 'operational' | 'major_outage' | 'partial_outage' | 'unknown',
    since: string,
  ) => ({
    key: `${c.pageId}/${c.id}`,
    pageId: c.pageId,
    provider: c.pageId,
    id: c.id,
    name: c.name,
    group: c.group,
    status,
    since,
    stale: null,
  });

  it('gives each service its worst condition, since the earliest component at that condition, worst service first', () => {
    const view = internalStatus(
      mapping,
      [
        state(cdn, 'major_outage', '2026-01-16T08:01:00.000Z'),
        state(fra, 'partial_outage', '2026-01-16T07:00:00.000Z'),
      ],
      [
        {
          pageId: 'cloudflare',
          provider: 'Cloudflare',
          id: 'inc1',
          name: 'CDN errors',
          status: 'investigating',
          impact: 'major',
          shortlink: null,
          latestUpdate: 'Investigating',
          componentIds: ['cdn1'],
        },
      ],
    );
    expect(view.map((s) => [s.service, s.status, s.since])).toEqual([
      ['api-gateway', 'major_outage', '2026-01-16T08:01:00.000Z'],
      ['frontend', 'major_outage', '2026-01-16T08:01:00.000Z'],
      ['eu-edge', 'partial_outage', '2026-01-16T07:00:00.000Z'],
      // nothing seen yet for ci: unknown, never operational
      ['ci', 'unknown', null],
    ]);
    expect(view[0]!.incidents).toEqual([expect.objectContaining({ id: 'inc1', components: ['cloudflare/cdn1'] })]);
    expect(view[2]!.incidents).toEqual([]);
  });
});
