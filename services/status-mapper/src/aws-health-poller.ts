import type { EventFilter } from '@aws-sdk/client-health';
import { and, eq, inArray } from 'drizzle-orm';
import { fromDescribedEvent, type HealthEvent, healthIncidentId, isWatched } from './aws-health.js';
import { createHealthApi, type HealthApi } from './aws-health-client.js';
import type { AwsHealthSource } from './config/sources.js';
import * as schema from './db/schema.js';
import type { Db, PageRow, Store } from './store.js';

/*
 * One poll of an aws-health source (the poll-pages job claims it like any page; poller.ts): the
 * open and upcoming events of its services and regions, plus those closed since a little before
 * the last good poll (so a closing is seen as such), each query to its last page; the
 * descriptions of the events that are new or changed since we last stored them; then the store
 * applies the whole as a snapshot. Any failure fails the poll as a whole (nothing is applied).
 */

export interface AwsHealthPolling {
  /** Polls `page`; resolves to the provider-status events written. Throws HealthApiError on failure. */
  poll(page: PageRow, nextDueAt: Date, signal?: AbortSignal): Promise<number>;
}

/** Closed events are asked for back to this long before the last good poll (and at least this far back). */
const CLOSED_OVERLAP_MS = 60 * 60_000;
/** How far back closings are asked for before any good poll. */
const FIRST_CLOSED_WINDOW_MS = 24 * 60 * 60_000;

export function createAwsHealthPolling(opts: {
  db: Db;
  store: Store;
  sources: readonly AwsHealthSource[];
  timeoutMs: number;
  /** See HealthSnapshot.graceMs; 10 minutes by default. */
  graceMs?: number;
  /** Tests may hand in their own API. */
  apiFor?: (source: AwsHealthSource) => HealthApi;
}): AwsHealthPolling {
  const sources = new Map(opts.sources.map((s) => [s.id, s]));
  const apis = new Map<string, HealthApi>();
  const apiFor = opts.apiFor ?? ((source) => createHealthApi(source, { timeoutMs: opts.timeoutMs }));

  return {
    async poll(page, nextDueAt, signal = new AbortController().signal) {
      const source = sources.get(page.id);
      if (!source?.describeEvents)
        throw new Error(`${page.id} is not a polled aws-health source in this replica's sources file`);
      let api = apis.get(source.id);
      if (!api) {
        api = apiFor(source);
        apis.set(source.id, api);
      }
      const startedAt = new Date();
      const scope: EventFilter = { services: source.services, regions: source.regions };
      const lastGood = page.lastSuccessAt ? Date.parse(page.lastSuccessAt) : null;
      const closedFrom = lastGood
        ? Math.min(lastGood, startedAt.getTime()) - CLOSED_OVERLAP_MS
        : startedAt.getTime() - FIRST_CLOSED_WINDOW_MS;
      const current = await api.describeEvents({ ...scope, eventStatusCodes: ['open', 'upcoming'] }, signal);
      const closed = await api.describeEvents(
        { ...scope, eventStatusCodes: ['closed'], lastUpdatedTimes: [{ from: new Date(closedFrom) }] },
        signal,
      );
      // An event listed twice (it closed between the two questions) counts as its latest self.
      const byArn = new Map<string, (typeof current)[number]>();
      for (const e of [...current, ...closed]) {
        if (!e.arn) continue;
        const seen = byArn.get(e.arn);
        if (!seen || (e.lastUpdatedTime?.getTime() ?? 0) >= (seen.lastUpdatedTime?.getTime() ?? 0)) byArn.set(e.arn, e);
      }
      const described = [...byArn.values()];

      // Descriptions only for what is new or changed since it was stored (DescribeEvents has none).
      const held = await storedUpdates(
        opts.db,
        page.id,
        described.map((e) => healthIncidentId(e.arn!)),
      );
      const wanted = described
        .filter((e) => e.statusCode !== 'closed')
        .filter((e) => held.get(healthIncidentId(e.arn!)) !== (e.lastUpdatedTime?.toISOString() ?? null))
        .map((e) => e.arn!);
      const descriptions = wanted.length > 0 ? await api.describeEventDetails(wanted, signal) : new Map();

      const events: HealthEvent[] = described
        .map((e) => fromDescribedEvent(e, descriptions.get(e.arn!) ?? null))
        .filter((e): e is HealthEvent => e !== null && isWatched(source, e));
      return opts.store.applyHealthEvents(page.id, events, {
        startedAt,
        graceMs: opts.graceMs ?? 10 * 60_000,
        watched: watchedComponents(source),
        nextDueAt,
      });
    },
  };
}

/** A source's services × regions, as region-level components. */
export function watchedComponents(source: AwsHealthSource) {
  return source.services.flatMap((service) =>
    source.regions.map((region) => ({ service, region, availabilityZone: null })),
  );
}

/** incident id → the provider's lastUpdatedTime we hold for it (ISO 8601). */
async function storedUpdates(db: Db, pageId: string, ids: string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: schema.providerIncidents.incidentId, at: schema.providerIncidents.providerUpdatedAt })
    .from(schema.providerIncidents)
    .where(and(eq(schema.providerIncidents.pageId, pageId), inArray(schema.providerIncidents.incidentId, ids)));
  return new Map(rows.map((r) => [r.id, r.at === null ? null : new Date(r.at).toISOString()]));
}
