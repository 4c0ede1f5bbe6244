import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from './logger.js';

/*
 * A service run as WORKER_PROCESSES > 1 processes in one container (node:cluster).
 *
 * The primary builds nothing: it forks the workers, each a whole replica (its own pool, producer,
 * consumers and HTTP server), and is the acceptor: it owns the listening socket and hands each
 * connection to a worker, whose HTTP server serves it as if it had accepted it itself.
 *
 * Why an acceptor of our own rather than node:cluster's round robin. Since libuv 1.45 a listening
 * socket accepts one connection per turn of its event loop; a busy replica's turn takes tens to
 * hundreds of milliseconds, so under a flood of new connections they wait in the kernel's accept
 * queue, where no admission control can see or refuse them. The primary's loop does nothing else,
 * so it accepts as fast as they arrive. But handing a socket to a worker waits for the worker to
 * acknowledge the previous one, from its busy loop, one per turn: node:cluster keeps the rest in
 * a list nobody can see (measured in docs/performance.md: 202s after 10 s, 2 % refused). Here the
 * primary keeps the connections waiting for each worker in view: how many, since when the oldest
 * has waited, and how long the worker has lately taken per connection. It gives each new
 * connection to the worker it expects to take it soonest and, when it expects every worker to
 * take longer than `maxWaitMs`, answers the connection itself: 503 with Retry-After (the
 * kubelet's probes 200: the pod is alive, only busy). Above capacity the excess is refused at
 * once instead of queueing for seconds; a burst of new connections to an idle replica is not
 * refused, since an idle worker takes one per fraction of a millisecond. The refusals are counted
 * in the pod's /metrics. The workers run at a lower scheduling priority than the primary
 * (WORKER_NICENESS), so that its small, urgent work never waits for a core behind them.
 *
 * A worker that exits when not told to takes the others down and the primary exits 1: the
 * container restarts whole, as a single-process replica would, rather than run with less capacity
 * than its resources say. SIGTERM to the primary (what the kubelet sends) closes the listening
 * socket, then stops every worker the way a replica stops; it exits 0 when all of them did.
 *
 * /metrics answered by any worker covers all of them (prom-client's cluster aggregation, through
 * the primary) and the primary's own counters, so a scrape sees the pod, not whichever worker it
 * reached: counters and histograms summed, gauges by their `aggregator` (sum unless they declare
 * max, min, first or average).
 */

const METRICS_REQUEST = 'micro-oncall:metrics-request';
const METRICS_ANSWER = 'micro-oncall:metrics-answer';
/** Worker → primary: its HTTP server takes connections (`serving` true) or no longer does (stopping). */
const HTTP_SERVING = 'micro-oncall:http-serving';
/** Primary → worker, with the socket as the message's handle: a connection to serve. */
const CONNECTION = 'micro-oncall:connection';
/** How long a worker waits for the primary's aggregated metrics (prom-client gives up after 5 s). */
const METRICS_TIMEOUT_MS = 6000;
/** Beyond the workers' own shutdown bound, how long the primary waits before killing them. */
const KILL_GRACE_MS = 5000;
/** What a refused connection is told to wait before it tries again (seconds). */
const REFUSAL_RETRY_AFTER_S = 1;
/** A connection the primary refuses must say what it wants within this time (a slow sender is cut off). */
const REFUSAL_HEAD_TIMEOUT_MS = 5000;
/** At most one log line per this interval while the primary refuses connections. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Connections the kernel queues for the primary to accept (see lifecycle.ts, LISTEN_BACKLOG). */
const LISTEN_BACKLOG = 4096;

interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsAnswer {
  type: typeof METRICS_ANSWER;
  id: number;
  text?: string;
  error?: string;
}
interface HttpServing {
  type: typeof HTTP_SERVING;
  serving: boolean;
}

export interface WorkerSupervisor {
  /**
   * Closes the listening socket, then stops every worker (SIGTERM, then SIGKILL after the bound);
   * rejects when one did not exit 0.
   */
  stop(): Promise<void>;
  /** The workers' process ids, in fork order (replaced ones are not restarted). */
  pids(): number[];
}

/**
 * The connections waiting for one worker: sent to it, not yet taken. Node sends a worker one
 * socket at a time, the next only once the worker acknowledged the previous one from its event
 * loop, so this is exactly the queue that loop has not reached. Times are in ms from `now`
 * arguments (performance.now() in the primary), so that the arithmetic is testable.
 */
export class Handoffs {
  /** Its HTTP server said it serves (and has not said it stopped). */
  serving = false;
  waiting = 0;
  /** Since when the oldest connection waiting has waited. */
  #headSince = 0;
  #lastTaken = Number.NEGATIVE_INFINITY;
  /** The time the worker lately took per connection while some waited (moving average), 0 before any. */
  #perConnectionMs = 0;

