import {
  createLiveStream,
  type LiveStream,
  type LiveStreamLimits,
  type Logger,
  type Registry,
  type Session,
  type SessionEvent,
} from '@micro-oncall/service-kit';
import { asc, count, gt, max, sql } from 'drizzle-orm';
import type { ServiceCatalogue } from './catalogue.js';
import { LIVE_CHANNEL } from './consumers/incident-sql.js';
import { incidents } from './db/schema.js';
import type { EscalationDb, IncidentRow } from './db/types.js';
import { type GroupSummary, groupsForIncidents } from './grouping.js';
import { handlingForIncidents, type IncidentHandling, NO_HANDLING } from './handling.js';
import { presentWithOwnership } from './present.js';
import { conditionsForIncidents, type ProviderConditionView } from './provider-context.js';

/** An incident row with the provider conditions affecting it and its handling, read with it. */
interface AnnotatedIncident {
  row: IncidentRow;
  providerConditions: ProviderConditionView[];
  handling: IncidentHandling;
  group: GroupSummary | null;
}

export type LiveFeedLimits = LiveStreamLimits;

/**
 * Server-Sent Events feed of incident changes (`GET /v1/stream`), on the service-kit's live
 * stream (packages/service-kit/src/live-stream.ts: LISTEN/NOTIFY across replicas, bounded
 * catch-up with `reset`, caps, heartbeats, streams ended with their session or token). Each
 * event is `incident`, its id the incident's change_seq, which the consumer draws and NOTIFYs
 * in the transaction that applies the change.
 */
export function createLiveFeed(deps: {
  databaseUrl: string;
  db: EscalationDb;
  catalogue: ServiceCatalogue;
  logger: Logger;
  registry?: Registry;
  /** The browser sessions, to end streams whose session ended or changed. */
  sessions?: {
    current(id: string): Promise<Session | null>;
    subscribe(listener: (event: SessionEvent) => void): () => void;
  };
  limits?: Partial<LiveFeedLimits>;
}): LiveStream {
  const annotate = async (rows: IncidentRow[]): Promise<AnnotatedIncident[]> => {
    const [conditions, handling, groups] = await Promise.all([
      conditionsForIncidents(deps.db, rows),
      handlingForIncidents(deps.db, rows),
      groupsForIncidents(deps.db, rows),
    ]);
    return rows.map((row) => ({
      row,
      providerConditions: conditions.get(row.id) ?? [],
      handling: handling.get(row.id) ?? NO_HANDLING,
      group: (row.groupId && groups.get(row.groupId)) || null,
    }));
  };
  return createLiveStream<AnnotatedIncident>({
    what: 'incident changes',
    channel: LIVE_CHANNEL,
    databaseUrl: deps.databaseUrl,
    applicationName: 'escalation-live-feed',
    logger: deps.logger,
    registry: deps.registry,
    sessions: deps.sessions,
    limits: deps.limits,
    source: {
      after: async (seq, limit) =>
        annotate(
          await deps.db
            .select()
            .from(incidents)
            .where(gt(incidents.changeSeq, seq))
            .orderBy(asc(incidents.changeSeq))
            .limit(limit),
        ),
      async countAfter(seq, limit) {
        const behind = deps.db
          .select({ one: sql`1` })
          .from(incidents)
          .where(gt(incidents.changeSeq, seq))
          .limit(limit)
          .as('behind');
        const [row] = await deps.db.select({ n: count() }).from(behind);
        return Number(row?.n ?? 0);
      },
      async head() {
        const [row] = await deps.db.select({ seq: max(incidents.changeSeq) }).from(incidents);
        return Number(row?.seq ?? 0);
      },
      position: ({ row }) => row.changeSeq,
      event: ({ row, providerConditions, handling, group }) => ({
        name: 'incident',
        data: presentWithOwnership(row, deps.catalogue, providerConditions, handling, group),
      }),
    },
  });
}
