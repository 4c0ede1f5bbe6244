import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, type Logger } from '@micro-oncall/service-kit';
import { and, desc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DiscoveryReadError, RunTotals, SourceReport } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';
import type { Actor, Clock, Db, Tx } from '../types.js';
import {
  addSighting,
  type CandidateAgg,
  MAX_CALLERS,
  MAX_CREATORS,
  MAX_EVIDENCE,
  mergeCounts,
  newAgg,
} from './aggregate.js';
import { fingerprint, headOf, listFiles, listSources, resumeFrom, type SourceFile } from './files.js';
import { candidateKey, createMatcher, type Matcher } from './match.js';
import type { FileReading, ReadFileOptions } from './readers/index.js';
import type { SourceFormat } from './sighting.js';

const SOURCE_FORMATS = [
  'cloudtrail',
  'gcp-audit',
  'azure-activity',
  'apigateway',
  'nginx',
  'envoy',
] as const satisfies readonly SourceFormat[];

/*
 * A discovery run: every file of every source (DISCOVERY_DIR/<source>/…) read from where the
 * last run stopped; each sighting matched to a registered app (its last activity moves forward,
 * which keeps it from idling) or folded into a candidate with its evidence. Results and the
 * file's cursor are written in one transaction per batch, so a line never counts twice, even
 * when a run is cut off. One source failing is reported; the others still run. One run at a
 * time (a PostgreSQL advisory lock): asking for another while one runs answers 409.
 */

/** Reads one file (readers/read-file.ts); tests may wrap it. */
export type ReadSourceFile = (path: string, options: ReadFileOptions) => FileReading;

/**
 * `<source>/.source.json`, optional: `{"format": "nginx", "host": "shop.example.com"}` when the
 * format cannot be detected, or an access log does not log the host it served.
 */
const SourceSettings = z
  .object({ format: z.enum(SOURCE_FORMATS).optional(), host: z.string().trim().min(1).max(253).optional() })
  .strict();
type SourceSettings = z.infer<typeof SourceSettings>;

