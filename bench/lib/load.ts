import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon, { type Result as AutocannonResult } from 'autocannon';
import type { SignedWebhook } from './payloads.js';
import { fmtMs, type Latency, Samples, summarise } from './stats.js';
import { LatencyTimeline, type TimelineSecond } from './timeline.js';

export interface LoadResult {
  mode: 'fixed-rate' | 'saturation';
  /** Requests per second offered (fixed rate) or null (saturation: as fast as answers come). */
  offeredRate: number | null;
  /** Concurrent connections (saturation) or the most that were in flight at once (fixed rate). */
  connections: number;
  durationS: number;
  sent: number;
  /** Answers by HTTP status code. */
  status: Record<string, number>;
  /** Connection errors and timeouts (no answer). */
  errors: number;
  /** Fixed rate only: requests never sent because `maxInFlight` were already outstanding. */
  dropped: number;
  /** 2xx answers per second over the run. */
  answeredPerS: number;
  /** Latency of 2xx answers, in ms. Fixed rate: from the intended send time (no coordinated omission). */
  latency: Latency;
  /** Fixed rate only: latency of the answers of each HTTP status, in ms (from the intended send time). */
  latencyByStatus?: Record<string, Latency>;
  /** Fixed rate only: answers that carried a Retry-After header, by HTTP status. */
  retryAfter?: Record<string, number>;
  /** Fixed rate only: the 2xx answers by second of their due time (count, worst, p99), to see when latency happened. */
  bySecond?: TimelineSecond[];
  /**
   * Fixed rate only: how far behind its own schedule the generator was. Answer times count from
   * the due time, so a generator that cannot keep up adds its own lateness to every figure; these
   * say how much of a tail may be the generator's rather than the server's.
   */
  generator?: GeneratorLag;
}

export interface GeneratorLag {
  /** ms from each request's due time to the generator issuing it. */
  issuedLateMs: Latency;
  /** The generator process's event-loop delay over the run (ms): how late any of its callbacks, reading answers included, could run. */
  loopDelayMs: { p50: number; p99: number; max: number };
}

/** One line on the generator's own lateness, for the reports. */
export function generatorLagText(g: GeneratorLag): string {
  return `the generator issued requests p50/p99 ${fmtMs(g.issuedLateMs.p50)} / ${fmtMs(g.issuedLateMs.p99)} ms after their due time, its event loop delayed p99 ${fmtMs(g.loopDelayMs.p99)} ms (max ${fmtMs(g.loopDelayMs.max)})`;
}

/** What a fixed-rate run never sent because `maxInFlight` requests were already outstanding, or '' when none. */
export function droppedText(r: LoadResult): string {
  return r.dropped
    ? `${r.dropped.toLocaleString('en-GB')} never sent (all of the generator's ${r.connections.toLocaleString('en-GB')} open requests were waiting)`
    : '';
}

/** How often the generator's event-loop delay is sampled (ms). */
const LOOP_DELAY_RESOLUTION_MS = 10;

/** Stops the load that is running now (for Ctrl-C). */
export const runningLoad = new Set<() => void>();

type Progress = (line: string) => void;

/**
 * The generator's connections: kept alive, at most `maxSockets` (512) at once. Idle sockets are
 * closed after 4 s, before the servers' 5 s keep-alive timeout, so a request never races a server
 * closing its socket.
 */
export function generatorAgent(maxSockets = 512): Agent {
  return new Agent({ keepAlive: true, maxSockets, timeout: 4000 });
}

/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate whatever happened to the
 * earlier ones, and its latency counts from that due time, so a slow server cannot slow the
 * generator down and hide its own queueing (coordinated omission). Bounded: `rate × durationS`
 * requests, each with a timeout, and at most `maxInFlight` outstanding (the rest count as
 * errors). autocannon's rate limit is not used here: it sends each connection's per-second
 * quota back to back at the start of every second, which is a burst, not a rate.
 */
