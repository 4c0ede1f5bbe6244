import { isUtf8 } from 'node:buffer';
import type { IncidentEvent, IncidentEventEnvelope } from '@micro-oncall/incident-model';
import { type SQL, sql } from 'drizzle-orm';
import type { EscalationDb, IncidentRow } from '../db/types.js';

/**
 * The two statements the incident-events consumer runs for every chunk, written as SQL whose rows
 * arrive as one jsonb parameter (`jsonb_to_recordset`) instead of one parameter per value: a
 * 500-event history insert is 1 parameter instead of 4,500, built with one JSON.stringify instead
 * of drizzle's per-value mapping (docs/performance.md, "Escalation consumer"); the history's
 * envelopes go in as the bytes they arrived as (historyRecordset). The column types follow
 * src/db/schema.ts; a column added there that these statements must write is added here.
 */

type Tx = Parameters<Parameters<EscalationDb['transaction']>[0]>[0];

/**
 * One column of a recordset insert: its name, its PostgreSQL type, and its value for a row as
 * JSON (null: SQL NULL; for a jsonb column the value itself, so arrays of arrays stay as they are).
 */
interface Column<R> {
  name: string;
  type: string;
  value: (row: R) => unknown;
}

/**
 * `jsonb_to_recordset($1::jsonb) as r(c1 t1, c2 t2, …)` over the rows: one parameter, one
 * JSON.stringify here and one jsonb parse in PostgreSQL whatever the number of rows. Measured
 * against one array per column (`unnest`) for a 500-event history insert: the same PostgreSQL
 * CPU, less than half the client CPU (pg escapes every array element, the envelopes' JSON
 * included, into an array literal).
 */
function recordset<R>(columns: readonly Column<R>[], rows: readonly R[]): SQL {
  const records = rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (const { name, value } of columns) record[name] = value(row);
    return record;
  });
  const definitions = sql.raw(columns.map(({ name, type }) => `${name} ${type}`).join(', '));
  return sql`jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as r(${definitions})`;
}

const names = (columns: readonly Column<never>[]) => sql.raw(columns.map(({ name }) => name).join(', '));

/** An event as the history insert takes it: decoded, and the message value it was decoded from. */
export interface HistoryEvent {
  envelope: IncidentEventEnvelope;
  event: IncidentEvent;
  /**
   * The bytes of the envelope as it arrived (the Kafka message value): stored as they are, instead
   * of serialising the decoded envelope again. Null (or not UTF-8): the decoded envelope is stored.
   */
  raw?: Buffer | null;
}

/** escalation.incident_events: one row per event, the envelope stored as it arrived (last). */
const HISTORY_COLUMNS: readonly Column<HistoryEvent>[] = [
  { name: 'event_id', type: 'text', value: ({ event }) => event.eventId },
  { name: 'incident_id', type: 'text', value: ({ event }) => event.incidentId },
  { name: 'kind', type: 'text', value: ({ event }) => event.kind },
  { name: 'provider_event_type', type: 'text', value: ({ event }) => event.providerEventType },
  { name: 'occurred_at', type: 'timestamptz', value: ({ event }) => event.occurredAt },
  { name: 'actor', type: 'jsonb', value: ({ event }) => event.actor },
  { name: 'note', type: 'text', value: ({ event }) => event.note ?? null },
  { name: 'drill', type: 'boolean', value: ({ event }) => event.drill },
];

const HISTORY_DEFINITIONS = sql.raw(
  [...HISTORY_COLUMNS.map(({ name, type }) => `${name} ${type}`), 'envelope jsonb'].join(', '),
);

/** jsonb's binary wire format: a version byte (1), then the JSON text. */
const JSONB_BINARY_VERSION = Buffer.from([1]);

