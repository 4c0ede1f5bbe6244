import type { EventEnvelope, ProviderStatusChange } from '@micro-oncall/incident-model';
import { dbErrorCode, type IncomingMessage, type Rejected, type TypedHandler } from '@micro-oncall/service-kit';
import { and, asc, inArray, ne, sql } from 'drizzle-orm';
import * as schema from '../db/schema.js';
import type { EscalationDb } from '../db/types.js';
import { applyProviderChange, type ComponentCondition, noteFor, servicesTouched } from '../provider-conditions.js';
import { conditionFromRow } from '../provider-context.js';
import { CHANGE_SEQ_LOCK } from './incident-events.js';
import { notifyLiveFeed } from './incident-sql.js';

/**
 * Consumer of `<ns>.provider-status.v1` (status-mapper): the current condition of each provider
 * component and the internal services it maps to, as context for live incidents. One
 * transaction per chunk: the change ids are recorded first (a conflict means already applied,
 * so a redelivery changes nothing), the components' rows are locked and folded forward in
 * message order (a change older than the one applied is recorded as ignored), then every live
 * incident of a service whose provider context changed gets its timeline entry and a new change
 * sequence, so that open dashboards receive it again with its annotation.
 */
interface Decoded {
  message: IncomingMessage;
  envelope: EventEnvelope<'provider-status'>;
  change: ProviderStatusChange;
}

const isDataException = (error: unknown) => dbErrorCode(error).startsWith('22');

export function createProviderStatusHandler(deps: { db: EscalationDb }): TypedHandler<'provider-status'> {
  const apply = (valid: Decoded[]) =>
    deps.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(schema.providerStatusEvents)
        .values(
          valid.map(({ envelope, change }) => ({
            changeId: change.changeId,
            componentKey: change.component.key,
            observedAt: change.observedAt,
            applied: true,
            envelope,
          })),
        )
        .onConflictDoNothing({ target: schema.providerStatusEvents.changeId })
        .returning({ changeId: schema.providerStatusEvents.changeId });
      const fresh = new Set(inserted.map((r) => r.changeId));
      // The same event may appear twice within one chunk: only its first copy is applied.
      const toApply = valid.filter(({ change }) => fresh.delete(change.changeId));
      if (toApply.length === 0) return;

      const keys = [...new Set(toApply.map(({ change }) => change.component.key))].sort();
      const rows = await tx
        .select()
        .from(schema.providerComponents)
        .where(inArray(schema.providerComponents.componentKey, keys))
        .orderBy(asc(schema.providerComponents.componentKey))
        .for('update');
      const state = new Map<string, ComponentCondition>(rows.map((r) => [r.componentKey, conditionFromRow(r)]));
      const transitions: { before: ComponentCondition | null; after: ComponentCondition }[] = [];
      const ignored: string[] = [];
      for (const { change } of toApply) {
        const before = state.get(change.component.key) ?? null;
        const after = applyProviderChange(before, change);
        if (!after) {
          ignored.push(change.changeId);
          continue;
        }
        state.set(change.component.key, after);
        transitions.push({ before, after });
      }
      if (ignored.length > 0) {
        await tx
          .update(schema.providerStatusEvents)
          .set({ applied: false })
          .where(inArray(schema.providerStatusEvents.changeId, ignored));
      }
      if (transitions.length === 0) return;

      const changedKeys = new Set(transitions.map((t) => t.after.componentKey));
      const excluded = (column: string) => sql.raw(`excluded.${column}`);
      await tx
        .insert(schema.providerComponents)
        .values([...changedKeys].map((key) => state.get(key)!))
        .onConflictDoUpdate({
          target: schema.providerComponents.componentKey,
          set: {
            provider: excluded('provider'),
            pageId: excluded('page_id'),
            componentName: excluded('component_name'),
            groupName: excluded('group_name'),
            status: excluded('status'),
            providerStatus: excluded('provider_status'),
            since: excluded('since'),
            stale: excluded('stale'),
            incidents: excluded('incidents'),
            services: excluded('services'),
            changeId: excluded('change_id'),
            observedAt: excluded('observed_at'),
            updatedAt: sql`now()`,
          },
        });

      const touched = [...new Set(transitions.flatMap((t) => servicesTouched(t.before, t.after)))];
      if (touched.length === 0) return;
      const liveOn = and(inArray(schema.incidents.service, touched), ne(schema.incidents.status, 'resolved'));
      // The live incidents' rows first (in id order, as any writer may hold some), then the
      // change-sequence lock: the incident-events consumer takes them in that order too. Read
      // again under the lock: an incident opened meanwhile is then committed and included
      // (its own transaction noted the conditions it saw, the ones before this change).
      await tx
        .select({ id: schema.incidents.id })
        .from(schema.incidents)
        .where(liveOn)
        .orderBy(asc(schema.incidents.id))
        .for('update');
      await tx.execute(sql`select pg_advisory_xact_lock(${CHANGE_SEQ_LOCK})`);
      const live = await tx
        .select({ id: schema.incidents.id, service: schema.incidents.service })
        .from(schema.incidents)
        .where(liveOn)
        .orderBy(asc(schema.incidents.id));
      if (live.length === 0) return;

      const notes = transitions.flatMap(({ before, after }) =>
        live.flatMap((incident) => {
          const note = noteFor(incident.service, before, after);
          if (!note) return [];
          // `ended` describes the condition that ended; the others the condition now.
          const described = note.kind === 'ended' && before ? before : after;
          return [
            {
              incidentId: incident.id,
              changeId: after.changeId,
              at: after.observedAt,
              kind: note.kind,
              componentKey: after.componentKey,
              provider: after.provider,
              componentName: after.componentName,
              groupName: after.groupName,
              fromStatus: note.from,
              toStatus: note.to,
              since: described.since,
              stale: described.stale,
            },
          ];
        }),
      );
      if (notes.length > 0) await tx.insert(schema.incidentProviderNotes).values(notes).onConflictDoNothing();
      // A new change sequence: the live feed sends these incidents again, with their provider context.
      await tx
        .update(schema.incidents)
        .set({ changeSeq: sql`nextval('escalation.incident_change_seq')` })
        .where(
          inArray(
            schema.incidents.id,
            live.map((i) => i.id),
          ),
        );
      await notifyLiveFeed(tx);
    });

  // Messages arrive decoded and validated against the topic contract (service-kit consume);
  // what does not validate is already on its way to the dead-letter topic.
  return async (messages) => {
    const rejected: Rejected[] = [];
    const valid: Decoded[] = messages.map(({ message, envelope, data }) => ({ message, envelope, change: data }));
    try {
      await apply(valid);
    } catch (error) {
      // A value PostgreSQL refuses (SQLSTATE class 22, e.g. an invalid character) would fail
      // the chunk forever: apply the messages one by one and dead-letter only the culprit.
      if (!isDataException(error) || valid.length === 0) throw error;
      for (const one of valid) {
        try {
          await apply([one]);
        } catch (single) {
          if (!isDataException(single)) throw single;
          rejected.push({
            message: one.message,
            reason: `the database refused the event: ${(single as Error).message}`,
          });
        }
      }
    }
    return { rejected };
  };
}
