import { Gauge, type Logger, type Registry } from '@micro-oncall/service-kit';
import { ne, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import type { Db } from './store.js';

/*
 * `app_registry_app_info{app_id, owner, team, tier, state} 1`: one series per app that is not
 * purged, so that telemetry tagged with an app id joins to its owner and team in dashboards and
 * alerts (`… * on(app_id) group_left(owner, team) app_registry_app_info`). Cardinality: one
 * series per app, its labels change only when the app does (owner, team, tier or state); at the
 * 250,000-app scale that is 250,000 series (about 30 MB of exposition per scrape), so the rows
 * are read at most every APP_INFO_REFRESH_SECONDS, and every replica exports the same series:
 * aggregate with max by (app_id, owner, team, tier, state) or scrape one replica for it, and turn
 * it off elsewhere with APP_INFO_METRIC=false (docs/runbooks/app-registry.md).
 * `app_registry_apps{state, tier}` counts apps with bounded labels (8 × 4).
 */
export function registerAppMetrics(opts: {
  db: Db;
  registry: Registry;
  logger: Logger;
  infoEnabled: boolean;
  refreshSeconds: number;
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  let infoReadAt = 0;
  let infoRows: { id: string; owner: string | null; team: string; tier: string | null; state: string }[] = [];
  if (opts.infoEnabled) {
    new Gauge({
      name: 'app_registry_app_info',
      help: 'One series per registered app (purged ones excepted), always 1: join telemetry on app_id to owner, team, tier and state',
      labelNames: ['app_id', 'owner', 'team', 'tier', 'state'] as const,
      registers: [opts.registry],
      async collect() {
        if (now() - infoReadAt >= opts.refreshSeconds * 1000) {
          try {
            infoRows = await opts.db
              .select({
                id: schema.apps.id,
                owner: schema.apps.ownerContact,
                team: schema.apps.teamName,
                tier: schema.apps.tier,
                state: schema.apps.state,
              })
              .from(schema.apps)
              .where(ne(schema.apps.state, 'purged'));
            infoReadAt = now();
          } catch (error) {
            opts.logger.warn({ err: error }, 'app_registry_app_info: reading the apps failed; serving the last values');
          }
        }
        this.reset();
        for (const r of infoRows) {
          this.set({ app_id: r.id, owner: r.owner ?? '', team: r.team, tier: r.tier ?? 'none', state: r.state }, 1);
        }
      },
    });
  }
  new Gauge({
    name: 'app_registry_apps',
    help: 'Registered apps by lifecycle state and risk tier (tier none: no decision yet)',
    labelNames: ['state', 'tier'] as const,
    registers: [opts.registry],
    async collect() {
      const rows = await opts.db
        .select({ state: schema.apps.state, tier: schema.apps.tier, n: sql<number>`count(*)::int` })
        .from(schema.apps)
        .groupBy(schema.apps.state, schema.apps.tier)
        .catch(() => null);
      if (!rows) return;
      this.reset();
      for (const r of rows) this.set({ state: r.state, tier: r.tier ?? 'none' }, r.n);
    },
  });
  new Gauge({
    name: 'app_registry_notifications_pending',
    help: 'Owner notices written and not yet delivered',
    registers: [opts.registry],
    async collect() {
      const [row] = await opts.db
        .select({ n: sql<number>`count(*)::int` })
        .from(schema.notifications)
        .where(sql`${schema.notifications.sentAt} is null`)
        .catch(() => [undefined]);
      if (row) this.set(row.n);
    },
  });
}
