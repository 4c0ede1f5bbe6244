import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type RefusalHook,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import type { Express } from 'express';
import { openApiDocument } from './openapi.js';
import type { PolicyEngine } from './policy.js';
import { createAppsRouter } from './routes/apps.js';
import { createPipelineRouter } from './routes/pipeline.js';
import { createTransferRouter } from './routes/transfer.js';
import type { Registry as AppRegistry } from './store.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  apps: AppRegistry;
  policy: PolicyEngine;
  verifyToken: TokenVerifier;
  sweepNow: () => Promise<string>;
  onRefused: RefusalHook;
  components: () => readonly Component[];
}

/** The app-registry HTTP app, every route under /apps. It never listens: the service-kit does. */
export function createApp(deps: AppDeps): Express {
  return createHttpApp(
    {
      logger: deps.logger,
      registry: deps.registry,
      components: deps.components,
      trustProxy: 1,
      openApi: openApiDocument,
      onRefused: deps.onRefused,
    },
    (app) => {
      // Pipelines authenticate with the app's own token, not a person's JWT: mounted first.
      app.use(createPipelineRouter({ registry: deps.apps }));
      app.use('/apps', authenticate(deps.verifyToken));
      app.use(createAppsRouter({ registry: deps.apps, policy: deps.policy, sweepNow: deps.sweepNow }));
      app.use(createTransferRouter({ registry: deps.apps }));
    },
  );
}
