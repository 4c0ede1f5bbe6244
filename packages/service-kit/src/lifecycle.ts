import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import type { Component } from './component.js';
import type { Logger } from './logger.js';
import { inWorkerProcess, serveHandedConnections, superviseWorkers } from './workers.js';

/**
 * The HTTP server's load as the service can see it: connections it accepted and that are still
 * open (counted from accept, before any request on them is read). Zero until it listens.
 */
export interface HttpConnections {
  open(): number;
}

/** A connection count for `startService` to keep and the service to read (`ctx.http`). */
export function createHttpConnections(): HttpConnections & { opened(): void; closed(): void } {
  let open = 0;
  return {
    open: () => open,
    opened: () => {
      open += 1;
    },
    closed: () => {
      open -= 1;
    },
  };
}

export interface RunningService {
  url: string;
  port: number;
  /** Idempotent: close HTTP, then the other components in reverse start order. */
  stop(): Promise<void>;
}

async function bounded(what: string, ms: number, fn: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not stop within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connections the kernel queues for the server to accept (Linux caps it at net.core.somaxconn,
 * 4096 by default). Node's default, 511, drops further SYNs under a burst of new connections, and
 * each dropped one waits for the client's retransmission (1 s, then 3 s, 7 s…) before the server
 * even sees it; queued, it is accepted at once and can be answered, if need be with a 503.
 */
const LISTEN_BACKLOG = 4096;

function httpComponent(
  app: Express,
  host: string,
  port: number,
  logger: Logger,
  connections?: ReturnType<typeof createHttpConnections>,
): Component & { server?: Server; address(): number } {
  let server: Server | undefined;
  let closing = false;
  const pending = new Set<ServerResponse>();
  // In a worker process the primary accepts and hands the connections over (workers.ts): the
  // server does not listen, and stopping waits for the connections it was handed to end.
  const handed = inWorkerProcess();
  let serving: { stopServing(): void } | undefined;
  const open = new Set<Socket>();
  let drained: (() => void) | undefined;
  return {
    id: 'http',
    async start() {
      if (handed) {
        server = createServer(app);
        // node:http tracks its connections (the headers and request timeouts that cut off slow
        // senders, closeIdleConnections) from its 'listening' event: a server that never listens
        // must have it too.
        server.emit('listening');
      } else {
        server = await new Promise<Server>((resolve, reject) => {
          // Express 5 calls the listen callback with the error too (EADDRINUSE, EACCES): a
          // service must not report itself started without its HTTP server.
          const s = app.listen(port, host, LISTEN_BACKLOG, (error?: Error) => (error ? reject(error) : resolve(s)));
        });
      }
      // Webhook senders and browsers keep connections alive; a drained server must not wait on idle ones.
      server.keepAliveTimeout = 5000;
      server.on('connection', (socket: Socket) => {
        connections?.opened();
        if (handed) open.add(socket);
        socket.once('close', () => {
          connections?.closed();
          if (handed && open.delete(socket) && open.size === 0) drained?.();
        });
      });
      // close() refuses new connections but not new requests on kept-alive ones, and a connection
      // whose request was in flight stays open once answered: while closing, every answer carries
      // `Connection: close`, so stop() does not wait for clients to hang up.
      server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
        if (closing) {
          res.setHeader('Connection', 'close');
          return;
        }
        pending.add(res);
        res.once('close', () => pending.delete(res));
      });
      if (handed) {
        serving = serveHandedConnections(server);
        logger.info({ host, port }, 'serving the connections the primary accepts');
      } else {
        logger.info({ host, port: this.address() }, 'listening');
      }
    },
    address() {
      const a = server?.address();
      return typeof a === 'object' && a ? a.port : port;
    },
    async stop() {
      if (!server) return;
      const s = server;
      closing = true;
      for (const res of pending) {
        if (!res.headersSent) res.setHeader('Connection', 'close');
        // Event streams never finish by themselves: end them so that close() does not wait for
        // them; EventSource clients reconnect (to another replica) with Last-Event-ID.
        else if (String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) res.end();
      }
      if (handed) {
        serving?.stopServing();
        await new Promise<void>((resolve) => {
          drained = resolve;
          // Ends the connection tracking and closes the idle connections; a server that never
          // listened is "not running" to close(), which is what it says.
          s.close(() => undefined);
          if (open.size === 0) resolve();
        });
        return;
      }
      await new Promise<void>((resolve, reject) => {
        s.close((error) => (error ? reject(error) : resolve()));
        s.closeIdleConnections();
      });
    },
    async healthcheck() {
      if (handed) return server && !closing ? { healthy: true } : { healthy: false, reason: 'not serving' };
      return server?.listening ? { healthy: true } : { healthy: false, reason: 'not listening' };
    },
  };
}

