import type { IncidentEvent, IncidentEventEnvelope } from '@micro-oncall/incident-model';
import { dbErrorCode, type IncomingMessage, type Rejected, type TypedHandler } from '@micro-oncall/service-kit';
import { inArray, sql } from 'drizzle-orm';
import * as schema from '../db/schema.js';
import type { EscalationDb, IncidentChange, IncidentRow } from '../db/types.js';
import { verifyDrill } from '../drills.js';
import { DEFAULT_GROUPING, type GroupingOptions, groupingKey, joinGroup, placeByHand } from '../grouping.js';
import { applyEvent } from '../projector.js';
import { insertHistory, upsertIncidents } from './incident-sql.js';

/**
 * Consumer of `<ns>.incident-events.v1`. One transaction per chunk: the history rows are
 * inserted first (a conflict on event_id means already applied, so it is skipped), then the
 * affected incidents are locked, folded forward in message order, and written back. Offsets
 * are committed by the runner only after this transaction commits.
 */
interface Decoded {
  message: IncomingMessage;
  envelope: IncidentEventEnvelope;
  event: IncidentEvent;
}

const isDataException = (error: unknown) => dbErrorCode(error).startsWith('22');

/**
 * Advisory lock key that orders incident_change_seq with commits (see the upsert below). Every
 * writer of change_seq takes it (the provider-status consumer too).
 */
export const CHANGE_SEQ_LOCK = 7_243_110_951;

export function createIncidentEventsHandler(deps: {
  db: EscalationDb;
  /** How related alerts are grouped (ADR 0019); DEFAULT_GROUPING when not given. */
  grouping?: GroupingOptions;
  /** Called after the chunk's transaction committed, with each changed incident. */
  onApplied?: (changes: IncidentChange[]) => void;
  /**
   * Called inside the chunk's transaction, after the changed incidents are written and while
   * the change-sequence lock is held, with each changed incident (provider context of new incidents).
   */
  inTransaction?: (
    tx: Parameters<Parameters<EscalationDb['transaction']>[0]>[0],
    changes: IncidentChange[],
  ) => Promise<void>;
}): TypedHandler<'incident-events'> {
  const apply = (valid: Decoded[]) =>
    deps.db.transaction(async (tx) => {
      const fresh = await insertHistory(
        tx,
        valid.map(({ message, envelope, event }) => ({ envelope, event, raw: message.value })),
      );
      // The same event may appear twice within one chunk: only its first copy is applied.
      const toApply = valid.filter(({ event }) => fresh.delete(event.eventId));
      if (toApply.length === 0) return [];

      const ids = [...new Set(toApply.map(({ event }) => event.incidentId))];
      const rows = await tx
        .select()
        .from(schema.incidents)
        .where(sql`${schema.incidents.id} = any(${sql.param(ids)}::text[])`)
        .for('update');
      const before = new Map(rows.map((r) => [r.id, r]));
      const state = new Map<string, IncidentRow | null>(before);
      const dirty = new Set<string>();
      /** Incidents first seen in this chunk, with the event that opened them (what a rule groups by). */
      const opened = new Map<string, IncidentEvent>();
      /** Merges and splits by hand, in order: the incident, the group it goes to. */
      const byHand: Array<{ id: string; groupId: string | null }> = [];
      for (const { event, envelope } of toApply) {
        const current = state.get(event.incidentId) ?? null;
        const next = applyEvent(current, event);
        if (next) {
          // First seen when webhook-ingest received its first event (the envelope's time, ours,
          // not the provider's): the moment its drill run must have been active, the same on a replay.
          if (!current) {
            next.firstSeenAt = envelope.time;
            opened.set(event.incidentId, event);
          }
          if (event.change?.group) byHand.push({ id: event.incidentId, groupId: event.change.group.id });
          state.set(event.incidentId, next);
          dirty.add(event.incidentId);
        }
      }
      // change_seq values must become visible in order: the live feed reads "changes after
      // N", so a transaction must not commit N+1 while another still holds N. Taking the
      // numbers under one transaction-scoped lock (held to commit, across replicas) keeps
      // them in commit order. The drill runs are read under it too: the drills consumer
      // registers a run and re-evaluates its incidents under the same lock, so a run and an
      // incident committed at the same moment cannot miss each other.
      if (dirty.size > 0) await tx.execute(sql`select pg_advisory_xact_lock(${CHANGE_SEQ_LOCK})`);
      // Related alerts into one group (grouping.ts), under the same lock: two chunks cannot form
      // the same group twice. Rules place new incidents; merges and splits by hand come after.
      const grouping = deps.grouping ?? DEFAULT_GROUPING;
      for (const [id, event] of opened) {
        const row = state.get(id)!;
        const key = groupingKey(event, grouping);
        if (key && !row.groupPinned && row.groupId === null) await joinGroup(tx, row, key, grouping, { state, dirty });
      }
      for (const { id, groupId } of byHand) {
        const row = state.get(id)!;
        await placeByHand(tx, row, groupId, row.groupId);
      }
      // Drill or real: the run id against the runs the simulator registered (drills.ts).
      const runIds = [...new Set([...dirty].flatMap((id) => state.get(id)!.drillRunId ?? []))];
      const runs =
        runIds.length === 0
          ? []
          : await tx.select().from(schema.drillRuns).where(inArray(schema.drillRuns.runId, runIds));
      const runById = new Map(runs.map((r) => [r.runId, r]));
      for (const id of dirty) {
        const row = state.get(id)!;
        Object.assign(row, verifyDrill(row, row.drillRunId ? runById.get(row.drillRunId) : undefined));
      }
      if (dirty.size > 0) {
        // The live feed is notified in the same statement (delivered at commit, see live.ts).
        await upsertIncidents(
          tx,
          [...dirty].map((id) => state.get(id)!),
          { notifyLiveFeed: true },
        );
      }
      const receipts = newestReceipts(toApply);
      const changes = [...dirty].map((id) => ({
        before: before.get(id) ?? null,
        after: state.get(id)!,
        receivedAt: receipts.get(id)?.time,
      }));
      if (changes.length > 0) await deps.inTransaction?.(tx, changes);
      return changes;
    });

  /** By incident: the newest envelope time of its events applied in this chunk (none: it changed otherwise). */
  const newestReceipts = (applied: Decoded[]) => {
    const newest = new Map<string, { time: string; at: number }>();
    for (const { event, envelope } of applied) {
      const at = Date.parse(envelope.time);
      const seen = newest.get(event.incidentId);
      if (!seen || at > seen.at) newest.set(event.incidentId, { time: envelope.time, at });
    }
    return newest;
  };

  // Messages arrive decoded and validated against the topic contract (service-kit consume);
  // what does not validate is already on its way to the dead-letter topic.
  return async (messages) => {
    const rejected: Rejected[] = [];
    const valid: Decoded[] = messages.map(({ message, envelope, data }) => ({ message, envelope, event: data }));

    let changed: IncidentChange[];
    try {
      changed = await apply(valid);
    } catch (error) {
      // A value PostgreSQL refuses (SQLSTATE class 22, e.g. an invalid character) would fail
      // the chunk forever: apply the messages one by one and dead-letter only the culprit.
      if (!isDataException(error) || valid.length === 0) throw error;
      changed = [];
      for (const one of valid) {
        try {
          changed.push(...(await apply([one])));
        } catch (single) {
          if (!isDataException(single)) throw single;
          rejected.push({
            message: one.message,
            reason: `the database refused the event: ${(single as Error).message}`,
          });
        }
      }
    }
    if (changed.length > 0) deps.onApplied?.(changed);
    return { rejected };
  };
}
