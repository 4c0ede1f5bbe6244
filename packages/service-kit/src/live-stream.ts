import type { Request, RequestHandler, Response } from 'express';
import pg from 'pg';
import type { Component } from './component.js';
import { RateLimitedError } from './errors.js';
import type { Logger } from './logger.js';
import { Counter, Gauge, type Registry } from './metrics.js';
import type { Session, SessionEvent } from './web/session.js';

/*
 * A Server-Sent Events stream of the rows of an append-or-bump table ordered by a monotonic
 * position (escalation's incident change_seq, status-mapper's component change id), shared by
 * the services that serve one. The table is the truth and PostgreSQL's LISTEN/NOTIFY the wake-up,
 * so a change committed by any replica reaches the streams of every replica; nothing is fanned
 * out from memory alone.
 *
 * The writer's part of the contract: positions become visible in position order (a row with a
 * lower position never commits after one with a higher position; serialise the writers, e.g. with
 * a transaction-scoped advisory lock taken before the position is drawn), and a NOTIFY on
 * `channel` in the transaction that writes a row.
 */

export interface LiveStreamLimits {
  /** Open streams on this replica. */
  maxConnections: number;
  /** Open streams of one subject on this replica. */
  maxPerUser: number;
  /** Rows replayed to a reconnecting client; further behind, it gets `reset` instead. */
  catchUpMax: number;
  /** Unsent bytes a client may have queued before it is disconnected as too slow. */
  maxBufferBytes: number;
  /** Keep-alive comments and credential re-checks. */
  heartbeatMs: number;
  /**
   * Least time between two reads of new rows: NOTIFYs arriving within it are served by one read
   * (0: a read per NOTIFY, or per burst that arrived during the previous read).
   */
  coalesceMs: number;
}

export const DEFAULT_LIVE_STREAM_LIMITS: LiveStreamLimits = {
  maxConnections: 2000,
  maxPerUser: 10,
  catchUpMax: 1000,
  maxBufferBytes: 1024 * 1024,
  heartbeatMs: 15_000,
  coalesceMs: 25,
};

/** Where the stream reads from: the rows after a position, in position order. */
export interface LiveStreamSource<Row> {
  /** At most `limit` rows after `position`, in position order. */
  after(position: number, limit: number): Promise<Row[]>;
  /** How many rows come after `position`, counting no further than `limit` (bounded, index-only). */
  countAfter(position: number, limit: number): Promise<number>;
  /** The newest position (0 when there is no row). */
  head(): Promise<number>;
  position(row: Row): number;
  /** The SSE event a row is sent as: its name and its JSON data. */
  event(row: Row): { name: string; data: unknown };
}

export interface LiveStreamOptions<Row> {
  /** Component id (readiness check name). */
  id?: string;
  /** What the rows are, for the readiness reason: `not listening for <what>`. */
  what: string;
  /** The PostgreSQL channel the writers NOTIFY when they commit rows. */
  channel: string;
  databaseUrl: string;
  /** `application_name` of the listening connection. */
  applicationName: string;
  source: LiveStreamSource<Row>;
  logger: Logger;
  registry?: Registry;
  /** The browser sessions, to end streams whose session ended or changed. */
  sessions?: {
    current(id: string): Promise<Session | null>;
    subscribe(listener: (event: SessionEvent) => void): () => void;
  };
  limits?: Partial<LiveStreamLimits>;
  /**
   * The error for a connection over the replica's cap (default: 429 with Retry-After 10 s, and
   * "the live feed is at its limit of N connections on this server").
   */
  overCapacity?: (maxConnections: number) => Error;
  /** Extra fields of the `reset` event's data, e.g. which document the client should re-read. */
  resetHint?: Record<string, unknown>;
}

export type LiveStream = Component & {
  start(): Promise<void>;
  /** The route handler (mount after authentication and a role check: it needs `req.principal`). */
  handler: RequestHandler;
  clientCount(): number;
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
  /** Position of the last row written to this client. */
  lastSent: number;
  ready: boolean;
  closed: boolean;
}

/** Rows per query: small enough that one broadcast burst stays well under the buffer bound. */
const PAGE = 200;

/** A PostgreSQL identifier we put into LISTEN ourselves. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The stream (`GET …/stream`). Every replica LISTENs on `channel`, so a client sees rows
 * committed by any replica. Each event's id is the row's position: a reconnecting client sends
 * Last-Event-ID (or `?since=`) and first receives what it missed, up to `catchUpMax` rows;
 * further behind (or at a position this database never had), it gets a `reset` event and
 * re-reads the current state instead (so `since=0` never reads the whole table). Then `ready`.
 *
 * Bounded: connections per replica (over the cap: `overCapacity`, 429 by default) and per user
 * (429 with Retry-After), and the unsent data per client (a client that does not keep up is
 * disconnected; it reconnects with its last event id). Heartbeats (`: keep-alive` comments) keep
 * proxies from closing an idle stream. A stream ends (event `end` with the reason) when its
 * session is signed out, expires or changes roles, or its bearer token expires.
 */