/**
 * The history rows as one jsonb parameter in binary format: a JSON array of records whose
 * `envelope` is the message value itself when it is UTF-8 (it parsed as the JSON of a valid
 * envelope before it got here), spliced in as bytes. The decoded envelope is not serialised
 * again and the envelopes (most of the bytes) are not encoded to UTF-8 again: in the consumer's
 * profile that JSON.stringify and pg's encoding of the string parameter were ~18 % of escalation's
 * busy time. PostgreSQL parses the same JSON text either way. What is stored is the envelope as
 * the producer wrote it, attributes the decoder does not keep included.
 */
function historyRecordset(events: readonly HistoryEvent[]): SQL {
  const parts: Buffer[] = [JSONB_BINARY_VERSION];
  let text = '[';
  events.forEach((row, i) => {
    const record: Record<string, unknown> = {};
    for (const { name, value } of HISTORY_COLUMNS) record[name] = value(row);
    // `{"event_id":…,"drill":false}` → `{"event_id":…,"drill":false,"envelope":` + the envelope + `}`
    text += `${i > 0 ? ',' : ''}${JSON.stringify(record).slice(0, -1)},"envelope":`;
    if (row.raw && isUtf8(row.raw)) {
      parts.push(Buffer.from(text), row.raw);
      text = '}';
    } else text += `${JSON.stringify(row.envelope)}}`;
  });
  parts.push(Buffer.from(`${text}]`));
  return sql`jsonb_to_recordset(${Buffer.concat(parts)}::jsonb) as r(${HISTORY_DEFINITIONS})`;
}

/**
 * Inserts the events' history rows, skipping those already stored (a conflict on event_id: the
 * event was applied before). Returns the ids of the rows inserted; an event twice in `events`
 * is inserted once.
 */
export async function insertHistory(tx: Tx, events: readonly HistoryEvent[]): Promise<Set<string>> {
  const { rows } = await tx.execute<{ event_id: string }>(sql`
    insert into escalation.incident_events (${names(HISTORY_COLUMNS)}, envelope)
    select * from ${historyRecordset(events)}
    on conflict (event_id) do nothing
    returning event_id`);
  return new Set(rows.map((r) => r.event_id));
}

/**
 * escalation.incidents as the consumer writes it. `number` is null for a new incident (the
 * projector's 0), which then draws the next one; change_seq and recorded_at are the database's.
 */
const INCIDENT_COLUMNS: readonly Column<IncidentRow>[] = [
  { name: 'id', type: 'text', value: (r) => r.id },
  { name: 'number', type: 'bigint', value: (r) => (r.number > 0 ? r.number : null) },
  { name: 'provider', type: 'escalation.provider', value: (r) => r.provider },
  { name: 'provider_id', type: 'text', value: (r) => r.providerId },
  { name: 'dedup_key', type: 'text', value: (r) => r.dedupKey },
  { name: 'title', type: 'text', value: (r) => r.title },
  { name: 'service', type: 'text', value: (r) => r.service },
  { name: 'severity', type: 'escalation.severity', value: (r) => r.severity },
  { name: 'provider_severity', type: 'text', value: (r) => r.providerSeverity },
  { name: 'assignees', type: 'jsonb', value: (r) => r.assignees },
  { name: 'urgency', type: 'escalation.urgency', value: (r) => r.urgency },
  { name: 'status', type: 'escalation.incident_status', value: (r) => r.status },
  { name: 'labels', type: 'jsonb', value: (r) => r.labels },
  { name: 'links', type: 'jsonb', value: (r) => r.links },
  { name: 'provider_url', type: 'text', value: (r) => r.providerUrl },
  { name: 'drill', type: 'boolean', value: (r) => r.drill },
  { name: 'drill_marker', type: 'boolean', value: (r) => r.drillMarker },
  { name: 'drill_run_id', type: 'text', value: (r) => r.drillRunId },
  { name: 'unverified_drill_marker', type: 'text', value: (r) => r.unverifiedDrillMarker },
  { name: 'first_seen_at', type: 'timestamptz', value: (r) => r.firstSeenAt },
  { name: 'created_at', type: 'timestamptz', value: (r) => r.createdAt },
  { name: 'updated_at', type: 'timestamptz', value: (r) => r.updatedAt },
  { name: 'snapshot_at', type: 'timestamptz', value: (r) => r.snapshotAt },
  { name: 'status_at', type: 'timestamptz', value: (r) => r.statusAt },
  { name: 'acknowledged_at', type: 'timestamptz', value: (r) => r.acknowledgedAt },
  { name: 'resolved_at', type: 'timestamptz', value: (r) => r.resolvedAt },
  { name: 'triggered_at', type: 'timestamptz', value: (r) => r.triggeredAt },
  { name: 'last_event_kind', type: 'text', value: (r) => r.lastEventKind },
  { name: 'group_id', type: 'text', value: (r) => r.groupId },
  { name: 'group_pinned', type: 'boolean', value: (r) => r.groupPinned },
];

