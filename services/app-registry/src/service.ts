import { fileURLToPath } from 'node:url';
import { createJwtVerifier, defineJob, defineService } from '@micro-oncall/service-kit';
import { createApp } from './app.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import { DEFAULT_ATTRIBUTION } from './cost/attribution.js';
import { createCost } from './cost/cost.js';
import * as schema from './db/schema.js';
import { idpSourcesFromConfig } from './discovery/idp/index.js';
import { createDiscovery } from './discovery/index.js';
import { createStreamReader } from './discovery/stream.js';
import { configSchema } from './env.js';
import { createGovernance } from './governance.js';
import { createLifecycle } from './lifecycle.js';
import { createDiscoveryMetrics, registerAppMetrics } from './metrics.js';
import { createEmailNotifier, createNoticeDelivery, createSlackNotifier, createWebhookNotifier } from './notify.js';
import { openApiDocument } from './openapi.js';
import { createOwnership } from './ownership.js';
import { createOpaPolicyEngine, type PolicyEngine } from './policy.js';
import { createRefusalAudit } from './refusals.js';
import { type Clock, createRegistry } from './store.js';

export interface AppRegistryOptions {
  /** The service's clock (lifecycle, exceptions, history times); tests drive time with their own. */
  clock?: Clock;
  /** Another policy engine than OPA at OPA_URL (tests of the engine's failures). */
  policy?: PolicyEngine;
}

/**
 * app-registry: the inventory of the organisation's micro apps, with risk classification and
 * policy decisions by OPA, evidence from pipelines, exceptions, approvals, and an automatic
 * lifecycle (idle → disabled → archived → purged, with a restore window); every change in the
 * history, every decision and refusal in the audit, every transition on `app-registry`.
 */
