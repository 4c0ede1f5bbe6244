import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { IncomingMessage, Logger, Rejected } from '@micro-oncall/service-kit';
import { and, eq } from 'drizzle-orm';
import type { DiscoveryReadError, SourceReport } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';
import type { Clock, Db, Tx } from '../types.js';
import type { Matcher } from './match.js';
import { LineError, readLine } from './readers/index.js';
import type { Sighting, SourceFormat } from './sighting.js';
import { createSightingSink, emptyReport, type SinkCounters } from './sink.js';

/*
 * Discovery from a Kafka topic of raw log lines (`<ns>.discovery-lines.v1`, read by a consumer
 * group spread over its partitions; the contract is docs/events/discovery-lines.v1.md): one line
 * per message, header `source` (else the key) naming the source and `format` its format, and
 * `host` for access logs that do not log it. Each line is read by the same per-format reader as
 * a file's line (readers/read-file.ts `readLine`) and its sighting goes through the same sink
 * as a file run's (sink.ts).
 *
 * Exactly once into the results: the position in each partition is a discovery cursor (source
 * `stream:<topic>`, file = the partition, `size` = the next offset to read; `line` the same,
 * while it fits its 32 bits) written in the transaction of the results it covers. A message at
 * or after the stored position is applied, one before it is skipped: a redelivery after a
 * rebalance or a restart (Kafka's committed offset lags the database) adds nothing twice.
 *
 * A line that cannot be read (no source, a missing or unknown format, not UTF-8, not the format's
 * shape) is an error of its source with `<topic>/<partition>` and the offset as file and line; the
 * others are applied. What a topic brought each day is one rolling report among the runs (see
 * `streamReportId`), its counters added to after each batch commits.
 */

/** The formats a message may name: the line-oriented ones (JSON audit records one per line). */
export const STREAM_FORMATS = [
  'nginx',
  'envoy',
  'apigateway',
  'cloudtrail',
  'gcp-audit',
  'azure-activity',
] as const satisfies readonly SourceFormat[];
type StreamFormat = (typeof STREAM_FORMATS)[number];

const SOURCE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** The source of a message that names none. */
export const UNNAMED_SOURCE = 'unnamed';
const MAX_ERRORS_KEPT = 50;
/** Registered apps are read again at most this often (a newly registered app matches within it). */
const MATCHER_TTL_MS = 30_000;
/** A discovery cursor's `line` is a 32-bit integer; the next offset itself is in `size`. */
const INT32_MAX = 2_147_483_647;

export interface StreamDeps {
  db: Db;
  registry: Pick<Registry, 'recordActivities'>;
  clock: Clock;
  logger: Logger;
  loadMatcher: () => Promise<Matcher>;
  matcherTtlMs?: number;
}

/** The cursor source of a topic: `stream:<topic>`. */
export const streamCursorSource = (topic: string) => `stream:${topic}`;

/** The runs list's row for what `topic` brought on `day` (YYYY-MM-DD, UTC): one id per topic and day. */
export function streamReportId(topic: string, day: string): string {
  const hex = createHash('sha256').update(`discovery-stream\u0000${topic}\u0000${day}`).digest('hex');
  // Shaped as a version-8 (custom) UUID: the runs table's id is a uuid.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Parsed = { source: string; offset: bigint } & (
  | { sighting: Sighting | undefined; error?: undefined }
  | { error: DiscoveryReadError }
);

/** What one source's run of consecutive messages added to its report. */
interface Tally extends SinkCounters {
  linesRead: number;
  errors: number;
  errorList: DiscoveryReadError[];
}

