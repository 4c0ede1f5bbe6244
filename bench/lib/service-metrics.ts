/**
 * A service's own view of a measured window, from its Prometheus text (`GET /metrics`, the
 * service-kit registry with prom-client's default metrics): how many requests of one route it
 * answered and how many of those it took over a bucket's bound, its CPU, its garbage collector
 * and its event loop. Read before and after a window, the difference says whether a latency
 * tail the client saw was spent inside the service or outside it (the client's process, the
 * network stack, waiting for a core).
 */

/** One sample line: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/**
 * webhook-ingest's refusals for load so far, from its /metrics: those its worker primary answered
 * itself (`worker_connections_refused_total`: the connection never reached a worker; null when
 * there is no primary, a single process) and those the replica's own code answered
 * (`webhook_events_rejected_total`, reason `overloaded`: in-flight budget, byte budget,
 * event-loop guard or shedding).
 */
export async function readLoadRefusals(url: string): Promise<LoadRefusals> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}/metrics answered ${response.status}`);
  const samples = parsePrometheus(await response.text());
  const total = (name: string, match: (labels: Record<string, string>) => boolean = () => true) =>
    samples.filter((s) => s.name === name && match(s.labels)).reduce((sum, s) => sum + s.value, 0);
  return {
    primary: samples.some((s) => s.name === 'worker_connections_refused_total')
      ? total('worker_connections_refused_total')
      : null,
    replica: total('webhook_events_rejected_total', (l) => l.reason === 'overloaded'),
  };
}

export interface LoadRefusals {
  primary: number | null;
  replica: number;
}

/** What one read of /metrics says, cumulative since the service started (except the lag). */
export interface ServiceReading {
  /** Requests of the route answered 200, and those of them under each bucket bound (s → count). */
  requests: number;
  atMost: Record<string, number>;
  cpuSeconds: number;
  /** Garbage collections: how many, their total seconds, and how many under each bound (s). */
  gc: { count: number; seconds: number; atMost: Record<string, number>; majorCount: number; majorSeconds: number };
  /** The event loop's longest delay since the previous read of /metrics (prom-client resets it), s. */
  eventLoopLagMaxSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
}

const sum = (samples: Sample[], name: string, match: (l: Record<string, string>) => boolean = () => true) =>
  samples.filter((s) => s.name === name && match(s.labels)).reduce((a, s) => a + s.value, 0);

export function readingOf(text: string, route: string): ServiceReading {
  const samples = parsePrometheus(text);
  const ok = (l: Record<string, string>) => l.route === route && l.method === 'GET' && l.status_code === '200';
  const buckets = (name: string, match: (l: Record<string, string>) => boolean) => {
    const out: Record<string, number> = {};
    for (const s of samples)
      if (s.name === name && match(s.labels) && s.labels.le) out[s.labels.le] = (out[s.labels.le] ?? 0) + s.value;
    return out;
  };
  return {
    requests: sum(samples, 'http_request_duration_seconds_count', ok),
    atMost: buckets('http_request_duration_seconds_bucket', ok),
    cpuSeconds: sum(samples, 'process_cpu_seconds_total'),
    gc: {
      count: sum(samples, 'nodejs_gc_duration_seconds_count'),
      seconds: sum(samples, 'nodejs_gc_duration_seconds_sum'),
      atMost: buckets('nodejs_gc_duration_seconds_bucket', () => true),
      majorCount: sum(samples, 'nodejs_gc_duration_seconds_count', (l) => l.kind === 'major'),
      majorSeconds: sum(samples, 'nodejs_gc_duration_seconds_sum', (l) => l.kind === 'major'),
    },
    eventLoopLagMaxSeconds: sum(samples, 'nodejs_eventloop_lag_max_seconds'),
    rssBytes: sum(samples, 'process_resident_memory_bytes'),
    heapUsedBytes: sum(samples, 'nodejs_heap_size_used_bytes'),
  };
}

/** GET /metrics of the service at `url` (no token: the kit serves it beside the health checks). */
export async function readService(url: string, route: string): Promise<ServiceReading> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}`);
  return readingOf(await res.text(), route);
}

/** What the service measured between two readings. */
export interface ServiceWindow {
  /** Requests of the route the service answered 200 in the window. */
  requests: number;
  /** Of those, how many it took longer than 100 ms (from its first middleware to the response's end). */
  over100ms: number;
  /** Its CPU time (user + system) per request of the window, ms. */
  cpuMsPerRequest: number;
  /** Garbage collections in the window, their total pause, and those of 10 ms or more. */
  gcCount: number;
  gcMs: number;
  gcOver10ms: number;
  /** Of those, the full (mark-compact) collections, and their total pause. */
  gcMajorCount: number;
  gcMajorMs: number;
  /** The event loop's longest delay in the window (prom-client's monitor, 10 ms resolution), ms. */
  eventLoopLagMaxMs: number;
  /** RSS and heap in use at the window's end. */
  rssBytes: number;
  heapUsedBytes: number;
}

export function windowOf(before: ServiceReading, after: ServiceReading): ServiceWindow {
  const requests = after.requests - before.requests;
  const under = (r: ServiceReading) => r.atMost['0.1'] ?? Number.NaN;
  const gcUnder = (r: ServiceReading) => r.gc.atMost['0.01'] ?? 0;
  const gcCount = after.gc.count - before.gc.count;
  return {
    requests,
    over100ms: requests - (under(after) - under(before)),
    cpuMsPerRequest: ((after.cpuSeconds - before.cpuSeconds) * 1000) / Math.max(1, requests),
    gcCount,
    gcMs: (after.gc.seconds - before.gc.seconds) * 1000,
    gcOver10ms: gcCount - (gcUnder(after) - gcUnder(before)),
    gcMajorCount: after.gc.majorCount - before.gc.majorCount,
    gcMajorMs: (after.gc.majorSeconds - before.gc.majorSeconds) * 1000,
    eventLoopLagMaxMs: after.eventLoopLagMaxSeconds * 1000,
    rssBytes: after.rssBytes,
    heapUsedBytes: after.heapUsedBytes,
  };
}
