import { randomUUID } from 'node:crypto';
import {
  type DrillRunEvent,
  EVENT_SCHEMAS,
  envelopeFor,
  type IncidentEvent,
  normalisePagerDuty,
  topicName,
} from '@micro-oncall/incident-model';
import { drillRunEvent, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { onlyEvent, type TestEscalation, until } from './support.js';

type Kind = 'triggered' | 'acknowledged' | 'resolved';

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/**
 * Seeds the incidents the response-time figures are tested with, through the intake path
 * (normalised PagerDuty webhooks on `incident-events`, a registered run on `drills`), all
 * triggered an hour ago (`t0`):
 * - `Payments API errors` (payments-api): acknowledged after 60 s, resolved after 600 s;
 * - `[drill] Checkout latency` (checkout): a drill marker without a registered run, so a real
 *   incident: acknowledged after 60 s, resolved after 600 s;
 * - `Drill: search down` (search): a verified drill of a running run: acknowledged after 5 s,
 *   resolved after 30 s.
 * Returns once all three are resolved in escalation.
 */
export async function seedResponseTimes(esc: TestEscalation, viewerToken: string): Promise<{ t0: number }> {
  const t0 = Date.now() - 3_600_000;
  const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString();
  const pagerDuty = (
    incidentId: string,
    opts: { title: string; serviceName: string; incidentKey?: string },
    steps: [Kind, number][],
  ): IncidentEvent[] =>
    steps.map(([kind, seconds]) =>
      onlyEvent(
        normalisePagerDuty(
          pagerDutyIncidentEvent({
            incidentId,
            eventType: `incident.${kind}`,
            occurredAt: at(seconds),
            createdAt: at(0),
            ...opts,
          }),
          { receivedAt: new Date().toISOString() },
        ),
      ),
    );

  // A drill run the simulator registered, running since before the drill's alert arrives.
  const runId = randomUUID();
  const base = drillRunEvent();
  const started: DrillRunEvent = {
    ...base,
    eventId: randomUUID(),
    kind: 'started',
    occurredAt: ago(2 * 3_600_000),
    run: {
      ...base.run,
      id: runId,
      state: 'running',
      startedAt: ago(2 * 3_600_000),
      endedAt: null,
      expiresAt: ago(-30 * 60_000),
    },
  };
  const envelope = envelopeFor('drills', started, { source: '/simulator' });
  EVENT_SCHEMAS.drills.parse(envelope);
  await esc.kafka.publish(topicName('drills', esc.namespace), [
    { key: envelope.subject, value: JSON.stringify(envelope) },
  ]);
  const db = new pg.Client({ connectionString: esc.databaseUrl });
  await db.connect();
  try {
    await until('the drill run to be registered', async () => {
      const res = await db.query('select 1 from escalation.drill_run_events where event_id = $1', [started.eventId]);
      return res.rows[0];
    });
  } finally {
    await db.end();
  }

  const incidents = [
    pagerDuty('PSTATS01', { title: 'Payments API errors', serviceName: 'payments-api' }, [
      ['triggered', 0],
      ['acknowledged', 60],
      ['resolved', 600],
    ]),
    pagerDuty('PSTATS02', { title: '[drill] Checkout latency', serviceName: 'checkout' }, [
      ['triggered', 0],
      ['acknowledged', 60],
      ['resolved', 600],
    ]),
    // Its dedup key names the running run: a verified drill.
    pagerDuty(
      'PSTATS03',
      { title: 'Drill: search down', serviceName: 'search', incidentKey: `drill:${runId}:search-down` },
      [
        ['triggered', 0],
        ['acknowledged', 5],
        ['resolved', 30],
      ],
    ),
  ];
  await esc.publish(incidents.flat());
  for (const events of incidents) {
    const id = events[0]!.incidentId;
    await until(`incident ${id} to be resolved`, async () => {
      const res = await esc.get(`/v1/incidents/${id}`, viewerToken);
      return (res.body.incident as { status?: string } | undefined)?.status === 'resolved' ? true : undefined;
    });
  }
  return { t0 };
}
