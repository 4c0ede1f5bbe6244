import { createHash } from 'node:crypto';
import type { IncidentEvent, IncidentStatus, Severity } from '@micro-oncall/incident-model';
import { Severity as SeverityEnum } from '@micro-oncall/incident-model';
import { and, eq, gte, inArray, lte, notInArray, sql } from 'drizzle-orm';
import { incidentGroups, incidents } from './db/schema.js';
import type { EscalationDb, IncidentRow } from './db/types.js';
import { hasDrillMarker } from './drills.js';

/**
 * How alerts are grouped (ADR 0019): by the Alertmanager group key, and (`byAlertname`) alerts
 * without one by alertname and service; either way only alerts that started within `windowSeconds`
 * of another member.
 */
export interface GroupingOptions {
  windowSeconds: number;
  byAlertname: boolean;
}

export const DEFAULT_GROUPING: GroupingOptions = { windowSeconds: 300, byAlertname: true };

/** `grp_` + 24 hex characters. */
export const GROUP_ID_PATTERN = /^grp_[0-9a-f]{24}$/;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 24);

/**
 * What a rule groups an incident by, from its first event; null when no rule groups it. Drills and
 * real alerts never share a group, nor do two providers.
 */
export function groupingKey(event: IncidentEvent, opts: GroupingOptions): string | null {
  if (!event.snapshot) return null;
  const drill = hasDrillMarker(event) ? 'drill' : 'real';
  if (event.groupKey) return ['group-key', event.provider, drill, event.groupKey].join('\n');
  const alertname = event.snapshot.labels.alertname;
  if (!opts.byAlertname || !alertname) return null;
  return ['alertname', event.provider, drill, alertname, event.snapshot.service].join('\n');
}

/** A rule-formed group's id: from its key and its earliest member, so any order of arrival gives the same. */
export function ruleGroupId(key: string, first: Member): string {
  return `grp_${digest(`${key}\n${new Date(first.at).toISOString()}\n${first.incidentId}`)}`;
}

/** A group formed by a responder's merge: from the action, so a replay of its events names the same group. */
export function mergedGroupId(actionId: string): string {
  return `grp_${digest(`merge\n${actionId}`)}`;
}

/** An incident as a group's span sees it: when its alert started. */
export interface Member {
  at: string;
  incidentId: string;
}

/** A rule-formed group as the plan reads it. */
export interface GroupSpan {
  id: string;
  first: Member;
  lastAt: string;
}

const earlier = (a: Member, b: Member) => {
  const d = Date.parse(a.at) - Date.parse(b.at);
  return d < 0 || (d === 0 && a.incidentId < b.incidentId);
};

/**
 * Where a new member of `key` goes, given the groups of that key whose span, widened by the window,
 * holds its start (`touching`): one group holding it and all of them (alerts within the window of
 * each other chain into one group, whatever order they arrive in). `id` names it by its earliest
 * member; `absorbed` are the touching groups whose members move into it.
 */
export function planJoin(
  key: string,
  member: Member,
  touching: readonly GroupSpan[],
): { id: string; first: Member; lastAt: string; absorbed: string[] } {
  let first = member;
  let lastAt = member.at;
  for (const group of touching) {
    if (earlier(group.first, first)) first = group.first;
    if (Date.parse(group.lastAt) > Date.parse(lastAt)) lastAt = group.lastAt;
  }
  const id = ruleGroupId(key, first);
  return { id, first, lastAt, absorbed: touching.map((g) => g.id).filter((g) => g !== id) };
}

type Tx = Parameters<Parameters<EscalationDb['transaction']>[0]>[0];

/**
 * Puts a newly seen incident into its group (or leaves it on its own), inside the consumer's
 * transaction and under its change-sequence lock (so two chunks cannot form the same group twice).
 * `state` holds the chunk's incidents: those of absorbed groups are moved there (and marked in
 * `dirty`); the others in the database, with a new change number so the live feed shows the move.
 */
export async function joinGroup(
  tx: Tx,
  row: IncidentRow,
  key: string,
  opts: GroupingOptions,
  chunk: { state: Map<string, IncidentRow | null>; dirty: Set<string> },
): Promise<void> {
  const member: Member = { at: new Date(row.createdAt).toISOString(), incidentId: row.id };
  const windowMs = opts.windowSeconds * 1000;
  const at = Date.parse(member.at);
  const touching = await tx
    .select()
    .from(incidentGroups)
    .where(
      and(
        eq(incidentGroups.key, key),
        lte(incidentGroups.firstAt, new Date(at + windowMs).toISOString()),
        gte(incidentGroups.lastAt, new Date(at - windowMs).toISOString()),
      ),
    );
  const plan = planJoin(
    key,
    member,
    touching.map((g) => ({ id: g.id, first: { at: g.firstAt, incidentId: g.firstIncidentId }, lastAt: g.lastAt })),
  );
  await tx
    .insert(incidentGroups)
    .values({ id: plan.id, key, firstAt: plan.first.at, firstIncidentId: plan.first.incidentId, lastAt: plan.lastAt })
    .onConflictDoUpdate({
      target: incidentGroups.id,
      // A responder may have named it first (a merge replayed before its members): the rule owns it now.
      set: { key, firstAt: plan.first.at, firstIncidentId: plan.first.incidentId, lastAt: plan.lastAt },
    });
  row.groupId = plan.id;
  if (plan.absorbed.length === 0) return;
  // Members placed by hand stay where the responder put them.
  for (const [id, other] of chunk.state) {
    if (other?.groupId && plan.absorbed.includes(other.groupId) && !other.groupPinned) {
      other.groupId = plan.id;
      chunk.dirty.add(id);
    }
  }
  const inChunk = [...chunk.state.keys()];
  await tx
    .update(incidents)
    .set({ groupId: plan.id, changeSeq: sql`nextval('escalation.incident_change_seq')` })
    .where(
      and(
        inArray(incidents.groupId, plan.absorbed),
        eq(incidents.groupPinned, false),
        inChunk.length > 0 ? notInArray(incidents.id, inChunk) : undefined,
      ),
    );
  // An absorbed group keeps its row only while someone put a member there by hand.
  await tx
    .delete(incidentGroups)
    .where(
      and(
        inArray(incidentGroups.id, plan.absorbed),
        sql`not exists (select 1 from ${incidents} where ${incidents.groupId} = ${incidentGroups.id})`,
      ),
    );
}

