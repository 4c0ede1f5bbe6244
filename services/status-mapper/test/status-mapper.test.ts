import { randomBytes } from 'node:crypto';
import { type FakeStatuspage, startFakeStatuspage } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StatusSource, startTestStatusMapper, statuspageSources, type TestStatusMapper } from './support.js';

// Generated per run: no secret-shaped literal in the repository.
const WEBHOOK_TOKEN = `statuspage-${randomBytes(16).toString('hex')}`;

describe('status-mapper', () => {
  let statusMapper: TestStatusMapper;
  let cloudflare: FakeStatuspage;
  let github: FakeStatuspage;

  beforeAll(async () => {
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [
        { name: 'CDN Edge', group: 'Cloudflare Sites and Services' },
        { name: 'DNS', group: 'Cloudflare Sites and Services' },
        { name: 'API', group: 'Cloudflare Sites and Services' },
        { name: 'Frankfurt, Germany - (FRA)', group: 'Europe' },
        { name: 'London, United Kingdom - (LHR)', group: 'Europe' },
      ],
    });
    github = await startFakeStatuspage({
      name: 'GitHub',
      components: [
        { name: 'Git Operations' },
        { name: 'Actions' },
        { name: 'Visit www.githubstatus.com for more information' },
      ],
    });
    statusMapper = await startTestStatusMapper('status-mapper', {
      sources: statuspageSources([
        { id: 'cloudflare', provider: 'Cloudflare', page: cloudflare },
        { id: 'github', provider: 'GitHub', page: github },
      ]),
      mapping: `mappings:
  cloudflare-cdn-edge:
    page: cloudflare
    component: CDN Edge
    services: [frontend, api-gateway]
  cloudflare-dns:
    page: cloudflare
    component: DNS
    services: [api-gateway]
  cloudflare-europe:
    page: cloudflare
    group: Europe
    services: [eu-edge]
  github-git:
    page: github
    namePattern: "^(git operations|actions)$"
    services: [ci]
`,
      env: { POLL_TIMEOUT_MS: '1000', POLL_STALE_AFTER_FAILURES: '3', STATUSPAGE_WEBHOOK_TOKEN: WEBHOOK_TOKEN },
    });
  });

  afterAll(async () => {
    await statusMapper?.stop();
    await Promise.allSettled([cloudflare?.stop(), github?.stop()]);
  });

  it('is ready once migrated and connected, with its job runner and sources', async () => {
    const res = await fetch(`${statusMapper.url}/health/ready`);
    const body = (await res.json()) as { checks: Record<string, { healthy: boolean }> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.checks)).toEqual(expect.arrayContaining(['postgres', 'kafka', 'sources']));
  });

  it('publishes nothing for a first poll where everything is operational, and lists unmapped components', async () => {
    const polled = await statusMapper.pollNow();
    expect(polled.map((s) => [s.id, s.failing])).toEqual([
      ['cloudflare', null],
      ['github', null],
    ]);
    const unmapped = (await (await statusMapper.api('/status/v1/components?unmapped=true')).json()) as {
      items: { name: string }[];
    };
    // API is mapped by no rule; GitHub's "Visit …" placeholder and the groups are not components.
    expect(unmapped.items.map((c) => c.name)).toEqual(['API']);
    const services = await statusMapper.internal();
    expect(services.map((s) => [s.service, s.status])).toEqual([
      ['api-gateway', 'operational'],
      ['ci', 'operational'],
      ['eu-edge', 'operational'],
      ['frontend', 'operational'],
    ]);
  });

  it('publishes exactly one event when cdn-edge goes to major_outage, with the incident behind it', async () => {
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    const incident = cloudflare.openIncident({
      name: 'Elevated errors on the CDN edge',
      components: ['CDN Edge'],
      body: 'We are investigating <b>elevated</b> 5xx errors.',
    });
    await statusMapper.pollNow();
    await statusMapper.pollNow(); // a poll that changes nothing publishes nothing
    const seen = await statusMapper.events(1);
    expect(seen).toHaveLength(1);
    const [change] = seen;
    const cdnKey = `cloudflare/${cloudflare.componentId('CDN Edge')}`;
    expect(change).toMatchObject({
      subject: cdnKey,
      type: 'io.microoncall.provider-status.major_outage',
      drill: false,
      data: {
        provider: 'Cloudflare',
        page: { id: 'cloudflare', providerPageId: cloudflare.pageId, name: 'Cloudflare' },
        component: { key: cdnKey, name: 'CDN Edge', group: { name: 'Cloudflare Sites and Services' } },
        status: { from: 'operational', to: 'major_outage', providerStatus: 'major_outage', stale: null },
        incidents: [
          { id: incident.id, name: 'Elevated errors on the CDN edge', status: 'investigating', impact: 'major' },
        ],
        // The internal services the mapping names for it, so that consumers need no mapping of their own.
        services: ['api-gateway', 'frontend'],
        source: 'poll',
      },
    });
    // GitHub did not change: it was asked conditionally and answered 304.
    const last = github.requests.at(-1)!;
    expect(last.headers['if-none-match']).toMatch(/^W\//);
    expect(last.status).toBe(304);

    const services = await statusMapper.internal();
    const frontend = services.find((s) => s.service === 'frontend')!;
    expect(services[0]!.status).toBe('major_outage');
    expect(frontend).toMatchObject({
      status: 'major_outage',
      since: change!.data.observedAt,
      components: [{ key: cdnKey, status: 'major_outage' }],
      incidents: [
        { id: incident.id, latestUpdate: 'We are investigating <b>elevated</b> 5xx errors.', components: [cdnKey] },
      ],
    });
    expect(services.find((s) => s.service === 'eu-edge')!.status).toBe('operational');
  });

  it('answers 304 to If-None-Match while nothing changed', async () => {
    const first = await statusMapper.api('/status/internal');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"/);
    const again = await statusMapper.api('/status/internal', { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${statusMapper.url}/status/internal`)).status).toBe(401);
  });

  it('publishes the recovery', async () => {
    const [open] = cloudflare.summary().incidents as { id: string }[];
    cloudflare.setComponentStatus('CDN Edge', 'operational');
    cloudflare.resolveIncident(open!.id);
    await statusMapper.pollNow();
    const seen = await statusMapper.events(2);
    expect(seen).toHaveLength(2);
    // One key's events keep their order (one partition); across keys there is no order to expect.
    const cdn = seen.filter((e) => e.data.component.name === 'CDN Edge');
    expect(cdn.map((e) => [e.data.status.from, e.data.status.to])).toEqual([
      ['operational', 'major_outage'],
      ['major_outage', 'operational'],
    ]);
    const frontend = await statusMapper.serviceStatus('frontend');
    expect(frontend).toMatchObject({ status: 'operational', incidents: [] });
  });

  it('marks a failing source with its reason while the others carry on, then stale after 3 failures', async () => {
    github.truncateNext();
    let polled = await statusMapper.pollNow();
    let gh = polled.find((s) => s.id === 'github')!;
    expect(gh.failing).toMatchObject({ consecutiveFailures: 1, reason: expect.stringMatching(/not valid JSON/) });
    expect(polled.find((s) => s.id === 'cloudflare')!.failing).toBeNull();

    github.failNext({ status: 500 });
    polled = await statusMapper.pollNow();
    gh = polled.find((s) => s.id === 'github')!;
    expect(gh.failing).toMatchObject({ consecutiveFailures: 2, reason: expect.stringMatching(/answered 500/) });
    expect(gh.staleSince).toBeNull();
    expect(await statusMapper.events(2)).toHaveLength(2); // failing, not yet stale: nothing published

    github.failNext({ delayMs: 2_500 });
    polled = await statusMapper.pollNow();
    gh = polled.find((s) => s.id === 'github')!;
    expect(gh.failing).toMatchObject({
      consecutiveFailures: 3,
      reason: expect.stringMatching(/did not answer within 1000 ms/),
    });
    expect(gh.staleSince).toBe(gh.failing!.since);
    expect(polled.find((s) => s.id === 'cloudflare')!.failing).toBeNull();

    const seen = await statusMapper.events(4);
    expect(seen).toHaveLength(4);
    const stale = seen.filter((e) => e.data.page.id === 'github');
    expect(stale.map((e) => [e.data.component.name, e.data.status.from, e.data.status.to]).sort()).toEqual([
      ['Actions', 'operational', 'unknown'],
      ['Git Operations', 'operational', 'unknown'],
    ]);
    expect(stale[0]!.data.status.stale).toMatchObject({ since: gh.staleSince, lastKnown: 'operational' });
    expect(stale.map((e) => e.data.services)).toEqual([['ci'], ['ci']]);

    const ci = await statusMapper.serviceStatus('ci');
    expect(ci.status).toBe('unknown');
    expect(ci.components[0]!.stale).toMatchObject({ since: gh.staleSince, lastKnown: 'operational' });
  });

  it('publishes the way back from stale when the source answers again', async () => {
    const polled = await statusMapper.pollNow();
    expect(polled.find((s) => s.id === 'github')).toMatchObject({ failing: null, staleSince: null });
    const seen = await statusMapper.events(6);
    expect(seen).toHaveLength(6);
    for (const name of ['Git Operations', 'Actions']) {
      const mine = seen.filter((e) => e.data.component.name === name);
      expect(mine.map((e) => [e.data.status.from, e.data.status.to])).toEqual([
        ['operational', 'unknown'],
        ['unknown', 'operational'],
      ]);
    }
    expect((await statusMapper.serviceStatus('ci')).status).toBe('operational');
  });

  it('reads a status word Statuspage does not document as unknown, keeping the word', async () => {
    cloudflare.setComponentStatus('API', 'sort_of_down', { undocumented: true });
    await statusMapper.pollNow();
    const seen = await statusMapper.events(7);
    expect(seen).toHaveLength(7);
    // API is mapped by no rule: its event says so.
    expect(seen.find((e) => e.data.component.name === 'API')!.data.services).toEqual([]);
    expect(seen.find((e) => e.data.component.name === 'API')!.data.status).toMatchObject({
      from: 'operational',
      to: 'unknown',
      providerStatus: 'sort_of_down',
      stale: null,
    });
  });

  describe('Statuspage webhooks', () => {
    const post = (body: unknown, token: string | null = WEBHOOK_TOKEN, raw?: string) =>
      fetch(
        `${statusMapper.url}/status/v1/webhooks/statuspage${token === null ? '' : `?token=${encodeURIComponent(token)}`}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: raw ?? JSON.stringify(body),
        },
      );

    it('refuses a bad or missing token (401) and a malformed payload (400), storing nothing', async () => {
      cloudflare.setComponentStatus('DNS', 'partial_outage');
      const payload = cloudflare.componentUpdatePayload('DNS', 'operational');
      expect((await post(payload, 'wrong-token-wrong-token-wrong')).status).toBe(401);
      expect((await post(payload, null)).status).toBe(401);
      expect((await post(null, WEBHOOK_TOKEN, '{"component_update": {"id": ')).status).toBe(400);
      expect((await post({ component_update: { id: 'x' }, page: { id: cloudflare.pageId } })).status).toBe(400);
      expect((await post({ ...payload, page: { id: 'notourpage01' } })).status).toBe(400);
      const dns = (await statusMapper.components()).find((c) => c.name === 'DNS');
      expect(dns!.status).toBe('operational');
      expect(await statusMapper.events(7)).toHaveLength(7);
    });

    it('applies a component update and publishes it once', async () => {
      const payload = cloudflare.componentUpdatePayload('DNS', 'operational');
      const res = await post(payload);
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: true, events: 1 });
      expect((await post(payload)).status).toBe(202); // a redelivery changes nothing
      const seen = await statusMapper.events(8);
      expect(seen).toHaveLength(8);
      expect(seen.find((e) => e.data.source === 'webhook')!.data).toMatchObject({
        source: 'webhook',
        component: { name: 'DNS' },
        status: { from: 'operational', to: 'partial_outage' },
      });
      const gateway = await statusMapper.serviceStatus('api-gateway');
      expect(gateway.status).toBe('partial_outage');
    });

    it('records an incident update', async () => {
      const incident = cloudflare.openIncident({
        name: 'DNS resolution delays',
        components: ['DNS'],
        body: 'Investigating.',
      });
      const res = await post(cloudflare.incidentUpdatePayload(incident.id));
      expect(res.status).toBe(202);
      const gateway = await statusMapper.serviceStatus('api-gateway');
      expect(gateway.incidents.map((i) => i.name)).toEqual(['DNS resolution delays']);
    });
  });
});

