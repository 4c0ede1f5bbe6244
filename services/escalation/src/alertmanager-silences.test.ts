import { alertmanagerFingerprint, IncidentEvent, incidentIdFor } from '@micro-oncall/incident-model';
import { createLogger, DependencyUnavailableError } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import {
  createEndedAlerts,
  OBSERVED_RESOLUTION_ACTOR,
  observedResolution,
  silenceStatusEvent,
} from './alertmanager-silences.js';
import type { IncidentRow } from './db/types.js';
import { applyEvent } from './projector.js';
import type { AlertState } from './providers/alertmanager.js';

const labels = { alertname: 'PaymentsErrors', service: 'payments', severity: 'critical', pod: 'payments-3' };
const fingerprint = alertmanagerFingerprint(labels);
const STARTED = '2026-12-01T09:00:00.000Z';

/** An Alertmanager event as webhook-ingest normalises it. */
function alertEvent(status: 'firing' | 'resolved', startsAt: string, endsAt?: string): IncidentEvent {
  return {
    eventId: `alertmanager:${fingerprint}:${status}:${startsAt}${endsAt ? `:${endsAt}` : ''}`,
    kind: status === 'firing' ? 'triggered' : 'resolved',
    providerEventType: status,
    occurredAt: endsAt ?? startsAt,
    incidentId: incidentIdFor('alertmanager', fingerprint),
    provider: 'alertmanager',
    providerId: fingerprint,
    dedupKey: fingerprint,
    actor: { type: 'integration', id: null, name: 'Alertmanager' },
    note: null,
    drill: false,
    snapshot: {
      title: 'Payments errors',
      service: 'payments',
      severity: 'critical',
      providerSeverity: 'critical',
      urgency: 'high',
      labels,
      links: [],
      providerUrl: null,
      createdAt: startsAt,
    },
  };
}

const firing = (): IncidentRow => applyEvent(null, alertEvent('firing', STARTED))!;

describe(observedResolution.name, () => {
  const observedAt = new Date('2026-12-01T09:20:00.000Z');
  const why = `Alertmanager no longer lists alert ${fingerprint}`;

  it('is a valid resolved event of the incident, saying who resolved it and how it was known', () => {
    const event = observedResolution(firing(), observedAt, why);

    expect(IncidentEvent.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      kind: 'resolved',
      incidentId: firing().id,
      provider: 'alertmanager',
      providerId: fingerprint,
      occurredAt: observedAt.toISOString(),
      actor: OBSERVED_RESOLUTION_ACTOR,
      snapshot: { title: 'Payments errors', service: 'payments', labels, createdAt: STARTED },
    });
    expect(event.note).toMatch(/^Alertmanager no longer lists alert \w+\. Resolved by escalation as observed/);
    expect(applyEvent(firing(), event)).toMatchObject({ status: 'resolved', resolvedAt: observedAt.toISOString() });
  });

  it('gets the same id every time the same episode is observed ended, and a new one for a new episode', () => {
    const once = observedResolution(firing(), observedAt, why);
    const again = observedResolution(firing(), new Date('2026-12-01T09:21:00.000Z'), why);
    expect(again.eventId).toBe(once.eventId);

    const refired = applyEvent(firing(), alertEvent('firing', '2026-12-01T10:00:00.000Z'))!;
    expect(observedResolution(refired, new Date('2026-12-01T10:30:00.000Z'), why).eventId).not.toBe(once.eventId);
  });

  it('reads the timestamps as PostgreSQL writes them', () => {
    const row = { ...firing(), createdAt: '2026-12-01 09:00:00+00', triggeredAt: '2026-12-01 09:00:00+00' };
    const event = observedResolution(row, observedAt, why);
    expect(event.eventId).toBe(`alertmanager:${fingerprint}:resolved:${STARTED}:observed`);
    expect(event.snapshot?.createdAt).toBe(STARTED);
  });

  it('is never older than the status it ends (a clock behind the source)', () => {
    const event = observedResolution(firing(), new Date('2026-12-01T08:59:00.000Z'), why);
    expect(event.occurredAt).toBe(STARTED);
    expect(applyEvent(firing(), event)?.status).toBe('resolved');
  });

  it("leaves the incident resolved when Alertmanager's own resolved notification comes after it", () => {
    const ours = applyEvent(firing(), observedResolution(firing(), observedAt, why))!;
    const theirs = alertEvent('resolved', STARTED, '2026-12-01T09:19:30.000Z');
    expect(applyEvent(ours, theirs)).toMatchObject({ status: 'resolved', resolvedAt: observedAt.toISOString() });
  });
});

