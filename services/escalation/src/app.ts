import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import type { Express } from 'express';
import type { ServiceCatalogue } from './catalogue.js';
import type { EscalationDb } from './consumers/incident-events.js';
import { createIncidentsRouter } from './routes/incidents.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: EscalationDb;
  catalogue: ServiceCatalogue;
  verifyToken: TokenVerifier;
  components: () => readonly Component[];
}

/** The escalation HTTP app. It never listens: main.ts does. Every /v1 route needs a bearer JWT. */
export function createApp(deps: AppDeps): Express {
  return createHttpApp(
    { logger: deps.logger, registry: deps.registry, components: deps.components, trustProxy: 1 },
    (app) => {
      app.use('/v1', authenticate(deps.verifyToken));
      app.use(createIncidentsRouter(deps));
    },
  );
}