describe('status-mapper with two replicas', () => {
  it('polls each due page once although both replicas start and run the poll job at once', async () => {
    const fakes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        startFakeStatuspage({ name: `Provider ${i}`, components: [{ name: 'API' }] }),
      ),
    );
    // Slow answers, so that the replicas' runs overlap.
    for (const fake of fakes) fake.failNext({ delayMs: 300 });
    let statusMapper: TestStatusMapper | undefined;
    try {
      // Each replica asks for a run of the due pages as it starts (new pages are due at once).
      statusMapper = await startTestStatusMapper('status-mapper-replicas', {
        sources: statuspageSources(fakes.map((page, i) => ({ id: `p${i}`, provider: `P${i}`, page }))),
        replicas: [{}, {}],
      });
      const second = statusMapper.on(statusMapper.replicas[1]!);
      const deadline = Date.now() + 30_000;
      let polled: StatusSource[] = [];
      while (Date.now() < deadline) {
        polled = await second.sources();
        if (polled.length === 6 && polled.every((s) => s.lastSuccessAt !== null)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(polled.map((s) => s.lastSuccessAt !== null)).toEqual(Array(6).fill(true));
      await new Promise((r) => setTimeout(r, 3_000)); // a second run, had there been one, would have polled by now
      expect(fakes.map((f) => f.requests.length)).toEqual(Array(6).fill(1));
    } finally {
      await statusMapper?.stop();
      await Promise.allSettled(fakes.map((f) => f.stop()));
    }
  });
});
