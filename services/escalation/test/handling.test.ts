import {
  type IncidentEvent,
  incidentIdFor,
  normaliseAlertmanager,
  normaliseOpsgenie,
  normalisePagerDuty,
} from '@micro-oncall/incident-model';
import { alertmanagerWebhook, opsgenieWebhook, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

/**
 * The list's columns for a storm (issue 14): the short incident number, who it is assigned to,
 * who acknowledged it and its escalation level, as the providers reported them and never more.
 */

const ctx = () => ({ receivedAt: new Date().toISOString() });

type Listed = {
  id: string;
  number: number;
  provider: string;
  status: string;
  assignees: { id: string | null; name: string }[];
  acknowledgedBy: { type: string; id: string | null; name: string | null } | null;
  escalation: { level: number | null; policy: string | null } | null;
  changeSeq: number;
};

/** A PagerDuty webhook event normalised, with the `escalation_level` PagerDuty sends on escalations. */
function pagerDuty(
  incidentId: string,
  overrides: Parameters<typeof pagerDutyIncidentEvent>[0] & { escalationLevel?: number } = {},
): IncidentEvent {
  const { escalationLevel, ...rest } = overrides;
  const payload = pagerDutyIncidentEvent({ incidentId, ...rest });
  if (escalationLevel !== undefined) Object.assign(payload.event.data, { escalation_level: escalationLevel });
  return onlyEvent(normalisePagerDuty(payload, ctx()));
}

describe('incident numbers and who handles an incident', () => {
  let esc: TestEscalation;
  let token: string;
  const list = async (): Promise<Listed[]> => {
    const res = await esc.get('/v1/incidents?limit=500', token);
    expect(res.status).toBe(200);
    return res.body.items as Listed[];
  };
  const listed = async (id: string) => (await list()).find((i) => i.id === id);

  beforeAll(async () => {
    esc = await startTestEscalation('esc-handling');
    token = await esc.issuer.token({ sub: 'handling-tester', roles: ['viewer'] });
  });

  afterAll(async () => {
    await esc?.stop();
  });

  it('numbers incidents #1, #2, … in the order they arrive, and keeps each number through later events', async () => {
    const first = pagerDuty('PNUM1', { occurredAt: '2026-11-30T10:00:00.000Z' });
    await esc.publish([first]);
    await esc.applied(first.incidentId, token);
    const second = pagerDuty('PNUM2', { occurredAt: '2026-11-30T10:01:00.000Z' });
    await esc.publish([second]);
    await esc.applied(second.incidentId, token);
    // Many more events of the first incident must neither renumber it nor use up numbers.
    await esc.publish(
      Array.from({ length: 5 }, (_, n) =>
        pagerDuty('PNUM1', {
          eventType: 'incident.priority_updated',
          priority: n % 2 === 0 ? 'P1' : 'P2',
          occurredAt: `2026-11-30T10:0${n + 2}:00.000Z`,
        }),
      ),
    );
    await until('the priority changes', async () => {
      const res = await esc.get(`/v1/incidents/${first.incidentId}`, token);
      return (res.body.events as unknown[] | undefined)?.length === 6 ? true : undefined;
    });
    const third = pagerDuty('PNUM3', { occurredAt: '2026-11-30T10:10:00.000Z' });
    await esc.publish([third]);
    await esc.applied(third.incidentId, token);

    const numbers = await Promise.all([first, second, third].map(async (e) => (await listed(e.incidentId))?.number));
    expect(numbers).toEqual([1, 2, 3]);
    const detail = await esc.get(`/v1/incidents/${second.incidentId}`, token);
    expect((detail.body.incident as Listed).number).toBe(2);
  });

  it('says who PagerDuty assigned it to, who acknowledged it and the escalation level it reached', async () => {
    const id = incidentIdFor('pagerduty', 'PHANDLE1');
    await esc.publish([
      pagerDuty('PHANDLE1', { occurredAt: '2026-11-30T11:00:00.000Z' }),
      pagerDuty('PHANDLE1', {
        eventType: 'incident.escalated',
        assignee: { id: 'PLEVEL2', name: 'Lin Level-Two' },
        escalationLevel: 2,
        occurredAt: '2026-11-30T11:05:00.000Z',
      }),
      // Acknowledged by Ada Lovelace (the fixture's agent), still assigned to Lin.
      pagerDuty('PHANDLE1', {
        eventType: 'incident.acknowledged',
        assignee: { id: 'PLEVEL2', name: 'Lin Level-Two' },
        occurredAt: '2026-11-30T11:06:00.000Z',
      }),
    ]);
    const incident = await until('the acknowledgement', async () => {
      const found = await listed(id);
      return found?.status === 'acknowledged' ? found : undefined;
    });
    expect(incident.assignees).toEqual([{ id: 'PLEVEL2', name: 'Lin Level-Two' }]);
    expect(incident.acknowledgedBy).toEqual({ type: 'user', id: 'PXPGF42', name: 'Ada Lovelace' });
    expect(incident.escalation).toEqual({ level: 2, policy: 'Payments — primary' });
    // The detail page says the same.
    const detail = (await esc.get(`/v1/incidents/${id}`, token)).body.incident as Listed;
    expect(detail.acknowledgedBy?.name).toBe('Ada Lovelace');
    expect(detail.escalation?.level).toBe(2);
  });

  it('says nothing it was not told: not acknowledged, no level reported, and a reopened incident starts again', async () => {
    const id = incidentIdFor('pagerduty', 'PHANDLE2');
    await esc.publish([pagerDuty('PHANDLE2', { occurredAt: '2026-11-30T12:00:00.000Z' })]);
    const fresh = await until('the new incident', () => listed(id));
    expect(fresh.acknowledgedBy).toBeNull();
    expect(fresh.escalation).toBeNull();

    await esc.publish([
      pagerDuty('PHANDLE2', {
        eventType: 'incident.escalated',
        escalationLevel: 3,
        occurredAt: '2026-11-30T12:10:00.000Z',
      }),
      pagerDuty('PHANDLE2', { eventType: 'incident.acknowledged', occurredAt: '2026-11-30T12:11:00.000Z' }),
      pagerDuty('PHANDLE2', { eventType: 'incident.resolved', occurredAt: '2026-11-30T12:20:00.000Z' }),
      pagerDuty('PHANDLE2', { eventType: 'incident.reopened', occurredAt: '2026-11-30T12:30:00.000Z' }),
    ]);
    const reopened = await until('the reopening', async () => {
      const found = await listed(id);
      return found?.status === 'triggered' && found.changeSeq > fresh.changeSeq ? found : undefined;
    });
    expect(reopened.acknowledgedBy).toBeNull();
    expect(reopened.escalation).toBeNull();
  });

  it('gives Opsgenie escalations without a level, and Alertmanager incidents no assignment or acknowledgement', async () => {
    const opsgenie = [
      onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Create', alertId: 'og-handling-1' }), ctx())),
      onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Escalate', alertId: 'og-handling-1' }), ctx())),
      onlyEvent(normaliseOpsgenie(opsgenieWebhook({ action: 'Acknowledge', alertId: 'og-handling-1' }), ctx())),
    ];
    const alert = onlyEvent(
      normaliseAlertmanager(alertmanagerWebhook({ alerts: [{ labels: { alertname: 'HandlingTest' } }] }), ctx()),
    );
    await esc.publish([...opsgenie, alert]);
    const og = await until('the Opsgenie acknowledgement', async () => {
      const found = await listed(opsgenie[0]!.incidentId);
      return found?.status === 'acknowledged' ? found : undefined;
    });
    expect(og.acknowledgedBy).toMatchObject({ type: 'user', name: 'Grace Hopper' });
    expect(og.escalation).toEqual({ level: null, policy: 'checkout_escalation' });

    const am = await until('the Alertmanager alert', () => listed(alert.incidentId));
    expect(am).toMatchObject({ provider: 'alertmanager', assignees: [], acknowledgedBy: null, escalation: null });
    expect(am.number).toBeGreaterThan(0);
  });
});
