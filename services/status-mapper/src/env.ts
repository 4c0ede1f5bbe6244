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
  // Identity
  /** Defaults to the jwks_uri of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_ROLES_CLAIM: z.string().default('roles'),
});

export type Config = z.output<typeof configSchema>;
