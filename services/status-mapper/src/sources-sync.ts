import type { Component, Logger } from '@micro-oncall/service-kit';
import { notInArray, sql } from 'drizzle-orm';
import type { PageSource } from './config/sources.js';
import * as schema from './db/schema.js';
import type { Db } from './store.js';

/**
 * Makes the `pages` table follow the sources file at start: new pages are due at once, changed
 * ones keep their state (a new URL forgets its validators), removed ones go with their
 * components and incidents (history stays).
 */
export function createSourcesSync(deps: {
  db: Db;
  sources: readonly PageSource[];
  logger: Logger;
  /** Called once the table follows the file (to poll due pages now rather than at the next tick). */
  onSynced?: () => Promise<unknown>;
}): Component {
  return {
    id: 'sources',
    async start() {
      await deps.db.transaction(async (tx) => {
        // Replicas starting together apply the same file one after the other.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext('status_mapper.sources-sync'))`);
        for (const s of deps.sources) {
          await tx
            .insert(schema.pages)
            .values({
              id: s.id,
              provider: s.provider,
              url: s.url,
              intervalSeconds: s.intervalSeconds,
              jitterSeconds: s.jitterSeconds,
            })
            .onConflictDoUpdate({
              target: schema.pages.id,
              set: {
                provider: s.provider,
                url: s.url,
                intervalSeconds: s.intervalSeconds,
                jitterSeconds: s.jitterSeconds,
                etag: sql`case when ${schema.pages.url} = ${s.url} then ${schema.pages.etag} end`,
                lastModified: sql`case when ${schema.pages.url} = ${s.url} then ${schema.pages.lastModified} end`,
              },
            });
        }
        const ids = deps.sources.map((s) => s.id);
        await tx.delete(schema.pages).where(ids.length > 0 ? notInArray(schema.pages.id, ids) : sql`true`);
      });
      deps.logger.info({ pages: deps.sources.length }, 'status pages configured');
      if (deps.sources.length > 0) await deps.onSynced?.();
    },
    async stop() {},
    async healthcheck() {
      return { healthy: true };
    },
  };
}
