import { createJwtVerifier, defineJob, defineService } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { createApp } from './app.js';
import { Mapping } from './config/mapping.js';
import { loadSources, type PageSource } from './config/sources.js';
import * as schema from './db/schema.js';
import { configSchema } from './env.js';
import { openApiDocument } from './openapi.js';
import { createPoller } from './poller.js';
import { createSourcesSync } from './sources-sync.js';
import { createStore } from './store.js';

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
  setup(ctx) {
    const { config, logger } = ctx;
    // Both files are validated here, at start-up: a bad file stops the service with its line numbers.
    const sources: PageSource[] = config.STATUS_SOURCES_FILE ? loadSources(config.STATUS_SOURCES_FILE) : [];
    if (!config.STATUS_SOURCES_FILE) logger.warn('STATUS_SOURCES_FILE not set: no status pages are watched');
    const mapping = config.STATUS_MAPPING_FILE
      ? Mapping.fromFile(
          config.STATUS_MAPPING_FILE,
          sources.map((s) => s.id),
        )
      : Mapping.empty();
    const store = createStore({ db: ctx.db, outbox: ctx.outbox, staleAfter: config.POLL_STALE_AFTER_FAILURES });
    const poller = createPoller({
      db: ctx.db,
      store,
      logger,
      registry: ctx.registry,
      timeoutMs: config.POLL_TIMEOUT_MS,
      concurrency: config.POLL_CONCURRENCY,
      maxBackoffSeconds: config.POLL_MAX_BACKOFF_SECONDS,
    });
    const verifyToken = createJwtVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      ...(config.OIDC_JWKS_URL ? { jwksUrl: config.OIDC_JWKS_URL } : {}),
      rolesClaim: config.OIDC_ROLES_CLAIM,
    });
    const app = createApp({
      logger,
      registry: ctx.registry,
      db: ctx.db,
      store,
      mapping: () => mapping,
      pollNow: () => ctx.jobs.runNow('poll-pages', { force: true }),
      verifyToken,
      webhookToken: config.STATUSPAGE_WEBHOOK_TOKEN,
      components: ctx.components,
    });
    const pollPages = defineJob({
      name: 'poll-pages',
      // Each page keeps its own interval and jitter (next_due_at); the tick polls whichever are due.
      cron: '* * * * *',
      // `force` polls every page now whatever its next time (operators' "poll now", tests).
      data: z.object({ force: z.boolean().optional() }).optional(),
      timeoutSeconds: 240,
      retry: { limit: 0, delaySeconds: 0 },
      async run(data, job) {
        const outcomes = await poller.pollDue({ force: data?.force ?? false, signal: job.signal });
        const failed = outcomes.filter((o) => o.outcome === 'failed').length;
        job.logger.debug({ polled: outcomes.length, failed }, 'status pages polled');
      },
    });
    return {
      app,
      components: [
        createSourcesSync({
          db: ctx.db,
          sources,
          logger,
          // Due pages (new ones are due at once) are polled at start-up, not at the next minute.
          onSynced: () => ctx.jobs.runNow('poll-pages', {}),
        }),
      ],
      jobs: [pollPages],
    };
  },
  devEnv: (platform) => ({
    OIDC_ISSUER: platform.oidc.issuer,
    OIDC_AUDIENCE: platform.oidc.audience,
    ...(platform.oidc.jwksUrl ? { OIDC_JWKS_URL: platform.oidc.jwksUrl } : {}),
    // DEMO ONLY when npm start provides them (scripts/lib/demo-status.ts); other platforms watch nothing.
    ...(platform.files['status-sources'] ? { STATUS_SOURCES_FILE: platform.files['status-sources'] } : {}),
    ...(platform.files['status-mapping'] ? { STATUS_MAPPING_FILE: platform.files['status-mapping'] } : {}),
    ...(platform.secretFiles['statuspage-webhook-token']
      ? { STATUSPAGE_WEBHOOK_TOKEN_FILE: platform.secretFiles['statuspage-webhook-token'] }
      : {}),
  }),
});
