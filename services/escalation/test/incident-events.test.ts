import { type IncidentEvent, incidentEventEnvelope, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { createLogger, runMigrations } from '@micro-oncall/service-kit';
import { createTestDatabase } from '@micro-oncall/test-kit';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIncidentEventsHandler } from '../src/consumers/incident-events.js';
import * as schema from '../src/db/schema.js';
import type { IncidentChange } from '../src/db/types.js';
import { service as escalation } from '../src/service.js';
import { onlyEvent } from './support.js';

/**
 * The consumer's chunk transaction against its database, without Kafka: what the hand-written
 * history insert and incident upsert (src/consumers/incident-sql.ts) store, column by column.
 */
describe('incident-events consumer: what a chunk stores', () => {
  let pool: pg.Pool;
  let db: ReturnType<typeof drizzle<typeof schema>>;
  const applied: IncidentChange[][] = [];
  let handle: ReturnType<typeof createIncidentEventsHandler>;
  let offset = 0;

  /** When webhook-ingest received them (the envelope's time). */
  const RECEIVED = '2025-11-20T09:00:01.000Z';
  const envelopeOf = (e: IncidentEvent) => incidentEventEnvelope(e, { source: '/test', time: RECEIVED });
  const event = (incident: string, overrides: Parameters<typeof pagerDutyIncidentEvent>[0] = {}) =>
    onlyEvent(
      normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: incident, ...overrides }), {
        receivedAt: RECEIVED,
      }),
    );
  /**
   * Hands the events to the consumer as one chunk, as service-kit would after decoding them;
   * `values` gives a message's bytes (by default none: the decoded envelope is what is stored).
   */
  const deliver = (events: IncidentEvent[], values: (Buffer | null)[] = []) =>
    handle(
      events.map((data, i) => ({
        message: {
          topic: 'incident-events',
          partition: 0,
          offset: String(offset++),
          key: data.incidentId,
          value: values[i] ?? null,
          headers: {},
          timestamp: '0',
        },
        envelope: envelopeOf(data),
        data,
      })),
    );
  const storedEnvelopes = async (incidentId: string) =>
    (
      await pool.query<{ envelope: unknown }>(
        'select envelope from escalation.incident_events where incident_id = $1 order by occurred_at',
        [incidentId],
      )
    ).rows.map((r) => r.envelope);
  const incident = async (id: string) =>
    (await db.select().from(schema.incidents).where(eq(schema.incidents.id, id)))[0];

  beforeAll(async () => {
    const logger = createLogger({ service: 'incident-events-test', level: 'silent' });
    const url = await createTestDatabase(inject('stack').databaseUrl, 'incident_events');
    await runMigrations({ url, schema: 'escalation', migrationsFolder: escalation.migrationsFolder, logger });
    pool = new pg.Pool({ connectionString: url, max: 2 });
    db = drizzle(pool, { schema });
    handle = createIncidentEventsHandler({ db, onApplied: (changes) => applied.push(changes) });
  });

  afterAll(async () => {
    await pool?.end();
  });

  it('stores each event once with its envelope, SQL NULL where it has no actor or note', async () => {
    // No actor (the event schema allows it; the PagerDuty normaliser always names one).
    const triggered = { ...event('PSQL1', { occurredAt: '2025-11-20T09:00:00.000Z' }), actor: null };
    const acknowledged = event('PSQL1', { eventType: 'incident.acknowledged', occurredAt: '2025-11-20T09:05:00.000Z' });
    expect(triggered.note).toBeNull();
    expect(acknowledged.actor).not.toBeNull();

    // The acknowledgement twice in one chunk: applied once.
    expect(await deliver([triggered, acknowledged, acknowledged])).toEqual({ rejected: [] });
    const { rows } = await pool.query(
      `select event_id, incident_id, kind, provider_event_type, occurred_at, actor, actor is null as no_actor,
              note, drill, envelope
         from escalation.incident_events where incident_id = $1 order by occurred_at`,
      [triggered.incidentId],
    );
    expect(rows).toEqual(
      [triggered, acknowledged].map((e) => ({
        event_id: e.eventId,
        incident_id: e.incidentId,
        kind: e.kind,
        provider_event_type: e.providerEventType,
        occurred_at: new Date(e.occurredAt),
        actor: e.actor,
        no_actor: e.actor === null,
        note: null,
        drill: false,
        envelope: JSON.parse(JSON.stringify(envelopeOf(e))),
      })),
    );
    expect(applied.at(-1)?.map((c) => c.after.status)).toEqual(['acknowledged']);

    // Redelivered: nothing is applied again and the incident does not change.
    const before = await incident(triggered.incidentId);
    const count = applied.length;
    await deliver([acknowledged, triggered]);
    expect(applied.length).toBe(count);
    expect(await incident(triggered.incidentId)).toEqual(before);
  });

  it('writes every column of a new incident and keeps its number and first sighting on later changes', async () => {
    const triggered = event('PSQL2', {
      occurredAt: '2025-11-20T10:00:00.000Z',
      assignee: { id: 'PUSER01', name: 'Robin' },
      priority: null,
    });
    await deliver([triggered]);
    const [change] = applied.at(-1)!;
    const opened = (await incident(triggered.incidentId))!;
    const { number, changeSeq, recordedAt, ...stored } = opened;
    const { number: _n, changeSeq: _c, recordedAt: _r, ...projected } = change!.after;
    // Timestamps as PostgreSQL writes them, the rest exactly as projected: jsonb arrays of
    // objects, enums, and NULL for what the event does not say.
    const asInstant = (v: unknown) =>
      typeof v === 'string' && /^\d{4}-\d\d-\d\d[T ]\d\d:/.test(v) ? new Date(v).toISOString() : v;
    const instants = (row: object) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asInstant(v)]));
    expect(instants(stored)).toEqual(instants(projected));
    expect(stored.assignees).toEqual([expect.objectContaining({ name: 'Robin' })]);
    expect(stored.providerSeverity).toBeNull();
    expect(stored.acknowledgedAt).toBeNull();
    expect(number).toBeGreaterThan(0);
    expect(changeSeq).toBeGreaterThan(0);

    const resolved = event('PSQL2', { eventType: 'incident.resolved', occurredAt: '2025-11-20T10:30:00.000Z' });
    await deliver([resolved]);
    const after = (await incident(triggered.incidentId))!;
    expect(after).toMatchObject({
      number,
      firstSeenAt: opened.firstSeenAt,
      status: 'resolved',
      assignees: [],
      resolvedAt: expect.stringMatching(/^2025-11-20 10:30:00/),
    });
    expect(after.changeSeq).toBeGreaterThan(changeSeq);
    expect(Date.parse(after.recordedAt)).toBeGreaterThanOrEqual(Date.parse(recordedAt));

    // A new incident in the same chunk as a known one draws the next number; the known keeps its own.
    const other = event('PSQL3', { occurredAt: '2025-11-20T11:00:00.000Z' });
    await deliver([event('PSQL2', { eventType: 'incident.reopened', occurredAt: '2025-11-20T11:00:00.000Z' }), other]);
    expect((await incident(triggered.incidentId))!.number).toBe(number);
    expect((await incident(other.incidentId))!.number).toBeGreaterThan(number);
  });

  it('stores the bytes an envelope arrived as, and the decoded envelope when they are not UTF-8', async () => {
    const first = event('PSQL4', { occurredAt: '2025-11-20T12:00:00.000Z' });
    const second = event('PSQL4', { eventType: 'incident.acknowledged', occurredAt: '2025-11-20T12:05:00.000Z' });
    const third = event('PSQL4', { eventType: 'incident.resolved', occurredAt: '2025-11-20T12:10:00.000Z' });
    // As it arrived: an attribute the decoder does not keep, other spacing, a non-ASCII note.
    const arrived = { ...envelopeOf(first), extension: 'kept as it arrived', data: { ...first, note: 'Größe ✓' } };
    const spaced = Buffer.from(JSON.stringify(arrived, null, 2));
    // Not UTF-8 (a lone 0xff byte): the decoded envelope is stored instead.
    const notUtf8 = Buffer.concat([Buffer.from(JSON.stringify(envelopeOf(second))), Buffer.from([0xff])]);
    expect(await deliver([first, second, third], [spaced, notUtf8, null])).toEqual({ rejected: [] });
    expect(await storedEnvelopes(first.incidentId)).toEqual([
      JSON.parse(spaced.toString('utf8')),
      JSON.parse(JSON.stringify(envelopeOf(second))),
      JSON.parse(JSON.stringify(envelopeOf(third))),
    ]);
    expect((await incident(first.incidentId))!.status).toBe('resolved');
  });

  it('dead-letters only the event whose bytes PostgreSQL refuses, and applies the rest of its chunk', async () => {
    const good = event('PSQL5', { occurredAt: '2025-11-20T13:00:00.000Z' });
    const bad = event('PSQL6', { occurredAt: '2025-11-20T13:00:00.000Z' });
    // Valid JSON and UTF-8, but jsonb cannot hold U+0000 (SQLSTATE 22P05).
    const withNul = Buffer.from(JSON.stringify({ ...envelopeOf(bad), extension: 'a\u0000b' }));
    const result = await deliver([good, bad], [Buffer.from(JSON.stringify(envelopeOf(good))), withNul]);
    expect(result.rejected.map((r) => r.message.key)).toEqual([bad.incidentId]);
    expect(result.rejected[0]!.reason).toMatch(/^the database refused the event: /);
    expect(await storedEnvelopes(good.incidentId)).toHaveLength(1);
    expect(await storedEnvelopes(bad.incidentId)).toEqual([]);
    expect(await incident(bad.incidentId)).toBeUndefined();
    expect((await incident(good.incidentId))!.status).toBe('triggered');
  });
});
