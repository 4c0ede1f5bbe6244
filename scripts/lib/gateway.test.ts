import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Gateway, type GatewayRoute, routeConflicts, routeFor, startGateway } from './gateway.js';
import { listServices } from './services.js';

const routes = (target = 'http://127.0.0.1:1'): GatewayRoute[] => [
  { service: 'escalation', path: '/', match: 'exact', target },
  { service: 'escalation', path: '/incidents', match: 'prefix', target },
  { service: 'escalation', path: '/v1', match: 'prefix', target },
  { service: 'webhook-ingest', path: '/v1/webhooks', match: 'prefix', target },
  { service: 'status-mapper', path: '/status', match: 'prefix', target },
];

const serviceFor = (path: string) => routeFor(routes(), path)?.service ?? null;

describe(routeFor.name, () => {
  it('sends a path to the longest matching prefix, as the Ingress does', () => {
    expect(serviceFor('/v1/webhooks/pagerduty')).toBe('webhook-ingest');
    expect(serviceFor('/v1/webhooks')).toBe('webhook-ingest');
    expect(serviceFor('/v1/incidents')).toBe('escalation');
    expect(serviceFor('/v1')).toBe('escalation');
    expect(serviceFor('/status/')).toBe('status-mapper');
    expect(serviceFor('/status/internal')).toBe('status-mapper');
  });

  it('matches prefixes element by element and exact paths only as they are', () => {
    expect(serviceFor('/v1webhooks')).toBeNull();
    expect(serviceFor('/v1/webhooksx')).toBe('escalation');
    expect(serviceFor('/statusx')).toBeNull();
    expect(serviceFor('/')).toBe('escalation');
    // `/` is exact: everything else not listed stays unrouted (no /metrics, no /health).
    expect(serviceFor('/metrics')).toBeNull();
    expect(serviceFor('/health/ready')).toBeNull();
  });

  it('prefers an exact path over a prefix of the same length', () => {
    const table = [
      { path: '/audit', match: 'prefix' as const, service: 'a' },
      { path: '/audit', match: 'exact' as const, service: 'b' },
    ];
    expect(routeFor(table, '/audit')?.service).toBe('b');
    expect(routeFor(table, '/audit/x')?.service).toBe('a');
  });

  // Loads every service's descriptor (their modules, not their I/O): slow on a busy machine.
  it("routes the product's own paths to their services (the descriptors' publicPaths)", {
    timeout: 60_000,
  }, async () => {
    const table = (await listServices()).flatMap(({ name, service }) =>
      service.publicPaths.map((p) => ({ ...p, service: name, target: '' })),
    );
    expect(routeConflicts(table)).toEqual([]);
    const owner = (path: string) => routeFor(table, path)?.service;
    expect(owner('/')).toBe('escalation');
    expect(owner('/incidents/inc_0123')).toBe('escalation');
    expect(owner('/auth/token')).toBe('escalation');
    expect(owner('/ui/common/base.css')).toBe('escalation');
    expect(owner('/v1/webhooks/opsgenie')).toBe('webhook-ingest');
    expect(owner('/status/')).toBe('status-mapper');
    expect(owner('/status/ui/common/base.css')).toBe('status-mapper');
    expect(owner('/openapi.json')).toBeUndefined();
  });
});

describe(routeConflicts.name, () => {
  it('names two services claiming the same path', () => {
    const table = [...routes(), { service: 'newcomer', path: '/status', match: 'prefix' as const, target: '' }];
    expect(routeConflicts(table)).toEqual(['/status (prefix) is claimed by both status-mapper and newcomer']);
  });
});