async function settingsOf(dir: string): Promise<SourceSettings> {
  let text: string;
  try {
    text = await readFile(path.join(dir, '.source.json'), 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = SourceSettings.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(
      `.source.json: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

interface LockPool {
  connect(): Promise<{
    query<R>(text: string): Promise<{ rows: R[] }>;
    release(): void;
  }>;
}

export const MAX_ERRORS_KEPT = 50;
const BATCH = 2000;
const SCHEDULE_ACTOR: Actor = { type: 'system', subject: 'discovery-schedule', name: null };

export type RunRow = typeof schema.discoveryRuns.$inferSelect;

export function runView(row: RunRow) {
  return {
    id: row.id,
    trigger: row.trigger,
    requestedBy: row.requestedBy,
    status: row.status,
    startedAt: new Date(row.startedAt).toISOString(),
    finishedAt: row.finishedAt ? new Date(row.finishedAt).toISOString() : null,
    totals: row.totals,
    sources: row.sources,
    error: row.error,
  };
}
export type RunView = ReturnType<typeof runView>;

const emptyReport = (source: string): SourceReport => ({
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

export interface RunnerDeps {
  db: Db;
  registry: Pick<Registry, 'recordActivity' | 'audit'>;
  clock: Clock;
  logger: Logger;
  /** DISCOVERY_DIR; undefined = no sources (runs still flag what earlier runs found). */
  dir: string | undefined;
  read: ReadSourceFile;
  /** Flags what is due after the sources were read; returns how many it flagged. */
  flag: () => Promise<number>;
}

export function createRunner(deps: RunnerDeps) {
  const { db, clock, logger } = deps;
  // The advisory lock is held by one connection for the whole run.
  const pool = (db as unknown as { $client: LockPool }).$client;
  const nowIso = () => clock().toISOString();
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();

  /** Registered apps that are not purged, for matching. */
  async function loadMatcher(): Promise<Matcher> {
    const rows = await db
      .select({
        id: schema.apps.id,
        idpClientIds: schema.apps.idpClientIds,
        cloudResourceIds: schema.apps.cloudResourceIds,
        endpoints: schema.apps.endpoints,
      })
      .from(schema.apps)
      .where(ne(schema.apps.state, 'purged'));
    return createMatcher(rows);
  }

  /**
   * Starts a run when no other is running: the run's row is written and returned at once, the
   * reading goes on (`done`). 409 when another run holds the lock.
   */
  async function start(trigger: 'schedule' | 'manual', actor: Actor) {
    const client = await pool.connect();
    let locked = false;
    try {
      locked = (
        await client.query<{ locked: boolean }>(
          `select pg_try_advisory_lock(hashtext('app_registry.discovery')) as locked`,
        )
      ).rows[0]!.locked;
      if (!locked) {
        const [current] = await db
          .select({ id: schema.discoveryRuns.id })
          .from(schema.discoveryRuns)
          .where(eq(schema.discoveryRuns.status, 'running'))
          .orderBy(desc(schema.discoveryRuns.startedAt))
          .limit(1);
        throw new ConflictError('a discovery run is in progress: wait for it to finish', {
          runId: current?.id ?? null,
        });
      }
      // Holding the lock, any run still marked running was cut off (its replica stopped).
      const now = nowIso();
      await db
        .update(schema.discoveryRuns)
        .set({ status: 'failed', finishedAt: now, error: 'cut off before it finished (the service stopped)' })
        .where(eq(schema.discoveryRuns.status, 'running'));
      const [row] = await db
        .insert(schema.discoveryRuns)
        .values({ id: randomUUID(), trigger, requestedBy: actor.subject, startedAt: now })
        .returning();
      await deps.registry.audit(db, {
        actor,
        action: 'discovery_run',
        outcome: 'allowed',
        detail: `discovery run ${row!.id} started (${trigger})`,
        request: { runId: row!.id, trigger },
      });
      const controller = new AbortController();
      const entry = {
        controller,
        done: execute(row!, controller.signal).finally(async () => {
          running.delete(entry);
          await client.query(`select pg_advisory_unlock(hashtext('app_registry.discovery'))`).catch(() => undefined);
          client.release();
        }),
      };
      running.add(entry);
      entry.done.catch((e: unknown) => logger.error({ err: e, runId: row!.id }, 'discovery run failed'));
      return { run: runView(row!), done: entry.done as Promise<RunView> };
    } catch (error) {
      if (!locked) client.release();
      else {
        await client.query(`select pg_advisory_unlock(hashtext('app_registry.discovery'))`).catch(() => undefined);
        client.release();
      }
      throw error;
    }
  }

  /** The daily job: a run to its end (skipped when one is running already). */
  async function scheduled(signal: AbortSignal) {
    let started: Awaited<ReturnType<typeof start>>;
    try {
      started = await start('schedule', SCHEDULE_ACTOR);
    } catch (error) {
      if (error instanceof ConflictError) {
        logger.info('a discovery run is in progress: the scheduled one is skipped');
        return null;
      }
      throw error;
    }
    const abort = () => {
      for (const r of running) r.controller.abort(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    try {
      return await started.done;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  async function execute(row: RunRow, signal: AbortSignal): Promise<RunView> {
    const reports: SourceReport[] = [];
    let error: string | null = null;
    try {
      const matcher = await loadMatcher();
      const sources = deps.dir ? await listSources(deps.dir) : [];
      for (const source of sources) {
        if (signal.aborted) break;
        const report = emptyReport(source.name);
        reports.push(report);
        try {
          await readSource(source, report, matcher, signal);
        } catch (e) {
          report.failed = e instanceof Error ? e.message : String(e);
          logger.warn({ err: e, source: source.name }, 'discovery: a source failed; the others go on');
        }
        await db.update(schema.discoveryRuns).set({ sources: reports }).where(eq(schema.discoveryRuns.id, row.id));
      }
    } catch (e) {
      error = `the sources could not be listed: ${e instanceof Error ? e.message : String(e)}`;
      logger.warn({ err: e, dir: deps.dir }, 'discovery: the sources could not be listed');
    }
    if (signal.aborted && !error) error = 'cut off before it finished';
    let flagged = 0;
    try {
      flagged = await deps.flag();
    } catch (e) {
      logger.error({ err: e }, 'discovery: flagging failed');
      error = error ?? `flagging failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    const totals: RunTotals = {
      linesRead: sum(reports, 'linesRead'),
      sightings: sum(reports, 'sightings'),
      appsMatched: sum(reports, 'appsMatched'),
      newCandidates: sum(reports, 'newCandidates'),
      flagged,
      errors: sum(reports, 'errors'),
    };
    const failedSources = reports.filter((r) => r.failed !== null).length;
    const status =
      error !== null && reports.length === 0
        ? 'failed'
        : reports.length > 0 && failedSources === reports.length
          ? 'failed'
          : error !== null || failedSources > 0 || totals.errors > 0
            ? 'partial'
            : 'succeeded';
    const [done] = await db
      .update(schema.discoveryRuns)
      .set({ status, finishedAt: nowIso(), totals, sources: reports, error })
      .where(eq(schema.discoveryRuns.id, row.id))
      .returning();
    logger.info({ runId: row.id, status, ...totals }, 'discovery run finished');
    return runView(done!);
  }

  async function readSource(
    source: { name: string; path: string },
    report: SourceReport,
    matcher: Matcher,
    signal: AbortSignal,
  ) {
    const settings = await settingsOf(source.path);
    const files = await listFiles(source.path);
    const cursors = new Map(
      (await db.select().from(schema.discoveryCursors).where(eq(schema.discoveryCursors.source, source.name))).map(
        (c) => [c.file, c],
      ),
    );
    const matchedApps = new Set<string>();
    for (const file of files) {
      if (signal.aborted) return;
      const head = await headOf(file.path);
      const resume = resumeFrom(cursors.get(file.name), { size: file.size, head });
      if (resume === 'skip') continue;
      report.files += 1;
      await readOne(source.name, settings, file, resume.from, fingerprint(head), report, matcher, matchedApps, signal);
    }
  }

  function noteError(report: SourceReport, error: DiscoveryReadError) {
    report.errors += 1;
    if (report.errorList.length < MAX_ERRORS_KEPT) {
      report.errorList.push({ file: error.file, line: error.line, message: error.message.slice(0, 500) });
    }
  }

  async function readOne(
    source: string,
    settings: SourceSettings,
    file: SourceFile,
    from: number,
    head: string,
    report: SourceReport,
    matcher: Matcher,
    matchedApps: Set<string>,
    signal: AbortSignal,
  ) {
    let apps = new Map<string, Date>();
    let candidates = new Map<string, CandidateAgg>();
    let pending = 0;

    const flush = async (upTo: number) => {
      const batchApps = apps;
      const batchCandidates = candidates;
      apps = new Map();
      candidates = new Map();
      pending = 0;
      const fresh = await db.transaction(async (tx) => {
        // Apps in id order, like every other writer of several apps: no deadlock with a sweep.
        for (const [id, at] of [...batchApps].sort(([a], [b]) => (a < b ? -1 : 1))) {
          await deps.registry.recordActivity({ id }, at, `discovery ${source}`, tx);
        }
        const created = await writeCandidates(tx, [...batchCandidates.values()]);
        await tx
          .insert(schema.discoveryCursors)
          .values({ source, file: file.name, line: upTo, size: file.size, head, updatedAt: nowIso() })
          .onConflictDoUpdate({
            target: [schema.discoveryCursors.source, schema.discoveryCursors.file],
            set: { line: upTo, size: file.size, head, updatedAt: nowIso() },
          });
        return created;
      });
      report.newCandidates += fresh;
      for (const id of batchApps.keys()) matchedApps.add(id);
      report.appsMatched = matchedApps.size;
    };

    const reading = deps.read(file.path, {
      ...settings,
      name: file.name,
      cursor: from,
      onError: (error) => noteError(report, error),
    });
    let stopped = false;
    try {
      for await (const s of reading) {
        if (signal.aborted) {
          stopped = true;
          break;
        }
        // The reader's cursor is this sighting's line: a batch written here never splits a line.
        if (pending >= BATCH) await flush(reading.progress.cursor);
        pending += 1;
        report.sightings += 1;
        const when = new Date(Math.min(s.at.getTime(), clock().getTime()));
        const appId = matcher.match(s);
        if (appId) {
          const seen = apps.get(appId);
          if (!seen || when > seen) apps.set(appId, when);
          continue;
        }
        const key = candidateKey(s);
        if (!key) continue;
        const id = `${s.kind}\u0000${key}`;
        let agg = candidates.get(id);
        if (!agg) {
          agg = newAgg(s.kind, key, s, when);
          candidates.set(id, agg);
        }
        addSighting(agg, s, source, when);
      }
    } catch (e) {
      noteError(report, {
        file: file.name,
        line: reading.progress.cursor + 1,
        message: e instanceof Error ? e.message : String(e),
      });
    }
    report.linesRead += reading.progress.linesRead;
    // Cut off mid-file: what was read so far is kept, the rest is read by the next run.
    const line = stopped ? reading.progress.cursor : Math.max(from, reading.progress.cursor);
    await flush(line);
  }

  /** Upserts the batch's candidates (the stored ones locked and merged); returns how many are new. */
  async function writeCandidates(tx: Tx, batch: CandidateAgg[]): Promise<number> {
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
    const now = nowIso();
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

  async function list(q: { limit: number; before?: string }) {
    const rows = await db
      .select()
      .from(schema.discoveryRuns)
      .where(q.before ? sql`${schema.discoveryRuns.startedAt} < ${q.before}` : undefined)
      .orderBy(desc(schema.discoveryRuns.startedAt), desc(schema.discoveryRuns.id))
      .limit(q.limit);
    return rows.map(runView);
  }

  async function get(id: string) {
    const [row] = await db
      .select()
      .from(schema.discoveryRuns)
      .where(and(eq(schema.discoveryRuns.id, id)));
    return row ? runView(row) : null;
  }

  return {
    start,
    scheduled,
    list,
    get,
    loadMatcher,
    /** Cuts off the runs in progress (their batches so far are kept) and waits for them. */
    async stop() {
      const all = [...running];
      for (const r of all) r.controller.abort(new Error('the service is stopping'));
      await Promise.allSettled(all.map((r) => r.done));
    },
  };
}

export type Runner = ReturnType<typeof createRunner>;

function sum(reports: SourceReport[], key: 'linesRead' | 'sightings' | 'appsMatched' | 'newCandidates' | 'errors') {
  return reports.reduce((n, r) => n + r[key], 0);
}
