import { baseConfigSchema, envInt, envList } from '@micro-oncall/service-kit';
import { z } from 'zod';

const basicAuth = z.string().regex(/^[^:\s]+:.{12,}$/, 'must be user:password with a password of 12+ characters');
const token = z.string().min(16, 'must be at least 16 characters');

/**
 * webhook-ingest configuration. Every credential may come from a mounted file (`X_FILE`).
 * A provider with no credential configured has its endpoint switched off (answers 404), so
 * nothing is ever accepted unauthenticated.
 */
export const configSchema = baseConfigSchema.extend({
  // Credentials
  /** PagerDuty subscription secrets; several during rotation (comma or newline separated). */
  PAGERDUTY_WEBHOOK_SECRETS: envList().pipe(z.array(z.string().min(8))),
  OPSGENIE_WEBHOOK_TOKEN: token.optional(),
  OPSGENIE_WEBHOOK_BASIC_AUTH: basicAuth.optional(),
  ALERTMANAGER_WEBHOOK_TOKEN: token.optional(),
  ALERTMANAGER_WEBHOOK_BASIC_AUTH: basicAuth.optional(),
  // Limits
  /** PagerDuty guarantees payloads up to 55 KB and drops those over 256 KB. */
  WEBHOOK_BODY_LIMIT_BYTES: envInt(256 * 1024, { min: 1024, max: 10 * 1024 * 1024 }),
  /** Authenticated webhooks per credential (a PagerDuty secret, a token, a basic credential) and replica. */
  WEBHOOK_RATE_LIMIT_PER_MINUTE: envInt(60_000, { min: 1 }),
  /**
   * Refused unauthenticated webhooks (no or a wrong credential, wrong content type, too large) per
   * client address and replica; beyond it that address gets 429 before its body is read. Genuine
   * senders at other addresses are not affected.
   */
  WEBHOOK_AUTH_FAILURES_PER_MINUTE: envInt(60, { min: 1 }),
  /**
   * Webhooks in flight (admitted, not yet answered) per replica; beyond it 503 + Retry-After at
   * once, before the body is read, instead of queueing seconds of latency. At ~1 ms of work per
   * webhook, 256 bounds the wait behind the others to a few hundred milliseconds.
   */
  WEBHOOK_MAX_IN_FLIGHT: envInt(256, { min: 1, max: 100_000 }),
  /**
   * Body bytes (as declared by Content-Length) of the webhooks in flight per replica; beyond it
   * 503 + Retry-After at once, like WEBHOOK_MAX_IN_FLIGHT. Bounds the memory a burst of large
   * webhooks holds (bodies, parsed payloads), so the heap can be sized for ordinary ones; a
   * webhook larger than the budget is still admitted when nothing else is in flight.
   */
  WEBHOOK_MAX_IN_FLIGHT_BYTES: envInt(4 * 1024 * 1024, { min: 1024, max: 1024 * 1024 * 1024 }),
  /**
   * How far behind on its work its event loop may fall before a replica refuses webhooks with
   * 503 + Retry-After at once: when its one thread is the bottleneck the queue is in unread
   * sockets, which the in-flight budget does not see. Well above a garbage collection's pause;
   * 0 switches this off.
   */
  WEBHOOK_MAX_EVENT_LOOP_DELAY_MS: envInt(500, { min: 0, max: 60_000 }),
  /**
   * Event-loop utilisation (0.5–1) at which a replica with more than WEBHOOK_MAX_IN_FLIGHT
   * connections open refuses the excess share of webhooks (1 − budget / connections) with 503 +
   * Retry-After: under a flood of connections the queue is in sockets not yet read, which neither
   * limit above sees. 0 switches this off.
   */
  WEBHOOK_SHED_AT_LOOP_UTILISATION: z.coerce
    .number()
    .refine((v) => v === 0 || (v >= 0.5 && v <= 1), 'must be 0 (off) or between 0.5 and 1')
    .default(0.95),
  /** How long accepted event ids are kept to drop replays (PagerDuty retries for 48 h). */
  DEDUP_RETENTION_HOURS: envInt(24 * 7, { min: 49 }),
  /** How long ignored webhooks are kept for inspection in ingest.ignored_events. */
  IGNORED_EVENTS_RETENTION_HOURS: envInt(24 * 7, { min: 1 }),
});

export type Config = z.output<typeof configSchema>;
