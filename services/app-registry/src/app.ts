import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import express, { type Express } from 'express';
import type * as schema from './db/schema.js';
import { openApiDocument } from './openapi.js';
import { createActivityRouter } from './routes/activity.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: NodePgDatabase<typeof schema>;
  verifyToken: TokenVerifier;
  components: () => readonly Component[];
}

/** The app-registry HTTP app. It never listens: the service-kit does. */
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
      app.use('/v1', express.json({ limit: '64kb' }), authenticate(deps.verifyToken));
      app.use(createActivityRouter(deps));
    },
  );
}
