import { baseConfigSchema, envInt, envList, type Role } from '@micro-oncall/service-kit';
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
    /** Public base URL (redirect URI, Slack links). Required in production; derived from the request otherwise. */
    PUBLIC_URL: z.string().url().optional(),
    /** Encrypts session cookies; 32+ characters. Required in production; random per process otherwise. */
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SESSION_TTL_HOURS: envInt(8, { min: 1, max: 24 * 7 }),
    // Provider actions (each optional: incidents of an unconfigured provider cannot be acted on here)
    PAGERDUTY_API_TOKEN: z.string().min(8).optional(),
    PAGERDUTY_API_URL: z.string().url().default('https://api.pagerduty.com'),
    /** `From` for PagerDuty when the signed-in user has no email claim. */
    PAGERDUTY_FROM_EMAIL: z.string().email().optional(),
    OPSGENIE_API_KEY: z.string().min(8).optional(),
    /** EU accounts: https://api.eu.opsgenie.com */
    OPSGENIE_API_URL: z.string().url().default('https://api.opsgenie.com'),
    PROVIDER_TIMEOUT_MS: envInt(5000, { min: 100, max: 60_000 }),
    /** Slack incoming webhook for new p0/p1 incidents and escalations (the URL is the credential). */
    SLACK_WEBHOOK_URL: z.string().url().optional(),
    // Kafka
    KAFKA_CONSUMER_GROUP: z.string().default('escalation'),
  })
  .superRefine((c, ctx) => {
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
