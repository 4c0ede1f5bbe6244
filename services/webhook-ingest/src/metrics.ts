import type { Provider } from '@micro-oncall/incident-model';
import { Counter, Gauge, Histogram, type Registry } from '@micro-oncall/service-kit';

/*
 * Every label value comes from a fixed set: a sender must not be able to create series at will.
 * Providers are the configured endpoints' own names; event types and reasons are mapped below.
 */

/** The documented event types that are answered 'ignored'; anything else counts as `other`. */
const IGNORED_EVENT_TYPES: Readonly<Record<Provider, ReadonlySet<string>>> = {
  pagerduty: new Set([
    'incident.responder.added',
    'incident.responder.replied',
    'incident.status_update_published',
    'service.created',
    'service.updated',
    'service.deleted',
  ]),
  opsgenie: new Set(['Delete']),
  alertmanager: new Set(),
  generic: new Set(),
};

export function ignoredEventTypeLabel(provider: Provider, eventType: string): string {
  return IGNORED_EVENT_TYPES[provider].has(eventType) ? eventType : 'other';
}

/**
 * Why a webhook was refused: the error code, and `address_rate_limited` for a client address
 * refused after too many unauthenticated failures (its answer is a plain `rate_limited`).
 */
export const REJECTION_REASONS = [
  'invalid_input',
  'unauthenticated',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'address_rate_limited',
  'overloaded',
  'dependency_unavailable',
  'internal_error',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export function rejectionReasonLabel(code: string): RejectionReason {
  return (REJECTION_REASONS as readonly string[]).includes(code) ? (code as RejectionReason) : 'internal_error';
}

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
      help: 'Authentic webhooks carrying no modelled incident change, by provider and documented event type (else other)',
      labelNames: ['provider', 'event_type'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'webhook_events_rejected_total',
      help: 'Rejected webhooks by provider and reason (error code; address_rate_limited: a client address over its unauthenticated failures)',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'webhook_requests_in_flight',
      help: 'Webhooks admitted and not yet answered (WEBHOOK_MAX_IN_FLIGHT is the most; beyond it 503 overloaded)',
      registers: [registry],
      // Each worker process admits its own: the pod's is their sum.
      aggregator: 'sum',
    }),
    truncatedAlerts: new Counter({
      name: 'webhook_alerts_truncated_total',
      help: 'Alerts Alertmanager left out of notifications (truncatedAlerts, the receiver max_alerts), once per notification that published events',
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