export function createLiveStream<Row>(opts: LiveStreamOptions<Row>): LiveStream {
  if (!CHANNEL.test(opts.channel)) throw new Error(`invalid LISTEN channel ${JSON.stringify(opts.channel)}`);
  const limits = { ...DEFAULT_LIVE_STREAM_LIMITS, ...opts.limits };
  const { source } = opts;
  const clients = new Set<Client>();
  const perUser = new Map<string, number>();
  let listener: pg.Client | null = null;
  /** Position up to which rows were read and broadcast (while `stale`, possibly behind the table). */
  let globalSeq = 0;
  /** NOTIFYs arrived while no client was connected: rows after `globalSeq` were not read. */
  let stale = false;
  /** The head being re-read because the stream was `stale` when a client connected. */
  let syncing: Promise<void> | null = null;
  let flushing: Promise<void> | null = null;
  /** A NOTIFY arrived during a read: read again (no sooner than `coalesceMs` after it began). */
  let pending = false;
  let flushTimer: NodeJS.Timeout | undefined;
  /** When the last read of new rows began (performance.now()). */
  let lastReadAt = Number.NEGATIVE_INFINITY;
  let stopped = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let checking = false;
  let listening = false;
  let unsubscribe: (() => void) | undefined;

  const registers = opts.registry ? [opts.registry] : [];
  const metrics = {
    clients: new Gauge({
      name: 'live_stream_clients',
      help: 'Open live-feed streams on this replica',
      registers,
      aggregator: 'sum',
      collect() {
        this.set(clients.size);
      },
    }),
    refused: new Counter({
      name: 'live_stream_refused_total',
      help: 'Live-feed connections refused over a limit, by the limit reached',
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
    reads: new Counter({
      name: 'live_stream_reads_total',
      help: 'Reads of new rows to broadcast (NOTIFYs within the coalescing interval share one; none while no client is connected)',
      registers,
    }),
  };

  const overCapacity =
    opts.overCapacity ??
    ((max: number) =>
      new RateLimitedError(`the live feed is at its limit of ${max} connections on this server; retry shortly`, 10));

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
      opts.logger.info({ subject: client.subject }, 'live feed: disconnected a client that does not keep up');
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

  // JSON.stringify escapes line breaks inside strings, so the data is always one `data:` line.
  const eventFor = (row: Row) => {
    const { name, data } = source.event(row);
    return `id: ${source.position(row)}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  };

  const broadcast = (client: Client, rows: Row[]) => {
    for (const row of rows) {
      const position = source.position(row);
      if (position <= client.lastSent) continue;
      if (!send(client, eventFor(row))) return;
      client.lastSent = position;
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

  /**
   * With no client connected nothing is read: the stream only notes that it is `stale`, and the
   * next client to connect first moves `globalSeq` to the table's head (`resync`). Safe because
   * every client replays from its own position before it joins the broadcast.
   */
  const resync = (): Promise<void> => {
    if (syncing) return syncing;
    if (!stale) return Promise.resolve();
    // Cleared before the read: a NOTIFY that arrives meanwhile with no client marks it again.
    stale = false;
    syncing = source
      .head()
      .then((head) => {
        globalSeq = Math.max(globalSeq, head);
      })
      .catch((error: unknown) => {
        stale = true;
        throw error;
      })
      .finally(() => {
        syncing = null;
      });
    return syncing;
  };

  /** Reads every row after `globalSeq`, page by page, and sends it to the clients that joined. */
  const flush = async () => {
    if (syncing) await syncing.catch(() => undefined);
    while (!stopped) {
      if (clients.size === 0) {
        stale = true;
        return;
      }
      lastReadAt = performance.now();
      metrics.reads.inc();
      const rows = await source.after(globalSeq, PAGE);
      if (rows.length === 0) return;
      for (const client of clients) if (client.ready) broadcast(client, rows);
      globalSeq = source.position(rows[rows.length - 1]!);
      if (rows.length < PAGE) return;
    }
  };

  const runFlush = () => {
    flushTimer = undefined;
    pending = false;
    flushing = flush()
      .catch((error: unknown) => opts.logger.warn({ err: error }, 'live feed: reading changes failed'))
      .finally(() => {
        flushing = null;
        if (pending) schedule();
      });
  };

  /**
   * A NOTIFY (or a reconnected listener): read the new rows at once if the last read began at
   * least `coalesceMs` ago, else when it will have. A NOTIFY during a read asks for one more read
   * (that read may have been issued before the row committed); one while a read is only planned
   * needs nothing, the planned read will see its row.
   */
  const schedule = () => {
    if (stopped) return;
    if (clients.size === 0) {
      stale = true;
      return;
    }
    if (flushing) {
      pending = true;
      return;
    }
    if (flushTimer) return;
    const wait = lastReadAt + limits.coalesceMs - performance.now();
    if (wait <= 0) runFlush();
    else flushTimer = setTimeout(runFlush, wait);
  };

  const listen = async () => {
    while (!stopped) {
      try {
        const client = new pg.Client({ connectionString: opts.databaseUrl, application_name: opts.applicationName });
        client.on('notification', schedule);
        client.on('error', (error) => {
          opts.logger.warn({ err: error }, 'live feed: listener connection lost; reconnecting');
          listening = false;
          listener = null;
          client.end().catch(() => undefined);
          if (!stopped) setTimeout(() => void listen(), 1000);
        });
        await client.connect();
        await client.query(`LISTEN ${opts.channel}`);
        listener = client;
        listening = true;
        schedule(); // changes committed while we were not listening
        return;
      } catch (error) {
        opts.logger.warn({ err: error }, 'live feed: cannot listen yet; retrying');
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
      if (!opts.sessions) return;
      for (const [id, streams] of bySession) {
        if (stopped) return;
        const session = await opts.sessions.current(id);
        for (const client of streams) {
          if (!session) end(client, 'session_ended');
          else if (rolesKey(session.roles) !== client.roles) end(client, 'roles_changed');
        }
      }
    } catch (error) {
      opts.logger.warn({ err: error }, 'live feed: re-checking stream credentials failed');
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
    if (!principal) throw new Error('live stream mounted without authentication');
    // Take the slot before anything awaits, so concurrent connects cannot overshoot the caps.
    if (clients.size >= limits.maxConnections) {
      metrics.refused.inc({ limit: 'replica' });
      throw overCapacity(limits.maxConnections);
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
      // Set once the stream is in step with the table (below); nothing is broadcast to it before.
      lastSent: 0,
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
      // Rows committed while no client was connected were not read: start from the table's head.
      await resync();
      client.lastSent = since ?? globalSeq;
      // Too far behind to replay, or at a position this database never had (it was rebuilt):
      // start from now and tell the client to reload.
      if (since !== undefined) {
        const tooFar = (await source.countAfter(since, limits.catchUpMax + 1)) > limits.catchUpMax;
        const head = tooFar || since > globalSeq ? await source.head() : globalSeq;
        if (tooFar || since > head) {
          client.lastSent = Math.max(head, globalSeq);
          metrics.resets.inc();
          const reset = {
            lastEventId: client.lastSent,
            reason: tooFar ? `more than ${limits.catchUpMax} changes were missed` : 'unknown position',
            ...opts.resetHint,
          };
          if (!(await deliver(client, `event: reset\ndata: ${JSON.stringify(reset)}\n\n`))) return;
        }
      }
      // Catch up from where the client was, then join the broadcast.
      for (;;) {
        const rows = await source.after(client.lastSent, PAGE);
        for (const row of rows) {
          if (!(await deliver(client, eventFor(row)))) return;
          client.lastSent = source.position(row);
        }
        if (rows.length < PAGE && client.lastSent >= globalSeq) break;
      }
      if (client.closed) return;
      client.ready = true;
      send(client, `event: ready\ndata: ${JSON.stringify({ lastEventId: client.lastSent })}\n\n`);
    } catch (error) {
      opts.logger.warn({ err: error }, 'live feed: catch-up failed');
      release(client);
      res.end();
    }
  };

  return {
    id: opts.id ?? 'live-feed',
    handler,
    clientCount: () => clients.size,
    async start() {
      globalSeq = await source.head();
      await listen();
      unsubscribe = opts.sessions?.subscribe(onSessionEvent);
      heartbeat = setInterval(() => {
        for (const client of clients) send(client, ': keep-alive\n\n');
        void recheck();
      }, limits.heartbeatMs);
      heartbeat.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(flushTimer);
      unsubscribe?.();
      for (const client of [...clients]) end(client, 'shutdown');
      clients.clear();
      perUser.clear();
      await flushing;
      await listener?.end();
    },
    async healthcheck() {
      return listening ? { healthy: true } : { healthy: false, reason: `not listening for ${opts.what}` };
    },
  };
}
