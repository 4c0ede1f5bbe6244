import {
  type Component,
  Counter,
  Gauge,
  type Logger,
  RateLimitedError,
  type Registry,
  type Session,
  type SessionEvent,
} from '@micro-oncall/service-kit';
import { asc, count, gt, max, sql } from 'drizzle-orm';
import type { Request, RequestHandler, Response } from 'express';
import pg from 'pg';
import type { ServiceCatalogue } from './catalogue.js';
import { LIVE_CHANNEL } from './consumers/incident-events.js';
import { incidents } from './db/schema.js';
import type { EscalationDb, IncidentRow } from './db/types.js';
import { presentWithOwnership } from './present.js';

export interface LiveFeedLimits {
  /** Open streams on this replica. */
  maxConnections: number;
  /** Open streams of one subject on this replica. */
  maxPerUser: number;
  /** Changes replayed to a reconnecting client; further behind, it gets `reset` instead. */
  catchUpMax: number;
  /** Unsent bytes a client may have queued before it is disconnected as too slow. */
  maxBufferBytes: number;
  /** Keep-alive comments and credential re-checks. */
  heartbeatMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveFeedLimits = {
  maxConnections: 2000,
  maxPerUser: 10,
  catchUpMax: 1000,
  maxBufferBytes: 1024 * 1024,
  heartbeatMs: 15_000,
};

/**
 * Why the server ended a stream: the `end` event's reason (the client reloads on
 * `roles_changed` and signs in again on `session_ended`), and the metric label. A client
 * dropped as `slow` or at shutdown just sees the connection close, and reconnects.
 */
type EndReason = 'slow' | 'session_ended' | 'roles_changed' | 'credential_expired' | 'shutdown';

interface Client {
  res: Response;
  subject: string;
  credential: Request['credential'];
  /** Roles the stream was opened with: it ends when the session's roles change. */
  roles: string;
  /** change_seq of the last incident change written to this client. */
  lastSent: number;
  ready: boolean;
  closed: boolean;
}

/** Rows per query: small enough that one broadcast burst stays well under the buffer bound. */
const PAGE = 200;

/**
 * Server-Sent Events feed of incident changes (`GET /v1/stream`). Every replica LISTENs on the
 * PostgreSQL channel that the consumer NOTIFYs in its transaction, so a browser sees changes
 * applied by any replica. Each event's id is the incident's change_seq: a reconnecting client
 * sends Last-Event-ID (or `?since=`) and first receives what it missed, up to `catchUpMax`
 * changes; further behind, it gets a `reset` event and reloads its list instead (so `since=0`
 * never reads the whole table).
 *
 * Bounded: connections per replica and per user (over the cap: 429 with Retry-After), and the
 * unsent data per client (a client that does not keep up is disconnected; it reconnects with
 * its last event id). A stream ends (event `end` with the reason) when its session is signed
 * out, expires or changes roles, or its bearer token expires.
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
}): Component & { start(): Promise<void>; handler: RequestHandler; clientCount(): number } {
  const limits = { ...DEFAULT_LIVE_LIMITS, ...deps.limits };
  const clients = new Set<Client>();
  const perUser = new Map<string, number>();
  let listener: pg.Client | null = null;
  let globalSeq = 0;
  let flushing: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let checking = false;
  let listening = false;
  let unsubscribe: (() => void) | undefined;

  const registers = deps.registry ? [deps.registry] : [];
  const metrics = {
    clients: new Gauge({
      name: 'live_stream_clients',
      help: 'Open live-feed streams on this replica',
      registers,
      collect() {
        this.set(clients.size);
      },
    }),
    refused: new Counter({
      name: 'live_stream_refused_total',
      help: 'Live-feed connections refused with 429, by the limit reached',
      labelNames: ['limit'] as const,
      registers,
    }),
    ended: new Counter({
      name: 'live_stream_ended_total',
      help: 'Live-feed streams ended by the server, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    resets: new Counter({
      name: 'live_stream_resets_total',
      help: 'Reconnecting clients too far behind to replay, told to reload instead',
      registers,
    }),
  };

  const rowsAfter = (seq: number) =>
    deps.db.select().from(incidents).where(gt(incidents.changeSeq, seq)).orderBy(asc(incidents.changeSeq)).limit(PAGE);

  /** How many incidents changed after `seq`, counting no further than `limit` (index-only, bounded). */
  const changedAfter = async (seq: number, limit: number) => {
    const behind = deps.db
      .select({ one: sql`1` })
      .from(incidents)
      .where(gt(incidents.changeSeq, seq))
      .limit(limit)
      .as('behind');
    const [row] = await deps.db.select({ n: count() }).from(behind);
    return Number(row?.n ?? 0);
  };

