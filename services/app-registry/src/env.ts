import { baseConfigSchema, envBoolean, envInt } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { type IdpEnv, idpSourcesFromConfig } from './discovery/idp/config.js';
import { EvidenceKind } from './evidence.js';

const optionalText = z.string().trim().min(1).optional();
const optionalUrl = z.string().url().optional();

/** Identity-provider inventories for discovery, as `IdpEnv` names them. */
const idpEnv = {
  DISCOVERY_OKTA_URL: optionalUrl,
  DISCOVERY_OKTA_TOKEN: optionalText,
  DISCOVERY_ENTRA_TENANT_ID: optionalText,
  DISCOVERY_ENTRA_CLIENT_ID: optionalText,
  DISCOVERY_ENTRA_CLIENT_SECRET: optionalText,
  DISCOVERY_ENTRA_GRAPH_URL: optionalUrl,
  DISCOVERY_ENTRA_AUTHORITY_URL: optionalUrl,
  DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY: optionalText,
  DISCOVERY_GOOGLE_ADMIN_SUBJECT: optionalText,
  DISCOVERY_GOOGLE_USER_KEYS: optionalText,
  DISCOVERY_GOOGLE_URL: optionalUrl,
  DISCOVERY_GITHUB_ORGS: optionalText,
  DISCOVERY_GITHUB_TOKEN: optionalText,
  DISCOVERY_GITHUB_API_URL: optionalUrl,
} satisfies Record<keyof IdpEnv, z.ZodType<string | undefined>>;