export async function runFixedRate(opts: {
  url: string;
  path: string;
  rate: number;
  durationS: number;
  next: () => SignedWebhook;
  /** Called with each webhook and the time (performance.now()) its request was issued. */
  onSent?: (webhook: SignedWebhook, sentAt: number) => void;
  /** Called with each webhook's HTTP status, or null when it got no answer. */
  onAnswer?: (webhook: SignedWebhook, status: number | null) => void;
  /** Keeps the latency of every answer by HTTP status, and counts Retry-After headers (LoadResult.latencyByStatus). */
  byStatus?: boolean;
  maxInFlight?: number;
  /**
   * Most sockets open at once (512). Beyond it requests wait in the generator, where no server
   * can see them: an overload run sets it to `maxInFlight` so that the backlog reaches the server.
   */
  maxSockets?: number;
  /**
   * Connections to send on, kept open across runs (the caller destroys it), as an ingress keeps
   * its upstream connections to a replica. Default: a fresh `generatorAgent` for this run alone.
   */
  agent?: Agent;
  timeoutMs?: number;
  progress?: Progress;
  label?: string;
}): Promise<LoadResult> {
  const target = new URL(opts.path, opts.url);
  const agent = opts.agent ?? generatorAgent(opts.maxSockets);
  const total = Math.round(opts.rate * opts.durationS);
  const maxInFlight = opts.maxInFlight ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const latencies = new Samples();
  const timeline = new LatencyTimeline(Math.max(0, Math.ceil(opts.durationS) - 1));
  const status: Record<string, number> = {};
  const byStatus = new Map<number, Samples>();
  const retryAfter: Record<string, number> = {};
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let sent = 0;
  let ok = 0;
  let stopped = false;
  let lastAnswer = 0;
  const issuedLate = new Samples();
  // Its samples are the timer's whole interval: the resolution is subtracted below.
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const start = performance.now();

  const fire = (due: number) => {
    if (inFlight >= maxInFlight) {
      dropped += 1;
      return;
    }
    issuedLate.push(performance.now() - due);
    const webhook = opts.next();
    inFlight += 1;
    peakInFlight = Math.max(peakInFlight, inFlight);
    sent += 1;
    const done = (code: number | null, retry = false) => {
      inFlight -= 1;
      const now = performance.now();
      lastAnswer = now;
      opts.onAnswer?.(webhook, code);
      if (code === null) {
        errors += 1;
        return;
      }
      status[code] = (status[code] ?? 0) + 1;
      if (opts.byStatus) {
        const samples = byStatus.get(code) ?? new Samples();
        byStatus.set(code, samples);
        samples.push(now - due);
        if (retry) retryAfter[code] = (retryAfter[code] ?? 0) + 1;
      }
      if (code >= 200 && code < 300) {
        ok += 1;
        latencies.push(now - due);
        timeline.add(due - start, now - due);
      }
    };
    const req = request(
      {
        agent,
        method: 'POST',
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        headers: {
          'content-type': 'application/json',
          'content-length': webhook.body.length,
          'x-pagerduty-signature': webhook.signature,
        },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        const retry = res.headers['retry-after'] !== undefined;
        res.once('end', () => done(res.statusCode ?? 0, retry));
        res.once('error', () => done(null));
      },
    );
    let finished = false;
    const fail = () => {
      if (finished) return;
      finished = true;
      done(null);
    };
    req.once('response', () => {
      finished = true;
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', fail);
    opts.onSent?.(webhook, performance.now());
    req.end(webhook.body);
  };

  const stop = () => {
    stopped = true;
  };
  runningLoad.add(stop);
  let nextReport = start + 5000;
  let reportedOk = 0;
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      const due = stopped ? i : Math.min(total, Math.floor(((now - start) * opts.rate) / 1000) + 1);
      while (i < due) {
        fire(start + (i * 1000) / opts.rate);
        i += 1;
      }
      if (now >= nextReport) {
        opts.progress?.(
          `${opts.label ?? 'load'}: ${Math.round((now - start) / 1000)} s, ${ok.toLocaleString('en-GB')} answered 2xx (${Math.round(((ok - reportedOk) * 1000) / (now - nextReport + 5000)).toLocaleString('en-GB')}/s), ${inFlight} in flight`,
        );
        reportedOk = ok;
        nextReport += 5000;
      }
      if (i >= total || stopped) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  // Wait for the stragglers (bounded by the request timeout).
  const drainDeadline = performance.now() + timeoutMs + 1000;
  while (inFlight > 0 && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
  loopDelay.disable();
  const delayMs = (ns: number) => Math.max(0, Math.round((ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) * 100) / 100);
  runningLoad.delete(stop);
  if (!opts.agent) agent.destroy();
  const wall = Math.max(opts.durationS, (lastAnswer - start) / 1000);
  return {
    mode: 'fixed-rate',
    offeredRate: opts.rate,
    connections: peakInFlight,
    durationS: Math.round(wall * 100) / 100,
    sent,
    status,
    errors: errors + inFlight,
    dropped,
    answeredPerS: Math.round(ok / wall),
    latency: summarise(latencies.values()),
    bySecond: timeline.seconds(),
    generator: {
      issuedLateMs: summarise(issuedLate.values()),
      loopDelayMs: {
        p50: delayMs(loopDelay.percentile(50)),
        p99: delayMs(loopDelay.percentile(99)),
        max: delayMs(loopDelay.max),
      },
    },
    ...(opts.byStatus
      ? {
          latencyByStatus: Object.fromEntries([...byStatus].map(([code, v]) => [String(code), summarise(v.values())])),
          retryAfter,
        }
      : {}),
  };
}

/**
 * Closed-loop saturation with autocannon: `connections` keep-alive connections, each sending
 * its next webhook as soon as the previous one was answered, for `durationS`. Latencies are
 * taken from autocannon's per-response timing (fractional ms), not its whole-ms histogram.
 */
export async function runSaturation(opts: {
  url: string;
  path: string;
  connections: number;
  durationS: number;
  next: () => SignedWebhook;
  timeoutS?: number;
  progress?: Progress;
  label?: string;
  /** Also records every 2xx latency here (several loads run side by side, summarised together). */
  samples?: Samples;
}): Promise<LoadResult> {
  const latencies = new Samples();
  let sent = 0;
  let ok = 0;
  let reportedOk = 0;
  let seconds = 0;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        pipelining: 1,
        duration: opts.durationS,
        timeout: opts.timeoutS ?? 10,
        requests: [
          {
            method: 'POST',
            path: opts.path,
            setupRequest: (req) => {
              const webhook = opts.next();
              sent += 1;
              return {
                ...req,
                headers: { 'content-type': 'application/json', 'x-pagerduty-signature': webhook.signature },
                body: webhook.body,
              };
            },
          },
        ],
      },
      (error, res) => {
        runningLoad.delete(stop);
        if (error) reject(error);
        else resolve(res);
      },
    );
    const stop = () => instance.stop();
    runningLoad.add(stop);
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok += 1;
        latencies.push(responseTime);
        opts.samples?.push(responseTime);
      }
    });
    instance.on('tick', () => {
      seconds += 1;
      if (seconds % 5 === 0) {
        opts.progress?.(
          `${opts.label ?? 'load'}: ${seconds} s, ${ok.toLocaleString('en-GB')} answered 2xx (${Math.round((ok - reportedOk) / 5).toLocaleString('en-GB')}/s), ${opts.connections} connections`,
        );
        reportedOk = ok;
      }
    });
  });
  const status: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) status[code] = Number(count);
  return {
    mode: 'saturation',
    offeredRate: null,
    connections: opts.connections,
    durationS: result.duration,
    sent,
    status,
    errors: result.errors,
    dropped: 0,
    answeredPerS: Math.round(ok / result.duration),
    latency: summarise(latencies.values()),
  };
}