describe(silenceStatusEvent.name, () => {
  const ada = { type: 'user' as const, id: 'ada', name: 'Ada Lovelace' };
  const at = new Date('2026-12-01T09:05:00.000Z');

  it('acknowledges the incident by the person whose silence it is, once per silence', () => {
    const event = silenceStatusEvent(firing(), {
      kind: 'acknowledged',
      actor: ada,
      at,
      reference: 'silence:7f3a',
      detail: 'Alertmanager silenced alert … until …',
    });
    expect(IncidentEvent.parse(event)).toEqual(event);
    expect(event).toMatchObject({ kind: 'acknowledged', actor: ada, providerEventType: 'silence.created' });
    expect(event.eventId).toBe(`alertmanager:${fingerprint}:acknowledged:silence:7f3a`);
    expect(applyEvent(firing(), event)).toMatchObject({ status: 'acknowledged', acknowledgedAt: at.toISOString() });
  });

  it('puts an acknowledged incident back to triggered when its silence is expired while the alert may fire', () => {
    const acked = applyEvent(
      firing(),
      silenceStatusEvent(firing(), { kind: 'acknowledged', actor: ada, at, reference: 'silence:7f3a', detail: 'x' }),
    )!;
    const expired = silenceStatusEvent(acked, {
      kind: 'unacknowledged',
      actor: ada,
      at: new Date('2026-12-01T09:10:00.000Z'),
      reference: 'action:act_1',
      detail: 'Alertmanager expired silence 7f3a',
    });
    expect(expired.providerEventType).toBe('silence.expired');
    expect(applyEvent(acked, expired)).toMatchObject({ status: 'triggered', acknowledgedAt: null });
  });
});

describe(createEndedAlerts.name, () => {
  const logger = createLogger({ service: 'alertmanager-silences-test', level: 'silent' });
  const silenced = [{ id: 'inc_1', labels, providerId: fingerprint }];
  const gone: AlertState = { state: 'ended', listed: false, why: `Alertmanager no longer lists alert ${fingerprint}` };
  const firingState: AlertState = { state: 'firing', endsAt: '2026-12-01T10:05:00.000Z' };

  /** A clock a minute on per check, and an Alertmanager answering `states` in turn. */
  function observer(states: (AlertState | Error)[], opts: { startedAt?: string; graceMs?: number } = {}) {
    let clock = Date.parse('2026-12-01T10:00:00.000Z');
    let asked = 0;
    const ended = createEndedAlerts({
      alertmanager: {
        startedAt: async () => new Date(opts.startedAt ?? '2026-12-01T08:00:00.000Z'),
        alertState: async () => {
          const state = states[Math.min(asked++, states.length - 1)]!;
          if (state instanceof Error) throw state;
          return state;
        },
      },
      restartGraceMs: opts.graceMs ?? 300_000,
      logger,
      now: () => new Date(clock),
    });
    return async () => {
      const found = await ended.observe(silenced);
      clock += 60_000;
      return found;
    };
  }

  it('counts an alert as ended when two checks in a row see it ended, from the first of them', async () => {
    const check = observer([gone, gone]);
    expect(await check()).toEqual([]);
    expect(await check()).toEqual([
      { incident: silenced[0], firstSeen: new Date('2026-12-01T10:00:00.000Z'), why: gone.why },
    ]);
  });

  it('never counts an alert still firing, silenced or not, nor one missing only once', async () => {
    const check = observer([firingState, gone, firingState, gone, firingState, firingState]);
    for (let n = 0; n < 6; n += 1) expect(await check()).toEqual([]);
  });

  it('counts an alert listed with its end time passed like a missing one', async () => {
    const listedEnded: AlertState = { state: 'ended', listed: true, why: 'ended at 10:00' };
    const check = observer([listedEnded, listedEnded], { startedAt: '2026-12-01T09:59:00.000Z' });
    expect(await check()).toEqual([]);
    expect(await check()).toHaveLength(1);
  });

  it('does not take a missing alert as ended while Alertmanager has just started', async () => {
    const check = observer([gone], { startedAt: '2026-12-01T09:58:00.000Z', graceMs: 300_000 });
    expect(await check()).toEqual([]);
    expect(await check()).toEqual([]);
    expect(await check()).toEqual([]);
    // Five minutes after its start, absence counts again (two checks in a row).
    expect(await check()).toEqual([]);
    expect(await check()).toHaveLength(1);
  });

  it('counts nothing when Alertmanager cannot be asked, and keeps what the check before saw', async () => {
    const down = new DependencyUnavailableError('Alertmanager could not be reached (ECONNREFUSED)');
    const check = observer([gone, down, down, gone]);
    expect(await check()).toEqual([]);
    await expect(check()).rejects.toBe(down);
    await expect(check()).rejects.toBe(down);
    expect(await check()).toEqual([
      { incident: silenced[0], firstSeen: new Date('2026-12-01T10:00:00.000Z'), why: gone.why },
    ]);
  });
});
