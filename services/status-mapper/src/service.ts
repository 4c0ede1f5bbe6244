import { createJwtVerifier, defineJob, defineService } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { createApp } from './app.js';
import { createAwsHealthPolling } from './aws-health-poller.js';
import { createCatalogueClient } from './catalogue.js';
import { isAwsHealth, loadSources, type Source } from './config/sources.js';
import * as schema from './db/schema.js';
import { configSchema } from './env.js';
import { createMappingWatcher } from './mapping-reload.js';
import { openApiDocument } from './openapi.js';
import { createPoller, tickWindowEnd } from './poller.js';
import { createSourcesSync } from './sources-sync.js';
import { createStore } from './store.js';
import { createStatusStream } from './stream.js';

/**
 * status-mapper: polls provider status pages (Statuspage v2 summary.json) and takes their
 * webhooks, keeps each component's condition and its history, publishes every change on
 * `provider-status` through the outbox, and answers which internal services a provider affects.
 */
export const service = defineService({
  name: 'status-mapper',
  description: 'External provider status mapped onto internal services',
  config: configSchema,
  db: { schema: 'status_mapper', tables: schema, migrations: new URL('../drizzle', import.meta.url) },
  produces: ['provider-status'],
  consumes: [],
  openApi: openApiDocument,
  // The status page, its files, the API and the Statuspage webhook: everything lives under /status.
  publicPaths: [{ path: '/status', match: 'prefix' }],
  setup(ctx) {
    const { config, logger } = ctx;
    // Both files are validated here, at start-up: a bad file stops the service with its line numbers.
    const sources: Source[] = config.STATUS_SOURCES_FILE ? loadSources(config.STATUS_SOURCES_FILE) : [];
    const awsHealthSources = sources.filter(isAwsHealth);
    if (!config.AWS_HEALTH_WEBHOOK_BASIC_USERNAME !== !config.AWS_HEALTH_WEBHOOK_BASIC_PASSWORD) {
      throw new Error('set both AWS_HEALTH_WEBHOOK_BASIC_USERNAME and AWS_HEALTH_WEBHOOK_BASIC_PASSWORD, or neither');
    }
    if (!config.STATUS_SOURCES_FILE) logger.warn('STATUS_SOURCES_FILE not set: no status pages are watched');
    // The mapping is then reloaded without a restart when its file changes (src/mapping-reload.ts).
    const mapping = createMappingWatcher({
      file: config.STATUS_MAPPING_FILE ?? null,
      knownPages: sources.map((s) => s.id),
      intervalMs: config.MAPPING_RELOAD_INTERVAL_MS,
      logger,
      registry: ctx.registry,
      // Components whose services changed get an event, so live incidents move with the mapping.
      onChange: async (previous) => {
        const events = await store.announceRemapped((component) => previous.servicesFor(component));
        if (events > 0) logger.info({ events }, 'mapping reload re-mapped components: provider-status events written');
      },
    });
    const store = createStore({
      db: ctx.db,
      outbox: ctx.outbox,
      staleAfter: config.POLL_STALE_AFTER_FAILURES,
      // Asked as each event is written: the mapping in force at that moment.
      servicesFor: (component) => mapping.current().servicesFor(component),
    });
    const poller = createPoller({
      db: ctx.db,
      store,
      logger,
      registry: ctx.registry,
      timeoutMs: config.POLL_TIMEOUT_MS,
      concurrency: config.POLL_CONCURRENCY,
      maxBackoffSeconds: config.POLL_MAX_BACKOFF_SECONDS,
      awsHealth: createAwsHealthPolling({
        db: ctx.db,
        store,
        sources: awsHealthSources,
        timeoutMs: config.POLL_TIMEOUT_MS,
      }),
    });
    const verifyToken = createJwtVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
      rolesClaim: config.OIDC_ROLES_CLAIM,
    });
    // GET /status/v1/stream: changes committed by any replica, through LISTEN/NOTIFY (src/stream.ts).
    const stream = createStatusStream({
      databaseUrl: config.DATABASE_URL,
      db: ctx.db,
      mapping: () => mapping.current(),
      logger,
      registry: ctx.registry,
      limits: {
        maxConnections: config.STATUS_STREAM_MAX_CONNECTIONS,
        catchUpMax: config.STATUS_STREAM_CATCH_UP_MAX,
        heartbeatMs: config.STATUS_STREAM_HEARTBEAT_SECONDS * 1000,
      },
    });
    const app = createApp({
      logger,
      registry: ctx.registry,
      db: ctx.db,
      store,
      mapping: () => mapping.current(),
      mappingState: () => mapping.state(),
      catalogue: createCatalogueClient({
        baseUrl: config.ESCALATION_URL,
        timeoutMs: config.ESCALATION_TIMEOUT_MS,
        cacheSeconds: config.CATALOGUE_CACHE_SECONDS,
        logger,
      }),
      pollNow: () => ctx.jobs.runNow('poll-pages-now', {}),
      verifyToken,
      webhookToken: config.STATUSPAGE_WEBHOOK_TOKEN,
      awsHealth: {
        sources: awsHealthSources,
        auth: {
          ...(config.AWS_HEALTH_WEBHOOK_API_KEY
            ? { apiKey: { header: config.AWS_HEALTH_WEBHOOK_AUTH_HEADER, value: config.AWS_HEALTH_WEBHOOK_API_KEY } }
            : {}),
          ...(config.AWS_HEALTH_WEBHOOK_BASIC_USERNAME && config.AWS_HEALTH_WEBHOOK_BASIC_PASSWORD
            ? {
                basic: {
                  username: config.AWS_HEALTH_WEBHOOK_BASIC_USERNAME,
                  password: config.AWS_HEALTH_WEBHOOK_BASIC_PASSWORD,
                },
              }
            : {}),
        },
      },
      feedToken: config.STATUS_FEED_TOKEN,
      stream,
      components: ctx.components,
    });
    const pollPages = defineJob({
      name: 'poll-pages',
      // Each page keeps its own interval and jitter (next_due_at). A tick's run polls the pages
      // as they fall due until just after the next tick's run is queued (poller.ts, tickWindowEnd),
      // so pages are polled on time whatever the minute tick.
      cron: '* * * * *',
      // `force`: a "poll now" queued by a replica of the previous version (now poll-pages-now).
      data: z.object({ force: z.boolean().optional() }).optional(),
      timeoutSeconds: 240,
      retry: { limit: 0, delaySeconds: 0 },
      async run(data, job) {
        const outcomes = data?.force
          ? await poller.pollDue({ force: true, signal: job.signal })
          : await poller.pollUntil(tickWindowEnd(new Date()), { signal: job.signal });
        const failed = outcomes.filter((o) => o.outcome === 'failed').length;
        job.logger.debug({ polled: outcomes.length, failed }, 'status pages polled');
      },
    });
    // Operators' "poll now" (and tests): every page not being polled at this moment, whatever its
    // next time. Its own queue, so that it does not wait behind the running tick.
    const pollPagesNow = defineJob({
      name: 'poll-pages-now',
      data: z.object({}).optional(),
      timeoutSeconds: 240,
      retry: { limit: 0, delaySeconds: 0 },
      async run(_data, job) {
        const outcomes = await poller.pollDue({ force: true, signal: job.signal });
        const failed = outcomes.filter((o) => o.outcome === 'failed').length;
        job.logger.debug({ polled: outcomes.length, failed }, 'status pages polled now');
      },
    });
    return {
      app,
      components: [
        // Stops before the job runner: the running tick's loop ends at once.
        poller,
        mapping,
        stream,
        createSourcesSync({
          db: ctx.db,
          sources,
          logger,
          // Due pages (new ones are due at once) are polled from start-up on, not from the next minute.
          onSynced: () => ctx.jobs.runNow('poll-pages', {}),
        }),
      ],
      jobs: [pollPages, pollPagesNow],
    };
  },
  devEnv: (platform) => ({
    OIDC_ISSUER: platform.oidc.issuer,
    OIDC_AUDIENCE: platform.oidc.audience,
    ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
    // DEMO ONLY when npm start provides them (scripts/lib/demo-status.ts); other platforms watch nothing.
    ...(platform.files['status-sources'] ? { STATUS_SOURCES_FILE: platform.files['status-sources'] } : {}),
    ...(platform.files['status-mapping'] ? { STATUS_MAPPING_FILE: platform.files['status-mapping'] } : {}),
    // Escalation starts after status-mapper; the platform picks every service's port before starting any.
    ...(platform.urls.escalation ? { ESCALATION_URL: platform.urls.escalation } : {}),
    ...(platform.secretFiles['statuspage-webhook-token']
      ? { STATUSPAGE_WEBHOOK_TOKEN_FILE: platform.secretFiles['statuspage-webhook-token'] }
      : {}),
    ...(platform.secretFiles['aws-health-webhook-api-key']
      ? { AWS_HEALTH_WEBHOOK_API_KEY_FILE: platform.secretFiles['aws-health-webhook-api-key'] }
      : {}),
  }),
});
