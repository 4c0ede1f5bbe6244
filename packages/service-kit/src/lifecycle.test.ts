import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Express } from 'express';
import { describe, expect, it, vi } from 'vitest';
import type { Component } from './component.js';
import { createHttpApp } from './http.js';
import { createHttpConnections, startService } from './lifecycle.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

const logger = createLogger({ service: 'lifecycle-test', level: 'silent' });

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A component that records its start and stop in `events`. */
function recorder(id: string, events: string[], overrides: Partial<Component> = {}): Component {
  return {
    id,
    start: async () => {
      events.push(`start ${id}`);
    },
    stop: async () => {
      events.push(`stop ${id}`);
    },
    healthcheck: async () => ({ healthy: true }),
    ...overrides,
  };
}

function app(mount: (a: Express) => void = () => undefined): Express {
  return createHttpApp({ logger, registry: createMetricsRegistry('lifecycle-test'), components: () => [] }, mount);
}

/** GET without keep-alive, so an answered request leaves no connection behind. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const base = { logger, host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2000 };

describe(startService.name, () => {
  it('counts the connections open on the server from accept, before any request is read, until they close', async () => {
    const connections = createHttpConnections();
    const service = await startService({ ...base, components: [], app: app(), connections });
    try {
      expect(connections.open()).toBe(0);
      const sockets = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const socket = connect(service.port, '127.0.0.1');
          await once(socket, 'connect');
          return socket;
        }),
      );
      await vi.waitFor(() => expect(connections.open()).toBe(3), { timeout: 10_000, interval: 20 });
      expect((await get(`${service.url}/health/live`)).status).toBe(200);
      for (const socket of sockets) socket.destroy();
      await vi.waitFor(() => expect(connections.open()).toBe(0), { timeout: 10_000, interval: 20 });
    } finally {
      await service.stop();
    }
  });

  it('starts components in order, serves HTTP, and stops in reverse order', async () => {
    const events: string[] = [];
    const service = await startService({
      ...base,
      components: [recorder('postgres', events), recorder('producer', events), recorder('consumer', events)],
      app: app((a) => a.get('/hello', (_req, res) => void res.json({ hello: 'world' }))),
    });
    expect(service.url).toBe(`http://127.0.0.1:${service.port}`);
    expect(await get(`${service.url}/hello`)).toEqual({ status: 200, body: '{"hello":"world"}' });

    await service.stop();
    expect(events).toEqual([
      'start postgres',
      'start producer',
      'start consumer',
      'stop consumer',
      'stop producer',
      'stop postgres',
    ]);
  });

  it('closes HTTP before stopping the other components', async () => {
    let refusedBeforeConsumerStopped: unknown;
    const service = await startService({
      ...base,
      components: [
        recorder('consumer', [], {
          stop: async () => {
            refusedBeforeConsumerStopped = await get(`${service.url}/health/live`).then(
              () => false,
              (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
            );
          },
        }),
      ],
      app: app(),
    });
    await service.stop();
    expect(refusedBeforeConsumerStopped).toBe(true);
  });

  it('lets an in-flight request finish before the components stop', async () => {
    const events: string[] = [];
    const entered = deferred();
    const release = deferred();
    const service = await startService({
      ...base,
      components: [recorder('postgres', events)],
      app: app((a) =>
        a.get('/slow', async (_req, res) => {
          entered.resolve();
          await release.promise;
          events.push('responded');
          res.json({ done: true });
        }),
      ),
    });
    const inFlight = get(`${service.url}/slow`);
    await entered.promise;

    const stopped = service.stop().then(() => events.push('stop resolved'));
    // The server no longer accepts connections, but the request already in progress goes on.
    await expect(get(`${service.url}/health/live`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(events).toEqual(['start postgres']);

    release.resolve();
    expect(await inFlight).toEqual({ status: 200, body: '{"done":true}' });
    await stopped;
    expect(events).toEqual(['start postgres', 'responded', 'stop postgres', 'stop resolved']);
  });

  it('closes a kept-alive connection once its in-flight request is answered', async () => {
    const entered = deferred();
    const release = deferred();
    const service = await startService({
      ...base,
      components: [],
      app: app((a) => {
        a.get('/fast', (_req, res) => void res.json({}));
        a.get('/slow', async (_req, res) => {
          entered.resolve();
          await release.promise;
          res.json({ done: true });
        });
      }),
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = (path: string) =>
      new Promise<{ connection: string | undefined; socketClosed: Promise<void> }>((resolve, reject) => {
        const req = httpRequest(`${service.url}${path}`, { agent }, (res) => {
          res.resume();
          const socketClosed = new Promise<void>((r) => res.socket.once('close', () => r()));
          res.on('end', () => resolve({ connection: res.headers.connection, socketClosed }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect((await viaAgent('/fast')).connection).toBe('keep-alive');
      const slow = viaAgent('/slow');
      await entered.promise;
      const stopped = service.stop();
      release.resolve();
      const answer = await slow;
      // The client is told, and the server hangs up: stop() does not wait for the client's
      // keep-alive to expire.
      expect(answer.connection).toBe('close');
      await answer.socketClosed;
      await stopped;
    } finally {
      agent.destroy();
    }
  });

  it('is idempotent: a second stop() stops nothing twice', async () => {
    const events: string[] = [];
    const service = await startService({ ...base, components: [recorder('postgres', events)], app: app() });
    await Promise.all([service.stop(), service.stop()]);
    await service.stop();
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop postgres']);
  });

  it('rejects after the timeout when a component hangs on stop, and still stops the others', async () => {
    const events: string[] = [];
    const service = await startService({
      ...base,
      shutdownTimeoutMs: 200,
      components: [
        recorder('postgres', events),
        recorder('consumer', events, { stop: () => new Promise<void>(() => undefined) }),
      ],
      app: app(),
    });
    await expect(service.stop()).rejects.toThrow('shutdown incomplete: consumer: consumer did not stop within 200 ms');
    expect(events).toContain('stop postgres');
    // The failure is remembered: asking again gives the same answer instead of a false success.
    await expect(service.stop()).rejects.toThrow(/consumer did not stop/);
  });

  it('reports every component that failed to stop', async () => {
    const service = await startService({
      ...base,
      components: [
        recorder('postgres', [], {
          stop: async () => {
            throw new Error('pool already ended');
          },
        }),
        recorder('producer', [], {
          stop: async () => {
            throw new Error('flush failed');
          },
        }),
      ],
    });
    await expect(service.stop()).rejects.toThrow(
      'shutdown incomplete: producer: flush failed; postgres: pool already ended',
    );
  });

  it('stops what was started, in reverse, when a component fails to start', async () => {
    const events: string[] = [];
    const failure = new Error('kafka unreachable');
    await expect(
      startService({
        ...base,
        components: [
          recorder('postgres', events),
          recorder('migrations', events),
          recorder('producer', events, {
            start: async () => {
              throw failure;
            },
          }),
          recorder('consumer', events),
        ],
        app: app(),
      }),
    ).rejects.toBe(failure);
    expect(events).toEqual(['start postgres', 'start migrations', 'stop migrations', 'stop postgres']);
  });

  it('reports a port that is already taken as a start failure', async () => {
    const first = await startService({ ...base, components: [], app: app() });
    try {
      await expect(startService({ ...base, port: first.port, components: [], app: app() })).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
    } finally {
      await first.stop();
    }
  });
});
