import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FakeStatuspage, startFakeStatuspage } from '@micro-oncall/test-kit';

/**
 * DEMO ONLY (npm start): a fake Statuspage with Cloudflare-like components, one of them in an
 * outage, and the sources and mapping files that point status-mapper at it. Nothing here reaches
 * the internet; the mapping names services of the example service catalogue.
 */
export async function startDemoStatuspage(
  dir: string,
): Promise<{ fake: FakeStatuspage; files: Record<string, string> }> {
  const fake = await startFakeStatuspage({
    name: 'Cloudflare (DEMO)',
    components: [
      { name: 'CDN/Cache', group: 'Cloudflare Sites and Services' },
      { name: 'DNS', group: 'Cloudflare Sites and Services' },
      { name: 'Workers', group: 'Cloudflare Sites and Services' },
      { name: 'Frankfurt, Germany - (FRA)', group: 'Europe' },
      { name: 'London, United Kingdom - (LHR)', group: 'Europe' },
      { name: 'Amsterdam, Netherlands - (AMS)', group: 'Europe' },
    ],
  });
  fake.setComponentStatus('CDN/Cache', 'partial_outage');
  fake.openIncident({
    name: 'DEMO: elevated 5xx errors on the CDN edge',
    impact: 'minor',
    components: ['CDN/Cache'],
    body: 'DEMO DATA. We are investigating elevated error rates for some requests served from the edge.',
  });
  const sources = join(dir, 'status-sources.demo.yml');
  writeFileSync(
    sources,
    `# DEMO ONLY, written by npm start: a local fake Statuspage\npages:\n  - id: cloudflare\n    provider: Cloudflare\n    url: ${fake.summaryUrl}\n    intervalSeconds: 60\n    jitterSeconds: 5\n`,
  );
  const mapping = join(dir, 'status-mapping.demo.yml');
  writeFileSync(
    mapping,
    `# DEMO ONLY, written by npm start
mappings:
  cloudflare-cdn:
    page: cloudflare
    component: CDN/Cache
    services: [checkout, search]
  cloudflare-dns:
    page: cloudflare
    component: DNS
    services: [payments-api]
  cloudflare-europe:
    page: cloudflare
    group: Europe
    services: [checkout]
`,
  );
  return { fake, files: { 'status-sources': sources, 'status-mapping': mapping } };
}
