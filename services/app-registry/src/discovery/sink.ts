import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { SourceReport } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';
import type { Clock, Db, Tx } from '../types.js';
import {
  addSighting,
  type CandidateAgg,
  MAX_CALLERS,
  MAX_CREATORS,
  MAX_EVIDENCE,
  mergeCounts,
  newAgg,
} from './aggregate.js';
import { candidateKey, type Matcher } from './match.js';
import type { Sighting } from './sighting.js';

/*
 * Where one discovery source's sightings go, whatever reads them (files, identity-provider
 * inventories, a Kafka topic of raw log lines): a sighting that matches a registered app moves
 * that app's last activity forward (which keeps it from idling), to within an hour: a batch
 * writes an app's row only when it moves it by an hour or more, or wakes it from idle
 * (registry.recordActivities, ACTIVITY_STEP_MS); any other sighting is folded into a candidate
 * with its evidence. Sightings are written in batches, each in ONE transaction together
 * with the source's cursor (`writeCursor`), so after a crash or a cut-off the source resumes
 * exactly where its last written batch ended: nothing is lost and nothing counts twice.
 *
 *   const sink = createSightingSink({ db, registry, clock, matcher, source: 'gateway', report,
 *     writeCursor: (tx) => saveOffsets(tx, consumedSoFar) });
 *   for (const line of lines) { for (const s of parse(line)) await sink.add(s); consumedSoFar = line.next; }
 *   await sink.flush();
 *
 * The cursor rule: `add` may flush BEFORE taking its sighting (when the batch is full), so at any
 * call `writeCursor` must describe only input whose sightings were all added already — advance
 * the cursor after the last sighting of a line/message, never before its first.
 */

/** Sightings per transaction. */
export const SINK_BATCH = 2000;

/** A source's part of a run's report before anything was read. */
export const emptyReport = (source: string): SourceReport => ({
  source,
  files: 0,
  linesRead: 0,
  sightings: 0,
  appsMatched: 0,
  newCandidates: 0,
  errors: 0,
  errorList: [],
  failed: null,
});

/** The counters a sink keeps in the source's report (the other fields are its reader's). */
export type SinkCounters = Pick<SourceReport, 'sightings' | 'appsMatched' | 'newCandidates'>;

export interface SightingSinkOptions {
  db: Db;
  registry: Pick<Registry, 'recordActivities'>;
  clock: Clock;
  /** The registered apps to match against (runner.loadMatcher()). */
  matcher: Matcher;
  /** The source's name in the run report, in candidates' `sources` and in the apps' activity note. */
  source: string;
  /** Counted into as batches are written: `sightings` on add, `appsMatched` (distinct apps) and `newCandidates` on flush. */
  report: SinkCounters;
  /** Writes the source's cursor in the transaction of the batch's results; called on every flush, even an empty one. */
  writeCursor: (tx: Tx) => Promise<void>;
  /** Sightings per transaction (default SINK_BATCH). */
  batchSize?: number;
}

export interface SightingSink {
  /** Takes one sighting; first writes the batch so far (with the cursor) when it is full. */
  add(sighting: Sighting): Promise<void>;
  /** Writes what is buffered and the cursor in one transaction; nothing is buffered afterwards. */
  flush(): Promise<void>;
  /** Sightings buffered, not yet written. */
  readonly pending: number;
}

