import { randomBytes } from 'node:crypto';
import { ProviderStatusChange } from '@micro-oncall/incident-model';
import {
  type FakeStatuspage,
  type OpenStream,
  openStream,
  parseXml,
  startFakeStatuspage,
} from '@micro-oncall/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StatusMapperClient, startTestStatusMapper, statuspageSources, type TestStatusMapper } from './support.js';

/*
 * status-mapper's machine outputs besides /status/internal: the live stream of changes
 * (GET /status/v1/stream) and the Atom feed (GET /status/feed.atom), on two replicas sharing one
 * database, against a fake Statuspage.
 */

// Generated per run: no secret-shaped literal in the repository.
const WEBHOOK_TOKEN = `statuspage-${randomBytes(16).toString('hex')}`;
const FEED_TOKEN = `feed-${randomBytes(16).toString('hex')}`;
const CATCH_UP_MAX = 2;
const MAX_STREAMS = 3;
const HOSTILE = 'Elevated errors <script>alert("x")</script> ]]> & <![CDATA[ "quoted"';

interface SseEvent {
  id: string | null;
  event: string;
  data: unknown;
}

/** The events in an SSE text (comments, `retry:` and heartbeats left out). */
function sseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((l) => l && !l.startsWith(':')))
    .filter((lines) => lines.some((l) => l.startsWith('event: ')))
    .map((lines) => {
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
      return { id: field('id'), event: field('event')!, data: JSON.parse(field('data') ?? 'null') };
    });
}

type Change = ProviderStatusChange & { services: string[] };

