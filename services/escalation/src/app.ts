import { fileURLToPath } from 'node:url';
import {
  authenticateRequest,
  type Component,
  createHttpApp,
  createOidcRouter,
  type Logger,
  type OidcLoginOptions,
  type Outbox,
  type Registry,
  requireRole,
  type SessionManager,
  type TokenVerifier,
} from '@micro-oncall/service-kit';
import { sendPage, serveUiFolder, serveWebUi } from '@micro-oncall/web-ui';
import express, { type Express, type Request } from 'express';
import type { AuditWriter } from './audit.js';
import type { ServiceCatalogue } from './catalogue.js';
import type { EscalationDb, IncidentRow } from './db/types.js';
import { openApiDocument } from './openapi.js';
import type { ProviderActions } from './providers/types.js';
import { createRefusalAudit } from './refusals.js';
import { createActionsRouter } from './routes/actions.js';
import { createAuditRouter } from './routes/audit.js';
import { createGroupingRouter } from './routes/grouping.js';
import { createIncidentsRouter } from './routes/incidents.js';
import { createServicesRouter } from './routes/services.js';
import { createStatsRouter } from './routes/stats.js';
import { createTargetsRouter } from './routes/targets.js';

export const UI_DIR = fileURLToPath(new URL('../ui', import.meta.url));

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: EscalationDb;
  catalogue: ServiceCatalogue;
  verifyToken: TokenVerifier;
  sessions: SessionManager;
  oidc: Omit<OidcLoginOptions, 'sessions' | 'logger' | 'onSignIn' | 'onSignOut'>;
  audit: AuditWriter;
  providers: { forProvider(provider: string): ProviderActions | null };
  outbox: Outbox;
  live: { handler: express.RequestHandler };
  onEscalated?: (incident: IncidentRow, detail: string) => void;
  /** Overall bound of one provider action (ACTION_DEADLINE_MS). */
  actionDeadlineMs?: number;
  components: () => readonly Component[];
}

/** The escalation HTTP app: API, sign-in, live feed and dashboard. It never listens: the service-kit does. */
export function createApp(deps: AppDeps): Express {
  return createHttpApp(
    {
      logger: deps.logger,
      registry: deps.registry,
      components: deps.components,
      trustProxy: 1,
      openApi: openApiDocument,
      // Every 401/403 is audited as `denied` (unidentified callers rate-limited: see refusals.ts).
      onRefused: createRefusalAudit({ audit: deps.audit, logger: deps.logger }).onRefused,
    },
    (app) => {
      app.use(
        createOidcRouter({
          ...deps.oidc,
          sessions: deps.sessions,
          logger: deps.logger,
          onSignIn: async (principal, req: Request) => {
            await deps.audit({
              actor: principal,
              action: 'sign_in',
              outcome: 'succeeded',
              detail: `signed in with roles ${principal.roles.join(', ') || '(none)'}`,
              requestId: req.id,
            });
          },
          onSignOut: async (principal, req: Request) => {
            await deps.audit({
              actor: principal,
              action: 'sign_out',
              outcome: 'succeeded',
              detail: 'signed out',
              requestId: req.id,
            });
          },
        }),
      );
      app.use(
        '/v1',
        express.json({ limit: '64kb' }),
        authenticateRequest({ verifyToken: deps.verifyToken, sessions: deps.sessions }),
      );
      app.get('/v1/stream', requireRole('viewer'), deps.live.handler);
      app.use(createIncidentsRouter(deps));
      app.use(createActionsRouter(deps));
      app.use(createGroupingRouter(deps));
      app.use(createAuditRouter(deps));
      app.use(createServicesRouter(deps));
      app.use(createStatsRouter(deps));
      app.use(createTargetsRouter(deps));

      // The product's shared look (packages/web-ui) at /ui/common/, the dashboard's own files at
      // /ui/, and its pages with the product's one Content-Security-Policy (no inline script or
      // style, nothing from elsewhere: text from a webhook can never run).
      app.use(serveWebUi(''));
      app.use(serveUiFolder('', UI_DIR));
      app.get(['/', '/incidents/:id', '/audit', '/figures'], sendPage(UI_DIR));
    },
  );
}
