import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { type FakeStatuspage, startFakeStatuspage } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStatusMapper, statuspageSources, type TestStatusMapper } from './support.js';

interface MappingAnswer {
  source: {
    file: string;
    hash: string;
    loadedAt: string;
    lastReloadError: { at: string; hash: string | null; problems: string[] } | null;
  };
  rules: { name: string; services: string[]; components: number }[];
  unmapped: { key: string; name: string }[];
  unmatchedRules: string[];
  unknownServices: { service: string; rules: string[] }[] | null;
  catalogue: { available: true; services: number } | { available: false; reason: string };
}

const mappingFile = (cdnServices: string) => `mappings:
  cloudflare-cdn-edge:
    page: cloudflare
    component: CDN Edge
    services: [${cdnServices}]
  cloudflare-dns:
    page: cloudflare
    component: DNS
    services: [api-gateway]
  cloudflare-workers-kv:
    page: cloudflare
    component: Workers KV
    services: [edge-config]
`;

/** A port nothing listens on: escalation is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('status-mapper mapping reload', () => {
  let statusMapper: TestStatusMapper;
  let cloudflare: FakeStatuspage;

  const mapping = async () => (await (await statusMapper.api('/status/v1/mapping')).json()) as MappingAnswer;
  const edit = (text: string) => writeFileSync(statusMapper.mappingFile!, text);

  beforeAll(async () => {
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge' }, { name: 'DNS' }, { name: 'API' }],
    });
    statusMapper = await startTestStatusMapper('status-mapper-reload', {
      sources: statuspageSources([{ id: 'cloudflare', provider: 'Cloudflare', page: cloudflare }]),
      mapping: mappingFile('frontend'),
      env: {
        MAPPING_RELOAD_INTERVAL_MS: '200',
        ESCALATION_URL: `http://127.0.0.1:${await closedPort()}`,
        ESCALATION_TIMEOUT_MS: '500',
        POLL_TIMEOUT_MS: '1000',
      },
    });
    await statusMapper.pollNow(); // everything operational: nothing published
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    await statusMapper.pollNow();
  });

  afterAll(async () => {
    await statusMapper?.stop();
    await cloudflare?.stop();
  });

  it('publishes the outage for the services mapped at start-up', async () => {
    const [outage] = await statusMapper.events(1);
    expect(outage!.data).toMatchObject({
      component: { name: 'CDN Edge' },
      status: { from: 'operational', to: 'major_outage' },
      services: ['frontend'],
    });
    expect((await statusMapper.internal()).find((s) => s.service === 'checkout')).toBeUndefined();
  });

  it('applies an edited mapping without a restart and tells consumers which services the component now affects', async () => {
    const before = (await mapping()).source;
    edit(mappingFile('frontend, checkout'));

    await expect
      .poll(async () => (await statusMapper.internal()).find((s) => s.service === 'checkout')?.status, {
        timeout: 10_000,
      })
      .toBe('major_outage');
    const source = (await mapping()).source;
    expect(source.hash).not.toBe(before.hash);
    expect(Date.parse(source.loadedAt)).toBeGreaterThan(Date.parse(before.loadedAt));
    expect(source.lastReloadError).toBeNull();

    // One event, for the re-mapped component only (DNS kept its services): its condition unchanged.
    const seen = await statusMapper.events(2);
    expect(seen).toHaveLength(2);
    const [outage, remapped] = seen;
    expect(remapped!.subject).toBe(outage!.subject);
    expect(remapped!.id).not.toBe(outage!.id);
    expect(remapped!.data).toMatchObject({
      component: { name: 'CDN Edge' },
      status: { from: 'major_outage', to: 'major_outage', stale: null },
      services: ['checkout', 'frontend'],
      // Since when it has been in that condition: the outage's own time.
      observedAt: outage!.data.observedAt,
      source: 'poll',
    });
  });

  it('keeps the previous mapping when an edit breaks the file, and reports the error with its line', async () => {
    // Line 5: services must be a list.
    edit(mappingFile('frontend, checkout').replace('services: [frontend, checkout]', 'services: checkout'));

    await expect.poll(async () => (await mapping()).source.lastReloadError, { timeout: 10_000 }).not.toBeNull();
    const answer = await mapping();
    expect(answer.source.lastReloadError!.problems).toEqual([
      expect.stringMatching(/^line 5: mappings\.cloudflare-cdn-edge\.services: /),
    ]);
    expect(answer.rules.find((r) => r.name === 'cloudflare-cdn-edge')!.services).toEqual(['frontend', 'checkout']);
    expect((await statusMapper.internal()).find((s) => s.service === 'checkout')?.status).toBe('major_outage');
    const metrics = await (await fetch(`${statusMapper.url}/metrics`)).text();
    expect(metrics).toMatch(/^status_mapper_mapping_reload_failing\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^status_mapper_mapping_reloads_total\{[^}]*outcome="rejected"[^}]*\} 1$/m);
    // Nothing re-mapped, nothing published.
    expect(await statusMapper.events(2)).toHaveLength(2);
  });

  it('lists the components no rule maps and the rules that match nothing, and says the catalogue is unavailable while escalation is down', async () => {
    const answer = await mapping();
    expect(answer.unmapped.map((c) => c.name)).toEqual(['API']);
    expect(answer.unmatchedRules).toEqual(['cloudflare-workers-kv']);
    expect(answer.catalogue).toEqual({
      available: false,
      // Refused connections, then (after several) the client's circuit breaker: both say so.
      reason: expect.stringMatching(
        /^escalation (could not be reached \(ECONNREFUSED\)|is unavailable \(circuit open)/,
      ),
    });
    // Not "every service is known": not known at all.
    expect(answer.unknownServices).toBeNull();
    expect((await fetch(`${statusMapper.url}/status/v1/mapping`)).status).toBe(401);
  });
});