  const headSeq = async () => {
    const [row] = await deps.db.select({ seq: max(incidents.changeSeq) }).from(incidents);
    return Number(row?.seq ?? 0);
  };

  const release = (client: Client) => {
    if (client.closed) return;
    client.closed = true;
    clients.delete(client);
    const n = (perUser.get(client.subject) ?? 1) - 1;
    if (n > 0) perUser.set(client.subject, n);
    else perUser.delete(client.subject);
  };

  const end = (client: Client, reason: EndReason) => {
    if (client.closed) return;
    metrics.ended.inc({ reason });
    if (reason === 'slow') {
      // Its queue is the problem: drop the connection and what is queued on it.
      deps.logger.info({ subject: client.subject }, 'live feed: disconnected a client that does not keep up');
      release(client);
      client.res.destroy();
      return;
    }
    release(client);
    if (reason === 'shutdown') {
      client.res.end();
      return;
    }
    client.res.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    // A client that stopped reading would otherwise keep the connection.
    setTimeout(() => client.res.destroy(), 5000).unref();
  };

  /** Queues `text`; false when the client is gone or was just dropped for being too far behind. */
  const send = (client: Client, text: string): boolean => {
    if (client.closed) return false;
    client.res.write(text);
    if (client.res.writableLength > limits.maxBufferBytes) {
      end(client, 'slow');
      return false;
    }
    return true;
  };

  const eventFor = (row: IncidentRow) =>
    `id: ${row.changeSeq}\nevent: incident\ndata: ${JSON.stringify(presentWithOwnership(row, deps.catalogue))}\n\n`;

  const broadcast = (client: Client, rows: IncidentRow[]) => {
    for (const row of rows) {
      if (row.changeSeq <= client.lastSent) continue;
      if (!send(client, eventFor(row))) return;
      client.lastSent = row.changeSeq;
    }
  };

