import { describe, expect, it } from 'vitest';
import { DrillRunEvent } from './drills.js';
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
