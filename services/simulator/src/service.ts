import { createJwtVerifier, defineJob, defineService } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { createApp } from './app.js';
import { createAuditWriter } from './audit.js';
import { createIncidentEventsHandler } from './consumers/incident-events.js';
import * as schema from './db/schema.js';
import { createEngine, JOBS } from './engine.js';
import { configSchema } from './env.js';
import { createGameDays, GAME_DAY_JOBS } from './game-days/game-days.js';
import { createDrillMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { ApprovalPolicy } from './policy.js';
import { createBuiltinSync, createScenarioStore, loadBuiltinScenarios } from './scenarios/store.js';
import { createTargets } from './targets/index.js';

const RunJob = z.object({ runId: z.uuid() });
const GameDayOccurrence = z.object({ gameDayId: z.uuid(), at: z.iso.datetime({ offset: true }) });

/**
 * simulator: safe incident drills. Teams run versioned scenarios that fire synthetic alerts
 * (carrying the run id) at PagerDuty Events v2, Alertmanager and our own webhook-ingest; high
 * severity and production runs need a second person's MFA-backed approval; a kill switch,
 * aborts and auto-expiry resolve everything fired; every run's lifecycle goes out on `drills`.
 */
export const service = defineService({
  name: 'simulator',
  description:
    'Safe incident drills: synthetic alerts to PagerDuty Events v2, Alertmanager and our ingest, with approvals, kill switch and auto-expiry',
  config: configSchema,
  db: {
    schema: 'simulator',
    tables: schema,
    migrations: new URL('../drizzle', import.meta.url),
    runtimePrivileges: { audit_log: ['select', 'insert'] },
  },
  produces: ['drills'],
  // Incident events about the drills' incidents: what responders did, for the drill reports.
  consumes: ['incident-events'],
  openApi: openApiDocument,
  // Every route of the API lives under /drills (the chart's ingressPaths say the same).
  publicPaths: [{ path: '/drills', match: 'prefix' }],
  setup(ctx) {
    const { config, logger } = ctx;
    // Validated here, at start-up: a bad built-in stops the service with its file, field and line.
    const builtins = loadBuiltinScenarios();
    const scenarios = createScenarioStore(ctx.db);
    const audit = createAuditWriter(ctx.db);
    const metrics = createDrillMetrics(ctx.registry, ctx.db);
    const targets = createTargets(config, logger);
    const available = targets.available();
    logger.info({ staging: available.staging, production: available.production }, 'drill targets');
    const policy: ApprovalPolicy = {
      threshold: config.APPROVAL_SEVERITY_THRESHOLD,
      mfaMethods: config.APPROVAL_MFA_AMR_VALUES,
      mfaLevels: config.APPROVAL_MFA_ACR_VALUES,
      maxAuthAgeSeconds: config.APPROVAL_MAX_AUTH_AGE_SECONDS,
    };
    const engine = createEngine({
      db: ctx.db,
      pool: ctx.pool,
      outbox: ctx.outbox,
      jobs: ctx.jobs,
      targets,
      scenarios,
      audit,
      logger,
      metrics,
      policy,
      productionAllowed: config.PRODUCTION_DRILLS_ALLOWED,
      defaultMaxDurationMinutes: config.RUN_DEFAULT_MAX_DURATION_MINUTES,
      approvalTimeoutMinutes: config.APPROVAL_TIMEOUT_MINUTES,
      resendSeconds: config.ALERTMANAGER_RESEND_SECONDS,
    });
    // What responders did about each run's incidents (acknowledge, escalate, resolve), for its report.
    ctx.consume('incident-events', {
      groupId: config.KAFKA_CONSUMER_GROUP ?? `${config.KAFKA_TOPIC_NAMESPACE}-simulator`,
      handler: createIncidentEventsHandler({ db: ctx.db }),
    });
    const gameDays = createGameDays({
      db: ctx.db,
      jobs: ctx.jobs,
      engine,
      scenarios,
      audit,
      policy,
      logger,
    });
    const verifyToken = createJwtVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
      rolesClaim: config.OIDC_ROLES_CLAIM,
    });
    const runJob = (
      name: string,
      run: (runId: string) => Promise<unknown>,
      retry: { limit: number; delaySeconds: number },
    ) =>
      defineJob({
        name,
        data: RunJob,
        timeoutSeconds: 120,
        retry: { ...retry, backoff: true },
        async run({ runId }) {
          await run(runId);
        },
      });
    return {
      app: createApp({
        logger,
        registry: ctx.registry,
        db: ctx.db,
        verifyToken,
        components: ctx.components,
        engine,
        gameDays,
        scenarios,
        targets,
        audit,
        metrics,
        policy,
        productionAllowed: config.PRODUCTION_DRILLS_ALLOWED,
        defaultMaxDurationMinutes: config.RUN_DEFAULT_MAX_DURATION_MINUTES,
        flagSourceToken: config.FLAG_SOURCE_TOKEN,
      }),
      components: [createBuiltinSync({ store: scenarios, builtins, logger })],
      jobs: [
        runJob(JOBS.advance, engine.advance, { limit: 5, delaySeconds: 2 }),
        runJob(JOBS.expire, engine.expire, { limit: 10, delaySeconds: 5 }),
        // Until every alert is resolved: the minute sweep picks a run up again after the last retry.
        runJob(JOBS.settle, engine.settle, { limit: 10, delaySeconds: 2 }),
        runJob(JOBS.resend, engine.resend, { limit: 2, delaySeconds: 2 }),
        defineJob({
          name: JOBS.sweep,
          cron: '* * * * *',
          timeoutSeconds: 50,
          retry: { limit: 0, delaySeconds: 0 },
          async run(_data, job) {
            const enqueued = await engine.sweep();
            if (enqueued > 0) job.logger.info({ enqueued }, 'sweep enqueued overdue drill work');
          },
        }),
        // Recurring game days: one pending occurrence job per active game day (keyed by its id).
        defineJob({
          name: GAME_DAY_JOBS.occur,
          data: GameDayOccurrence,
          timeoutSeconds: 120,
          retry: { limit: 5, delaySeconds: 5, backoff: true },
          async run(data) {
            await gameDays.occur(data);
          },
        }),
        defineJob({
          name: GAME_DAY_JOBS.sweep,
          cron: '* * * * *',
          timeoutSeconds: 50,
          retry: { limit: 0, delaySeconds: 0 },
          async run(_data, job) {
            const repaired = await gameDays.sweep();
            if (repaired > 0) job.logger.info({ repaired }, 'sweep ran overdue game day occurrences');
          },
        }),
      ],
    };
  },
  devEnv: (platform) => ({
    OIDC_ISSUER: platform.oidc.issuer,
    OIDC_AUDIENCE: platform.oidc.audience,
    ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
    // Targets only where the local platform provides them (a fake PagerDuty Events, webhook-ingest).
    ...(platform.urls['pagerduty-events'] && platform.secretFiles['pagerduty-routing-key']
      ? {
          PAGERDUTY_EVENTS_URL: platform.urls['pagerduty-events'],
          PAGERDUTY_ROUTING_KEY_FILE: platform.secretFiles['pagerduty-routing-key'],
        }
      : {}),
    ...(platform.urls.alertmanager ? { ALERTMANAGER_URL: platform.urls.alertmanager } : {}),
    ...(platform.urls['webhook-ingest'] && platform.secretFiles['alertmanager-webhook-basic-auth']
      ? {
          INGEST_URL: platform.urls['webhook-ingest'],
          INGEST_FORMAT: 'alertmanager',
          INGEST_ALERTMANAGER_BASIC_AUTH_FILE: platform.secretFiles['alertmanager-webhook-basic-auth'],
        }
      : {}),
  }),
});