/**
 * What a known incident's row takes from the upsert: everything but its identity (id, number,
 * provider, provider id, dedup key) and when it was first seen.
 */
const INCIDENT_UPDATED = [
  'title',
  'service',
  'severity',
  'provider_severity',
  'assignees',
  'urgency',
  'status',
  'labels',
  'links',
  'provider_url',
  'drill',
  'drill_marker',
  'drill_run_id',
  'unverified_drill_marker',
  'created_at',
  'updated_at',
  'snapshot_at',
  'status_at',
  'acknowledged_at',
  'resolved_at',
  'triggered_at',
  'last_event_kind',
  'group_id',
  'group_pinned',
  'change_seq',
] as const;

const INCIDENT_SELECT = sql.raw(
  INCIDENT_COLUMNS.map(({ name }) =>
    // A new incident takes the next short number (the column's default); a known one keeps its
    // own, sent as it is so that the upsert does not draw (and waste) a number.
    name === 'number' ? `coalesce(r.number, nextval('escalation.incident_number_seq'))` : `r.${name}`,
  ).join(', '),
);

const INCIDENT_SET = sql.raw(
  [...INCIDENT_UPDATED.map((name) => `${name} = excluded.${name}`), 'recorded_at = now()'].join(', '),
);

/** Name of the PostgreSQL NOTIFY channel raised when incidents change (every replica's live feed listens, live.ts). */
export const LIVE_CHANNEL = 'escalation_incident_changes';

const NOTIFY_LIVE_FEED = sql`select pg_notify(${LIVE_CHANNEL}, '')`;

/**
 * Tells every replica's live feed that incidents changed: delivered at commit, so readers see the
 * new change_seq values once they wake. For a writer whose change is a statement of its own;
 * upsertIncidents raises it within its statement.
 */
export async function notifyLiveFeed(tx: Tx): Promise<void> {
  await tx.execute(NOTIFY_LIVE_FEED);
}

/**
 * Writes the incidents (unique ids), each with the next change_seq drawn in the order given, and
 * with `notifyLiveFeed` notifies the live feed in the same statement: one round trip less while
 * the change-sequence lock is held. The caller holds that lock (CHANGE_SEQ_LOCK).
 */
export async function upsertIncidents(
  tx: Tx,
  rows: readonly IncidentRow[],
  opts: { notifyLiveFeed?: boolean } = {},
): Promise<void> {
  const upsert = sql`
    insert into escalation.incidents (${names(INCIDENT_COLUMNS)}, change_seq)
    select ${INCIDENT_SELECT}, nextval('escalation.incident_change_seq')
    from ${recordset(INCIDENT_COLUMNS, rows)}
    on conflict (id) do update set ${INCIDENT_SET}`;
  // A data-modifying WITH runs to completion whether or not the outer query reads it.
  await tx.execute(opts.notifyLiveFeed ? sql`with written as (${upsert}) ${NOTIFY_LIVE_FEED}` : upsert);
}