export function createStreamReader(deps: StreamDeps) {
  const { db, clock, logger } = deps;
  const ttl = deps.matcherTtlMs ?? MATCHER_TTL_MS;
  let cached: { matcher: Matcher; at: number } | null = null;

  async function matcher(): Promise<Matcher> {
    if (!cached || Date.now() - cached.at >= ttl) cached = { matcher: await deps.loadMatcher(), at: Date.now() };
    return cached.matcher;
  }

  /** The next offset to apply in a partition (0 when nothing was applied yet). */
  async function storedNext(topic: string, partition: number): Promise<bigint> {
    const [row] = await db
      .select({ next: schema.discoveryCursors.size })
      .from(schema.discoveryCursors)
      .where(
        and(
          eq(schema.discoveryCursors.source, streamCursorSource(topic)),
          eq(schema.discoveryCursors.file, String(partition)),
        ),
      );
    return BigInt(row?.next ?? 0);
  }

  /**
   * Moves a partition's position from `from` to `next` in the transaction of the results read in
   * between. The row is locked first: when another member of the group applied past `from`
   * meanwhile (a rebalance handed the partition over while this batch was being written), the
   * transaction is rolled back and the chunk is read again, which then skips what is stored.
   */
  async function advance(tx: Tx, topic: string, partition: number, from: bigint, next: bigint) {
    const c = schema.discoveryCursors;
    const where = and(eq(c.source, streamCursorSource(topic)), eq(c.file, String(partition)));
    const now = clock().toISOString();
    await tx
      .insert(c)
      .values({
        source: streamCursorSource(topic),
        file: String(partition),
        line: 0,
        size: 0,
        head: 'kafka',
        updatedAt: now,
      })
      .onConflictDoNothing();
    const [row] = await tx.select({ next: c.size }).from(c).where(where).for('update');
    if (BigInt(row!.next) > from) {
      throw new Error(
        `${topic} partition ${partition} was applied up to offset ${row!.next} by another consumer meanwhile (this batch starts at ${from}): read again`,
      );
    }
    const line = Number(next > BigInt(INT32_MAX) ? INT32_MAX : next);
    await tx
      .update(c)
      .set({ line, size: Number(next), updatedAt: now })
      .where(where);
  }

  function parse(message: IncomingMessage): Parsed {
    const offset = BigInt(message.offset);
    const named = message.headers.source ?? message.key ?? undefined;
    const source = named && SOURCE_NAME.test(named) ? named : UNNAMED_SOURCE;
    const at = { file: `${message.topic}/${message.partition}`, line: Number(offset) };
    const fail = (text: string) => ({ source, offset, error: { ...at, message: text } });
    if (source === UNNAMED_SOURCE) {
      return fail(
        named
          ? `source ${JSON.stringify(named.slice(0, 120))} is not a source name (letters, digits, . _ -; at most 100)`
          : 'no source: set the message header `source` (or the key)',
      );
    }
    const format = message.headers.format;
    if (!format) return fail(`no format: set the message header \`format\` (${STREAM_FORMATS.join(', ')})`);
    if (!(STREAM_FORMATS as readonly string[]).includes(format)) {
      return fail(`unknown log format ${JSON.stringify(format.slice(0, 60))}: expected ${STREAM_FORMATS.join(', ')}`);
    }
    const value = message.value;
    if (!value || value.length === 0) return { source, offset, sighting: undefined };
    if (!isUtf8(value)) return fail('line is not valid UTF-8: skipped');
    const text = value.toString('utf8').replace(/\r?\n$/, '');
    if (text.trim() === '') return { source, offset, sighting: undefined };
    try {
      const host = message.headers.host;
      const sighting = readLine(format as StreamFormat, text, { ...at, text }, host ? { host } : {});
      return { source, offset, sighting };
    } catch (error) {
      if (!(error instanceof LineError)) {
        logger.warn({ err: error, ...at }, 'discovery stream: a reader failed on a line; counted as its error');
      }
      return fail(error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * Applies one source's run of consecutive messages of a partition: its sightings through the
   * sink, each batch in one transaction with the partition's position after the messages it holds.
   */
  async function applyRun(topic: string, partition: number, run: Parsed[], current: Matcher): Promise<Tally> {
    const source = run[0]!.source;
    const tally: Tally = { sightings: 0, appsMatched: 0, newCandidates: 0, linesRead: 0, errors: 0, errorList: [] };
    // Where the batch being written starts, and the position after the messages whose sightings
    // were all handed to the sink so far (the sink may write a full batch before taking the next).
    let from = run[0]!.offset;
    let next = from;
    const sink = createSightingSink({
      db,
      registry: deps.registry,
      clock,
      matcher: current,
      source,
      report: tally,
      writeCursor: async (tx) => {
        await advance(tx, topic, partition, from, next);
        from = next;
      },
    });
    for (const parsed of run) {
      tally.linesRead += 1;
      if (parsed.error) {
        tally.errors += 1;
        if (tally.errorList.length < MAX_ERRORS_KEPT) tally.errorList.push(parsed.error);
      } else if (parsed.sighting) {
        await sink.add(parsed.sighting);
      }
      next = parsed.offset + 1n;
    }
    await sink.flush();
    return tally;
  }

  /** Adds a batch's tallies to the day's rolling report of the topic (created on its first batch). */
  async function report(topic: string, tallies: Map<string, Tally>) {
    const now = clock();
    const id = streamReportId(topic, now.toISOString().slice(0, 10));
    await db.transaction(async (tx) => {
      await tx
        .insert(schema.discoveryRuns)
        .values({
          id,
          trigger: 'stream',
          requestedBy: streamCursorSource(topic),
          startedAt: now.toISOString(),
          status: 'succeeded',
        })
        .onConflictDoNothing();
      const [row] = await tx.select().from(schema.discoveryRuns).where(eq(schema.discoveryRuns.id, id)).for('update');
      const sources: SourceReport[] = row!.sources.map((s) => ({ ...s, errorList: [...s.errorList] }));
      for (const [source, t] of tallies) {
        let s = sources.find((r) => r.source === source);
        if (!s) {
          s = emptyReport(source);
          sources.push(s);
        }
        s.linesRead += t.linesRead;
        s.sightings += t.sightings;
        s.appsMatched += t.appsMatched;
        s.newCandidates += t.newCandidates;
        s.errors += t.errors;
        s.errorList.push(...t.errorList.slice(0, Math.max(0, MAX_ERRORS_KEPT - s.errorList.length)));
      }
      sources.sort((a, b) => a.source.localeCompare(b.source));
      const total = (key: 'linesRead' | 'sightings' | 'appsMatched' | 'newCandidates' | 'errors') =>
        sources.reduce((n, s) => n + s[key], 0);
      const errors = total('errors');
      await tx
        .update(schema.discoveryRuns)
        .set({
          sources,
          totals: {
            linesRead: total('linesRead'),
            sightings: total('sightings'),
            appsMatched: total('appsMatched'),
            newCandidates: total('newCandidates'),
            flagged: 0,
            errors,
          },
          status: errors > 0 ? 'partial' : 'succeeded',
          finishedAt: now.toISOString(),
        })
        .where(eq(schema.discoveryRuns.id, id));
    });
  }

  /** The kit's raw handler (ctx.consumeRaw): a chunk of one partition's messages, in offset order. */
  async function handle(messages: IncomingMessage[]): Promise<{ rejected: Rejected[] }> {
    const byPartition = new Map<string, IncomingMessage[]>();
    for (const m of messages) {
      const key = `${m.topic}\u0000${m.partition}`;
      const group = byPartition.get(key);
      if (group) group.push(m);
      else byPartition.set(key, [m]);
    }
    for (const group of byPartition.values()) {
      const { topic, partition } = group[0]!;
      const from = await storedNext(topic, partition);
      // At or after the stored position: not applied yet. Before it: a redelivery, skipped.
      const fresh = group.filter((m) => BigInt(m.offset) >= from);
      if (fresh.length === 0) continue;
      const current = await matcher();
      const tallies = new Map<string, Tally>();
      let run: Parsed[] = [];
      const applyPending = async () => {
        if (run.length === 0) return;
        const tally = await applyRun(topic, partition, run, current);
        const seen = tallies.get(run[0]!.source);
        tallies.set(run[0]!.source, seen ? merge(seen, tally) : tally);
        run = [];
      };
      for (const message of fresh) {
        const parsed = parse(message);
        if (run.length > 0 && run[0]!.source !== parsed.source) await applyPending();
        run.push(parsed);
      }
      await applyPending();
      // After the results committed: a crash just here leaves this batch out of the day's report,
      // never in it twice (the cursor already covers it).
      await report(topic, tallies).catch((error: unknown) =>
        logger.warn({ err: error, topic, partition }, 'discovery stream: the report could not be updated'),
      );
    }
    return { rejected: [] };
  }

  return { handle };
}

function merge(a: Tally, b: Tally): Tally {
  return {
    sightings: a.sightings + b.sightings,
    appsMatched: a.appsMatched + b.appsMatched,
    newCandidates: a.newCandidates + b.newCandidates,
    linesRead: a.linesRead + b.linesRead,
    errors: a.errors + b.errors,
    errorList: [...a.errorList, ...b.errorList].slice(0, MAX_ERRORS_KEPT),
  };
}

export type StreamReader = ReturnType<typeof createStreamReader>;