export function createSightingSink(options: SightingSinkOptions): SightingSink {
  const { db, registry, clock, matcher, source, report, writeCursor } = options;
  const batchSize = options.batchSize ?? SINK_BATCH;
  const matchedApps = new Set<string>();
  let apps = new Map<string, Date>();
  let candidates = new Map<string, CandidateAgg>();
  let pending = 0;

  async function flush() {
    const batchApps = apps;
    const batchCandidates = candidates;
    apps = new Map();
    candidates = new Map();
    pending = 0;
    const fresh = await db.transaction(async (tx) => {
      // Set-based, apps locked in id order like every other writer of several apps.
      if (batchApps.size > 0) await registry.recordActivities(batchApps, `discovery ${source}`, tx);
      const created = await writeCandidates(tx, [...batchCandidates.values()], clock().toISOString());
      await writeCursor(tx);
      return created;
    });
    report.newCandidates += fresh;
    for (const id of batchApps.keys()) matchedApps.add(id);
    report.appsMatched = matchedApps.size;
  }

  return {
    get pending() {
      return pending;
    },
    flush,
    async add(s) {
      if (pending >= batchSize) await flush();
      pending += 1;
      report.sightings += 1;
      // A clock skewed into the future does not make anything look active later than now.
      const when = new Date(Math.min(s.at.getTime(), clock().getTime()));
      const appId = matcher.match(s);
      if (appId) {
        const seen = apps.get(appId);
        if (!seen || when > seen) apps.set(appId, when);
        return;
      }
      const key = candidateKey(s);
      if (!key) return;
      const id = `${s.kind}\u0000${key}`;
      let agg = candidates.get(id);
      if (!agg) {
        agg = newAgg(s.kind, key, s, when);
        candidates.set(id, agg);
      }
      addSighting(agg, s, source, when);
    },
  };
}

/** Upserts the batch's candidates (the stored ones locked and merged); returns how many are new. */
async function writeCandidates(tx: Tx, batch: CandidateAgg[], now: string): Promise<number> {
  if (batch.length === 0) return 0;
  // One order for every writer: no deadlock between two transactions touching the same keys.
  batch.sort((a, b) => (a.kind + a.key < b.kind + b.key ? -1 : 1));
  const stored = await tx
    .select()
    .from(schema.discoveryCandidates)
    .where(
      sql`(${schema.discoveryCandidates.kind}, ${schema.discoveryCandidates.key}) in (select * from unnest(${sql.param(batch.map((b) => b.kind))}::text[], ${sql.param(batch.map((b) => b.key))}::text[]))`,
    )
    .for('update');
  const byKey = new Map(stored.map((r) => [`${r.kind}\u0000${r.key}`, r]));
  let fresh = 0;
  const rows = batch.map((b): typeof schema.discoveryCandidates.$inferInsert => {
    const old = byKey.get(`${b.kind}\u0000${b.key}`);
    if (!old) fresh += 1;
    const first = old && new Date(old.firstSeenAt) < b.first ? old.firstSeenAt : b.first.toISOString();
    const last = old && new Date(old.lastSeenAt) > b.last ? old.lastSeenAt : b.last.toISOString();
    return {
      id: old?.id ?? randomUUID(),
      kind: b.kind,
      key: b.key,
      label: old?.label ?? b.label,
      match: { ...b.match, ...old?.match },
      sources: [...new Set([...(old?.sources ?? []), ...b.sources])].sort(),
      firstSeenAt: first,
      lastSeenAt: last,
      sightings: (old?.sightings ?? 0) + b.count,
      creators: mergeCounts(old?.creators ?? [], b.creators, MAX_CREATORS),
      topCallers: mergeCounts(old?.topCallers ?? [], b.callers, MAX_CALLERS),
      evidence: [...(old?.evidence ?? []), ...b.evidence].slice(0, MAX_EVIDENCE),
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
    };
  });
  const c = schema.discoveryCandidates;
  const excluded = (column: string) => sql.raw(`excluded.${column}`);
  await tx
    .insert(c)
    .values(rows)
    .onConflictDoUpdate({
      target: [c.kind, c.key],
      set: {
        match: excluded('match'),
        sources: excluded('sources'),
        firstSeenAt: excluded('first_seen_at'),
        lastSeenAt: excluded('last_seen_at'),
        sightings: excluded('sightings'),
        creators: excluded('creators'),
        topCallers: excluded('top_callers'),
        evidence: excluded('evidence'),
        updatedAt: excluded('updated_at'),
      },
    });
  return fresh;
}
