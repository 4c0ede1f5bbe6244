import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DrillRunEvent,
  EVENT_SCHEMAS,
  envelopeFor,
  type IncidentEvent,
  normaliseAlertmanager,
  normalisePagerDuty,
  topicName,
} from '@micro-oncall/incident-model';
import { alertmanagerWebhook, drillRunEvent, pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { type FakeSlack, startFakeSlack } from '@micro-oncall/test-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';

interface DrillView {
  id: string;
  title: string;
  drill: boolean;
  drillRun: { id: string; url: string } | null;
  drillRunId: string | null;
  unverifiedDrillMarker: boolean;
  unverifiedDrillMarkerReason: string | null;
  changeSeq: number;
}

/** A critical Alertmanager alert (notified when real) titled `title`, with extra labels. */
function alert(title: string, labels: Record<string, string> = {}): IncidentEvent {
  return onlyEvent(
    normaliseAlertmanager(
      alertmanagerWebhook({
        alerts: [{ labels: { alertname: title.replaceAll(' ', ''), ...labels }, annotations: { summary: title } }],
      }),
      { receivedAt: new Date().toISOString() },
    ),
  );
}

/** A `drills` event of run `runId` as the simulator's outbox publishes it. */
function runEvent(
  runId: string,
  kind: DrillRunEvent['kind'],
  state: DrillRunEvent['run']['state'],
  times: { startedAt: string | null; endedAt?: string | null; occurredAt: string },
): DrillRunEvent {
  const base = drillRunEvent();
  return {
    ...base,
    eventId: randomUUID(),
    kind,
    occurredAt: times.occurredAt,
    run: {
      ...base.run,
      id: runId,
      state,
      startedAt: times.startedAt,
      endedAt: times.endedAt ?? null,
      expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    },
  };
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

const temporaryDir = temporaryDirectories();

describe('escalation believes a drill only when the simulator registered its run and the run was active', () => {
  let esc: TestEscalation;
  let slack: FakeSlack;
  let viewer: string;
  let db: pg.Client;
  let drillsTopic: string;

  const publishRuns = (events: DrillRunEvent[]) =>
    esc.kafka.publish(
      drillsTopic,
      events.map((data) => {
        const envelope = envelopeFor('drills', data, { source: '/simulator' });
        EVENT_SCHEMAS.drills.parse(envelope);
        return { key: envelope.subject, value: JSON.stringify(envelope) };
      }),
    );
  const recorded = (eventId: string) =>
    until(`drill event ${eventId} to be recorded`, async () => {
      const res = await db.query('select 1 from escalation.drill_run_events where event_id = $1', [eventId]);
      return res.rows[0];
    });
  const incident = async (id: string) => (await esc.get(`/v1/incidents/${id}`, viewer)).body.incident as DrillView;
  const seen = async (event: IncidentEvent) => {
    await esc.applied(event.incidentId, viewer);
    return incident(event.incidentId);
  };
  const noticeFor = (title: string) =>
    until(`the Slack notice of "${title}"`, async () =>
      slack.messages.map((m) => String(m.text)).find((t) => t.includes(title)),
    );
  const noticed = (title: string) => slack.messages.some((m) => String(m.text).includes(title));

  beforeAll(async () => {
    slack = await startFakeSlack();
    const dir = temporaryDir('mo-drills-');
    const slackFile = join(dir, 'slack');
    writeFileSync(slackFile, slack.url, { mode: 0o600 });
    esc = await startTestEscalation('drills', () => ({ SLACK_WEBHOOK_URL_FILE: slackFile }));
    drillsTopic = topicName('drills', esc.namespace);
    viewer = await esc.issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    db = new pg.Client({ connectionString: esc.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await esc?.stop();
    await slack?.stop();
  });

  it('shows an alert of a running registered run as a DRILL linked to the run, and notifies nobody', async () => {
    const runId = randomUUID();
    const started = runEvent(runId, 'started', 'running', { startedAt: ago(60_000), occurredAt: ago(60_000) });
    await publishRuns([started]);
    await recorded(started.eventId);

    const drill = alert('Drill payments latency', { drill_run_id: runId });
    await esc.publish([drill]);
    expect(await seen(drill)).toMatchObject({
      drill: true,
      drillRun: { id: runId, url: `/drills/runs/${runId}` },
      drillRunId: runId,
      unverifiedDrillMarker: false,
      unverifiedDrillMarkerReason: null,
    });
    const list = (await esc.get('/v1/incidents?drill=false', viewer)).body.items as DrillView[];
    expect(list.map((i) => i.id)).not.toContain(drill.incidentId);

    // A real incident published after it is notified; the drill never is.
    const real = alert('Checkout really failing');
    await esc.publish([real]);
    await noticeFor('Checkout really failing');
    expect(noticed('Drill payments latency')).toBe(false);
  });

  it('treats a `drill=true` label or a `[drill]` title without a registered run as real: notified and flagged', async () => {
    const labelled = alert('Labelled as drill', { drill: 'true' });
    const titled = onlyEvent(
      normalisePagerDuty(
        pagerDutyIncidentEvent({ incidentId: 'PFORGED1', title: '[drill] Titled as drill', serviceName: 'checkout' }),
        { receivedAt: new Date().toISOString() },
      ),
    );
    expect(titled.drill).toBe(true); // the marker the normaliser saw
    await esc.publish([labelled, titled]);
    for (const event of [labelled, titled]) {
      expect(await seen(event)).toMatchObject({
        drill: false,
        drillRun: null,
        unverifiedDrillMarker: true,
        unverifiedDrillMarkerReason: 'marked as a drill but carries no drill run id',
      });
    }
    await noticeFor('Labelled as drill');
    const list = (await esc.get('/v1/incidents?drill=false', viewer)).body.items as DrillView[];
    expect(list.find((i) => i.id === labelled.incidentId)).toMatchObject({ unverifiedDrillMarker: true });
  });

  it.each([
    ['completed', 'completed'],
    ['aborted', 'aborted'],
    ['expired', 'expired'],
  ] as const)('treats a late alert of a run that %s as real and flagged', async (kind, state) => {
    const runId = randomUUID();
    const started = runEvent(runId, 'started', 'running', { startedAt: ago(120_000), occurredAt: ago(120_000) });
    const ended = runEvent(runId, kind, state, {
      startedAt: ago(120_000),
      endedAt: ago(5_000),
      occurredAt: ago(5_000),
    });
    await publishRuns([started, ended]);
    await recorded(ended.eventId);

    const late = alert(`Late alert of a ${kind} run`, { drill_run_id: runId });
    await esc.publish([late]);
    const view = await seen(late);
    expect(view).toMatchObject({ drill: false, drillRun: null, drillRunId: runId, unverifiedDrillMarker: true });
    expect(view.unverifiedDrillMarkerReason).toMatch(new RegExp(`^drill run ${runId} had ended \\(${state} at .+\\)`));
    await noticeFor(`Late alert of a ${kind} run`);
  });

  it('turns an alert that arrived just before its run was registered into the drill it is', async () => {
    const runId = randomUUID();
    const early = alert('Alert before its run', { drill_run_id: runId });
    await esc.publish([early]);
    expect(await seen(early)).toMatchObject({
      drill: false,
      unverifiedDrillMarker: true,
      unverifiedDrillMarkerReason: `drill run ${runId} is not registered by the simulator`,
    });

    const started = runEvent(runId, 'started', 'running', { startedAt: ago(30_000), occurredAt: ago(30_000) });
    await publishRuns([started]);
    await until('the incident to become a verified drill', async () =>
      (await incident(early.incidentId)).drill ? true : undefined,
    );
    expect(await incident(early.incidentId)).toMatchObject({
      drill: true,
      drillRun: { id: runId },
      unverifiedDrillMarker: false,
      unverifiedDrillMarkerReason: null,
    });
  });

  it('changes nothing when events are delivered again, and a late copy of `started` does not revive an ended run', async () => {
    const runId = randomUUID();
    const started = runEvent(runId, 'started', 'running', { startedAt: ago(60_000), occurredAt: ago(60_000) });
    await publishRuns([started]);
    await recorded(started.eventId);
    const drill = alert('Drill redelivered', { drill_run_id: runId });
    const forged = alert('Forged redelivered', { drill: 'true' });
    await esc.publish([drill, forged]);
    const before = [await seen(drill), await seen(forged)];
    expect(before.map((i) => i.drill)).toEqual([true, false]);
    await noticeFor('Forged redelivered');

    const ended = runEvent(runId, 'completed', 'completed', {
      startedAt: started.run.startedAt,
      endedAt: ago(0),
      occurredAt: ago(0),
    });
    await publishRuns([ended]);
    await recorded(ended.eventId);
    // Every event again: the incidents' and the run's, the run's `started` last.
    await esc.publish([drill, forged]);
    await publishRuns([started, ended, started]);
    const marker = alert('Marker after redelivery');
    await esc.publish([marker]);
    await seen(marker); // the incident events before it were consumed

    const run = await until('the run to be ended', async () => {
      const res = await db.query<{ state: string; ended_at: Date | null }>(
        'select state, ended_at from escalation.drill_runs where run_id = $1',
        [runId],
      );
      return res.rows[0]?.state === 'completed' ? res.rows[0] : undefined;
    });
    expect(run.ended_at).not.toBeNull();
    const events = await db.query('select count(*)::int as n from escalation.drill_run_events where run_id = $1', [
      runId,
    ]);
    expect(events.rows[0].n).toBe(2);
    // A drill stays a drill after its run ended: it was active when the incident arrived.
    expect([await incident(drill.incidentId), await incident(forged.incidentId)]).toEqual(before);
    expect(slack.messages.filter((m) => String(m.text).includes('Forged redelivered'))).toHaveLength(1);
  });
});
