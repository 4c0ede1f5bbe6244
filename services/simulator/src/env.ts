import { Severity } from '@micro-oncall/incident-model';
import { baseConfigSchema, envBoolean, envInt, envList } from '@micro-oncall/service-kit';
import { z } from 'zod';

/** The longest a run may last, whatever the scenario or the request asks for (the issue's hard cap). */
export const HARD_CAP_MINUTES = 240;

const url = z.string().url();
const basicAuth = z.string().regex(/^[^:\s]+:.{12,}$/, 'must be user:password with a password of 12+ characters');
const token = z.string().min(16, 'must be at least 16 characters');
/** A comma- or newline-separated list with a default (envList's default is empty). */
const listOf = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((v) =>
      v
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    );
const routingKey = z.string().regex(/^[A-Za-z0-9]{32}$/, 'must be a 32-character PagerDuty integration (routing) key');

/**
 * simulator configuration. Every credential may come from a mounted file (`X_FILE`). A target
 * without its settings is not offered; production targets only exist where production drills
 * are allowed and the production settings are given.
 */
export const configSchema = baseConfigSchema
  .extend({
    // Required
    OIDC_ISSUER: url,
    OIDC_AUDIENCE: z.string().min(1),
    // Identity
    /** Defaults to the jwks_uri of the issuer's discovery document. */
    OIDC_JWKS_URL: url.optional(),
    OIDC_ROLES_CLAIM: z.string().default('roles'),

    // Runs
    /** A run's maximum duration unless its scenario or request asks for less (or more, up to the 4 h cap). */
    RUN_DEFAULT_MAX_DURATION_MINUTES: envInt(30, { min: 1, max: HARD_CAP_MINUTES }),
    /** A proposal nobody approved within this time lapses (`expired`). */
    APPROVAL_TIMEOUT_MINUTES: envInt(60, { min: 1, max: 7 * 24 * 60 }),

    // Safety
    /** Off: every run is a staging run; production requests are refused (403) and audited. */
    PRODUCTION_DRILLS_ALLOWED: envBoolean(false),
    /** Runs that fire an alert of this severity or higher need an approver (so does every production run). */
    APPROVAL_SEVERITY_THRESHOLD: Severity.default('high'),
    /** `amr` values any one of which counts as multi-factor evidence (RFC 8176 names; Entra's `ngcmfa`). */
    APPROVAL_MFA_AMR_VALUES: listOf('mfa,ngcmfa,otp,hwk,sc'),
    /** `acr` values that count as multi-factor evidence (e.g. urn:okta:loa:2fa:any; never an "ifpossible" level). */
    APPROVAL_MFA_ACR_VALUES: envList(),
    /** An approver's sign-in (`auth_time`) may be at most this old. */
    APPROVAL_MAX_AUTH_AGE_SECONDS: envInt(900, { min: 30, max: 24 * 3600 }),

    // Target: PagerDuty Events API v2
    PAGERDUTY_EVENTS_URL: url.default('https://events.pagerduty.com'),
    /** Integration key of the staging PagerDuty service (use _FILE); unset = no PagerDuty target. */
    PAGERDUTY_ROUTING_KEY: routingKey.optional(),
    /** Integration key of the production service (use _FILE); needed for production runs at PagerDuty. */
    PAGERDUTY_PRODUCTION_ROUTING_KEY: routingKey.optional(),

    // Target: Prometheus Alertmanager API v2
    /** Staging Alertmanager, e.g. http://alertmanager:9093; unset = no Alertmanager target. */
    ALERTMANAGER_URL: url.optional(),
    /** Production Alertmanager; needed for production runs at Alertmanager. */
    ALERTMANAGER_PRODUCTION_URL: url.optional(),
    /** `user:password` when the Alertmanagers sit behind basic auth (use _FILE). */
    ALERTMANAGER_BASIC_AUTH: basicAuth.optional(),
    /** Bearer token when they sit behind token auth (use _FILE). */
    ALERTMANAGER_BEARER_TOKEN: token.optional(),
    /** Firing alerts are sent again this often (real clients re-send every 30 s to 3 min). */
    ALERTMANAGER_RESEND_SECONDS: envInt(60, { min: 1, max: 180 }),

    // Target: our own webhook-ingest
    /** Base URL of webhook-ingest, e.g. http://webhook-ingest; unset = no ingest target. */
    INGEST_URL: url.optional(),
    /** Which provider the drill impersonates: Alertmanager's webhook or PagerDuty's signed v3 webhook. */
    INGEST_FORMAT: z.enum(['alertmanager', 'pagerduty']).default('alertmanager'),
    /** webhook-ingest's ALERTMANAGER_WEBHOOK_BASIC_AUTH (use _FILE), for the alertmanager format. */
    INGEST_ALERTMANAGER_BASIC_AUTH: basicAuth.optional(),
    /** webhook-ingest's ALERTMANAGER_WEBHOOK_TOKEN (use _FILE), for the alertmanager format. */
    INGEST_ALERTMANAGER_TOKEN: token.optional(),
    /** One of webhook-ingest's PAGERDUTY_WEBHOOK_SECRETS (use _FILE), for the pagerduty format. */
    INGEST_PAGERDUTY_SECRET: z.string().min(8).optional(),

    // Kafka
    /** Consumer group reading incident events for the drill reports (default `<KAFKA_TOPIC_NAMESPACE>-simulator`). */
    KAFKA_CONSUMER_GROUP: z.string().min(1).max(200).optional(),

    // Flag source for flagd's HTTP sync (degrade steps; ADR 0018)
    /** The bearer token flagd presents at GET /drills/v1/flags/:environment (use _FILE); unset = no flag source. */
    FLAG_SOURCE_TOKEN: token.optional(),

    // Outbound
    /** Per attempt at a target. */
    TARGET_TIMEOUT_MS: envInt(5000, { min: 100, max: 60_000 }),
    /** Further attempts after refusals that are safe to repeat (429, 5xx, no connection). */
    TARGET_RETRIES: envInt(3, { min: 0, max: 10 }),
  })
  .superRefine((c, ctx) => {
    if (c.ALERTMANAGER_BASIC_AUTH && c.ALERTMANAGER_BEARER_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['ALERTMANAGER_BEARER_TOKEN'],
        message: 'set ALERTMANAGER_BASIC_AUTH or ALERTMANAGER_BEARER_TOKEN, not both',
      });
    }
    if (
      c.INGEST_URL &&
      c.INGEST_FORMAT === 'alertmanager' &&
      !c.INGEST_ALERTMANAGER_BASIC_AUTH &&
      !c.INGEST_ALERTMANAGER_TOKEN
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGEST_ALERTMANAGER_BASIC_AUTH'],
        message:
          'INGEST_URL with INGEST_FORMAT=alertmanager needs INGEST_ALERTMANAGER_BASIC_AUTH or INGEST_ALERTMANAGER_TOKEN',
      });
    }
    if (c.INGEST_URL && c.INGEST_FORMAT === 'pagerduty' && !c.INGEST_PAGERDUTY_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['INGEST_PAGERDUTY_SECRET'],
        message: 'INGEST_URL with INGEST_FORMAT=pagerduty needs INGEST_PAGERDUTY_SECRET',
      });
    }
    if (c.APPROVAL_MFA_AMR_VALUES.length === 0 && c.APPROVAL_MFA_ACR_VALUES.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['APPROVAL_MFA_AMR_VALUES'],
        message: 'approvals need multi-factor evidence: list amr values, acr values, or both',
      });
    }
  });

export type Config = z.output<typeof configSchema>;
