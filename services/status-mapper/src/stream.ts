import {
  createLiveStream,
  type LiveStream,
  type LiveStreamLimits,
  type Logger,
  OverloadedError,
  type Registry,
} from '@micro-oncall/service-kit';
import type { Mapping } from './config/mapping.js';
import { type ChangeRecord, changesAfter, countChangesAfter, lastChangePosition } from './history.js';
import { COMPONENT_CHANGES_CHANNEL, type Db } from './store.js';

/**
 * `GET /status/v1/stream`: Server-Sent Events of provider component condition changes as they
 * are committed, on the service-kit's live stream. Each is `event: change`, `id:` the change's
 * position in the history (`component_changes.id`), data the `ProviderStatusChange` with the
 * internal services the component maps to now. Every replica LISTENs on the channel the store
 * NOTIFYs when it commits a change, so a change written by another replica's poll reaches this
 * replica's streams. A client reconnecting with Last-Event-ID gets what it missed, up to
 * `catchUpMax` changes; further behind, `event: reset` tells it to re-read `/status/internal`.
 * Over `maxConnections` streams on a replica: 503 with Retry-After.
 */
export function createStatusStream(deps: {
  databaseUrl: string;
  db: Db;
  mapping: () => Mapping;
  logger: Logger;
  registry: Registry;
  limits: Partial<LiveStreamLimits>;
}): LiveStream {
  return createLiveStream<ChangeRecord>({
    what: 'provider status changes',
    channel: COMPONENT_CHANGES_CHANNEL,
    databaseUrl: deps.databaseUrl,
    applicationName: 'status-mapper-stream',
    logger: deps.logger,
    registry: deps.registry,
    limits: deps.limits,
    overCapacity: (max) =>
      new OverloadedError(
        `the status stream is at its limit of ${max} connections on this server; retry shortly (or read /status/internal)`,
        10,
      ),
    resetHint: { reread: '/status/internal' },
    source: {
      after: (position, limit) => changesAfter(deps.db, position, limit),
      countAfter: (position, limit) => countChangesAfter(deps.db, position, limit),
      head: () => lastChangePosition(deps.db),
      position: (record) => record.position,
      event: ({ change }) => ({
        name: 'change',
        data: {
          ...change,
          services: deps.mapping().servicesFor({ pageId: change.page.id, ...change.component }),
        },
      }),
    },
  });
}
