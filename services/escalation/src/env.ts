import { baseConfigSchema, envBoolean, envInt, envList, type Role } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** escalation configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema
  .extend({
    // Required
    /** services.yml: owners, oncall handles, contact methods and fallbacks per service. */
    SERVICE_CATALOGUE_FILE: z.string().min(1),
    OIDC_ISSUER: z.string().url(),
    OIDC_AUDIENCE: z.string().min(1),
    // Identity
    /** Defaults to the jwks_uri of the issuer's discovery document. */
    OIDC_JWKS_URL: z.string().url().optional(),
    OIDC_ROLES_CLAIM: z.string().default('roles'),
    /** Maps the issuer's group names onto roles: `sre-oncall=responder,sre-leads=admin`. */
    OIDC_ROLE_MAP: envList().pipe(
      z
        .array(z.string().regex(/^[^=]+=(viewer|responder|approver|admin)$/, 'entries must be group=role'))
        .transform((entries) => Object.fromEntries(entries.map((e) => e.split('=') as [string, Role]))),
    ),
    // Web sign-in (authorization code + PKCE)
    OIDC_CLIENT_ID: z.string().min(1).default('micro-oncall'),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    /** Add `offline_access` where the issuer gives refresh tokens (which keep roles current) only for it. */
    OIDC_SCOPES: z
      .string()
      .regex(/^(?:[\x21\x23-\x5B\x5D-\x7E]+ )*[\x21\x23-\x5B\x5D-\x7E]+$/, 'space-separated scope names')
      .refine((s) => s.split(' ').includes('openid'), 'must include openid')
      .default('openid profile email'),
    /** Public base URL (redirect URI, Slack links). Required in production; derived from the request otherwise. */
    PUBLIC_URL: z.string().url().optional(),
    /**
     * Encrypts the sign-in cookie and the issuer's refresh tokens at rest; 32+ characters. Required
     * in production; random per process otherwise (sessions then need a new sign-in after a restart).
     */
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Absolute session lifetime, however active. */
    SESSION_TTL_HOURS: envInt(8, { min: 1, max: 24 * 7 }),
    /** A session unused (no request) for this long ends; an open live stream does not count. */
    SESSION_IDLE_MINUTES: envInt(60, { min: 1, max: 24 * 60 }),
    /** Roles are re-read from the issuer (refresh token) this often; without a refresh token, sign in again. */
    SESSION_ROLES_TTL_SECONDS: envInt(300, { min: 1, max: 24 * 3600 }),
    // Live feed (GET /v1/stream), per replica
    LIVE_MAX_CONNECTIONS: envInt(2000, { min: 1, max: 100_000 }),
    LIVE_MAX_CONNECTIONS_PER_USER: envInt(10, { min: 1, max: 1000 }),
    /** A client further behind than this many changes gets a `reset` (reload the list) instead of a replay. */
    LIVE_CATCH_UP_MAX: envInt(1000, { min: 1, max: 100_000 }),
    /** A client whose unsent data exceeds this is disconnected (it reconnects with Last-Event-ID). */
    LIVE_MAX_BUFFER_KB: envInt(1024, { min: 16, max: 256 * 1024 }),
    /** Keep-alive comments, and the re-check of each stream's session or token expiry. */
    LIVE_HEARTBEAT_SECONDS: envInt(15, { min: 1, max: 300 }),
    /** Least time between two reads of changed incidents: the NOTIFYs of every commit within it share one read. */
    LIVE_COALESCE_MS: envInt(25, { min: 0, max: 5000 }),
    // Provider actions (each optional: incidents of an unconfigured provider cannot be acted on here)
    PAGERDUTY_API_TOKEN: z.string().min(8).optional(),
    PAGERDUTY_API_URL: z.string().url().default('https://api.pagerduty.com'),
    /** `From` for PagerDuty when the signed-in user has no email claim. */
    PAGERDUTY_FROM_EMAIL: z.string().email().optional(),
    OPSGENIE_API_KEY: z.string().min(8).optional(),
    /** EU accounts: https://api.eu.opsgenie.com */
    OPSGENIE_API_URL: z.string().url().default('https://api.opsgenie.com'),
    /**
     * The Opsgenie schedule (its name) whose on-call the incident page shows for an alert none of
     * whose teams owns an enabled schedule; unset = "cannot be known" for those alerts.
     */
    OPSGENIE_ONCALL_SCHEDULE: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .refine((name) => name !== '.' && name !== '..', 'must be a schedule name')
      .optional(),
    /** Alertmanager API (acknowledge = a silence, resolve = expire it), e.g. http://alertmanager.monitoring:9093. */
    ALERTMANAGER_URL: z.string().url().optional(),
    /** `user:password` for basic auth to Alertmanager (or the proxy in front of it); or ALERTMANAGER_BEARER_TOKEN. */
    ALERTMANAGER_BASIC_AUTH: z
      .string()
      .regex(/^[^:]+:.+$/s, 'must be user:password')
      .optional(),
    ALERTMANAGER_BEARER_TOKEN: z.string().min(8).optional(),
    /** How long the silence of an acknowledgement lasts (at most 72 h). */
    ALERTMANAGER_SILENCE_MINUTES: envInt(240, { min: 5, max: 72 * 60 }),
    /**
     * How often the alerts of our silences are looked up: Alertmanager does not send the resolution
     * of a silenced alert, so an incident whose alert is seen ended (two checks in a row) is
     * resolved here and its silence expired, before the group's next notification (ADR 0017).
     * Keep it well under the route's group_interval.
     */
    ALERTMANAGER_SILENCE_CHECK_SECONDS: envInt(15, { min: 1, max: 300 }),
    /**
     * Alertmanager keeps alerts in memory only: for this long after it (re)started, an alert missing
     * from its API is not taken as resolved (its source re-sends firing alerts every minute or so).
     */
    ALERTMANAGER_RESTART_GRACE_SECONDS: envInt(300, { min: 0, max: 3600 }),
    PROVIDER_TIMEOUT_MS: envInt(5000, { min: 100, max: 60_000 }),
    /**
     * Overall bound of one action, provider retries included: past it the answer is 503 "outcome
     * unknown" (the call goes on and its outcome is still recorded). At least PROVIDER_TIMEOUT_MS.
     */
    ACTION_DEADLINE_MS: envInt(15_000, { min: 1000, max: 120_000 }),
    /** Slack incoming webhook for new critical and high incidents and escalations (the URL is the credential). */
    SLACK_WEBHOOK_URL: z.string().url().optional(),
    // Grouping of related alerts (ADR 0019)
    /** Alerts of one group (same Alertmanager group key, or alertname and service) that started this close together form one group. */
    GROUPING_WINDOW_SECONDS: envInt(300, { min: 1, max: 24 * 3600 }),
    /** Group alerts without an Alertmanager group key by alertname and service. */
    GROUPING_BY_ALERTNAME: envBoolean(true),
    // Kafka
    KAFKA_CONSUMER_GROUP: z.string().default('escalation'),
  })
  .superRefine((c, ctx) => {
    if (c.ACTION_DEADLINE_MS < c.PROVIDER_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ACTION_DEADLINE_MS'],
        message: `must be at least PROVIDER_TIMEOUT_MS (${c.PROVIDER_TIMEOUT_MS})`,
      });
    }
    if (c.ALERTMANAGER_BASIC_AUTH && c.ALERTMANAGER_BEARER_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['ALERTMANAGER_BEARER_TOKEN'],
        message: 'give Alertmanager either basic auth or a bearer token, not both',
      });
    }
    if (c.NODE_ENV !== 'production') return;
    for (const key of ['PUBLIC_URL', 'SESSION_SECRET'] as const) {
      if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' });
    }
    if (!c.OIDC_ISSUER.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: 'must be https:// in production' });
    }
    if (c.PAGERDUTY_API_TOKEN && !c.PAGERDUTY_FROM_EMAIL) {
      ctx.addIssue({
        code: 'custom',
        path: ['PAGERDUTY_FROM_EMAIL'],
        message: 'is required with PAGERDUTY_API_TOKEN in production',
      });
    }
  });

export type Config = z.output<typeof configSchema>;
