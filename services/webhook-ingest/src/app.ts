import {
  type Component,
  createHttpApp,
  type DirectPublisher,
  type Logger,
  type Registry,
} from '@micro-oncall/service-kit';
import type { Express } from 'express';
import type pg from 'pg';

import type { Config } from './env.js';
import type { EventLoopDelayGuard } from './limits.js';
import type { IngestMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { createWebhookRouter } from './routes/webhooks.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  registry: Registry;
  metrics: IngestMetrics;
  pool: pg.Pool;
  events: DirectPublisher;
  loopDelay: EventLoopDelayGuard;
  components: () => readonly Component[];
}

/** The webhook-ingest HTTP app. It never listens: the service-kit does. */
export function createApp(deps: AppDeps): Express {
  return createHttpApp(
    {
      logger: deps.logger,
      registry: deps.registry,
      components: deps.components,
      trustProxy: 1,
      openApi: openApiDocument,
    },
    (app) => {
      app.use(createWebhookRouter(deps));
    },
  );
}
