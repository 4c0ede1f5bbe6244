import { defineService, Gauge, required } from '@micro-oncall/service-kit';
import { createApp } from './app.js';
import { configSchema } from './env.js';
import { EventLoopDelayGuard } from './limits.js';
import { createIngestMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';

/**
 * webhook-ingest: authenticates, validates and normalises provider webhooks and publishes them
 * as incident events. It publishes directly (not through the outbox): a webhook is answered 202
 * only after Kafka acknowledged its events, so the provider retries whatever was not stored.
 */
export const service = defineService({
  name: 'webhook-ingest',
  description: 'PagerDuty, Opsgenie and Alertmanager webhooks, authenticated, normalised, published as incident events',
  config: configSchema,
  db: { schema: 'ingest', tables: {}, migrations: new URL('../drizzle', import.meta.url) },
  produces: ['incident-events'],
  consumes: [],
  publishing: 'direct',
  openApi: openApiDocument,
  // The provider endpoints (longer than escalation's /v1, so they win behind one host).
  publicPaths: [{ path: '/v1/webhooks', match: 'prefix' }],
  setup: (ctx) => {
    const loopDelay = new EventLoopDelayGuard({
      limitMs: ctx.config.WEBHOOK_MAX_EVENT_LOOP_DELAY_MS,
      shedAt: ctx.config.WEBHOOK_SHED_AT_LOOP_UTILISATION,
      // More connections open than webhooks it admits at once: the rest are a queue.
      connections: () => ctx.http.open(),
      maxConnections: ctx.config.WEBHOOK_MAX_IN_FLIGHT,
    });
    new Gauge({
      name: 'webhook_shed_share',
      help: 'Share of webhooks this replica refuses at random (503 overloaded) while its event loop stays saturated (WEBHOOK_SHED_AT_LOOP_UTILISATION)',
      registers: [ctx.registry],
      // A share: over worker processes (WORKER_PROCESSES) their mean, not their sum.
      aggregator: 'average',
      collect() {
        this.set(loopDelay.shedShare);
      },
    });
    return {
      components: [loopDelay],
      app: createApp({
        config: ctx.config,
        logger: ctx.logger,
        registry: ctx.registry,
        metrics: createIngestMetrics(ctx.registry),
        pool: ctx.pool,
        events: ctx.events,
        loopDelay,
        components: ctx.components,
      }),
      jobs: [
        {
          // Replays are dropped by event id for DEDUP_RETENTION_HOURS; older ids are pruned hourly.
          name: 'dedup-cleanup',
          cron: '17 * * * *',
          async run() {
            const { rowCount } = await ctx.pool.query(
              'delete from ingest.received_events where received_at < now() - make_interval(hours => $1)',
              [ctx.config.DEDUP_RETENTION_HOURS],
            );
            ctx.logger.info({ deleted: rowCount }, 'pruned accepted event ids past the dedup retention');
          },
        },
        {
          // Ignored webhooks are kept for inspection for IGNORED_EVENTS_RETENTION_HOURS, then pruned hourly.
          name: 'ignored-events-cleanup',
          cron: '47 * * * *',
          async run() {
            const { rowCount } = await ctx.pool.query(
              'delete from ingest.ignored_events where received_at < now() - make_interval(hours => $1)',
              [ctx.config.IGNORED_EVENTS_RETENTION_HOURS],
            );
            ctx.logger.info({ deleted: rowCount }, 'pruned ignored webhooks past their retention');
          },
        },
      ],
    };
  },
  devEnv: (platform) => ({
    PAGERDUTY_WEBHOOK_SECRETS_FILE: required(platform.secretFiles, 'pagerduty-webhook-secrets', 'webhook-ingest'),
    OPSGENIE_WEBHOOK_TOKEN_FILE: required(platform.secretFiles, 'opsgenie-webhook-token', 'webhook-ingest'),
    ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: required(
      platform.secretFiles,
      'alertmanager-webhook-basic-auth',
      'webhook-ingest',
    ),
  }),
});
