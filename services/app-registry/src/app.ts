import { fileURLToPath } from 'node:url';
import {
  authenticate,
  type Component,
  createHttpApp,
  type Logger,
  type RefusalHook,
  type Registry,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import { sendPage, serveUiFolder, serveWebUi } from '@micro-oncall/web-ui';
import type { Express } from 'express';
import type { Cost } from './cost/cost.js';
import type { Discovery } from './discovery/index.js';
import type { Governance } from './governance.js';
import { openApiDocument } from './openapi.js';
import type { Ownership } from './ownership.js';
import type { PolicyEngine } from './policy.js';
import { createAppsRouter } from './routes/apps.js';
import { createCostRouter } from './routes/cost.js';
import { createDiscoveryRouter } from './routes/discovery.js';
import { createIdentityRouter } from './routes/identity.js';
import { createOwnersRouter } from './routes/owners.js';
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
  /** Ownership tasks, identity-provider events (a shared secret) and the governance view. */
  owners?: { ownership: Ownership; governance: Governance; identityEventsSecret: string | undefined };
  /** Discovery runs and their candidates. */
  discovery?: Discovery;
  /** Cost imports, chargeback, quotas and anomalies. */
  cost?: { cost: Cost; maxImportBytes: number; weeklyReportNow: () => Promise<string> };
}

/** The registry's own browser files (index.html, app.js, …): the pages at /apps/. */
export const UI_DIR = fileURLToPath(new URL('../ui', import.meta.url));

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
      // The identity provider authenticates with a shared secret, not a person's JWT: mounted first too.
      if (deps.owners) {
        const { ownership, identityEventsSecret } = deps.owners;
        app.use(createIdentityRouter({ ownership, secret: identityEventsSecret, now: deps.apps.nowIso }));
      }
      // The pages and their files are public (the shared look at /apps/ui/common/); the pages
      // read the API below with the signed-in user's bearer token (ADR 0012). /apps → /apps/.
      app.use(serveWebUi('/apps'));
      app.use(serveUiFolder('/apps', UI_DIR));
      const page = sendPage(UI_DIR);
      app.get(
        /^\/apps(?:\/|\/new|\/governance|\/exceptions|\/import|\/discovered|\/cost|\/app_[0-9a-f]{1,64})?$/,
        (req, res, next) => {
          if (req.path === '/apps') res.redirect(301, `/apps/${req.originalUrl.slice('/apps'.length)}`);
          else page(req, res, next);
        },
      );
      app.use('/apps', authenticate(deps.verifyToken));
      app.use(createAppsRouter({ registry: deps.apps, policy: deps.policy, sweepNow: deps.sweepNow }));
      app.use(createTransferRouter({ registry: deps.apps }));
      if (deps.owners) app.use(createOwnersRouter(deps.owners));
      if (deps.discovery) app.use(createDiscoveryRouter(deps.discovery));
      if (deps.cost) app.use(createCostRouter(deps.cost));
    },
  );
}