/** A loopback server whose handler the test writes. */
async function upstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe(startGateway.name, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of cleanup.splice(0).reverse()) await stop();
  });
  const track = <T extends { stop(): Promise<void> } | Server>(thing: T): T => {
    cleanup.push(() =>
      'stop' in thing
        ? thing.stop()
        : new Promise<void>((resolve) => {
            thing.closeAllConnections();
            thing.close(() => resolve());
          }),
    );
    return thing;
  };

  async function gatewayTo(table: GatewayRoute[]): Promise<Gateway> {
    return track(await startGateway({ port: 0, routes: table }));
  }

  it('forwards to the service the path belongs to, with the forwarded headers, body both ways', async () => {
    const seen: { service: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
    const record = (service: string) => async (req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      seen.push({ service, url: req.url ?? '', headers: req.headers, body });
      res.writeHead(201, { 'content-type': 'application/json', 'x-service': service });
      res.end(JSON.stringify({ service }));
    };
    const escalation = await upstream(record('escalation'));
    const ingest = await upstream(record('webhook-ingest'));
    track(escalation.server);
    track(ingest.server);
    const gateway = await gatewayTo([
      { service: 'escalation', path: '/v1', match: 'prefix', target: escalation.url },
      { service: 'webhook-ingest', path: '/v1/webhooks', match: 'prefix', target: ingest.url },
    ]);

    const res = await fetch(`${gateway.url}/v1/webhooks/pagerduty?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: '{"event":1}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-service')).toBe('webhook-ingest');
    expect(await res.json()).toEqual({ service: 'webhook-ingest' });
    expect((await fetch(`${gateway.url}/v1/incidents`)).headers.get('x-service')).toBe('escalation');

    const [webhook] = seen;
    expect(webhook).toMatchObject({
      service: 'webhook-ingest',
      url: '/v1/webhooks/pagerduty?x=1',
      body: '{"event":1}',
    });
    // The client's own claim is replaced by the address the gateway saw; the host is the product's.
    expect(webhook?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(webhook?.headers['x-forwarded-proto']).toBe('http');
    expect(webhook?.headers['x-forwarded-host']).toBe(`127.0.0.1:${gateway.port}`);
    expect(webhook?.headers.host).toBe(`127.0.0.1:${gateway.port}`);
  });

  it('answers 404 for paths no service declares, 502 when the service does not answer, 503 before routes', async () => {
    const waiting = track(await startGateway({ port: 0 }));
    expect((await fetch(`${waiting.url}/`)).status).toBe(503);
    waiting.setRoutes([{ service: 'escalation', path: '/v1', match: 'prefix', target: 'http://127.0.0.1:1' }]);
    const unknown = await fetch(`${waiting.url}/metrics`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain('/metrics');
    const down = await fetch(`${waiting.url}/v1/incidents`);
    expect(down.status).toBe(502);
    expect(((await down.json()) as { error: { message: string } }).error.message).toMatch(/^escalation did not answer/);
  });

  it('passes a Server-Sent Events stream through event by event, and closes it upstream when the browser leaves', async () => {
    let next: (() => void) | undefined;
    let upstreamClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => {
      upstreamClosed = resolve;
    });
    const stream = await upstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('event: change\ndata: {"n":1}\n\n');
      // The second event is written only once the client has read the first: a gateway that
      // buffered the answer would never deliver it, and the test would time out.
      next = () => res.write('event: change\ndata: {"n":2}\n\n');
      req.socket.on('close', upstreamClosed);
    });
    track(stream.server);
    const gateway = await gatewayTo([
      { service: 'status-mapper', path: '/status', match: 'prefix', target: stream.url },
    ]);

    const controller = new AbortController();
    const res = await fetch(`${gateway.url}/status/v1/stream`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('{"n":1}\n\n')) text += (await reader.read()).value ?? '';
    expect(text).not.toContain('"n":2');
    next?.();
    while (!text.includes('{"n":2}\n\n')) text += (await reader.read()).value ?? '';
    controller.abort();
    await closed;
  });

  it('streams a request body to the service as it is sent', async () => {
    let firstChunk: (text: string) => void = () => undefined;
    const gotFirst = new Promise<string>((resolve) => {
      firstChunk = resolve;
    });
    const echo = await upstream((req, res) => {
      req.once('data', (chunk: Buffer) => firstChunk(chunk.toString()));
      req.on('end', () => res.end('done'));
    });
    track(echo.server);
    const gateway = await gatewayTo([{ service: 'escalation', path: '/v1', match: 'prefix', target: echo.url }]);
    const target = new URL(gateway.url);
    const req = request({ host: target.hostname, port: target.port, method: 'POST', path: '/v1/upload' });
    const answered = new Promise<string>((resolve) =>
      req.on('response', async (res) => {
        let body = '';
        for await (const chunk of res) body += chunk;
        resolve(body);
      }),
    );
    req.write('part one;');
    expect(await gotFirst).toBe('part one;');
    req.end('part two');
    expect(await answered).toBe('done');
  });
});
