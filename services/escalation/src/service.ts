import { randomBytes } from 'node:crypto';
import {
  createDbSessionStore,
  createJwtVerifier,
  createSessionManager,
  defineService,
  required,
} from '@micro-oncall/service-kit';
import type { Request } from 'express';
import { createSilenceExpiry, silencesFromAudit } from './alertmanager-silences.js';
import { createApp } from './app.js';
import { createAuditWriter } from './audit.js';
import { ServiceCatalogue } from './catalogue.js';
import { createAppRegistryHandler } from './consumers/app-registry.js';
import { createDrillsHandler } from './consumers/drills.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import { createProviderStatusHandler } from './consumers/provider-status.js';
import * as schema from './db/schema.js';
import { type Config, configSchema } from './env.js';
import { createFigureMetrics } from './figures.js';
import { createLiveFeed } from './live.js';
import { createNotifications } from './notifications.js';
import { openApiDocument } from './openapi.js';
import { conditionsByService, noteConditionsInForce } from './provider-context.js';
import { type AlertmanagerAuth, createProviderRegistry } from './providers/index.js';

/**
 * escalation: incident state from `incident-events`, owners from the service catalogue, the
 * responders' dashboard and API, actions through the providers' APIs (results on
 * `incident-actions` through the outbox), sign-in and the audit log.
 */
