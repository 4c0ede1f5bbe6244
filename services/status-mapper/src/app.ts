import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import type { Express } from 'express';
import type { Mapping } from './config/mapping.js';
import { openApiDocument } from './openapi.js';
import { createStatusRouter } from './routes/status.js';
import { createWebhookRouter } from './routes/webhooks.js';
import type { Db, Store } from './store.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: Db;
  store: Store;
  mapping: () => Mapping;
  pollNow: () => Promise<string>;
  verifyToken: TokenVerifier;
  webhookToken: string | undefined;
  components: () => readonly Component[];
}

/** The status-mapper HTTP app. It never listens: the service-kit does. */
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
      // Webhooks carry their own credential (a token), not a person's JWT: mounted first.
      app.use(createWebhookRouter({ token: deps.webhookToken, store: deps.store, logger: deps.logger }));
      app.use('/status', authenticate(deps.verifyToken));
      app.use(createStatusRouter({ db: deps.db, mapping: deps.mapping, pollNow: deps.pollNow }));
    },
  );
}
