import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@micro-oncall/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalogueClient } from './catalogue.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const CALLER = 'Bearer caller.token.value';

/** A stand-in for escalation's GET /v1/services that answers what `reply` says and records each request. */
async function fakeEscalation(
  reply: (headers: IncomingHttpHeaders) => { status: number; body: unknown; delayMs?: number },
) {
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.headers);
    const { status, body, delayMs = 0 } = reply(req.headers);
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const CATALOGUE = {
  items: [
    { service: 'payments-api', name: 'Payments API', team: 'payments', aliases: ['payments'] },
    { service: 'checkout', name: 'Checkout', team: 'web-storefront', aliases: [] },
  ],
};

describe(createCatalogueClient.name, () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it("asks escalation with the caller's own token and knows slugs and aliases", async () => {
    const escalation = await fakeEscalation(() => ({ status: 200, body: CATALOGUE }));
    stops.push(escalation.stop);
    const client = createCatalogueClient({ baseUrl: escalation.url, timeoutMs: 1000, cacheSeconds: 30, logger });
    const lookup = await client.lookup(CALLER);
    expect(lookup).toMatchObject({ available: true, services: 2 });
    expect(lookup.available && [...lookup.known].sort()).toEqual(['checkout', 'payments', 'payments-api']);
    expect(escalation.requests).toHaveLength(1);
    expect(escalation.requests[0]!.authorization).toBe(CALLER);
  });

  it('reuses a good answer for cacheSeconds, then asks again', async () => {
    const escalation = await fakeEscalation(() => ({ status: 200, body: CATALOGUE }));
    stops.push(escalation.stop);
    let now = Date.parse('2026-01-16T08:00:00Z');
    const client = createCatalogueClient({
      baseUrl: escalation.url,
      timeoutMs: 1000,
      cacheSeconds: 30,
      logger,
      now: () => now,
    });
    await client.lookup(CALLER);
    now += 29_000;
    await client.lookup(CALLER);
    expect(escalation.requests).toHaveLength(1);
    now += 2_000;
    await client.lookup(CALLER);
    expect(escalation.requests).toHaveLength(2);
  });

  it("says why it is unavailable: not configured, escalation refused the caller's token, not a list, no answer", async () => {
    const unset = createCatalogueClient({ baseUrl: undefined, timeoutMs: 1000, cacheSeconds: 30, logger });
    expect(await unset.lookup(CALLER)).toEqual({
      available: false,
      reason: 'ESCALATION_URL is not set: the catalogue cannot be asked',
    });

    const refusing = await fakeEscalation(() => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'this action needs the viewer role' } },
    }));
    stops.push(refusing.stop);
    const refused = createCatalogueClient({ baseUrl: refusing.url, timeoutMs: 1000, cacheSeconds: 30, logger });
    expect(await refused.lookup(CALLER)).toEqual({
      available: false,
      reason: 'escalation answered 403: this action needs the viewer role',
    });

    const odd = await fakeEscalation(() => ({ status: 200, body: { services: ['checkout'] } }));
    stops.push(odd.stop);
    const notAList = createCatalogueClient({ baseUrl: odd.url, timeoutMs: 1000, cacheSeconds: 30, logger });
    expect(await notAList.lookup(CALLER)).toMatchObject({
      available: false,
      reason: expect.stringMatching(/not a service list/),
    });

    const slow = await fakeEscalation(() => ({ status: 200, body: CATALOGUE, delayMs: 1_000 }));
    stops.push(slow.stop);
    const timedOut = createCatalogueClient({ baseUrl: slow.url, timeoutMs: 200, cacheSeconds: 30, logger });
    expect(await timedOut.lookup(CALLER)).toMatchObject({
      available: false,
      reason: expect.stringMatching(/^escalation did not answer within 200 ms/),
    });

    const gone = await fakeEscalation(() => ({ status: 200, body: CATALOGUE }));
    await gone.stop();
    const down = createCatalogueClient({ baseUrl: gone.url, timeoutMs: 1000, cacheSeconds: 30, logger });
    const answer = await down.lookup(CALLER);
    expect(answer).toMatchObject({
      available: false,
      reason: expect.stringMatching(/^escalation could not be reached \(ECONNREFUSED\)/),
    });
    // The reason never carries the URL or the token.
    expect(JSON.stringify(answer)).not.toMatch(/127\.0\.0\.1|caller\.token/);
  });

  it('does not keep a failure: the next request asks again', async () => {
    let status = 503;
    const escalation = await fakeEscalation(() => ({ status, body: status === 200 ? CATALOGUE : { error: 'down' } }));
    stops.push(escalation.stop);
    const client = createCatalogueClient({ baseUrl: escalation.url, timeoutMs: 1000, cacheSeconds: 30, logger });
    expect((await client.lookup(CALLER)).available).toBe(false);
    status = 200;
    expect((await client.lookup(CALLER)).available).toBe(true);
  });
});
