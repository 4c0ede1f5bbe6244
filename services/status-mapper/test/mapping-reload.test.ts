import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventEnvelope, topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  type FakeStatuspage,
  type LocalIssuer,
  startFakeStatuspage,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service } from '../src/service.js';

type Change = EventEnvelope<'provider-status'>;
interface ServiceStatus {
  service: string;
  status: string;
  components: { key: string; status: string }[];
}
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
  let running: RunningService;
  let issuer: LocalIssuer;
  let cloudflare: FakeStatuspage;
  let topic: string;
  let viewer: string;
  let responder: string;
  let file: string;
  const kafka = () => testKafka(inject('stack').kafkaBrokers);

  const api = async (path: string, init: RequestInit = {}, token = viewer) =>
    fetch(`${running.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  const internal = async () =>
    ((await (await api('/status/internal')).json()) as { services: ServiceStatus[] }).services;
  const mapping = async () => (await (await api('/status/v1/mapping')).json()) as MappingAnswer;

  /** Every provider-status event so far; waits for `count`, then (to prove there is no more) a little longer. */
  async function events(count: number): Promise<Change[]> {
    const seen = await kafka().read(topic, { count: count + 1, timeoutMs: 6_000 });
    return seen.map((m) => JSON.parse(m.value ?? 'null') as Change);
  }

  async function pollNow(): Promise<void> {
    const lastPolled = async () =>
      ((await (await api('/status/v1/sources')).json()) as { items: { lastPolledAt: string | null }[] }).items[0]
        ?.lastPolledAt ?? null;
    const before = await lastPolled();
    expect((await api('/status/v1/sources/poll', { method: 'POST' }, responder)).status).toBe(202);
    const deadline = Date.now() + 30_000;
    while ((await lastPolled()) === before) {
      if (Date.now() > deadline) throw new Error('the poll did not finish within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    const { databaseUrl, kafkaBrokers } = inject('stack');
    const namespace = uniqueNamespace('status-mapper-reload');
    topic = topicName('provider-status', namespace);
    issuer = await startLocalIssuer();
    viewer = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    responder = await issuer.token({ sub: 'responder-1', roles: ['responder'] });
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge' }, { name: 'DNS' }, { name: 'API' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'status-mapper-reload-'));
    writeFileSync(
      join(dir, 'sources.yml'),
      `pages:\n  - id: cloudflare\n    provider: Cloudflare\n    url: ${cloudflare.summaryUrl}\n    intervalSeconds: 3600\n`,
    );
    file = join(dir, 'mapping.yml');
    writeFileSync(file, mappingFile('frontend'));
    running = await service.run(
      service.loadConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: await createTestDatabase(databaseUrl, 'status_mapper_reload'),
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_TOPIC_NAMESPACE: namespace,
        OIDC_ISSUER: issuer.issuer,
        OIDC_AUDIENCE: issuer.audience,
        STATUS_SOURCES_FILE: join(dir, 'sources.yml'),
        STATUS_MAPPING_FILE: file,
        MAPPING_RELOAD_INTERVAL_MS: '200',
        ESCALATION_URL: `http://127.0.0.1:${await closedPort()}`,
        ESCALATION_TIMEOUT_MS: '500',
        POLL_TIMEOUT_MS: '1000',
      }),
      { onFatal: (error) => console.error(`status-mapper stopped: ${error.message}`) },
    );
    await pollNow(); // everything operational: nothing published
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    await pollNow();
  });

  afterAll(async () => {
    await running?.stop();
    await Promise.allSettled([issuer?.stop(), cloudflare?.stop()]);
  });

  it('publishes the outage for the services mapped at start-up', async () => {
    const [outage] = await events(1);
    expect(outage!.data).toMatchObject({
      component: { name: 'CDN Edge' },
      status: { from: 'operational', to: 'major_outage' },
      services: ['frontend'],
    });
    expect((await internal()).find((s) => s.service === 'checkout')).toBeUndefined();
  });

  it('applies an edited mapping without a restart and tells consumers which services the component now affects', async () => {
    const before = (await mapping()).source;
    writeFileSync(file, mappingFile('frontend, checkout'));

    await expect
      .poll(async () => (await internal()).find((s) => s.service === 'checkout')?.status, { timeout: 10_000 })
      .toBe('major_outage');
    const source = (await mapping()).source;
    expect(source.hash).not.toBe(before.hash);
    expect(Date.parse(source.loadedAt)).toBeGreaterThan(Date.parse(before.loadedAt));
    expect(source.lastReloadError).toBeNull();

    // One event, for the re-mapped component only (DNS kept its services): its condition unchanged.
    const seen = await events(2);
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
    writeFileSync(
      file,
      mappingFile('frontend, checkout').replace('services: [frontend, checkout]', 'services: checkout'),
    );

    await expect.poll(async () => (await mapping()).source.lastReloadError, { timeout: 10_000 }).not.toBeNull();
    const answer = await mapping();
    expect(answer.source.lastReloadError!.problems).toEqual([
      expect.stringMatching(/^line 5: mappings\.cloudflare-cdn-edge\.services: /),
    ]);
    expect(answer.rules.find((r) => r.name === 'cloudflare-cdn-edge')!.services).toEqual(['frontend', 'checkout']);
    expect((await internal()).find((s) => s.service === 'checkout')?.status).toBe('major_outage');
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    expect(metrics).toMatch(/^status_mapper_mapping_reload_failing\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^status_mapper_mapping_reloads_total\{[^}]*outcome="rejected"[^}]*\} 1$/m);
    // Nothing re-mapped, nothing published.
    expect(await events(2)).toHaveLength(2);
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
    expect((await fetch(`${running.url}/status/v1/mapping`)).status).toBe(401);
  });
});