  sent(now: number): void {
    if (this.waiting === 0) this.#headSince = now;
    this.waiting += 1;
  }

  taken(now: number): void {
    if (this.waiting === 0) return;
    const sample = now - Math.max(this.#lastTaken, this.#headSince);
    this.#perConnectionMs = this.#perConnectionMs === 0 ? sample : 0.8 * this.#perConnectionMs + 0.2 * sample;
    this.waiting -= 1;
    this.#lastTaken = now;
    if (this.waiting > 0) this.#headSince = now;
  }

  /**
   * How long a connection sent now would wait: the longer of the oldest one's wait so far (a
   * worker whose loop is stuck takes none, however fast it used to be) and the connections ahead
   * at the worker's recent pace.
   */
  expectedWaitMs(now: number): number {
    if (this.waiting === 0) return 0;
    return Math.max(now - this.#headSince, this.waiting * this.#perConnectionMs);
  }
}

/** However fast a worker has been, no more connections than this wait for it. */
export const MAX_WAITING_PER_WORKER = 1024;

/**
 * How much lower than the primary's the workers' scheduling priority is (nice values). The
 * primary's work is small but urgent: it accepts one connection per turn of its event loop, and
 * hands a worker its next socket only when it has read the worker's acknowledgement of the
 * previous one. At equal priority, each of those turns waits for a core behind the busy workers
 * (and, on a shared machine, everything else): measured at twice a pod's capacity, connections
 * waited 1–2 s in the primary's accept queue while it used under a third of a core, and the pod
 * admitted a third of what it can. With the workers at nice +5 the primary runs as soon as it
 * wakes, and the pod admitted its full rate (docs/performance.md). Within a container, nice
 * orders only the pod's own processes: it takes nothing from other pods.
 */
export const WORKER_NICENESS = 5;

/** Lowers `worker`'s priority by WORKER_NICENESS (allowed to any process); a refusal is logged, not fatal. */
function lowerPriority(worker: Worker, logger: Logger): void {
  const pid = worker.process.pid;
  if (pid === undefined) return;
  try {
    setPriority(pid, Math.min(19, getPriority(process.pid) + WORKER_NICENESS));
  } catch (error) {
    logger.warn(
      { err: error, worker: worker.id, pid },
      'could not lower the worker process priority; the primary may accept slowly under load',
    );
  }
}

/**
 * The worker to hand the next connection to: of those serving, the one expected to take it
 * soonest, ties going round from `from`; undefined when none serves, or every one is expected to
 * take longer than `maxWaitMs` (or has MAX_WAITING_PER_WORKER waiting).
 */
export function pickWorker<T extends Handoffs>(
  candidates: readonly T[],
  from: number,
  maxWaitMs: number,
  now: number,
): T | undefined {
  let best: T | undefined;
  let bestWait = Number.POSITIVE_INFINITY;
  for (let i = 0; i < candidates.length; i += 1) {
    const candidate = candidates[(from + i) % candidates.length] as T;
    if (!candidate.serving || candidate.waiting >= MAX_WAITING_PER_WORKER) continue;
    const wait = candidate.expectedWaitMs(now);
    if (wait > maxWaitMs || wait >= bestWait) continue;
    best = candidate;
    bestWait = wait;
  }
  return best;
}

/**
 * In the primary: forks `workers` copies of this process's entry point, supervises them, and
 * accepts their connections on `host`:`port` once the first of them serves HTTP (until then the
 * port is closed, as a replica's is before it listens). `onFatal` runs once when a worker exits
 * unasked or the port cannot be listened on (after the workers were stopped); main.ts exits 1.
 */
export function superviseWorkers(opts: {
  workers: number;
  /** The service's name, the `service` label of the primary's own metrics. */
  service: string;
  host: string;
  port: number;
  /** How long a connection may be expected to wait for a worker before the primary refuses it itself (503). */
  maxWaitMs: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  onFatal: (error: Error) => void;
}): WorkerSupervisor {
  if (!cluster.isPrimary) throw new Error('superviseWorkers runs in the primary process only');
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  own.setDefaultLabels({ service: opts.service });
  const refusedTotal = new Counter({
    name: 'worker_connections_refused_total',
    help: 'Connections the primary answered itself (503 + Retry-After) because it expected every worker to take longer than WORKER_MAX_WAIT_MS to take them',
    registers: [own],
  });
  const exits = new Map<number, Promise<number>>();
  const forked: Worker[] = [];
  const handoffs: Array<Handoffs & { worker: Worker }> = [];
  let next = 0;
  let stopping: Promise<void> | undefined;
  let failed = false;
  let lastRefusalLog = 0;
  let refusedSinceLog = 0;
  new Gauge({
    name: 'worker_connections_waiting',
    help: 'Connections the primary accepted that no worker has taken yet',
    registers: [own],
    // The primary's own registry: one process, nothing to combine.
    aggregator: 'sum',
    collect() {
      this.set(handoffs.reduce((sum, h) => sum + h.waiting, 0));
    },
  });

  const refuser = refusingServer(() => {
    refusedTotal.inc();
    refusedSinceLog += 1;
    const now = Date.now();
    if (now - lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      opts.logger.warn(
        { refused: refusedSinceLog, maxWaitMs: opts.maxWaitMs, workers: handoffs.length },
        'every worker is too far behind on new connections: refusing new ones with 503',
      );
      lastRefusalLog = now;
      refusedSinceLog = 0;
    }
  });
  const listener: NetServer = createNetServer({ pauseOnConnect: true }, (socket) => {
    // A connection reset while it waits to be sent costs that connection, never the primary.
    socket.on('error', () => socket.destroy());
    const target = pickWorker(handoffs, next, opts.maxWaitMs, performance.now());
    if (!target) {
      refuser.emit('connection', socket);
      socket.resume();
      return;
    }
    next = (handoffs.indexOf(target) + 1) % handoffs.length;
    target.sent(performance.now());
    target.worker.send({ type: CONNECTION }, socket, { keepOpen: false }, (error) => {
      target.taken(performance.now());
      // The worker is gone (it takes the pod with it): the client sees the connection reset.
      if (error) socket.destroy();
    });
  });

  let listenStarted = false;
  const listen = () => {
    if (listenStarted) return;
    listenStarted = true;
    const onListenError = (error: Error) =>
      fatal(new Error(`could not listen on ${opts.host}:${opts.port}: ${error.message}`));
    listener.once('error', onListenError);
    listener.listen({ host: opts.host, port: opts.port, backlog: LISTEN_BACKLOG }, () => {
      listener.off('error', onListenError);
      // An accept that fails later (out of file descriptors) costs that connection, not the pod.
      listener.on('error', (error) => opts.logger.error({ err: error }, 'accepting a connection failed'));
      const address = listener.address();
      opts.logger.info(
        { host: opts.host, port: typeof address === 'object' && address ? address.port : opts.port },
        'listening (the primary accepts for the workers)',
      );
    });
  };

  const closeListener = () =>
    new Promise<void>((resolve) => {
      if (!listener.listening) return resolve();
      listener.close(() => resolve());
    });

  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      await closeListener();
      const codes = await Promise.all(
        forked.map(async (worker) => {
          const exited = exits.get(worker.id) as Promise<number>;
          if (worker.isDead()) return exited;
          worker.process.kill('SIGTERM');
          const killer = setTimeout(() => {
            opts.logger.error(
              { worker: worker.id, pid: worker.process.pid },
              'worker did not stop in time; killing it',
            );
            worker.process.kill('SIGKILL');
          }, opts.shutdownTimeoutMs + KILL_GRACE_MS);
          try {
            return await exited;
          } finally {
            clearTimeout(killer);
          }
        }),
      );
      const unclean = codes.filter((code) => code !== 0).length;
      if (unclean > 0) throw new Error(`${unclean} of ${forked.length} workers did not stop cleanly`);
    })();
    return stopping;
  };

  const fatal = (error: Error, stopping = 'the workers') => {
    if (failed) return;
    failed = true;
    opts.logger.fatal({ err: error }, `${error.message}; stopping ${stopping}`);
    stopAll()
      .catch(() => undefined)
      .finally(() => opts.onFatal(error));
  };

  for (let i = 0; i < opts.workers; i += 1) {
    const worker = cluster.fork();
    forked.push(worker);
    lowerPriority(worker, opts.logger);
    const handoff = Object.assign(new Handoffs(), { worker });
    handoffs.push(handoff);
    exits.set(
      worker.id,
      new Promise<number>((resolve) => {
        worker.once('exit', (code, signal) => {
          handoff.serving = false;
          resolve(code ?? (signal ? 128 : 1));
          if (stopping) return;
          fatal(
            new Error(
              `worker ${worker.id} (pid ${worker.process.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
            ),
            'the other workers',
          );
        });
      }),
    );
    worker.on('message', (message: unknown) => {
      if (isHttpServing(message)) {
        handoff.serving = message.serving && !stopping;
        if (handoff.serving && !stopping) listen();
        return;
      }
      if (!isMetricsRequest(message)) return;
      aggregator.clusterMetrics().then(
        async (text) => answer(worker, { type: METRICS_ANSWER, id: message.id, text: text + (await own.metrics()) }),
        (error: Error) => answer(worker, { type: METRICS_ANSWER, id: message.id, error: error.message }),
      );
    });
  }
  opts.logger.info({ workers: opts.workers, maxWaitMs: opts.maxWaitMs }, 'started worker processes');
  return { stop: stopAll, pids: () => forked.map((w) => w.process.pid ?? 0) };
}

/**
 * The kubelet's probes (charts/common, _security.tpl). Refused, a busy pod would be restarted
 * (liveness) or taken out of its Service (readiness): with every replica saturated, all of them
 * at once, turning shed load into an outage.
 */
const PROBE_PATHS = new Set(['/health/live', '/health/ready']);

/**
 * The primary's answer to a connection no worker can take: 503 with Retry-After and
 * `Connection: close` for every request, in the body shape of the services' errors, except the
 * probes (GET /health/live and /health/ready), answered 200 `{"status":"busy"}`: the pod is alive
 * and serving, only full (its dependencies are checked by the next probe a worker answers). The
 * request's body is never read.
 */
function refusingServer(onRefused: () => void): HttpServer {
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    res.shouldKeepAlive = false;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && PROBE_PATHS.has(path)) {
      res.end(JSON.stringify({ status: 'busy' }));
      return;
    }
    onRefused();
    res.statusCode = 503;
    res.setHeader('Retry-After', String(REFUSAL_RETRY_AFTER_S));
    res.end(
      JSON.stringify({
        error: {
          code: 'overloaded',
          message: 'every worker of this replica is busy; retry later',
          requestId: randomUUID(),
        },
      }),
    );
  });
  server.headersTimeout = REFUSAL_HEAD_TIMEOUT_MS;
  server.requestTimeout = REFUSAL_HEAD_TIMEOUT_MS;
  return server;
}

function answer(worker: Worker, message: MetricsAnswer): void {
  // A worker that is gone cannot be answered; its caller's request went with it.
  if (worker.isConnected()) worker.send(message);
}

function isHttpServing(message: unknown): message is HttpServing {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === HTTP_SERVING;
}

function isConnection(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === CONNECTION;
}

/**
 * In a worker: serves the connections the primary hands over on `server` (which does not listen
 * itself) until the returned function is called, and tells the primary whether it serves.
 */
export function serveHandedConnections(server: HttpServer): { stopServing(): void } {
  const onMessage = (message: unknown, handle: unknown) => {
    if (!isConnection(message)) return;
    // A connection its client closed while it waited arrives without its socket.
    if (!handle) return;
    const socket = handle as Socket;
    server.emit('connection', socket);
    socket.resume();
  };
  process.on('message', onMessage);
  process.send?.({ type: HTTP_SERVING, serving: true } satisfies HttpServing);
  return {
    stopServing() {
      // Connections already sent are still taken (and answered with `Connection: close`).
      if (process.connected) process.send?.({ type: HTTP_SERVING, serving: false } satisfies HttpServing);
    },
  };
}

function isMetricsRequest(message: unknown): message is MetricsRequest {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_REQUEST;
}

function isMetricsAnswer(message: unknown): message is MetricsAnswer {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === METRICS_ANSWER;
}

/** True in a worker forked by `superviseWorkers` (or any node:cluster worker). */
export function inWorkerProcess(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

const workerRegistries: Registry[] = [];

/**
 * In a worker: makes `registry` part of what the primary aggregates (prom-client answers the
 * primary's requests with the registries given here). A no-op elsewhere.
 */
export function joinWorkerMetrics(registry: Registry): void {
  if (!inWorkerProcess()) return;
  workerRegistries.push(registry);
  AggregatorRegistry.setRegistries(workerRegistries);
  // Its constructor installs the worker's listener for the primary's requests (once).
  new AggregatorRegistry();
}

let nextRequest = 0;

/** In a worker: the exposition text summed over every worker, asked of the primary. */
export function podMetrics(): Promise<string> {
  const send = process.send?.bind(process);
  if (!send) return Promise.reject(new Error('not a worker process'));
  const id = nextRequest++;
  return new Promise<string>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!isMetricsAnswer(message) || message.id !== id) return;
      done();
      if (message.error !== undefined || message.text === undefined) {
        reject(new Error(`the primary could not aggregate the workers' metrics: ${message.error ?? 'no text'}`));
      } else resolve(message.text);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the primary did not answer with the workers' metrics within ${METRICS_TIMEOUT_MS} ms`));
    }, METRICS_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    send({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
  });
}