describe('status-mapper live stream and Atom feed', () => {
  let statusMapper: TestStatusMapper;
  /** Replica A (the one with a feed token) and replica B. */
  let a: StatusMapperClient;
  let b: StatusMapperClient;
  let cloudflare: FakeStatuspage;
  const open: OpenStream[] = [];

  const stream = async (base: string, headers: Record<string, string> = {}) => {
    const s = await openStream(`${base}/status/v1/stream`, {
      authorization: `Bearer ${statusMapper.viewer}`,
      ...headers,
    });
    open.push(s);
    return s;
  };

  /** Waits until the server has seen the earlier tests' streams close (their slots are free). */
  async function streamsClosed(base: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!/^live_stream_clients\{[^}]*\} 0$/m.test(await (await fetch(`${base}/metrics`)).text())) {
      if (Date.now() > deadline) throw new Error('the earlier streams did not close');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sets a component at the fake page and tells replica A through a Statuspage webhook. */
  async function webhookToA(component: string, status: 'operational' | 'degraded_performance' | 'partial_outage') {
    const before = cloudflare.summary().components as { name: string; status: string }[];
    const old = before.find((c) => c.name === component)!.status;
    cloudflare.setComponentStatus(component, status);
    const res = await fetch(`${a.url}/status/v1/webhooks/statuspage?token=${WEBHOOK_TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(cloudflare.componentUpdatePayload(component, old)),
    });
    expect(await res.json()).toEqual({ accepted: true, events: 1 });
  }

  beforeAll(async () => {
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [
        { name: 'CDN Edge', group: 'Cloudflare Sites and Services' },
        { name: 'DNS', group: 'Cloudflare Sites and Services' },
        { name: 'API', group: 'Cloudflare Sites and Services' },
      ],
    });
    statusMapper = await startTestStatusMapper('status-mapper-feeds', {
      sources: statuspageSources([{ id: 'cloudflare', provider: 'Cloudflare', page: cloudflare }]),
      mapping: `mappings:
  cdn:
    page: cloudflare
    component: CDN Edge
    services: [frontend, api-gateway]
  dns:
    page: cloudflare
    component: DNS
    services: [api-gateway]
`,
      env: {
        STATUSPAGE_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
        STATUS_STREAM_MAX_CONNECTIONS: String(MAX_STREAMS),
        STATUS_STREAM_CATCH_UP_MAX: String(CATCH_UP_MAX),
        STATUS_STREAM_HEARTBEAT_SECONDS: '1',
      },
      // Two replicas of one deployment; only A has a feed token.
      replicas: [{ STATUS_FEED_TOKEN: FEED_TOKEN }, {}],
    });
    a = statusMapper;
    b = statusMapper.on(statusMapper.replicas[1]!);
    await a.pollNow(); // everything operational: no change yet
  });

  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  afterAll(async () => {
    await statusMapper?.stop();
    await cloudflare?.stop();
  });

  let firstChangeId: string;

  it('sends a change at the provider to an open stream once, with the services it affects', async () => {
    const s = await stream(a.url);
    expect(s.status).toBe(200);
    expect(s.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(s.headers.get('cache-control')).toMatch(/no-cache/);
    expect(s.headers.get('x-accel-buffering')).toBe('no');
    await s.readUntil(/event: ready/);

    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    const incident = cloudflare.openIncident({
      name: HOSTILE,
      components: ['CDN Edge'],
      body: `Investigating ${HOSTILE}`,
    });
    await a.pollNow();
    await s.readUntil(/event: change/);
    await a.pollNow(); // changes nothing: sends nothing
    // Two heartbeats later (one a second), still that one change.
    await s.readUntil(/event: change[\s\S]*: keep-alive\n\n[\s\S]*: keep-alive\n\n/);

    const changes = sseEvents(s.text()).filter((e) => e.event === 'change');
    expect(changes).toHaveLength(1);
    const [change] = changes;
    expect(change!.id).toMatch(/^\d+$/);
    firstChangeId = change!.id!;
    const data = change!.data as Change;
    expect(ProviderStatusChange.safeParse(data).success).toBe(true);
    expect(data).toMatchObject({
      provider: 'Cloudflare',
      page: { id: 'cloudflare', providerPageId: cloudflare.pageId, name: 'Cloudflare' },
      component: { name: 'CDN Edge', group: { name: 'Cloudflare Sites and Services' } },
      status: { from: 'operational', to: 'major_outage', providerStatus: 'major_outage', stale: null },
      // The hostile name arrives as the provider wrote it: JSON text, for the client to render as text.
      incidents: [{ id: incident.id, name: HOSTILE, status: 'investigating', impact: 'major' }],
      services: ['api-gateway', 'frontend'],
      source: 'poll',
    });
  });

  it('gives a client reconnecting with Last-Event-ID exactly the changes it missed, then the live ones', async () => {
    // While the client is away: two changes.
    await webhookToA('DNS', 'partial_outage');
    await webhookToA('API', 'degraded_performance');

    const s = await stream(a.url, { 'last-event-id': firstChangeId });
    await s.readUntil(/event: ready/);
    const caughtUp = sseEvents(s.text());
    expect(caughtUp.map((e) => e.event)).toEqual(['change', 'change', 'ready']);
    const ids = caughtUp.slice(0, 2).map((e) => Number(e.id));
    expect(ids[0]).toBeGreaterThan(Number(firstChangeId));
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    expect(caughtUp.slice(0, 2).map((e) => [(e.data as Change).component.name, (e.data as Change).services])).toEqual([
      ['DNS', ['api-gateway']],
      ['API', []],
    ]);
    expect(caughtUp[2]!.data).toEqual({ lastEventId: ids[1] });

    // And then the live ones, on the same stream.
    await webhookToA('DNS', 'operational');
    await s.readUntil(/event: ready[\s\S]*event: change/);
    const live = sseEvents(s.text()).slice(3);
    expect(live.map((e) => [e.event, (e.data as Change).component.name, (e.data as Change).status.to])).toEqual([
      ['change', 'DNS', 'operational'],
    ]);
  });

  it(`tells a client more than ${CATCH_UP_MAX} changes behind to re-read /status/internal instead of replaying`, async () => {
    const s = await stream(a.url, { 'last-event-id': '0' });
    await s.readUntil(/event: ready/);
    const events = sseEvents(s.text());
    expect(events.map((e) => e.event)).toEqual(['reset', 'ready']);
    expect(events[0]!.data).toMatchObject({
      reason: `more than ${CATCH_UP_MAX} changes were missed`,
      reread: '/status/internal',
    });
  });

  it('sends a change written through replica A to a stream on replica B', async () => {
    const s = await stream(b.url);
    await s.readUntil(/event: ready/);
    await webhookToA('DNS', 'degraded_performance');
    await s.readUntil(/event: change/);
    const [change] = sseEvents(s.text()).filter((e) => e.event === 'change');
    expect(change!.data).toMatchObject({
      component: { name: 'DNS' },
      status: { from: 'operational', to: 'degraded_performance' },
      services: ['api-gateway'],
      source: 'webhook',
    });
  });

  it(`serves at most ${MAX_STREAMS} streams per replica (503 with Retry-After beyond), and none without a token`, async () => {
    await streamsClosed(a.url);
    for (let n = 0; n < MAX_STREAMS; n += 1) {
      const s = await stream(a.url);
      expect(s.status).toBe(200);
      await s.readUntil(/event: ready/);
    }
    const over = await stream(a.url);
    expect(over.status).toBe(503);
    expect(over.headers.get('retry-after')).toBe('10');
    expect(JSON.parse(over.text())).toMatchObject({ error: { code: 'overloaded' } });
    expect(JSON.parse(over.text()).error.message).toMatch(/limit of 3 connections/);
    // The other replica has its own slots.
    const elsewhere = await stream(b.url);
    expect(elsewhere.status).toBe(200);

    expect((await openStream(`${a.url}/status/v1/stream`, {})).status).toBe(401);
  });

  it('ends a stream when the bearer token it was opened with expires', async () => {
    await streamsClosed(a.url);
    const shortLived = await statusMapper.issuer.token({ sub: 'tool', roles: ['viewer'] }, { expiresIn: '2s' });
    const s = await openStream(`${a.url}/status/v1/stream`, { authorization: `Bearer ${shortLived}` });
    open.push(s);
    await s.readUntil(/event: ready/);
    expect(await s.readToEnd(8000)).toMatch(/event: end\ndata: \{"reason":"credential_expired"\}\n\n$/);
  });

  describe('Atom feed', () => {
    it('is Atom 1.0 that parses, newest first, with the change and the provider text escaped', async () => {
      const res = await a.api('/status/feed.atom');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
      const body = await res.text();
      expect(body).not.toContain('<script>');
      expect(body).not.toContain(']]> &');
      const feed = parseXml(body);
      expect(feed).toMatchObject({ ns: 'http://www.w3.org/2005/Atom', name: 'feed' });
      expect(feed.one('id').text).toBe(`${a.url}/status/feed.atom`);
      const entries = feed.all('entry');
      const updated = entries.map((e) => e.one('updated').text);
      expect(updated).toEqual([...updated].sort().reverse());
      expect(feed.one('updated').text).toBe(updated[0]);

      const titles = entries.map((e) => e.one('title').text);
      expect(titles).toEqual(
        expect.arrayContaining([
          'Cloudflare — CDN Edge: major outage',
          'Cloudflare — DNS: degraded performance',
          `Cloudflare — ${HOSTILE}: investigating`,
        ]),
      );
      const cdn = entries.find((e) => e.one('title').text === 'Cloudflare — CDN Edge: major outage')!;
      expect(cdn.one('id').text).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(cdn.one('summary').text).toBe(
        'CDN Edge (Cloudflare Sites and Services) went from operational to major outage.\n' +
          'Affects internal services: api-gateway, frontend.\n' +
          `Provider incident: ${HOSTILE} (investigating, major impact).`,
      );
      const incident = entries.find((e) => e.one('title').text === `Cloudflare — ${HOSTILE}: investigating`)!;
      expect(incident.one('summary').text).toBe(
        `Investigating ${HOSTILE}\n\nImpact: major. Components: CDN Edge.\nAffects internal services: api-gateway, frontend.`,
      );
      expect(incident.one('link').attributes.href).toMatch(/^https:\/\/stspg\.io\//);
    });

    it('keeps its entry ids and answers 304 to If-None-Match while nothing changed', async () => {
      const first = await a.api('/status/feed.atom');
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^W\/"/);
      const ids = parseXml(await first.text())
        .all('entry')
        .map((e) => e.one('id').text);
      const again = await a.api('/status/feed.atom', { headers: { 'if-none-match': etag! } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      // Replica B renders the same document for the same URL.
      const onB = await b.api('/status/feed.atom');
      expect(
        parseXml(await onB.text())
          .all('entry')
          .map((e) => e.one('id').text),
      ).toEqual(ids);

      await webhookToA('API', 'operational');
      const changed = await a.api('/status/feed.atom', { headers: { 'if-none-match': etag! } });
      expect(changed.status).toBe(200);
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect(
        parseXml(await changed.text())
          .all('entry')[0]!
          .one('title').text,
      ).toBe('Cloudflare — API: operational');
    });

    it('reads with the feed token instead of a bearer JWT, and refuses a wrong or missing one with 401 and nothing else', async () => {
      const withToken = await a.api(`/status/feed.atom?token=${FEED_TOKEN}`, {}, null);
      expect(withToken.status).toBe(200);
      expect(parseXml(await withToken.text()).all('entry').length).toBeGreaterThan(0);

      const refusals = [
        await a.api('/status/feed.atom?token=feed-not-the-right-one-at-all', {}, null),
        await a.api('/status/feed.atom?token=feed-not-the-right-one-at-all'), // a valid JWT does not save a wrong token
        await a.api(`/status/feed.atom?token=${FEED_TOKEN}&token=${FEED_TOKEN}`, {}, null),
        await a.api('/status/feed.atom', {}, null),
        // Replica B has no feed token configured: ?token= never reads it.
        await b.api(`/status/feed.atom?token=${FEED_TOKEN}`, {}, null),
      ];
      for (const res of refusals) {
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const text = await res.text();
        expect(text).not.toContain('Cloudflare');
        expect(text).not.toContain(FEED_TOKEN);
        expect(JSON.parse(text)).toMatchObject({ error: { code: 'unauthenticated' } });
      }
      const noRole = await statusMapper.issuer.token({ sub: 'nobody', roles: [] });
      expect((await a.api('/status/feed.atom', {}, noRole)).status).toBe(403);
    });
  });
});
