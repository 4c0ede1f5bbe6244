import { Counter, Histogram, type Registry } from '@micro-oncall/service-kit';

export function createIngestMetrics(registry: Registry) {
  return {
    accepted: new Counter({
      name: 'webhook_events_accepted_total',
      help: 'Incident events published to Kafka, by provider',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'webhook_events_duplicate_total',
      help: 'Replayed events answered 202 without publishing again',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'webhook_events_ignored_total',
      help: 'Authentic webhooks carrying no modelled incident change, by provider and event type',
      labelNames: ['provider', 'event_type'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'webhook_events_rejected_total',
      help: 'Rejected webhooks by provider and reason (error code)',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'webhook_ingest_duration_seconds',
      help: 'Time from the body being read to the answer, including the Kafka acknowledgement',
      labelNames: ['provider'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
