import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './logger.js';

/*
 * A service run as WORKER_PROCESSES > 1 processes in one container (node:cluster).
 *
 * The primary builds nothing: it forks the workers, each a whole replica (its own pool, producer,
 * consumers and HTTP server), and owns the listening socket. Since libuv 1.45 a listening socket
 * accepts one connection per turn of its event loop; a busy replica's turn takes tens to hundreds
 * of milliseconds, so under a flood of new connections they wait in the kernel's accept queue,
 * where no admission control can see or refuse them. The primary's loop does nothing else, so it
 * accepts as fast as they arrive and hands each socket to a worker in turn (round robin); the
 * queue is then in the workers, whose in-flight budget and shedding answer it. And the workers
 * use the pod's cores.
 *
 * A worker that exits when not told to takes the others down and the primary exits 1: the
 * container restarts whole, as a single-process replica would, rather than run with less capacity
 * than its resources say. SIGTERM to the primary (what the kubelet sends) stops every worker the
 * way a replica stops; it exits 0 when all of them did.
 *
 * /metrics answered by any worker covers all of them (prom-client's cluster aggregation, through
 * the primary), so a scrape sees the pod, not whichever worker it reached: counters and histograms
 * summed, gauges by their `aggregator` (sum unless they declare max, min, first or average).
 */

const METRICS_REQUEST = 'micro-oncall:metrics-request';
const METRICS_ANSWER = 'micro-oncall:metrics-answer';
/** How long a worker waits for the primary's aggregated metrics (prom-client gives up after 5 s). */
const METRICS_TIMEOUT_MS = 6000;
/** Beyond the workers' own shutdown bound, how long the primary waits before killing them. */
const KILL_GRACE_MS = 5000;

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

export interface WorkerSupervisor {
  /** Stops every worker (SIGTERM, then SIGKILL after the bound); rejects when one did not exit 0. */
  stop(): Promise<void>;
  /** The workers' process ids, in fork order (replaced ones are not restarted). */
  pids(): number[];
}

/**
 * In the primary: forks `workers` copies of this process's entry point and supervises them.
 * `onFatal` runs once when a worker exits unasked (after the others were stopped); main.ts exits 1.
 */
export function superviseWorkers(opts: {
  workers: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  onFatal: (error: Error) => void;
}): WorkerSupervisor {
  if (!cluster.isPrimary) throw new Error('superviseWorkers runs in the primary process only');
  const aggregator = new AggregatorRegistry();
  const exits = new Map<number, Promise<number>>();
  const forked: Worker[] = [];
  let stopping: Promise<void> | undefined;

  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
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
      const failed = codes.filter((code) => code !== 0).length;
      if (failed > 0) throw new Error(`${failed} of ${forked.length} workers did not stop cleanly`);
    })();
    return stopping;
  };

  for (let i = 0; i < opts.workers; i += 1) {
    const worker = cluster.fork();
    forked.push(worker);
    exits.set(
      worker.id,
      new Promise<number>((resolve) => {
        worker.once('exit', (code, signal) => {
          resolve(code ?? (signal ? 128 : 1));
          if (stopping) return;
          const error = new Error(
            `worker ${worker.id} (pid ${worker.process.pid}) exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
          );
          opts.logger.fatal({ err: error }, `${error.message}; stopping the other workers`);
          stopAll().finally(() => opts.onFatal(error));
        });
      }),
    );
    worker.on('message', (message: unknown) => {
      if (!isMetricsRequest(message)) return;
      aggregator.clusterMetrics().then(
        (text) => answer(worker, { type: METRICS_ANSWER, id: message.id, text }),
        (error: Error) => answer(worker, { type: METRICS_ANSWER, id: message.id, error: error.message }),
      );
    });
  }
  opts.logger.info({ workers: opts.workers }, 'started worker processes');
  return { stop: stopAll, pids: () => forked.map((w) => w.process.pid ?? 0) };
}

function answer(worker: Worker, message: MetricsAnswer): void {
  // A worker that is gone cannot be answered; its caller's request went with it.
  if (worker.isConnected()) worker.send(message);
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