export const service = defineService({
  name: 'escalation',
  description: 'Incident state, owners, the responders dashboard, provider actions, sign-in and audit log',
  config: configSchema,
  db: {
    schema: 'escalation',
    tables: schema,
    migrations: new URL('../drizzle', import.meta.url),
    // The audit log is append-only: the role the service runs as may add rows and read them,
    // and, not owning the table, cannot disable its trigger (docs/deploy.md, database roles).
    runtimePrivileges: { audit_log: ['select', 'insert'] },
  },
  // incident-events: the resolution of a silenced Alertmanager alert, observed in its API (ADR 0017).
  produces: ['incident-actions', 'incident-events'],
  consumes: ['incident-events', 'provider-status', 'app-registry', 'drills'],
  openApi: openApiDocument,
  // The dashboard's pages and files, sign-in (the product's one session) and the API.
  publicPaths: [
    { path: '/', match: 'exact' },
    { path: '/incidents', match: 'prefix' },
    { path: '/audit', match: 'exact' },
    { path: '/figures', match: 'exact' },
    { path: '/ui', match: 'prefix' },
    { path: '/auth', match: 'prefix' },
    { path: '/v1', match: 'prefix' },
  ],
  setup(ctx) {
    const { config, logger } = ctx;
    const catalogue = ServiceCatalogue.fromFile(config.SERVICE_CATALOGUE_FILE);
    // Time to acknowledge and to resolve as Prometheus histograms, with a `drill` label (figures.ts).
    const figureMetrics = createFigureMetrics({ registry: ctx.registry, catalogue });
    const notifications = createNotifications({
      slackWebhookUrl: config.SLACK_WEBHOOK_URL,
      publicUrl: config.PUBLIC_URL,
      logger,
      // Read only for a Slack notice: without Slack, no read per new urgent incident (in the bulk
      // consumer run, 5,000 reads of 100,000 events, each a pooled query beside the chunks' transactions).
      providerConditions: config.SLACK_WEBHOOK_URL
        ? async (service) => (await conditionsByService(ctx.db, [service])).get(service) ?? []
        : undefined,
    });
    ctx.consume('incident-events', {
      groupId: config.KAFKA_CONSUMER_GROUP,
      // Up to a whole fetched batch per transaction (a fetch brings up to 1 MiB per partition,
      // ~700 events of ~1.4 KB): fewer transactions, statements and change-sequence lock turns.
      chunkSize: 1000,
      handler: createIncidentEventsHandler({
        db: ctx.db,
        grouping: { windowSeconds: config.GROUPING_WINDOW_SECONDS, byAlertname: config.GROUPING_BY_ALERTNAME },
        onApplied: (changes) => {
          notifications.onApplied(changes);
          figureMetrics.onApplied(changes);
          silenceExpiry?.onApplied(changes);
        },
        inTransaction: noteConditionsInForce,
      }),
    });
    // The simulator's drill runs: an incident is a drill only when its run id names an active one
    // (drills.ts). A group of its own, like provider-status.
    ctx.consume('drills', {
      groupId: `${config.KAFKA_CONSUMER_GROUP}-drills`,
      handler: createDrillsHandler({ db: ctx.db, onApplied: notifications.onApplied }),
    });
    // A group of its own: in a shared group, kafkajs's assigner could hand this topic's
    // partitions to the incident-events consumer, which does not read them.
    ctx.consume('provider-status', {
      groupId: `${config.KAFKA_CONSUMER_GROUP}-provider-status`,
      handler: createProviderStatusHandler({ db: ctx.db }),
    });
    // Owners as the app-registry knows them (ownership drift); a group of its own, like provider-status.
    ctx.consume('app-registry', {
      groupId: `${config.KAFKA_CONSUMER_GROUP}-app-registry`,
      handler: createAppRegistryHandler({ db: ctx.db }),
    });
    const verifyToken = createJwtVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
      rolesClaim: config.OIDC_ROLES_CLAIM,
      roleMap: config.OIDC_ROLE_MAP,
    });
    if (!config.SESSION_SECRET) logger.warn('SESSION_SECRET not set: sessions need a new sign-in after a restart');
    const sessions = createSessionManager({
      store: createDbSessionStore(ctx.db, schema.sessions),
      secret: config.SESSION_SECRET ?? randomBytes(32).toString('hex'),
      ttlSeconds: config.SESSION_TTL_HOURS * 3600,
      idleSeconds: config.SESSION_IDLE_MINUTES * 60,
      rolesTtlSeconds: config.SESSION_ROLES_TTL_SECONDS,
      secureCookies: config.NODE_ENV === 'production' || (config.PUBLIC_URL?.startsWith('https://') ?? false),
      logger,
    });
    const live = createLiveFeed({
      databaseUrl: config.DATABASE_URL,
      db: ctx.db,
      catalogue,
      logger,
      registry: ctx.registry,
      sessions,
      limits: {
        maxConnections: config.LIVE_MAX_CONNECTIONS,
        maxPerUser: config.LIVE_MAX_CONNECTIONS_PER_USER,
        catchUpMax: config.LIVE_CATCH_UP_MAX,
        maxBufferBytes: config.LIVE_MAX_BUFFER_KB * 1024,
        heartbeatMs: config.LIVE_HEARTBEAT_SECONDS * 1000,
        coalesceMs: config.LIVE_COALESCE_MS,
      },
    });
    const publicUrl =
      config.PUBLIC_URL ?? ((req: Request) => `${req.protocol}://${req.get('host') ?? `127.0.0.1:${config.PORT}`}`);
    const http = { timeoutMs: config.PROVIDER_TIMEOUT_MS };
    const providers = createProviderRegistry({
      ...(config.PAGERDUTY_API_TOKEN
        ? {
            pagerduty: {
              baseUrl: config.PAGERDUTY_API_URL,
              token: config.PAGERDUTY_API_TOKEN,
              fromEmail: config.PAGERDUTY_FROM_EMAIL ?? 'oncall@localhost',
              logger,
              http,
            },
          }
        : {}),
      ...(config.OPSGENIE_API_KEY
        ? {
            opsgenie: {
              baseUrl: config.OPSGENIE_API_URL,
              apiKey: config.OPSGENIE_API_KEY,
              logger,
              http,
              ...(config.OPSGENIE_ONCALL_SCHEDULE ? { defaultSchedule: config.OPSGENIE_ONCALL_SCHEDULE } : {}),
            },
          }
        : {}),
      ...(config.ALERTMANAGER_URL
        ? {
            alertmanager: {
              baseUrl: config.ALERTMANAGER_URL,
              auth: alertmanagerAuth(config),
              silenceMinutes: config.ALERTMANAGER_SILENCE_MINUTES,
              silencesOf: silencesFromAudit(ctx.db),
              logger,
              http,
            },
          }
        : {}),
    });
    // When an Alertmanager alert resolves, the silences its acknowledgements created are expired; a
    // silenced alert's resolution, which Alertmanager does not notify, is observed in its API.
    const silenceExpiry = providers.alertmanager
      ? createSilenceExpiry({
          db: ctx.db,
          alertmanager: providers.alertmanager,
          audit: createAuditWriter(ctx.db),
          outbox: ctx.outbox,
          registry: ctx.registry,
          logger,
          checkEveryMs: config.ALERTMANAGER_SILENCE_CHECK_SECONDS * 1000,
          restartGraceMs: config.ALERTMANAGER_RESTART_GRACE_SECONDS * 1000,
        })
      : null;
    const app = createApp({
      logger,
      registry: ctx.registry,
      db: ctx.db,
      catalogue,
      verifyToken,
      sessions,
      oidc: {
        issuer: config.OIDC_ISSUER,
        clientId: config.OIDC_CLIENT_ID,
        clientSecret: config.OIDC_CLIENT_SECRET,
        scopes: config.OIDC_SCOPES,
        publicUrl,
        rolesClaim: config.OIDC_ROLES_CLAIM,
        roleMap: config.OIDC_ROLE_MAP,
        allowInsecureIssuer: config.NODE_ENV !== 'production',
      },
      audit: createAuditWriter(ctx.db),
      providers,
      outbox: ctx.outbox,
      live,
      onEscalated: notifications.onEscalated,
      actionDeadlineMs: config.ACTION_DEADLINE_MS,
      components: ctx.components,
    });
    return { app, components: [live, ...(silenceExpiry ? [silenceExpiry.watch] : [])] };
  },
  devEnv: (platform) => ({
    SERVICE_CATALOGUE_FILE: required(platform.files, 'service-catalogue', 'escalation'),
    OIDC_ISSUER: platform.oidc.issuer,
    OIDC_AUDIENCE: platform.oidc.audience,
    ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
    KAFKA_CONSUMER_GROUP: `${platform.namespace}-escalation`,
    ...(platform.secretFiles['session-secret'] ? { SESSION_SECRET_FILE: platform.secretFiles['session-secret'] } : {}),
    ...(platform.urls['pagerduty-api']
      ? {
          PAGERDUTY_API_URL: platform.urls['pagerduty-api'],
          PAGERDUTY_API_TOKEN_FILE: required(platform.secretFiles, 'pagerduty-api-token', 'escalation'),
          PAGERDUTY_FROM_EMAIL: 'oncall@example.com',
        }
      : {}),
    ...(platform.urls['opsgenie-api']
      ? {
          OPSGENIE_API_URL: platform.urls['opsgenie-api'],
          OPSGENIE_API_KEY_FILE: required(platform.secretFiles, 'opsgenie-api-key', 'escalation'),
        }
      : {}),
    ...(platform.urls['alertmanager-api'] ? { ALERTMANAGER_URL: platform.urls['alertmanager-api'] } : {}),
    ...(platform.secretFiles['slack-webhook-url']
      ? { SLACK_WEBHOOK_URL_FILE: platform.secretFiles['slack-webhook-url'] }
      : {}),
  }),
});

/** Credentials for Alertmanager's API, when it (or a proxy in front of it) asks for them. */
function alertmanagerAuth(config: Config): AlertmanagerAuth {
  if (config.ALERTMANAGER_BEARER_TOKEN) return { bearer: config.ALERTMANAGER_BEARER_TOKEN };
  if (!config.ALERTMANAGER_BASIC_AUTH) return null;
  const colon = config.ALERTMANAGER_BASIC_AUTH.indexOf(':');
  return {
    basic: {
      username: config.ALERTMANAGER_BASIC_AUTH.slice(0, colon),
      password: config.ALERTMANAGER_BASIC_AUTH.slice(colon + 1),
    },
  };
}
