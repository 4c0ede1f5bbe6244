import type { Component, Logger } from '@micro-oncall/service-kit';
import { notInArray, sql } from 'drizzle-orm';
import { watchedComponents } from './aws-health-poller.js';
import { ensureWatchedComponents } from './aws-health-store.js';
import { awsHealthEndpoint, isAwsHealth, type Source } from './config/sources.js';
import * as schema from './db/schema.js';
import type { Db } from './store.js';

/**
 * Makes the `pages` table follow the sources file at start: new pages are due at once, changed
 * ones keep their state (a new URL forgets its validators), removed ones go with their
 * components and incidents (history stays).
 */
export function createSourcesSync(deps: {
  db: Db;
  sources: readonly Source[];
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
        for (const source of deps.sources) {
          // An aws-health source is polled at its Health API endpoint, or (EventBridge only) not at all.
          const s = isAwsHealth(source)
            ? {
                id: source.id,
                kind: source.kind,
                provider: source.provider,
                url: awsHealthEndpoint(source),
                intervalSeconds: source.describeEvents?.intervalSeconds ?? null,
                jitterSeconds: source.describeEvents?.jitterSeconds ?? 0,
              }
            : { ...source, kind: 'statuspage' as const };
          await tx
            .insert(schema.pages)
            .values({
              id: s.id,
              kind: s.kind,
              provider: s.provider,
              url: s.url,
              intervalSeconds: s.intervalSeconds,
              jitterSeconds: s.jitterSeconds,
            })
            .onConflictDoUpdate({
              target: schema.pages.id,
              set: {
                kind: s.kind,
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
      // AWS sends nothing while nothing is wrong: an EventBridge-only source's services read
      // operational from the start (a polled one's come with its first good poll).
      const at = new Date().toISOString();
      for (const source of deps.sources) {
        if (isAwsHealth(source) && !source.describeEvents) {
          await ensureWatchedComponents(deps.db, source.id, watchedComponents(source), at);
        }
      }
      deps.logger.info({ pages: deps.sources.length }, 'status pages configured');
      if (deps.sources.length > 0) await deps.onSynced?.();
    },
    async stop() {},
    async healthcheck() {
      return { healthy: true };
    },
  };
}