export function defineAppRegistry(options: AppRegistryOptions = {}) {
  const clock = options.clock ?? (() => new Date());
  return defineService({
    name: 'app-registry',
    publicPaths: [{ path: '/apps', match: 'prefix' }],
    description: "The inventory of the organisation's micro apps: risk, policy, owners and lifecycle",
    config: configSchema,
    db: {
      schema: 'app_registry',
      tables: schema,
      migrations: new URL('../drizzle', import.meta.url),
      // The history, the audit and the decisions are append-only (migration 0001): the role the
      // service runs as may add rows and read them, and cannot disable their triggers.
      runtimePrivileges: {
        app_history: ['select', 'insert'],
        audit_log: ['select', 'insert'],
        decisions: ['select', 'insert'],
      },
    },
    produces: ['app-registry'],
    consumes: ['incident-events'],
    // Raw log lines for discovery, read when DISCOVERY_STREAM_ENABLED (docs/events/discovery-lines.v1.md).
    consumesRaw: ['discovery-lines'],
    openApi: openApiDocument,
    setup(ctx) {
      const { config, logger } = ctx;
      const settings = {
        idleAfterDays: {
          low: config.IDLE_AFTER_DAYS_LOW,
          medium: config.IDLE_AFTER_DAYS_MEDIUM,
          high: config.IDLE_AFTER_DAYS_HIGH,
        },
        disableAfterIdleDays: config.DISABLE_AFTER_IDLE_DAYS,
        archiveAfterDisabledDays: config.ARCHIVE_AFTER_DISABLED_DAYS,
        restoreWindowDays: config.RESTORE_WINDOW_DAYS,
        purgeWarningDays: config.PURGE_WARNING_DAYS,
        exceptionMaxDays: config.EXCEPTION_MAX_DAYS,
        evidenceMaxAgeDays: config.EVIDENCE_MAX_AGE_DAYS,
      };
      const policy =
        options.policy ??
        createOpaPolicyEngine({
          url: config.OPA_URL,
          timeoutMs: config.OPA_TIMEOUT_MS,
          logger,
          registry: ctx.registry,
        });
      const registry = createRegistry({
        db: ctx.db,
        outbox: ctx.outbox,
        events: ctx.events,
        policy,
        clock,
        settings,
        logger,
      });
      const lifecycle = createLifecycle({ registry, clock, settings, logger, metrics: ctx.registry });
      const notices = createNoticeDelivery({
        db: ctx.db,
        notifiers: [
          createSlackNotifier({ webhookUrl: config.SLACK_WEBHOOK_URL, logger }),
          createWebhookNotifier({ url: config.NOTICE_WEBHOOK_URL, secret: config.NOTICE_WEBHOOK_SECRET, logger }),
          createEmailNotifier({
            host: config.SMTP_HOST,
            port: config.SMTP_PORT,
            tls: config.SMTP_TLS,
            user: config.SMTP_USER,
            password: config.SMTP_PASSWORD,
            from: config.NOTICE_EMAIL_FROM,
            fallbackTo: config.NOTICE_EMAIL_FALLBACK_TO,
            logger,
          }),
        ],
        jobs: () => ctx.jobs,
        clock,
        logger,
        metrics: ctx.registry,
        publicUrl: config.PUBLIC_URL,
        firstRetrySeconds: config.NOTICE_RETRY_FIRST_SECONDS,
      });
      if (notices.channels.length === 0) {
        logger.warn('no notice channel (Slack, webhook, email) configured: owner notices are kept, not sent');
      }
      registerAppMetrics({
        db: ctx.db,
        registry: ctx.registry,
        logger,
        infoEnabled: config.APP_INFO_METRIC,
        refreshSeconds: config.APP_INFO_REFRESH_SECONDS,
      });
      const refusals = createRefusalAudit({ registry, logger });
      const handOutNotices = () =>
        void notices
          .dispatch()
          .catch((error: unknown) => logger.warn({ err: error }, 'handing out notices failed; the next sweep will'));
      const ownership = createOwnership({
        registry,
        // The team and the candidates hear of an ownership task at once; a failure here leaves it to the next sweep.
        noticesWritten: handOutNotices,
      });
      const governance = createGovernance({
        db: ctx.db,
        clock,
        settings,
        approvedTemplates: async () => (await policy.templates()).map((t) => t.name),
      });

      const discoveryMetrics = createDiscoveryMetrics(ctx.registry, ctx.db);
      const discovery = createDiscovery({
        db: ctx.db,
        registry,
        clock,
        logger,
        dir: config.DISCOVERY_DIR,
        cron: config.DISCOVERY_CRON,
        flagAfterHours: config.DISCOVERY_FLAG_AFTER_HOURS,
        // Each configured identity provider's app inventory is a source of every run.
        idpSources: idpSourcesFromConfig(config),
        // A flag's notice goes out at once; a failure here leaves it to the next sweep.
        noticesWritten: handOutNotices,
        onRunFinished: discoveryMetrics.runFinished,
      });

      const cost = createCost({
        db: ctx.db,
        clock,
        logger,
        audit: registry.audit,
        settings: {
          attribution: { ...DEFAULT_ATTRIBUTION, appTagKeys: config.COST_APP_TAGS },
          importMemoryRows: config.COST_IMPORT_MEMORY_ROWS,
          anomaly: {
            windowDays: config.COST_ANOMALY_WINDOW_DAYS,
            minHistoryDays: config.COST_ANOMALY_MIN_HISTORY_DAYS,
            threshold: config.COST_ANOMALY_THRESHOLD,
            minIncrease: config.COST_ANOMALY_MIN_INCREASE,
          },
        },
        // Quota alerts and anomalies go out at once; a failure here leaves them to the next sweep.
        noticesWritten: handOutNotices,
      });
      const weeklyCostReport = defineJob({
        name: 'cost-weekly-report',
        cron: config.COST_REPORT_CRON,
        timeoutSeconds: 600,
        retry: { limit: 3, delaySeconds: 300 },
        async run(_data, job) {
          // One notice per app and week (derived id): a repeated run writes nothing twice.
          const written = await cost.weeklyReport();
          const handedOut = await notices.dispatch();
          job.logger.info({ written, ...handedOut }, 'weekly cost report written');
        },
      });

      ctx.consume('incident-events', {
        groupId: config.KAFKA_CONSUMER_GROUP,
        handler: createIncidentEventsHandler(registry, logger),
      });
      if (config.DISCOVERY_STREAM_ENABLED) {
        // Raw log lines as they arrive, through the same readers and sink as a run (discovery/stream.ts).
        const stream = createStreamReader({
          db: ctx.db,
          registry,
          clock,
          logger,
          loadMatcher: () => discovery.runner.loadMatcher(),
        });
        ctx.consumeRaw('discovery-lines', {
          groupId: `${config.KAFKA_CONSUMER_GROUP}-discovery-lines`,
          handler: stream.handle,
        });
      }

      const sweep = defineJob({
        name: 'lifecycle-sweep',
        cron: config.LIFECYCLE_CRON,
        timeoutSeconds: 900,
        // The next tick is the retry; a sweep is idempotent and resumes where the last one stopped.
        retry: { limit: 0, delaySeconds: 0 },
        async run(_data, job) {
          const result = await lifecycle.sweep(job.signal);
          // Discovered candidates still unregistered a day after they were found: flagged, with an ownership task.
          discoveryMetrics.candidatesFlagged(await discovery.candidates.flagDue());
          // The owners' notices this sweep (or an earlier one) wrote, to their channels' delivery jobs.
          const handedOut = await notices.dispatch();
          // The governance trend: today's counts, as this sweep left them.
          await governance.snapshot();
          job.logger.debug({ ...result, ...handedOut }, 'lifecycle sweep done');
        },
      });

      const verifyToken = createJwtVerifier({
        issuer: config.OIDC_ISSUER,
        audience: config.OIDC_AUDIENCE,
        ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
        rolesClaim: config.OIDC_ROLES_CLAIM,
      });
      return {
        app: createApp({
          logger,
          registry: ctx.registry,
          apps: registry,
          policy,
          verifyToken,
          sweepNow: () => ctx.jobs.runNow('lifecycle-sweep', {}),
          onRefused: refusals.onRefused,
          components: ctx.components,
          owners: { ownership, governance, identityEventsSecret: config.IDENTITY_EVENTS_SECRET },
          discovery,
          cost: {
            cost,
            maxImportBytes: config.COST_IMPORT_MAX_MB * 1024 * 1024,
            weeklyReportNow: () => ctx.jobs.runNow('cost-weekly-report', {}),
          },
        }),
        components: [
          {
            id: 'refusal-audit',
            async stop() {
              await refusals.flush().catch(() => undefined);
            },
            async healthcheck() {
              return { healthy: true };
            },
          },
          {
            id: 'discovery-runs',
            // A run in progress is cut off (what it read is kept; the next run resumes there).
            async stop() {
              await discovery.runner.stop();
            },
            async healthcheck() {
              return { healthy: true };
            },
          },
        ],
        jobs: [sweep, notices.job, discovery.job, weeklyCostReport],
      };
    },
    devEnv: (platform) => ({
      OIDC_ISSUER: platform.oidc.issuer,
      OIDC_AUDIENCE: platform.oidc.audience,
      ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
      KAFKA_CONSUMER_GROUP: `${platform.namespace}-app-registry`,
      // The OPA that npm start runs on the policies (scripts/start.ts); without one, decisions are held.
      ...(platform.urls.opa ? { OPA_URL: platform.urls.opa } : {}),
      // DEMO ONLY: discovery reads the demo sources (demo/discovery) and flags what it finds at once.
      DISCOVERY_DIR: fileURLToPath(new URL('../demo/discovery', import.meta.url)),
      DISCOVERY_FLAG_AFTER_HOURS: '0',
      ...(platform.secretFiles['app-registry-slack-webhook-url']
        ? { SLACK_WEBHOOK_URL_FILE: platform.secretFiles['app-registry-slack-webhook-url'] }
        : {}),
    }),
  });
}

export const service = defineAppRegistry();
