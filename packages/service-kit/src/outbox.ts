import type { EventData, EventKind } from '@micro-oncall/incident-model';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Component, HealthStatus } from './component.js';
import { advisoryLockKey, SESSION_OPTIONS } from './db.js';
import type { EventMessages, PublishOptions } from './events.js';
import type { EventProducer, OutgoingMessage } from './kafka.js';
import type { Logger } from './logger.js';
import { Counter, Gauge, type Registry } from './metrics.js';

/*
 * Transactional outbox. A state change and the events it causes are written in one PostgreSQL
 * transaction (the events as rows of `<schema>.outbox`); a relay sends them to Kafka after the
 * commit and deletes them once the broker acknowledged. At least once (a relay that dies between
 * the ack and the delete sends again: consumers are idempotent by event id), in order per key:
 *   - writers of one key serialise on a transaction-scoped advisory lock taken before the row
 *     gets its id, so within a key ids follow commit order;
 *   - one relay per service (a session advisory lock elects it across replicas) sends rows in id
 *     order and never skips a row it could not send.
 */

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

function assertSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid outbox schema name ${JSON.stringify(schema)}`);
  return schema;
}

const channel = (schema: string) => `${schema}_outbox`;

/** DDL of the outbox table: idempotent, run by the kit after the service's own migrations. */
export function outboxDdl(schema: string): string {
  const s = assertSchema(schema);
  return `
    create schema if not exists ${s};
    create table if not exists ${s}.outbox (
      id bigserial primary key,
      topic text not null,
      key text not null,
      value text not null,
      headers jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default now()
    );
    comment on table ${s}.outbox is 'Events written with the state change that caused them; relayed to Kafka, then deleted (service-kit outbox).';
  `;
}

/** Anything that can run a drizzle `sql` query: a drizzle database or transaction. */
export interface SqlExecutor {
  execute(query: ReturnType<typeof sql>): Promise<unknown>;
}

export interface Outbox {
  /**
   * Writes events into the outbox inside the caller's transaction: they are relayed to Kafka
   * after it commits, and never if it rolls back.
   */
  enqueue<K extends EventKind>(tx: SqlExecutor, kind: K, data: EventData<K>, opts?: PublishOptions): Promise<void>;
  /** The raw form, for messages already built. */
  write(tx: SqlExecutor, messages: { topic: string; message: OutgoingMessage }[]): Promise<void>;
}

export function createOutbox(opts: { schema: string; messages: EventMessages }): Outbox {
  const schema = assertSchema(opts.schema);
  const table = sql.raw(`${schema}.outbox`);
  const write: Outbox['write'] = async (tx, messages) => {
    if (messages.length === 0) return;
    // Per-key order: same-key writers take their ids one after the other, in commit order.
    const keys = [...new Set(messages.map((m) => m.message.key))].sort();
    for (const key of keys) {
      await tx.execute(sql`select pg_advisory_xact_lock(${advisoryLockKey(schema, 'outbox-key', key)}::bigint)`);
    }
    for (const { topic, message } of messages) {
      if (typeof message.value !== 'string') throw new Error('outbox messages carry string values');
      await tx.execute(
        sql`insert into ${table} (topic, key, value, headers) values (${topic}, ${message.key}, ${message.value}, ${JSON.stringify(message.headers ?? {})}::jsonb)`,
      );
    }
    await tx.execute(sql`select pg_notify(${channel(schema)}, '')`);
  };
  return {
    write,
    async enqueue(tx, kind, data, publish) {
      await write(tx, [opts.messages.message(kind, data, publish)]);
    },
  };
}

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface OutboxRelayOptions {
  schema: string;
  databaseUrl: string;
  /** The service's pool, for the metrics query. */
  pool: pg.Pool;
  producer: EventProducer;
  logger: Logger;
  registry: Registry;
  /** Rows sent per round (default 500). */
  batchSize?: number;
  /** Longest wait between rounds when no NOTIFY arrives (default 1 s). */
  idleMs?: number;
}

/**
 * The relay: one per service across replicas (whoever holds the session advisory lock), woken
 * by NOTIFY at commit and by a timer, sending rows in id order. A failed send keeps the rows and
 * retries with capped backoff; losing the database connection gives up leadership until it is back.
 */
export function createOutboxRelay(opts: OutboxRelayOptions): Component & { start(): Promise<void> } {
  const schema = assertSchema(opts.schema);
  const batchSize = opts.batchSize ?? 500;
  const idleMs = opts.idleMs ?? 1000;
  const leaderKey = advisoryLockKey(schema, 'outbox-relay');
  let client: pg.Client | null = null;
  let leader = false;
  let stopped = false;
  let lastError: string | null = null;
  let wake: (() => void) | null = null;
  let loop: Promise<void> | null = null;

  const relayed = new Counter({
    name: 'outbox_relayed_total',
    help: 'Outbox events sent to Kafka by this replica',
    registers: [opts.registry],
  });
  const failures = new Counter({
    name: 'outbox_relay_failures_total',
    help: 'Outbox relay rounds that failed (Kafka or PostgreSQL unavailable)',
    registers: [opts.registry],
  });
  new Gauge({
    name: 'outbox_pending',
    help: 'Events written to the outbox and not yet acknowledged by Kafka',
    registers: [opts.registry],
    // Read from the shared table: every worker process (workers.ts) reads the same value.
    aggregator: 'first',
    async collect() {
      const { rows } = await opts.pool
        .query<{ n: string }>(`select count(*) as n from ${schema}.outbox`)
        .catch(() => ({ rows: [] as { n: string }[] }));
      this.set(Number(rows[0]?.n ?? 0));
    },
  });
  new Gauge({
    name: 'outbox_lag_seconds',
    help: 'Age of the oldest event still waiting in the outbox (0 when empty): the relay lag',
    registers: [opts.registry],
    aggregator: 'max',
    async collect() {
      const { rows } = await opts.pool
        .query<{ age: number | null }>(
          `select extract(epoch from now() - min(created_at))::float8 as age from ${schema}.outbox`,
        )
        .catch(() => ({ rows: [] as { age: number | null }[] }));
      this.set(Math.max(0, rows[0]?.age ?? 0));
    },
  });
  new Gauge({
    name: 'outbox_relay_leader',
    help: '1 when this replica is the one relaying the outbox',
    registers: [opts.registry],
    // One relay leads the whole service: the pod's sum is 1 while one of its workers leads.
    aggregator: 'sum',
    collect() {
      this.set(leader ? 1 : 0);
    },
  });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const dropClient = async () => {
    leader = false;
    const c = client;
    client = null;
    await c?.end().catch(() => undefined);
  };

  const becomeLeader = async (): Promise<boolean> => {
    if (leader && client) return true;
    if (!client) {
      const c = new pg.Client({
        connectionString: opts.databaseUrl,
        application_name: `${schema}-outbox-relay`,
        options: SESSION_OPTIONS,
      });
      c.on('error', (error) => {
        opts.logger.warn({ err: error }, 'outbox relay: database connection lost');
        if (client === c) void dropClient();
      });
      c.on('notification', () => wake?.());
      await c.connect();
      client = c;
      await c.query(`listen ${channel(schema)}`);
    }
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [leaderKey]);
    leader = rows[0]?.ok === true;
    if (leader) opts.logger.info('outbox relay: this replica relays the outbox');
    return leader;
  };

  /** One round: returns the number of rows sent. */
  const round = async (): Promise<number> => {
    const c = client!;
    // Ordered by the table's bigint id: a bare `order by id` would sort by the text alias of the
    // select list (1000 before 998), out of order per key and without the primary key's index.
    const { rows } = await c.query<OutboxRow>(
      `select o.id::text as id, o.topic, o.key, o.value, o.headers from ${schema}.outbox o order by o.id limit $1`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    // Consecutive rows of one topic go out together; topics are sent in id order.
    for (let i = 0; i < rows.length; ) {
      let j = i;
      while (j < rows.length && rows[j]!.topic === rows[i]!.topic) j += 1;
      await opts.producer.send(
        rows[i]!.topic,
        rows.slice(i, j).map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      );
      i = j;
    }
    await c.query(`delete from ${schema}.outbox where id = any($1::bigint[])`, [rows.map((r) => r.id)]);
    relayed.inc(rows.length);
    return rows.length;
  };

  const run = async () => {
    let backoff = 0;
    while (!stopped) {
      try {
        if (!(await becomeLeader())) {
          await sleep(2000);
          continue;
        }
        const sent = await round();
        lastError = null;
        backoff = 0;
        if (sent < batchSize) await sleep(idleMs);
      } catch (error) {
        if (stopped) break;
        failures.inc();
        lastError = (error as Error).message;
        backoff = Math.min(10_000, backoff ? backoff * 2 : 200);
        opts.logger.warn({ err: error, retryInMs: backoff }, 'outbox relay: round failed; retrying');
        if (!client || (error as { code?: string }).code?.startsWith('57')) await dropClient();
        await sleep(backoff);
      }
    }
  };

  return {
    id: 'outbox-relay',
    async start() {
      stopped = false;
      loop = run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      // Releases the advisory lock: another replica takes over at once.
      await dropClient();
    },
    async healthcheck(): Promise<HealthStatus> {
      // A relay that cannot reach Kafka keeps the events; readiness says so without failing
      // the service's other work, which is why this is reported rather than fatal.
      return lastError ? { healthy: false, reason: `outbox relay failing: ${lastError}` } : { healthy: true };
    },
  };
}