  /** Writes one event during catch-up, waiting for the client to take it (backpressure). */
  const deliver = async (client: Client, text: string): Promise<boolean> => {
    if (client.closed) return false;
    if (client.res.write(text)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        client.res.off('drain', done);
        client.res.off('close', done);
        resolve();
      };
      client.res.on('drain', done);
      client.res.on('close', done);
    });
    return !client.closed && !client.res.destroyed;
  };

  const flush = async () => {
    do {
      again = false;
      const rows = await rowsAfter(globalSeq);
      if (rows.length === 0) continue;
      for (const client of clients) if (client.ready) broadcast(client, rows);
      globalSeq = rows[rows.length - 1]!.changeSeq;
      if (rows.length === PAGE) again = true;
    } while (again && !stopped);
  };

  const schedule = () => {
    if (flushing) {
      again = true;
      return;
    }
    flushing = flush()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'live feed: reading changes failed'))
      .finally(() => {
        flushing = null;
      });
  };

  const listen = async () => {
    while (!stopped) {
      try {
        const client = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'escalation-live-feed' });
        client.on('notification', schedule);
        client.on('error', (error) => {
          deps.logger.warn({ err: error }, 'live feed: listener connection lost; reconnecting');
          listening = false;
          listener = null;
          client.end().catch(() => undefined);
          if (!stopped) setTimeout(() => void listen(), 1000);
        });
        await client.connect();
        await client.query(`LISTEN ${LIVE_CHANNEL}`);
        listener = client;
        listening = true;
        schedule(); // changes committed while we were not listening
        return;
      } catch (error) {
        deps.logger.warn({ err: error }, 'live feed: cannot listen yet; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  const rolesKey = (roles: readonly string[]) => [...roles].sort().join(',');

  /** Ends streams whose session ended or changed roles elsewhere, and those of expired tokens. */
  const recheck = async () => {
    if (checking) return;
    checking = true;
    try {
      const now = Date.now();
      const bySession = new Map<string, Client[]>();
      for (const client of clients) {
        const credential = client.credential;
        if (credential?.kind === 'bearer') {
          if (credential.expiresAt && credential.expiresAt.getTime() <= now) end(client, 'credential_expired');
        } else if (credential?.kind === 'session') {
          bySession.set(credential.sessionId, [...(bySession.get(credential.sessionId) ?? []), client]);
        }
      }
      if (!deps.sessions) return;
      for (const [id, streams] of bySession) {
        if (stopped) return;
        const session = await deps.sessions.current(id);
        for (const client of streams) {
          if (!session) end(client, 'session_ended');
          else if (rolesKey(session.roles) !== client.roles) end(client, 'roles_changed');
        }
      }
    } catch (error) {
      deps.logger.warn({ err: error }, 'live feed: re-checking stream credentials failed');
    } finally {
      checking = false;
    }
  };

  const onSessionEvent = (event: SessionEvent) => {
    for (const client of clients) {
      if (client.credential?.kind === 'session' && client.credential.sessionId === event.id) {
        end(client, event.reason === 'roles_changed' ? 'roles_changed' : 'session_ended');
      }
    }
  };

  const parseSince = (req: Request): number | undefined => {
    const raw = req.header('last-event-id') ?? (typeof req.query.since === 'string' ? req.query.since : undefined);
    if (raw === undefined || !/^\d{1,15}$/.test(raw.trim())) return undefined;
    return Number(raw.trim());
  };

  const handler: RequestHandler = async (req: Request, res: Response) => {
    const principal = req.principal;
    if (!principal) throw new Error('live feed mounted without authentication');
    // Take the slot before anything awaits, so concurrent connects cannot overshoot the caps.
    if (clients.size >= limits.maxConnections) {
      metrics.refused.inc({ limit: 'replica' });
      throw new RateLimitedError(
        `the live feed is at its limit of ${limits.maxConnections} connections on this server; retry shortly`,
        10,
      );
    }
    const mine = perUser.get(principal.subject) ?? 0;
    if (mine >= limits.maxPerUser) {
      metrics.refused.inc({ limit: 'user' });
      throw new RateLimitedError(
        `you already have ${limits.maxPerUser} live connections open (one per open tab or window); close some and retry`,
        30,
      );
    }
    const since = parseSince(req);
    const client: Client = {
      res,
      subject: principal.subject,
      credential: req.credential,
      roles: rolesKey(principal.roles),
      lastSent: since ?? globalSeq,
      ready: false,
      closed: false,
    };
    clients.add(client);
    perUser.set(principal.subject, mine + 1);
    req.on('close', () => release(client));

    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    try {
      // Too far behind to replay, or at a position this database never had (it was rebuilt):
      // start from now and tell the client to reload its list.
      if (since !== undefined) {
        const tooFar = (await changedAfter(since, limits.catchUpMax + 1)) > limits.catchUpMax;
        const head = tooFar || since > globalSeq ? await headSeq() : globalSeq;
        if (tooFar || since > head) {
          client.lastSent = Math.max(head, globalSeq);
          metrics.resets.inc();
          const reset = {
            lastEventId: client.lastSent,
            reason: tooFar ? `more than ${limits.catchUpMax} changes were missed` : 'unknown position',
          };
          if (!(await deliver(client, `event: reset\ndata: ${JSON.stringify(reset)}\n\n`))) return;
        }
      }
      // Catch up from where the client was, then join the broadcast.
      for (;;) {
        const rows = await rowsAfter(client.lastSent);
        for (const row of rows) {
          if (!(await deliver(client, eventFor(row)))) return;
          client.lastSent = row.changeSeq;
        }
        if (rows.length < PAGE && client.lastSent >= globalSeq) break;
      }
      if (client.closed) return;
      client.ready = true;
      send(client, `event: ready\ndata: ${JSON.stringify({ lastEventId: client.lastSent })}\n\n`);
    } catch (error) {
      deps.logger.warn({ err: error }, 'live feed: catch-up failed');
      release(client);
      res.end();
    }
  };

  return {
    id: 'live-feed',
    handler,
    clientCount: () => clients.size,
    async start() {
      globalSeq = await headSeq();
      await listen();
      unsubscribe = deps.sessions?.subscribe(onSessionEvent);
      heartbeat = setInterval(() => {
        for (const client of clients) send(client, ': keep-alive\n\n');
        void recheck();
      }, limits.heartbeatMs);
      heartbeat.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      unsubscribe?.();
      for (const client of [...clients]) end(client, 'shutdown');
      clients.clear();
      perUser.clear();
      await flushing;
      await listener?.end();
    },
    async healthcheck() {
      return listening ? { healthy: true } : { healthy: false, reason: 'not listening for incident changes' };
    },
  };
}
