import { randomUUID } from 'node:crypto';
import { type Actor, INCIDENT_ID_PATTERN, type IncidentEvent, IncidentId } from '@micro-oncall/incident-model';
import {
  ConflictError,
  InputError,
  type Logger,
  NotFoundError,
  type Outbox,
  requireRole,
  type ServiceError,
} from '@micro-oncall/service-kit';
import { count, eq } from 'drizzle-orm';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { AuditEntry, AuditWriter } from '../audit.js';
import { incidents } from '../db/schema.js';
import type { EscalationDb, IncidentRow } from '../db/types.js';
import { mergedGroupId } from '../grouping.js';

/** The CloudEvents `source` of a responder's merge or split on `incident-events`. */
export const GROUPING_SOURCE = '/escalation/grouping';

export const MergeRequest = z
  .object({
    /** The incident whose group it joins (a new group of the two when that one is on its own). */
    into: IncidentId,
  })
  .strict();

export const SplitRequest = z.object({}).strict();

export interface GroupingRoutesDeps {
  db: EscalationDb;
  audit: AuditWriter;
  outbox: Outbox;
  logger: Logger;
}

const label = (row: IncidentRow) => `#${row.number}`;

/**
 * The event that says a responder moved an incident into a group (`groupId`) or out of its group
 * (null): kind `updated`, `change.group`, no snapshot (nothing about the alert itself changed). Its
 * id names the action, so a replay applies it once; every consumer sees the same grouping.
 */
export function groupingEvent(
  incident: IncidentRow,
  groupId: string | null,
  by: { actor: Actor; actionId: string; at: Date; note: string },
): IncidentEvent {
  const what = groupId ? 'grouped' : 'ungrouped';
  return {
    eventId: `escalation:${incident.id}:${what}:${by.actionId}`,
    kind: 'updated',
    providerEventType: what,
    occurredAt: new Date(Math.max(by.at.getTime(), Date.parse(incident.updatedAt))).toISOString(),
    incidentId: incident.id,
    provider: incident.provider,
    providerId: incident.providerId,
    dedupKey: incident.dedupKey,
    actor: by.actor,
    note: by.note,
    drill: incident.drillMarker,
    snapshot: null,
    change: { group: { id: groupId } },
  };
}

/**
 * POST /v1/incidents/:id/merge `{ into }` and POST /v1/incidents/:id/split (responder, ADR 0019):
 * a responder puts an alert into another incident's group, or takes it out of its group. Audited
 * (refusals too, as `failed` with the reason) and said on `incident-events` through the outbox in
 * the same transaction; the incident moves when escalation's consumer applies that event, like
 * every other consumer of the topic, and stays where the responder put it.
 */
export function createGroupingRouter(deps: GroupingRoutesDeps): Router {
  const router = Router();

  const handle = (op: 'merge' | 'split') => async (req: Request, res: Response) => {
    const principal = req.principal!;
    const id = String(req.params.id);
    const actionId = randomUUID();
    const refused = async (error: ServiceError, extra: Partial<AuditEntry> = {}) => {
      try {
        await deps.audit({
          actor: principal,
          action: op,
          outcome: 'failed',
          detail: error.message,
          requestId: req.id,
          incidentId: INCIDENT_ID_PATTERN.test(id) ? id : null,
          ...extra,
        });
      } catch (auditError) {
        deps.logger.error({ err: auditError, requestId: req.id }, 'writing an audit row failed');
      }
      return error;
    };

    if (!INCIDENT_ID_PATTERN.test(id)) throw await refused(new InputError('incident id: not an incident id'));
    const parsed = (op === 'merge' ? MergeRequest : SplitRequest).safeParse(req.body ?? {});
    if (!parsed.success) throw await refused(InputError.fromZod(parsed.error, op));
    const request = parsed.data as { into?: string };
    const [incident] = await deps.db.select().from(incidents).where(eq(incidents.id, id));
    if (!incident) throw await refused(new NotFoundError(`incident ${id} not found`), { request });

    const actor: Actor = { type: 'user', id: principal.subject, name: principal.name ?? principal.email };
    const at = new Date();
    const who = principal.name ?? principal.email ?? principal.subject;
    const events: IncidentEvent[] = [];
    let groupId: string | null = null;
    let detail: string;

    if (op === 'merge') {
      const into = request.into!;
      if (into === id)
        throw await refused(new InputError('into: an incident cannot be merged into itself'), { request });
      const [target] = await deps.db.select().from(incidents).where(eq(incidents.id, into));
      if (!target) {
        throw await refused(new NotFoundError(`incident ${into} to merge into not found`), { request });
      }
      if (incident.groupId !== null && incident.groupId === target.groupId) {
        throw await refused(
          new ConflictError(`incident ${label(incident)} is already in the group of ${label(target)}`, {
            groupId: target.groupId,
          }),
          { request },
        );
      }
      groupId = target.groupId ?? mergedGroupId(actionId);
      const size = target.groupId ? await membersOf(deps.db, target.groupId) : 1;
      detail = `merged ${label(incident)} into the group of ${label(target)} (${size + 1} alerts)`;
      // A target on its own forms the new group with it: it is placed there first.
      if (!target.groupId) {
        events.push(
          groupingEvent(target, groupId, { actor, actionId, at, note: `Grouped with ${label(incident)} by ${who}` }),
        );
      }
      events.push(
        groupingEvent(incident, groupId, {
          actor,
          actionId,
          at,
          note: `Merged into the group of ${label(target)} by ${who}`,
        }),
      );
    } else {
      if (incident.groupId === null) {
        throw await refused(new ConflictError(`incident ${label(incident)} is not in a group: nothing to split`), {
          request,
        });
      }
      const size = await membersOf(deps.db, incident.groupId);
      detail = `split ${label(incident)} out of its group (${size - 1} alerts left)`;
      events.push(groupingEvent(incident, null, { actor, actionId, at, note: `Split out of its group by ${who}` }));
    }

    await deps.db.transaction(async (tx) => {
      await deps.audit(
        {
          actor: principal,
          action: op,
          outcome: 'succeeded',
          detail,
          requestId: req.id,
          incidentId: id,
          provider: incident.provider,
          request,
          actionId,
        },
        tx,
      );
      for (const event of events) await deps.outbox.enqueue(tx, 'incident-events', event, { source: GROUPING_SOURCE });
    });
    res.json({ actionId, groupId, detail, incidentIds: events.map((e) => e.incidentId) });
  };

  router.post('/v1/incidents/:id/merge', requireRole('responder'), handle('merge'));
  router.post('/v1/incidents/:id/split', requireRole('responder'), handle('split'));
  return router;
}

async function membersOf(db: EscalationDb, groupId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(incidents).where(eq(incidents.groupId, groupId));
  return Number(row?.n ?? 0);
}