/**
 * Starts the components in order (pool → producer → consumers), then HTTP. Stopping runs in
 * reverse: HTTP first (in-flight requests finish), consumers, then the producer flushes, then
 * the pool ends. Each step is bounded by `shutdownTimeoutMs`.
 */
export async function startService(opts: {
  logger: Logger;
  components: Component[];
  app?: Express;
  host: string;
  port: number;
  shutdownTimeoutMs: number;
  connections?: ReturnType<typeof createHttpConnections>;
}): Promise<RunningService> {
  const started: Component[] = [];
  const http = opts.app ? httpComponent(opts.app, opts.host, opts.port, opts.logger, opts.connections) : undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const failures: string[] = [];
      for (const component of [...started].reverse()) {
        try {
          await bounded(component.id, opts.shutdownTimeoutMs, () => component.stop());
          opts.logger.info({ component: component.id }, 'stopped');
        } catch (error) {
          failures.push(`${component.id}: ${(error as Error).message}`);
          opts.logger.error({ err: error, component: component.id }, 'stop failed');
        }
      }
      if (failures.length > 0) throw new Error(`shutdown incomplete: ${failures.join('; ')}`);
    })();
    return stopping;
  };
  try {
    for (const component of [...opts.components, ...(http ? [http] : [])]) {
      await component.start?.();
      started.push(component);
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  const port = http ? http.address() : 0;
  return { url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`, port, stop };
}

/** For main.ts: one idempotent stop on SIGTERM/SIGINT, exit code 1 when shutdown failed. */
export function stopOnSignals(service: Pick<RunningService, 'stop'>, logger: Logger): void {
  const handler = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** For main.ts: a start-up failure is printed plainly and ends the process with status 1. */
export function exitOnStartFailure(logger: Logger, error: unknown): never {
  logger.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
  process.exit(1);
}

/**
 * For main.ts: runs a replica in this process (`workers` 1), or as `workers` worker processes
 * behind a primary that accepts their connections (workers.ts): the primary forks, the workers
 * run this same entry point and start. Either way it stops on SIGTERM/SIGINT, and a start-up
 * failure ends the process with status 1.
 */
export async function runAsProcesses(opts: {
  workers: number;
  /** The service's name (the primary's own metrics carry it). */
  service: string;
  /** Where the primary accepts for the workers (the replica's HOST and PORT). */
  host: string;
  port: number;
  /** WORKER_MAX_WAIT_MS: how long a connection may be expected to wait for a worker before the primary answers 503. */
  maxWaitMs: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  start: () => Promise<Pick<RunningService, 'stop'>>;
}): Promise<void> {
  try {
    if (opts.workers > 1 && !inWorkerProcess()) {
      const workers = superviseWorkers({ ...opts, onFatal: () => process.exit(1) });
      stopOnSignals(workers, opts.logger);
      return;
    }
    stopOnSignals(await opts.start(), opts.logger);
  } catch (error) {
    exitOnStartFailure(opts.logger, error);
  }
}