/**
 * A responder's merge or split as the topic says it (`change.group`): the incident goes to that
 * group (created when first named) or out of its group, and stays there. The other members of the
 * groups it left and joined get a new change number so the live feed shows their new count.
 */
export async function placeByHand(tx: Tx, row: IncidentRow, groupId: string | null, before: string | null) {
  if (groupId) {
    const at = new Date(row.createdAt).toISOString();
    await tx
      .insert(incidentGroups)
      .values({ id: groupId, key: null, firstAt: at, firstIncidentId: row.id, lastAt: at })
      .onConflictDoNothing();
  }
  row.groupId = groupId;
  row.groupPinned = true;
  const touched = [before, groupId].filter((g): g is string => g !== null);
  if (touched.length === 0) return;
  await tx
    .update(incidents)
    .set({ changeSeq: sql`nextval('escalation.incident_change_seq')` })
    .where(and(inArray(incidents.groupId, touched), sql`${incidents.id} <> ${row.id}`));
}

/** One alert of a group, as its page lists it. */
export interface GroupAlert {
  id: string;
  number: number;
  title: string;
  service: string;
  provider: string;
  status: IncidentStatus;
  severity: Severity;
  labels: Record<string, string>;
  providerUrl: string | null;
  createdAt: string;
}

/** A group as the list and the live feed show it: one row for its alerts. */
export interface GroupSummary {
  id: string;
  /** How many alerts it holds. */
  alerts: number;
  /** Its lead alert (the one with the smallest number): the row shown for the group. */
  leadId: string;
  /** Triggered while any alert is, acknowledged while any is (and none triggered), resolved when all are. */
  status: IncidentStatus;
  /** Its alerts' worst severity. */
  severity: Severity;
  /** How many of its alerts are in each status. */
  byStatus: Record<IncidentStatus, number>;
}

const SEVERITY_RANK = new Map(SeverityEnum.options.map((s, i) => [s, i]));

/** The group as one row: state and severity from its alerts (pure; members in any order). */
export function summarise(id: string, members: readonly Pick<GroupAlert, 'id' | 'number' | 'status' | 'severity'>[]) {
  const sorted = [...members].sort((a, b) => a.number - b.number);
  const byStatus: Record<IncidentStatus, number> = { triggered: 0, acknowledged: 0, resolved: 0 };
  for (const m of sorted) byStatus[m.status] += 1;
  const status: IncidentStatus =
    byStatus.triggered > 0 ? 'triggered' : byStatus.acknowledged > 0 ? 'acknowledged' : 'resolved';
  const severity = sorted.reduce<Severity>(
    (worst, m) => ((SEVERITY_RANK.get(m.severity) ?? 99) < (SEVERITY_RANK.get(worst) ?? 99) ? m.severity : worst),
    sorted[0]?.severity ?? 'info',
  );
  return {
    id,
    alerts: sorted.length,
    leadId: sorted[0]?.id ?? '',
    status,
    severity,
    byStatus,
  } satisfies GroupSummary;
}

/** The groups of `rows` (those in one), each summarised from all its alerts. */
export async function groupsForIncidents(
  db: Pick<EscalationDb, 'select'>,
  rows: readonly Pick<IncidentRow, 'groupId'>[],
): Promise<Map<string, GroupSummary>> {
  const ids = [...new Set(rows.flatMap((r) => r.groupId ?? []))];
  if (ids.length === 0) return new Map();
  const members = await db
    .select({
      id: incidents.id,
      number: incidents.number,
      status: incidents.status,
      severity: incidents.severity,
      groupId: incidents.groupId,
    })
    .from(incidents)
    .where(inArray(incidents.groupId, ids));
  return new Map(
    ids
      .map((id) =>
        summarise(
          id,
          members.filter((m) => m.groupId === id),
        ),
      )
      .map((s) => [s.id, s]),
  );
}

/** A group's alerts for its page, lead first. */
export async function groupAlerts(db: Pick<EscalationDb, 'select'>, groupId: string): Promise<GroupAlert[]> {
  const rows = await db
    .select({
      id: incidents.id,
      number: incidents.number,
      title: incidents.title,
      service: incidents.service,
      provider: incidents.provider,
      status: incidents.status,
      severity: incidents.severity,
      labels: incidents.labels,
      providerUrl: incidents.providerUrl,
      createdAt: incidents.createdAt,
    })
    .from(incidents)
    .where(eq(incidents.groupId, groupId))
    .orderBy(incidents.number);
  return rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() }));
}
