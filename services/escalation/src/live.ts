import type { Component, Logger } from '@micro-oncall/service-kit';
import { asc, gt, max } from 'drizzle-orm';
import type { Request, RequestHandler, Response } from 'express';
import pg from 'pg';
import type { ServiceCatalogue } from './catalogue.js';
import { LIVE_CHANNEL } from './consumers/incident-events.js';
import { incidents } from './db/schema.js';
import type { EscalationDb, IncidentRow } from './db/types.js';
import { presentWithOwnership } from './present.js';

interface Client {
  res: Response;
  /** change_seq of the last incident change written to this client. */
  lastSent: number;
  ready: boolean;
}

const PAGE = 1000;

/**
 * Server-Sent Events feed of incident changes (`GET /v1/stream`). Every replica LISTENs on the
 * PostgreSQL channel that the consumer NOTIFYs in its transaction, so a browser sees changes
 * applied by any replica. Each event's id is the incident's change_seq: a reconnecting client
 * sends Last-Event-ID (or `?since=`) and first receives everything it missed.
 */
export function createLiveFeed(deps: {
  databaseUrl: string;
  db: EscalationDb;
  catalogue: ServiceCatalogue;
  logger: Logger;
  heartbeatMs?: number;
}): Component & { start(): Promise<void>; handler: RequestHandler; clientCount(): number } {
  const clients = new Set<Client>();
  let listener: pg.Client | null = null;
  let globalSeq = 0;
  let flushing: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let listening = false;

  const rowsAfter = (seq: number) =>
    deps.db.select().from(incidents).where(gt(incidents.changeSeq, seq)).orderBy(asc(incidents.changeSeq)).limit(PAGE);

  const write = (client: Client, rows: IncidentRow[]) => {
    for (const row of rows) {
      if (row.changeSeq <= client.lastSent) continue;
      client.res.write(
        `id: ${row.changeSeq}\nevent: incident\ndata: ${JSON.stringify(presentWithOwnership(row, deps.catalogue))}\n\n`,
      );
      client.lastSent = row.changeSeq;
    }
  };

  const flush = async () => {
    do {
      again = false;
      const rows = await rowsAfter(globalSeq);
      if (rows.length === 0) continue;
      for (const client of clients) if (client.ready) write(client, rows);
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

  const handler: RequestHandler = async (req: Request, res: Response) => {
    const since = Number(req.header('last-event-id') ?? req.query.since ?? Number.NaN);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const client: Client = {
      res,
      lastSent: Number.isSafeInteger(since) && since >= 0 ? since : globalSeq,
      ready: false,
    };
    clients.add(client);
    req.on('close', () => clients.delete(client));
    // Catch up from where the client was, then join the broadcast.
    try {
      for (;;) {
        const rows = await rowsAfter(client.lastSent);
        write(client, rows);
        if (rows.length < PAGE && client.lastSent >= globalSeq) break;
      }
      client.ready = true;
      res.write(`event: ready\ndata: ${JSON.stringify({ lastEventId: client.lastSent })}\n\n`);
    } catch (error) {
      deps.logger.warn({ err: error }, 'live feed: catch-up failed');
      clients.delete(client);
      res.end();
    }
  };

  return {
    id: 'live-feed',
    handler,
    clientCount: () => clients.size,
    async start() {
      const [row] = await deps.db.select({ seq: max(incidents.changeSeq) }).from(incidents);
      globalSeq = Number(row?.seq ?? 0);
      await listen();
      heartbeat = setInterval(() => {
        for (const client of clients) client.res.write(': keep-alive\n\n');
      }, deps.heartbeatMs ?? 15_000);
      heartbeat.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      for (const client of clients) client.res.end();
      clients.clear();
      await flushing;
      await listener?.end();
    },
    async healthcheck() {
      return listening ? { healthy: true } : { healthy: false, reason: 'not listening for incident changes' };
    },
  };
}
