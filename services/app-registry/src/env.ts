import { baseConfigSchema, envBoolean, envInt } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** app-registry configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema.extend({
  // Required
  OIDC_ISSUER: z.string().url(),
  OIDC_AUDIENCE: z.string().min(1),
  // Policy (docs/adr/0013-app-registry-policy-evaluation.md)
  /** OPA's REST API: the sidecar on localhost in the chart. Unreachable = every decision held for review. */
  OPA_URL: z.string().url().default('http://127.0.0.1:8181'),
  /** Per policy request; an onboarding waits at most about twice this before the app is held. */
  OPA_TIMEOUT_MS: envInt(2000, { min: 100, max: 30_000 }),
  // Lifecycle (days)
  /** No activity for this long: active → idle, per tier (an app without a tier counts as high). */
  IDLE_AFTER_DAYS_LOW: envInt(30, { min: 1, max: 3650 }),
  IDLE_AFTER_DAYS_MEDIUM: envInt(60, { min: 1, max: 3650 }),
  IDLE_AFTER_DAYS_HIGH: envInt(90, { min: 1, max: 3650 }),
  /** Idle this long (still no activity): idle → disabled, and the owner is notified. */
  DISABLE_AFTER_IDLE_DAYS: envInt(14, { min: 1, max: 3650 }),
  /** The grace period after the notice: disabled → archived. */
  ARCHIVE_AFTER_DISABLED_DAYS: envInt(14, { min: 1, max: 3650 }),
  /** An archived app can be restored in one action for this long; then it is purged. */
  RESTORE_WINDOW_DAYS: envInt(90, { min: 1, max: 3650 }),
  /** Longest an exception to a control may last. */
  EXCEPTION_MAX_DAYS: envInt(90, { min: 1, max: 365 }),
  /** The lifecycle sweep (5-field cron, UTC). */
  LIFECYCLE_CRON: z.string().default('17 * * * *'),
  // Owner notices
  /** Slack incoming webhook for owner notices (the URL is the credential: use _FILE). Unset = notices are kept, not sent. */
  SLACK_WEBHOOK_URL: z.string().url().optional(),
  /** Where notices link to (the registry's UI or API). */
  PUBLIC_URL: z.string().url().optional(),
  // Metrics
  /** Export `app_registry_app_info` (one series per app that is not purged) on /metrics. */
  APP_INFO_METRIC: envBoolean(true),
  /** The info metric is read from the database at most this often. */
  APP_INFO_REFRESH_SECONDS: envInt(60, { min: 5, max: 3600 }),
  // Identity
  /** Defaults to the jwks_uri of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_ROLES_CLAIM: z.string().default('roles'),
  /**
   * The shared secret the identity provider sends on POST /apps/v1/identity/events (its whole
   * Authorization header, or `Bearer <secret>`); use _FILE. Unset = the endpoint answers 404.
   */
  IDENTITY_EVENTS_SECRET: z.string().min(16).optional(),
  // Kafka
  KAFKA_CONSUMER_GROUP: z.string().default('app-registry'),
});

export type Config = z.output<typeof configSchema>;
