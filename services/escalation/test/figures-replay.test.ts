import { type IncidentEvent, incidentEventEnvelope, normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent, pagerDutyNoteEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

type Kind = 'triggered' | 'acknowledged' | 'resolved';

/**
 * The time-to-acknowledge and time-to-resolve histograms count each response once: redelivered
 * events and a replay of the topic into a rebuilt projection observe nothing again.
 */
describe('response-time histograms on a replay of incident-events', () => {
  let esc: TestEscalation;
  let viewer: string;
  let db: pg.Client;

  /** PagerDuty events of one incident: triggered `start` ms ago, then each step `seconds` after that. */
  const incident = (incidentId: string, start: number, steps: [Kind, number][]): IncidentEvent[] => {
    const at = (seconds: number) => new Date(Date.now() - start + seconds * 1000).toISOString();
    return steps.map(([kind, seconds]) =>
      onlyEvent(
        normalisePagerDuty(
          pagerDutyIncidentEvent({
            incidentId,
            eventType: `incident.${kind}`,
            occurredAt: at(seconds),
            createdAt: at(0),
            title: 'Payments API errors',
            serviceName: 'payments-api',
          }),
          { receivedAt: at(seconds) },
        ),
      ),
    );
  };
  /** Publishes the events as webhook-ingest did when it received them (`receivedAt` = envelope time). */
  const publish = (events: IncidentEvent[], receivedAt: string) =>
    esc.kafka.publish(
      esc.eventsTopic,
      events.map((e) => ({
        key: e.incidentId,
        value: JSON.stringify(incidentEventEnvelope(e, { source: '/webhook-ingest', time: receivedAt })),
      })),
    );
  const inHistory = (eventId: string) =>
    until(`event ${eventId} in the history`, async () => {
      const res = await db.query('select 1 from escalation.incident_events where event_id = $1', [eventId]);
      return res.rows[0];
    });
  /** Observations of each histogram, over every label set. */
  const counts = async () => {
    const text = await (await fetch(`${esc.service.url}/metrics`)).text();
    const sum = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}_count\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    return {
      acknowledge: sum('escalation_incident_time_to_acknowledge_seconds'),
      resolve: sum('escalation_incident_time_to_resolve_seconds'),
    };
  };

  beforeAll(async () => {
    esc = await startTestEscalation('figures-replay');
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await esc?.stop();
  });

  it('observes a response once, and the same events delivered again change no count', async () => {
    const events = incident('PREPLAY1', 10 * 60_000, [
      ['triggered', 0],
      ['acknowledged', 60],
      ['resolved', 300],
    ]);
    const receivedAt = new Date().toISOString();
    await publish(events, receivedAt);
    await inHistory(events[2]!.eventId);
    expect(await counts()).toEqual({ acknowledge: 1, resolve: 1 });

    // The same messages again (a producer retry, a consumer that did not commit its offsets, a
    // topic replay), followed by a new note on the same incident (same key, same partition, so
    // it is applied after them).
    const note = onlyEvent(
      normalisePagerDuty(pagerDutyNoteEvent({ incidentId: 'PREPLAY1', occurredAt: new Date().toISOString() }), {
        receivedAt,
      }),
    );
    await publish([...events, ...events, note], receivedAt);
    await inHistory(note.eventId);
    expect(await counts()).toEqual({ acknowledge: 1, resolve: 1 });
  });

  it('does not observe again what a projection rebuild replays: responses received hours ago', async () => {
    const before = await counts();
    // Received three hours ago, when they were observed; now replayed into an empty projection.
    const events = incident('PREPLAY2', 3 * 3_600_000, [
      ['triggered', 0],
      ['acknowledged', 120],
      ['resolved', 900],
    ]);
    const receivedAt = new Date(Date.now() - 3 * 3_600_000 + 900_000).toISOString();
    await publish(events, receivedAt);
    await until('the replayed incident to be rebuilt as resolved', async () => {
      const res = await esc.get(`/v1/incidents/${events[0]!.incidentId}`, viewer);
      return (res.body.incident as { status?: string } | undefined)?.status === 'resolved' ? true : undefined;
    });
    expect(await counts()).toEqual(before);
  });
});
