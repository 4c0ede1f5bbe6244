import { baseConfigSchema, envInt } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** status-mapper configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema.extend({
  // Required
  OIDC_ISSUER: z.string().url(),
  OIDC_AUDIENCE: z.string().min(1),
  // Sources and mapping (YAML files, validated at start-up; without them nothing is watched)
  /** The pages to poll (see src/config/sources.ts). */
  STATUS_SOURCES_FILE: z.string().min(1).optional(),
  /** Provider components → internal services (see src/config/mapping.ts). */
  STATUS_MAPPING_FILE: z.string().min(1).optional(),
  /** How often the mapping file is read for changes (applied without a restart when valid). */
  MAPPING_RELOAD_INTERVAL_MS: envInt(10_000, { min: 100, max: 3_600_000 }),
  // Escalation's service catalogue (GET /status/v1/mapping checks the mapped services against it)
  /** Base URL of escalation's API; unset = the check says the catalogue is unavailable. */
  ESCALATION_URL: z.string().url().optional(),
  /** Per request to escalation (the caller's own token is forwarded). */
  ESCALATION_TIMEOUT_MS: envInt(2_000, { min: 100, max: 30_000 }),
  /** How long a catalogue escalation gave is reused (0 = ask every time). */
  CATALOGUE_CACHE_SECONDS: envInt(30, { min: 0, max: 3_600 }),
  // Polling
  /** Per summary.json request, body included. */
  POLL_TIMEOUT_MS: envInt(10_000, { min: 100, max: 60_000 }),
  /** Pages polled at once by one replica. */
  POLL_CONCURRENCY: envInt(16, { min: 1, max: 256 }),
  /** Failed polls in a row after which a page's components read `unknown` (stale). */
  POLL_STALE_AFTER_FAILURES: envInt(3, { min: 1, max: 100 }),
  /** Longest wait between polls of a failing page. */
  POLL_MAX_BACKOFF_SECONDS: envInt(900, { min: 60, max: 86_400 }),
  // Webhooks
  /** Secret token of Statuspage webhook subscriptions (`?token=`); unset = endpoint off. Use _FILE. */
  STATUSPAGE_WEBHOOK_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  /**
   * AWS Health deliveries from an EventBridge API destination (POST /status/v1/webhooks/aws-health):
   * its connection's API key (API_KEY authorization) and the header it is sent in. Use _FILE.
   * With neither this nor the Basic pair, the endpoint is off.
   */
  AWS_HEALTH_WEBHOOK_API_KEY: z.string().min(16, 'use at least 16 characters').optional(),
  AWS_HEALTH_WEBHOOK_AUTH_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name')
    .refine((h) => h.toLowerCase() !== 'authorization', 'Authorization is for Basic: use another header name')
    .default('x-api-key'),
  /** …or its BASIC authorization: both or neither. The password with _FILE. */
  AWS_HEALTH_WEBHOOK_BASIC_USERNAME: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^:]+$/, 'no colon')
    .optional(),
  AWS_HEALTH_WEBHOOK_BASIC_PASSWORD: z.string().min(16, 'use at least 16 characters').optional(),
  // Live stream and Atom feed (GET /status/v1/stream, GET /status/feed.atom)
  /** Open streams one replica serves; over it, 503 with Retry-After. */
  STATUS_STREAM_MAX_CONNECTIONS: envInt(500, { min: 1, max: 100_000 }),
  /** Changes replayed to a reconnecting client; further behind, it is told to re-read /status/internal. */
  STATUS_STREAM_CATCH_UP_MAX: envInt(1000, { min: 1, max: 100_000 }),
  /** Seconds between keep-alive comments (and checks that the stream's token has not expired). */
  STATUS_STREAM_HEARTBEAT_SECONDS: envInt(15, { min: 1, max: 300 }),
  /** Read token of the Atom feed (`?token=`) for tools that cannot send a bearer JWT; unset = JWT only. Use _FILE. */
  STATUS_FEED_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  // Identity
  /** Defaults to the jwks_uri of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_ROLES_CLAIM: z.string().default('roles'),
});

export type Config = z.output<typeof configSchema>;
