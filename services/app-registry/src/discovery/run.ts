import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, type Logger } from '@micro-oncall/service-kit';
import { and, desc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { DiscoveryReadError, RunTotals, SourceReport } from '../db/discovery-schema.js';
import * as schema from '../db/schema.js';
import type { Registry } from '../store.js';
import type { Actor, Clock, Db } from '../types.js';

import { fingerprint, headOf, listFiles, listSources, resumeFrom, type SourceDir, type SourceFile } from './files.js';
import type { IdpSource } from './idp/index.js';
import { type IdpSourceDeps, idpSourceName, readIdpSource } from './idp-source.js';
import { createMatcher, type Matcher } from './match.js';
import type { FileReading, ReadFileOptions } from './readers/index.js';
import { SOURCE_FORMATS } from './sighting.js';
import { createSightingSink, emptyReport, type SightingSink } from './sink.js';

/**
 * The error of a run found still marked running when the next one starts: its replica stopped
 * mid-run. Its end is recorded then, so its duration spans the downtime, not the run.
 */
export const CUT_OFF_BY_STOP = 'cut off before it finished (the service stopped)';

/*
 * A discovery run: every file of every source (DISCOVERY_DIR/<source>/…) read from where the
 * last run stopped, then every configured identity provider's app inventory (idp-source.ts);
 * each sighting matched to a registered app (its last activity moves forward, which keeps it
 * from idling) or folded into a candidate with its evidence (sink.ts). Results and the source's
 * cursor are written in one transaction per batch, so a line never counts twice, even when a
 * run is cut off. One source failing is reported; the others still run. One run at a
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

export interface RunnerDeps {
  db: Db;
  registry: Pick<Registry, 'recordActivities' | 'audit'>;
  clock: Clock;
  logger: Logger;
  /** DISCOVERY_DIR; undefined = no sources (runs still flag what earlier runs found). */
  dir: string | undefined;
  read: ReadSourceFile;
  /** Flags what is due after the sources were read; returns how many it flagged. */
  flag: () => Promise<number>;
  /** The configured identity providers (idp/config.ts): each is a source of every run. */
  idpSources?: IdpSource[];
  /** Retries and timeouts of the identity providers' clients. */
  idpClient?: IdpSourceDeps['client'];
  /** Called with every run that finished (the service's metrics). */
  onFinished?: (run: RunView) => void;
}

export function createRunner(deps: RunnerDeps) {
  const { db, clock, logger } = deps;
  // The advisory lock is held by one connection for the whole run.
  const pool = (db as unknown as { $client: LockPool }).$client;
  const nowIso = () => clock().toISOString();
  const running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  const idpDeps: IdpSourceDeps = {
    db,
    registry: deps.registry,
    clock,
    logger,
    client: deps.idpClient,
    noteError: (report, error) => noteError(report, error),
  };

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
        .set({ status: 'failed', finishedAt: now, error: CUT_OFF_BY_STOP })
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
    /** One source of the run: its report kept (and shown) as it goes; a failure is its own. */
    const readInto = async (name: string, read: (report: SourceReport) => Promise<void>) => {
      const report = emptyReport(name);
      reports.push(report);
      try {
        await read(report);
      } catch (e) {
        report.failed = e instanceof Error ? e.message : String(e);
        logger.warn({ err: e, source: name }, 'discovery: a source failed; the others go on');
      }
      await db.update(schema.discoveryRuns).set({ sources: reports }).where(eq(schema.discoveryRuns.id, row.id));
    };
    try {
      const matcher = await loadMatcher();
      let sources: SourceDir[] = [];
      try {
        sources = deps.dir ? await listSources(deps.dir) : [];
      } catch (e) {
        error = `the sources could not be listed: ${e instanceof Error ? e.message : String(e)}`;
        logger.warn({ err: e, dir: deps.dir }, 'discovery: the sources could not be listed');
      }
      for (const source of sources) {
        if (signal.aborted) break;
        await readInto(source.name, (report) => readSource(source, report, matcher, signal));
      }
      // The identity providers' inventories, each a source of its own (`idp:<name>`).
      for (const idp of deps.idpSources ?? []) {
        if (signal.aborted) break;
        await readInto(idpSourceName(idp), (report) => readIdpSource(idpDeps, idp, report, matcher, signal));
      }
    } catch (e) {
      error = `the registered apps could not be read for matching: ${e instanceof Error ? e.message : String(e)}`;
      logger.warn({ err: e }, 'discovery: the registered apps could not be read');
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
    const view = runView(done!);
    deps.onFinished?.(view);
    return view;
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
    // The file being read and how far: what every batch's cursor write records.
    let position: { file: SourceFile; head: string; line: () => number } | undefined;
    const sink = createSightingSink({
      db,
      registry: deps.registry,
      clock,
      matcher,
      source: source.name,
      report,
      async writeCursor(tx) {
        if (!position) return;
        const { file, head } = position;
        const line = position.line();
        await tx
          .insert(schema.discoveryCursors)
          .values({ source: source.name, file: file.name, line, size: file.size, head, updatedAt: nowIso() })
          .onConflictDoUpdate({
            target: [schema.discoveryCursors.source, schema.discoveryCursors.file],
            set: { line, size: file.size, head, updatedAt: nowIso() },
          });
      },
    });
    for (const file of files) {
      if (signal.aborted) return;
      const head = await headOf(file.path);
      const resume = resumeFrom(cursors.get(file.name), { size: file.size, head });
      if (resume === 'skip') continue;
      report.files += 1;
      const reading = deps.read(file.path, {
        ...settings,
        name: file.name,
        cursor: resume.from,
        onError: (error) => noteError(report, error),
      });
      // The reader's cursor is the line of the sighting it yields: a batch the sink writes before
      // taking that sighting never splits a line.
      position = { file, head: fingerprint(head), line: () => reading.progress.cursor };
      const stopped = await readOne(reading, file, sink, report, signal);
      // Cut off mid-file: what was read so far is kept, the rest is read by the next run.
      const line = stopped ? reading.progress.cursor : Math.max(resume.from, reading.progress.cursor);
      position.line = () => line;
      await sink.flush();
    }
  }

  function noteError(report: SourceReport, error: DiscoveryReadError) {
    report.errors += 1;
    if (report.errorList.length < MAX_ERRORS_KEPT) {
      report.errorList.push({ file: error.file, line: error.line, message: error.message.slice(0, 500) });
    }
  }

  /** Feeds one file's sightings to the sink; true when the run was cut off before the file's end. */
  async function readOne(
    reading: FileReading,
    file: SourceFile,
    sink: SightingSink,
    report: SourceReport,
    signal: AbortSignal,
  ): Promise<boolean> {
    let stopped = false;
    try {
      for await (const s of reading) {
        if (signal.aborted) {
          stopped = true;
          break;
        }
        await sink.add(s);
      }
    } catch (e) {
      noteError(report, {
        file: file.name,
        line: reading.progress.cursor + 1,
        message: e instanceof Error ? e.message : String(e),
      });
    }
    report.linesRead += reading.progress.linesRead;
    return stopped;
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
