import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { droppedText, generatorLagText, runFixedRate } from '../bench/lib/load.js';
import type { SignedWebhook } from '../bench/lib/payloads.js';

const webhook: SignedWebhook = {
  body: Buffer.from('{}'),
  signature: 'v1=test',
  incidentId: 'inc_000000000000000000000000',
};

describe('the open-loop generator reports its own limits', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      // /hold answers only after 700 ms: a generator with few requests open runs out of them.
      const delay = req.url === '/hold' ? 700 : 0;
      req.on('end', () => setTimeout(() => res.writeHead(202).end(), delay));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a generator stalled for 300 ms issues the requests due meanwhile that late, and says so', async () => {
    // Half a second into a 1 s run the generator's own thread is busy for 300 ms: the requests
    // due then go out late, and their answer times (from the due time) carry that lateness.
    const stall = setTimeout(() => {
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // busy
      }
    }, 500);
    const result = await runFixedRate({ url, path: '/x', rate: 200, durationS: 1, next: () => webhook });
    clearTimeout(stall);
    expect(result.status['202']).toBe(200);
    const g = result.generator;
    expect(g).toBeDefined();
    if (!g) return;
    expect(g.issuedLateMs.count).toBe(200);
    // ~60 requests fell due during the stall; the first of them waited nearly all of it.
    expect(g.issuedLateMs.max).toBeGreaterThanOrEqual(250);
    expect(g.issuedLateMs.p50).toBeLessThan(g.issuedLateMs.max);
    expect(g.loopDelayMs.max).toBeGreaterThanOrEqual(250);
    // What the answer times say includes it.
    expect(result.latency.max).toBeGreaterThanOrEqual(g.issuedLateMs.max);
    expect(generatorLagText(g)).toMatch(
      /^the generator issued requests p50\/p99 [\d.]+ \/ [\d.]+ ms after their due time, its event loop delayed p99 [\d.]+ ms \(max [\d.]+\)$/,
    );
  });

  it('counts and names the requests it never sent because all it may hold open were waiting', async () => {
    // 50 requests due over 0.5 s, at most 5 open, each answered after 700 ms: 5 sent, 45 never.
    const result = await runFixedRate({
      url,
      path: '/hold',
      rate: 100,
      durationS: 0.5,
      maxInFlight: 5,
      next: () => webhook,
    });
    expect(result.sent).toBe(5);
    expect(result.status['202']).toBe(5);
    expect(result.dropped).toBe(45);
    expect(droppedText(result)).toBe("45 never sent (all of the generator's 5 open requests were waiting)");
    const kept = await runFixedRate({ url, path: '/x', rate: 100, durationS: 0.5, next: () => webhook });
    expect(kept.dropped).toBe(0);
    expect(droppedText(kept)).toBe('');
  });

  it('a generator that keeps up issues its requests close to their due time', async () => {
    const result = await runFixedRate({ url, path: '/x', rate: 100, durationS: 1, next: () => webhook });
    const g = result.generator;
    expect(g?.issuedLateMs.count).toBe(100);
    // The schedule ticks every millisecond; on a busy machine a tick can be late by tens of ms,
    // but never by the 250 ms of a stall.
    expect(g?.issuedLateMs.p50 ?? Number.NaN).toBeLessThan(250);
  });
});