/**
 * Saturation spread over several replicas (one autocannon per URL, the connections shared out
 * evenly, all at once): one result with the answers summed and the latency over all of them.
 */
export async function runSaturationSpread(opts: {
  urls: string[];
  path: string;
  connections: number;
  durationS: number;
  next: () => SignedWebhook;
  progress?: Progress;
  label?: string;
}): Promise<LoadResult> {
  const samples = new Samples();
  const each = Math.max(1, Math.floor(opts.connections / opts.urls.length));
  const runs = await Promise.all(
    opts.urls.map((url, i) =>
      runSaturation({
        url,
        path: opts.path,
        connections: each,
        durationS: opts.durationS,
        next: opts.next,
        samples,
        progress: i === 0 ? opts.progress : undefined,
        label: opts.urls.length > 1 ? `${opts.label ?? 'load'} (replica 1 of ${opts.urls.length})` : opts.label,
      }),
    ),
  );
  const status: Record<string, number> = {};
  for (const r of runs) for (const [code, n] of Object.entries(r.status)) status[code] = (status[code] ?? 0) + n;
  const durationS = Math.max(...runs.map((r) => r.durationS));
  return {
    mode: 'saturation',
    offeredRate: null,
    connections: each * opts.urls.length,
    durationS,
    sent: runs.reduce((a, r) => a + r.sent, 0),
    status,
    errors: runs.reduce((a, r) => a + r.errors, 0),
    dropped: 0,
    answeredPerS: runs.reduce((a, r) => a + r.answeredPerS, 0),
    latency: summarise(samples.values()),
  };
}
