import type { AppRegistryChange, EventEnvelope } from '@micro-oncall/incident-model';
import { dbErrorCode, type IncomingMessage, type Rejected, type TypedHandler } from '@micro-oncall/service-kit';
import { sql } from 'drizzle-orm';
import * as schema from '../db/schema.js';
import type { EscalationDb } from '../db/types.js';

/**
 * Consumer of `<ns>.app-registry.v1` (app-registry): who owns each app, so that escalation can
 * show where its service catalogue and the registry disagree. One transaction per chunk: the
 * change ids are recorded first (a conflict means already applied: a redelivery changes
 * nothing), then each app's row is replaced by the change unless a later one was applied already.
 */
interface Decoded {
  message: IncomingMessage;
  envelope: EventEnvelope<'app-registry'>;
  change: AppRegistryChange;
}

const isDataException = (error: unknown) => dbErrorCode(error).startsWith('22');

export function createAppRegistryHandler(deps: { db: EscalationDb }): TypedHandler<'app-registry'> {
  const apply = (valid: Decoded[]) =>
    deps.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(schema.appRegistryChanges)
        .values(
          valid.map(({ change }) => ({
            changeId: change.changeId,
            appId: change.app.id,
            occurredAt: change.occurredAt,
          })),
        )
        .onConflictDoNothing({ target: schema.appRegistryChanges.changeId })
        .returning({ changeId: schema.appRegistryChanges.changeId });
      const fresh = new Set(inserted.map((r) => r.changeId));
      // In message order (per app, the partition's order): the newest change of each app wins.
      for (const { change } of valid) {
        if (!fresh.delete(change.changeId)) continue;
        await tx
          .insert(schema.registryOwners)
          .values({
            appId: change.app.id,
            name: change.app.name,
            ownerPerson: change.owner.person,
            team: change.owner.team,
            state: change.state.to,
            tier: change.tier,
            changeId: change.changeId,
            occurredAt: change.occurredAt,
          })
          .onConflictDoUpdate({
            target: schema.registryOwners.appId,
            set: {
              name: sql`excluded.name`,
              ownerPerson: sql`excluded.owner_person`,
              team: sql`excluded.team`,
              state: sql`excluded.state`,
              tier: sql`excluded.tier`,
              changeId: sql`excluded.change_id`,
              occurredAt: sql`excluded.occurred_at`,
              updatedAt: sql`now()`,
            },
            // A change that happened before the one applied (a late redelivery) is ignored.
            setWhere: sql`${schema.registryOwners.occurredAt} <= excluded.occurred_at`,
          });
      }
    });

  return async (messages) => {
    const rejected: Rejected[] = [];
    const valid: Decoded[] = messages.map(({ message, envelope, data }) => ({ message, envelope, change: data }));
    try {
      await apply(valid);
    } catch (error) {
      // A value PostgreSQL refuses would fail the chunk forever: one by one, dead-letter the culprit.
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
