import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { inWorkerProcess, joinWorkerMetrics, podMetrics } from './workers.js';

/** Each service has its own registry, created in code: nothing registers at import time. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  defaultLabelsByRegistry.set(registry, { service });
  collectDefaultMetrics({ register: registry });
  joinWorkerMetrics(registry);
  return registry;
}

/** The registry's exposition text; in a worker process, aggregated over every worker of the replica (workers.ts). */
export function registryText(registry: Registry): Promise<string> {
  return inWorkerProcess() ? podMetrics() : registry.metrics();
}

export function httpMetrics(registry: Registry) {
  return {
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, matched route and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'http_errors_total',
      help: 'HTTP error responses by error code',
      labelNames: ['code', 'status_code'] as const,
      registers: [registry],
    }),
  };
}
/*
 * Info metrics with one series per row of a large table (app-registry's `app_registry_app_info`,
 * 250,000 series at its scale target). Through prom-client such a metric costs every scrape a
 * read of all rows, a `Gauge.set` per series and the rendering of ~30 MB, on the event loop that
 * serves requests: seconds of stall per scrape. Here the series are read page by page (the event
 * loop turns between pages), rendered once into exposition chunks, and kept: a scrape writes the
 * kept chunks after the registry's own text. When they are older than the refresh interval, the
 * scrape that notices serves them anyway and starts one read in the background (stale while
 * revalidating); only the first scrape waits for a read. A read that fails keeps the last
 * series and is logged. Only the Prometheus text format (the registry's default) is produced.
 */

/** A section of exposition text a service renders itself, served on /metrics after the registry's. */
export interface RenderedMetric {
  /** The section's text in chunks (`# HELP`, `# TYPE`, then the series), each ending in a newline. */
  render(): Promise<readonly Buffer[]>;
}

const renderedByRegistry = new WeakMap<Registry, RenderedMetric[]>();
const defaultLabelsByRegistry = new WeakMap<Registry, Record<string, string>>();

/** The sections registered on `registry`, rendered in registration order. */
export async function renderedMetrics(registry: Registry): Promise<Buffer[]> {
  const sections = renderedByRegistry.get(registry) ?? [];
  return (await Promise.all(sections.map((s) => s.render()))).flat();
}

export interface InfoMetricOptions<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames: readonly L[];
  /** The series, page by page (each page one turn of the event loop to render). */
  read: () => AsyncIterable<readonly Readonly<Record<L, string>>[]>;
  /** The series are read again at most this often, by the first scrape after it has passed. */
  refreshSeconds: number;
  logger: Logger;
  now?: () => number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** An info metric (every series 1) of `read`'s rows, kept between scrapes; see above. */
export function registerInfoMetric<L extends string>(opts: InfoMetricOptions<L>): RenderedMetric {
  if (!METRIC_NAME.test(opts.name)) throw new Error(`not a metric name: ${JSON.stringify(opts.name)}`);
  const defaults = defaultLabelsByRegistry.get(opts.registry) ?? {};
  for (const label of [...opts.labelNames, ...Object.keys(defaults)]) {
    if (!LABEL_NAME.test(label)) throw new Error(`${opts.name}: not a label name: ${JSON.stringify(label)}`);
  }
  const now = opts.now ?? Date.now;
  const header = Buffer.from(`# HELP ${opts.name} ${escapeHelp(opts.help)}\n# TYPE ${opts.name} gauge\n`);
  // The registry's default labels (the service) after the metric's own, as prom-client orders them.
  const defaultsText = Object.entries(defaults)
    .filter(([name]) => !(opts.labelNames as readonly string[]).includes(name))
    .map(([name, value]) => `,${name}="${escapeLabelValue(value)}"`)
    .join('');
  const renderPage = (rows: readonly Readonly<Record<L, string>>[]): Buffer => {
    let text = '';
    for (const row of rows) {
      let labels = '';
      for (const label of opts.labelNames) {
        labels += `${labels ? ',' : ''}${label}="${escapeLabelValue(row[label])}"`;
      }
      text += `${opts.name}{${labels}${defaultsText}} 1\n`;
    }
    return Buffer.from(text);
  };

  let kept: { chunks: Buffer[]; readAt: number } | undefined;
  let reading: Promise<void> | undefined;
  const load = async () => {
    const chunks: Buffer[] = [header];
    try {
      for await (const page of opts.read()) {
        if (page.length > 0) chunks.push(renderPage(page));
      }
      kept = { chunks, readAt: now() };
    } catch (error) {
      opts.logger.warn(
        { err: error, metric: opts.name },
        kept
          ? 'reading an info metric failed; serving its last series'
          : 'reading an info metric failed; no series yet',
      );
    }
  };
  // Cleared in a later turn, never before it is set: a read that fails at once must not leave a
  // settled promise behind as the read in flight (no refresh would ever start again).
  const refresh = () =>
    (reading ??= load().finally(() => {
      reading = undefined;
    }));
  const metric: RenderedMetric = {
    async render() {
      if (!kept) await refresh();
      else if (now() - kept.readAt >= opts.refreshSeconds * 1000) void refresh();
      return kept?.chunks ?? [header];
    },
  };
  const sections = renderedByRegistry.get(opts.registry) ?? [];
  sections.push(metric);
  renderedByRegistry.set(opts.registry, sections);
  return metric;
}

export { Counter, Gauge, Histogram, type Registry } from 'prom-client';
