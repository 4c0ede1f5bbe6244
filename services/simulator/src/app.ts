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
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import express, { type Express } from 'express';
import type { AuditWriter } from './audit.js';
import type * as schema from './db/schema.js';
import type { Engine } from './engine.js';
import { HARD_CAP_MINUTES } from './env.js';
import type { GameDays } from './game-days/game-days.js';
import type { DrillMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { ApprovalPolicy } from './policy.js';
import { createRefusals } from './refusals.js';
import { createAuditRouter } from './routes/audit.js';
import { createFlagsRouter } from './routes/flags.js';
import { createGameDaysRouter } from './routes/game-days.js';
import { createKillSwitchRouter } from './routes/kill-switch.js';
import { createReportsRouter } from './routes/reports.js';
import { createRunsRouter } from './routes/runs.js';
import { createScenariosRouter } from './routes/scenarios.js';
import { createSettingsRouter } from './routes/settings.js';
import type { ScenarioStore } from './scenarios/store.js';
import type { Targets } from './targets/index.js';

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  db: NodePgDatabase<typeof schema>;
  verifyToken: TokenVerifier;
  components: () => readonly Component[];
  engine: Engine;
  gameDays: GameDays;
  scenarios: ScenarioStore;
  targets: Targets;
  audit: AuditWriter;
  metrics: DrillMetrics;
  policy: ApprovalPolicy;
  productionAllowed: boolean;
  defaultMaxDurationMinutes: number;
  /** The token flagd presents to read the drill flags (FLAG_SOURCE_TOKEN); unset = no flag source. */
  flagSourceToken?: string | undefined;
}

/** The simulator's own browser files (index.html, app.js, …): the pages at /drills/. */
export const UI_DIR = fileURLToPath(new URL('../ui', import.meta.url));

/** The pages: scenarios (/drills/), runs and one run's page, the approvals inbox and the kill switch. */
const PAGE_PATHS = /^\/drills(?:\/|\/runs|\/runs\/[0-9a-f-]{36}|\/approvals|\/kill-switch)?$/;

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** The simulator HTTP app: every route under /drills. It never listens: the service-kit does. */
export function createApp(deps: AppDeps): Express {
  const refusals = createRefusals({ audit: deps.audit, metrics: deps.metrics, logger: deps.logger });
  return createHttpApp(
    {
      logger: deps.logger,
      registry: deps.registry,
      components: deps.components,
      trustProxy: 1,
      openApi: openApiDocument,
      // Every refused drill request is audited (see refusals.ts).
      onRefused: refusals.onRefused,
    },
    (app) => {
      // The pages and their files are public (the shared look at /drills/ui/common/); the pages
      // read the API below with the signed-in user's bearer token (ADR 0012). /drills → /drills/.
      app.use(serveWebUi('/drills'));
      app.use(serveUiFolder('/drills', UI_DIR));
      const page = sendPage(UI_DIR);
      app.get(PAGE_PATHS, (req, res, next) => {
        if (req.path === '/drills') res.redirect(301, `/drills/${req.originalUrl.slice('/drills'.length)}`);
        else page(req, res, next);
      });
      // flagd's HTTP sync: its own shared token, not a user's sign-in (before `authenticate`).
      app.use(
        createFlagsRouter({
          db: deps.db,
          token: deps.flagSourceToken,
          productionAllowed: deps.productionAllowed,
          refusals,
        }),
      );
      app.use(
        '/drills',
        express.json({ limit: '256kb' }),
        express.text({ type: YAML_TYPES, limit: '256kb' }),
        authenticate(deps.verifyToken),
      );
      app.use(createScenariosRouter({ store: deps.scenarios, audit: deps.audit, refusals }));
      app.use(createRunsRouter({ db: deps.db, engine: deps.engine, scenarios: deps.scenarios, refusals }));
      app.use(createKillSwitchRouter({ engine: deps.engine, refusals }));
      app.use(createGameDaysRouter({ gameDays: deps.gameDays, refusals }));
      app.use(createReportsRouter({ db: deps.db, scenarios: deps.scenarios, audit: deps.audit, refusals }));
      app.use(createAuditRouter({ db: deps.db }));
      app.use(
        createSettingsRouter({
          targets: deps.targets,
          policy: deps.policy,
          productionAllowed: deps.productionAllowed,
          defaultMaxDurationMinutes: deps.defaultMaxDurationMinutes,
          hardCapMinutes: HARD_CAP_MINUTES,
        }),
      );
    },
  );
}
