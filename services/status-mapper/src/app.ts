import { fileURLToPath } from 'node:url';
import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import { sendPage, serveUiFolder, serveWebUi } from '@micro-oncall/web-ui';
import type { Express, RequestHandler } from 'express';
import type { CatalogueClient } from './catalogue.js';
import type { Mapping } from './config/mapping.js';
import type { AwsHealthSource } from './config/sources.js';
import type { MappingSourceState } from './mapping-reload.js';
import { openApiDocument } from './openapi.js';
import { createAwsHealthWebhookRouter, type EventBridgeAuth } from './routes/aws-health.js';
import { createFeedRouter } from './routes/feeds.js';
import { createMappingRouter } from './routes/mapping.js';
import { createStatusRouter } from './routes/status.js';
import { createWebhookRouter } from './routes/webhooks.js';
import type { Db, Store } from './store.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: Db;
  store: Store;
  mapping: () => Mapping;
  /** Where the mapping in force came from, and a rejected reload's error. */
  mappingState: () => MappingSourceState;
  /** Escalation's service catalogue, for GET /status/v1/mapping. */
  catalogue: CatalogueClient;
  pollNow: () => Promise<string>;
  verifyToken: TokenVerifier;
  webhookToken: string | undefined;
  /** AWS Health EventBridge deliveries: the aws-health sources and the API destination's credential. */
  awsHealth: { sources: readonly AwsHealthSource[]; auth: EventBridgeAuth };
  /** Read token of the Atom feed (`?token=`), besides a viewer JWT; unset = JWT only. */
  feedToken: string | undefined;
  /** The live stream of changes (stream.ts). */
  stream: { handler: RequestHandler };
  components: () => readonly Component[];
}

/** The status page's own browser files (index.html, app.js, view.js, model.js, app.css). */
export const UI_DIR = fileURLToPath(new URL('../ui', import.meta.url));

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
      app.use(createAwsHealthWebhookRouter({ ...deps.awsHealth, store: deps.store, logger: deps.logger }));
      // The Atom feed also takes its own read token, so its router authenticates each route itself.
      app.use(
        createFeedRouter({
          db: deps.db,
          mapping: deps.mapping,
          feedToken: deps.feedToken,
          authenticate: authenticate(deps.verifyToken),
          stream: deps.stream,
        }),
      );
      // The status page and its files are public (the product's shared look at /status/ui/common/);
      // the page reads the API below with the signed-in user's bearer token (ADR 0012).
      app.use(serveWebUi('/status'));
      app.use(serveUiFolder('/status', UI_DIR));
      const page = sendPage(UI_DIR);
      // Express matches /status and /status/ alike: /status is sent to /status/ (where the page lives).
      app.get('/status/', (req, res, next) => {
        if (req.path.endsWith('/')) page(req, res, next);
        else res.redirect(301, `/status/${req.originalUrl.slice('/status'.length)}`);
      });
      app.use('/status', authenticate(deps.verifyToken));
      app.use(createStatusRouter({ db: deps.db, mapping: deps.mapping, pollNow: deps.pollNow }));
      app.use(createMappingRouter(deps));
    },
  );
}
