import { normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

/**
 * An incident and its timeline are one answer: a change committed while the detail is being read
 * shows in both or in neither. The test holds the history table's lock so that the change lands
 * exactly between the service's two reads, which is what a busy machine does by chance.
 */
describe('GET /v1/incidents/:id under a concurrent change', () => {
  let esc: TestEscalation;
  let token: string;
  let db: pg.Client;

  beforeAll(async () => {
    esc = await startTestEscalation('consistency');
    token = await esc.issuer.token({ sub: 'reader', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await esc?.stop();
  });

  it('never shows an acknowledged incident with a resolved event in its timeline', async () => {
    const at = (minute: number) => `2026-11-30T10:0${minute}:00.000Z`;
    const event = (eventType: 'incident.triggered' | 'incident.acknowledged', minute: number) =>
      onlyEvent(
        normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PSNAP01', eventType, occurredAt: at(minute) }), {
          receivedAt: at(minute),
        }),
      );
    const triggered = event('incident.triggered', 0);
    await esc.publish([triggered, event('incident.acknowledged', 1)]);
    const id = triggered.incidentId;
    await until('the incident to be acknowledged', async () => {
      const res = await esc.get(`/v1/incidents/${id}`, token);
      return (res.body.incident as { status?: string } | undefined)?.status === 'acknowledged' ? true : undefined;
    });

    // Hold the history table: the service reads the incident, then waits for the history.
    await db.query('begin');
    await db.query('lock table escalation.incident_events in access exclusive mode');
    const reading = esc.get(`/v1/incidents/${id}`, token);
    // (The service's connection shows as waiting for a relation lock once it reaches the history.)
    await until('the detail read to wait for the history', async () => {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name = 'escalation'
            and wait_event_type = 'Lock' and wait_event = 'relation'`,
      );
      return rows[0]!.n > 0 ? true : undefined;
    });
    // A resolution commits between the two reads.
    await db.query(
      `insert into escalation.incident_events (event_id, incident_id, kind, provider_event_type, occurred_at, drill, envelope)
       values ('snapshot-resolved', $1, 'resolved', 'incident.resolved', $2, false, '{}'::jsonb)`,
      [id, at(2)],
    );
    await db.query(`update escalation.incidents set status = 'resolved', resolved_at = $2 where id = $1`, [id, at(2)]);
    await db.query('commit');

    const { status, body } = await reading;
    expect(status).toBe(200);
    const shownStatus = (body.incident as { status: string }).status;
    const kinds = (body.events as { kind: string }[]).map((e) => e.kind);
    // Either before the change (acknowledged, no resolution) or after it (resolved, with it).
    expect([shownStatus, kinds.includes('resolved')]).toEqual(
      shownStatus === 'resolved' ? ['resolved', true] : ['acknowledged', false],
    );
  });
});
