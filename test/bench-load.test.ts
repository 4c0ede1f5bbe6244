import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatorLagText, runFixedRate } from '../bench/lib/load.js';
import type { SignedWebhook } from '../bench/lib/payloads.js';

const webhook: SignedWebhook = {
  body: Buffer.from('{}'),
  signature: 'v1=test',
  incidentId: 'inc_000000000000000000000000',
};

describe('the open-loop generator reports its own lateness', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(202).end());
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

  it('a generator that keeps up issues its requests close to their due time', async () => {
    const result = await runFixedRate({ url, path: '/x', rate: 100, durationS: 1, next: () => webhook });
    const g = result.generator;
    expect(g?.issuedLateMs.count).toBe(100);
    // The schedule ticks every millisecond; on a busy machine a tick can be late by tens of ms,
    // but never by the 250 ms of a stall.
    expect(g?.issuedLateMs.p50 ?? Number.NaN).toBeLessThan(250);
  });
});