/** app-registry configuration; secrets may come from mounted files (`X_FILE`). */
export const configSchema = baseConfigSchema
  .extend({
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
    /** The owners of an archived app are warned this many days before it is purged (once per archiving). */
    PURGE_WARNING_DAYS: envInt(7, { min: 1, max: 3650 }),
    /** Longest an exception to a control may last. */
    EXCEPTION_MAX_DAYS: envInt(90, { min: 1, max: 365 }),
    /**
     * Days evidence of a kind counts (since it was posted); older, its control fails with the
     * evidence's age. `kind=days` pairs, comma-separated, e.g. `sbom=90,secret_scan=14`; kinds not
     * named keep their default (evidence.ts: sbom 90, secret_scan 30, dependency_scan 30, sso 365).
     */
    EVIDENCE_MAX_AGE_DAYS: z
      .string()
      .default('')
      .transform((text, ctx) => {
        const ages: Partial<Record<EvidenceKind, number>> = {};
        for (const pair of text
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)) {
          const match = /^([a-z_]+)\s*=\s*(\d{1,4})$/.exec(pair);
          const kind = EvidenceKind.safeParse(match?.[1]);
          const days = Number(match?.[2]);
          if (!match || !kind.success || days < 1 || days > 3650) {
            ctx.addIssue({
              code: 'custom',
              message: `"${pair}" is not kind=days (kinds: ${EvidenceKind.options.join(', ')}; 1 to 3650 days)`,
            });
            return z.NEVER;
          }
          ages[kind.data] = days;
        }
        return ages;
      }),
    /** The lifecycle sweep (5-field cron, UTC). */
    LIFECYCLE_CRON: z.string().default('17 * * * *'),
    // Discovery (docs/runbooks/app-registry.md, "Discovery")
    /**
     * The folder of discovery sources: one sub-folder per source (its name is the source's in the
     * run reports), every file under it read (gzip or not; the format detected, or stated in the
     * sub-folder's `.source.json`). Unset = no sources: runs only flag earlier candidates.
     */
    DISCOVERY_DIR: z.string().min(1).optional(),
    /** The daily discovery run (5-field cron, UTC); POST /apps/v1/discovery/runs runs one on demand. */
    DISCOVERY_CRON: z.string().default('23 3 * * *'),
    /** A candidate still unregistered this long after a run found it is flagged, with an ownership task. */
    DISCOVERY_FLAG_AFTER_HOURS: envInt(24, { min: 0, max: 24 * 90 }),
    /**
     * Read raw log lines from the topic `<KAFKA_TOPIC_NAMESPACE>.discovery-lines.v1` as they
     * arrive (consumer group `<KAFKA_CONSUMER_GROUP>-discovery-lines`, spread over the replicas);
     * the message format is docs/events/discovery-lines.v1.md.
     */
    DISCOVERY_STREAM_ENABLED: envBoolean(false),
    /**
     * The identity providers whose app inventories every run lists (discovery/idp/config.ts
     * `IdpEnv`): a provider is on when its URL / tenant / key / orgs are set. Credentials
     * through `*_FILE` (secret mounts); they are never logged nor put in a report.
     */
    ...idpEnv,
    // Owner notices
    /** Slack incoming webhook for owner notices (the URL is the credential: use _FILE). Unset = notices are kept, not sent. */
    SLACK_WEBHOOK_URL: z.string().url().optional(),
    /** Where notices link to: the app's page is `<PUBLIC_URL>/apps/<id>`. */
    PUBLIC_URL: z.string().url().optional(),
    /** A webhook that receives every owner notice as JSON, signed with NOTICE_WEBHOOK_SECRET. Unset = no webhook. */
    NOTICE_WEBHOOK_URL: z.string().url().optional(),
    /** HMAC-SHA256 key of the webhook's `X-Notice-Signature-256` (use _FILE); required with NOTICE_WEBHOOK_URL. */
    NOTICE_WEBHOOK_SECRET: z.string().min(32).optional(),
    /** A notice that could not be delivered is tried again after this long, doubling up to an hour, until it is. */
    NOTICE_RETRY_FIRST_SECONDS: envInt(30, { min: 1, max: 3600 }),
    /** The SMTP relay notices are emailed through (to the owner's and team's email contacts). Unset = no email. */
    SMTP_HOST: z.string().min(1).optional(),
    SMTP_PORT: envInt(587, { min: 1, max: 65_535 }),
    /** starttls: the relay must offer STARTTLS (refused otherwise); implicit: TLS from the start (port 465); none: plain text (a relay on localhost only). */
    SMTP_TLS: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
    SMTP_USER: z.string().min(1).optional(),
    /** Use _FILE. */
    SMTP_PASSWORD: z.string().min(1).optional(),
    /** The From of notices, e.g. `App registry <app-registry@example.com>`; required with SMTP_HOST. */
    NOTICE_EMAIL_FROM: z.string().min(3).optional(),
    /** Who is emailed when neither the owner's nor the team's contact is an email address (e.g. the platform team). */
    NOTICE_EMAIL_FALLBACK_TO: z.string().email().optional(),
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
    // Cost (docs/adr/0020-cost-anomalies.md)
    /** Tag keys whose value is an app id (the template's deploy-time tags), tried in order. */
    COST_APP_TAGS: z
      .string()
      .default('app-id,micro-oncall.io/app')
      .transform((s) =>
        s
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
      ),
    /** The largest cost file accepted (MiB). */
    COST_IMPORT_MAX_MB: envInt(2048, { min: 1, max: 65_536 }),
    /**
     * Daily cost rows an import sums in memory (about 0.5 KB each) before it hands their partial
     * sums to PostgreSQL to finish: bounds an import's memory whatever the file holds.
     */
    COST_IMPORT_MEMORY_ROWS: envInt(50_000, { min: 1, max: 1_000_000 }),
    COST_ANOMALY_WINDOW_DAYS: envInt(28, { min: 7, max: 366 }),
    COST_ANOMALY_MIN_HISTORY_DAYS: envInt(7, { min: 3, max: 366 }),
    /** Robust z-score ((cost − median) / (1.4826 · MAD)) above which a day is anomalous. */
    COST_ANOMALY_THRESHOLD: z.coerce.number().min(1).max(100).default(3.5),
    /** The smallest rise over the median (billing currency) ever flagged: no alerts about cents. */
    COST_ANOMALY_MIN_INCREASE: z.coerce.number().min(0).default(10),
    /** The weekly cost report to each owner (cron, UTC). */
    COST_REPORT_CRON: z.string().default('0 7 * * 1'),
    // Kafka
    KAFKA_CONSUMER_GROUP: z.string().default('app-registry'),
  })
  .superRefine((c, ctx) => {
    try {
      // What a configured provider lacks (a token, a client secret, …), named; no value is quoted.
      idpSourcesFromConfig(c);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
    if (c.NOTICE_WEBHOOK_URL && !c.NOTICE_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTICE_WEBHOOK_SECRET'],
        message: 'is required with NOTICE_WEBHOOK_URL (it signs every notice)',
      });
    }
    if (c.SMTP_HOST && !c.NOTICE_EMAIL_FROM) {
      ctx.addIssue({ code: 'custom', path: ['NOTICE_EMAIL_FROM'], message: 'is required with SMTP_HOST' });
    }
    if (c.SMTP_PASSWORD && !c.SMTP_USER) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_USER'], message: 'is required with SMTP_PASSWORD' });
    }
  });

export type Config = z.output<typeof configSchema>;
