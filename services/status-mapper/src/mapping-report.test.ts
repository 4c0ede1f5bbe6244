import { describe, expect, it } from 'vitest';
import { Mapping } from './config/mapping.js';
import type { ComponentState } from './internal-status.js';
import { mappingReport } from './mapping-report.js';

const component = (id: string, name: string, group: string | null = null): ComponentState => ({
  key: `cloudflare/${id}`,
  pageId: 'cloudflare',
  provider: 'Cloudflare',
  id,
  name,
  group: group ? { id: `g-${group}`, name: group } : null,
  status: 'operational',
  since: '2026-01-16T08:00:00.000Z',
  stale: null,
});

const mapping = Mapping.fromRules({
  'cdn-edge': { page: 'cloudflare', component: 'CDN Edge', services: ['checkout', 'payments'] },
  europe: { page: 'cloudflare', group: 'Europe', services: ['eu-edge'] },
  'renamed-away': { page: 'cloudflare', component: 'Workers KV', services: ['search'] },
});
const components = [component('cdn1', 'CDN Edge'), component('fra', 'Frankfurt', 'Europe'), component('dns1', 'DNS')];

describe(mappingReport.name, () => {
  it('lists the components no rule maps and the rules that match no known component', () => {
    const report = mappingReport(mapping, components, null);
    expect(report.unmapped.map((c) => c.key)).toEqual(['cloudflare/dns1']);
    expect(report.unmatchedRules).toEqual(['renamed-away']);
    expect(report.rules.map((r) => [r.name, r.components])).toEqual([
      ['cdn-edge', 1],
      ['europe', 1],
      ['renamed-away', 0],
    ]);
  });

  it('lists the mapped services the catalogue does not know, aliases counting as known, with the rules naming them', () => {
    // `payments` is an alias of payments-api in escalation's catalogue.
    const known = new Set(['payments-api', 'payments', 'checkout', 'search']);
    expect(mappingReport(mapping, components, known).unknownServices).toEqual([
      { service: 'eu-edge', rules: ['europe'] },
    ]);
  });

  it('says nothing about unknown services when the catalogue could not be asked (null, not an empty list)', () => {
    expect(mappingReport(mapping, components, null).unknownServices).toBeNull();
  });
});
