import { describe, expect, it } from 'vitest';
import { DrillRunEvent, drillDedupKey, drillRunIdOf, drillRunIdOfEvent } from './drills.js';
import { EVENT_SCHEMAS, envelopeFor } from './events.js';
import { drillRunEvent } from './fixtures/drills.js';
import { topicName } from './topics.js';

describe('drills contract', () => {
  it('keys the event by run id, types it by lifecycle change and marks it as drill traffic', () => {
    const event = drillRunEvent({ kind: 'step_fired' });
    const envelope = envelopeFor('drills', event, { source: '/simulator', drill: false });
    expect(envelope).toMatchObject({
      id: event.eventId,
      subject: event.run.id,
      type: 'io.microoncall.drill.step_fired',
      drill: true,
    });
    expect(EVENT_SCHEMAS.drills.parse(envelope)).toEqual(envelope);
    expect(topicName('drills')).toBe('oncall.drills.v1');
  });

  it('carries the failed step, its target and why', () => {
    const event = drillRunEvent({
      kind: 'step_failed',
      step: {
        index: 1,
        offsetSeconds: 60,
        action: 'fire',
        alerts: ['checkout-errors'],
        target: 'pagerduty',
        error: 'PagerDuty answered 400: Event object is invalid',
      },
    });
    expect(DrillRunEvent.parse(event).step?.target).toBe('pagerduty');
  });

  it('refuses a run without its expiry or with an unknown environment', () => {
    const { expiresAt: _dropped, ...run } = drillRunEvent().run;
    expect(DrillRunEvent.safeParse({ ...drillRunEvent(), run }).success).toBe(false);
    const bad = drillRunEvent();
    expect(DrillRunEvent.safeParse({ ...bad, run: { ...bad.run, environment: 'prod' } }).success).toBe(false);
  });
});

describe(drillDedupKey.name, () => {
  it('carries the run id through a provider dedup key and reads it back', () => {
    const runId = '0f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f';
    expect(drillDedupKey(runId, 'payments-latency')).toBe(`drill:${runId}:payments-latency`);
    expect(drillRunIdOf(drillDedupKey(runId, 'payments-latency'))).toBe(runId);
  });

  it.each([null, '', 'inc-1234', 'drill:not-a-run:x', 'drill:0F8E7D6C-5B4A-4392-8172-6A5B4C3D2E1F:x'])(
    'reads no run id from %j',
    (key) => {
      expect(drillRunIdOf(key)).toBeNull();
    },
  );
});

describe(drillRunIdOfEvent.name, () => {
  const RUN = '7d1c3f9e-2b4a-4c6d-8e0f-1a2b3c4d5e6f';
  const event = (dedupKey: string, labels: Record<string, string>) => ({
    dedupKey,
    snapshot: { labels } as NonNullable<Parameters<typeof drillRunIdOfEvent>[0]['snapshot']>,
  });

  it('reads the run id from the label, an Opsgenie tag, the dedup key or the PagerDuty incident key', () => {
    expect(drillRunIdOfEvent(event('fp-1', { drill_run_id: RUN.toUpperCase() }))).toBe(RUN);
    expect(drillRunIdOfEvent(event('fp-1', { opsgenie_tags: `team:payments, drill_run_id:${RUN}` }))).toBe(RUN);
    expect(drillRunIdOfEvent(event(drillDedupKey(RUN, 'errors'), {}))).toBe(RUN);
    expect(drillRunIdOfEvent(event('PD123', { incident_key: drillDedupKey(RUN, 'errors') }))).toBe(RUN);
  });

  it('finds none where there is no run id, or something else in its place', () => {
    expect(drillRunIdOfEvent(event('fp-1', { drill: 'true' }))).toBeNull();
    expect(drillRunIdOfEvent(event('fp-1', { drill_run_id: 'yes' }))).toBeNull();
    expect(drillRunIdOfEvent({ dedupKey: 'drill:nope:x', snapshot: null })).toBeNull();
  });
});
