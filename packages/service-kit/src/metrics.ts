import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Each service has its own registry, created in code: nothing registers at import time. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
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
export { Counter, Gauge, Histogram, type Registry } from 'prom-client';
