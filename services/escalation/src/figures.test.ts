import { createMetricsRegistry } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import { ServiceCatalogue } from './catalogue.js';
import type { IncidentRow } from './db/types.js';
import {
  computeFigures,
  createFigureMetrics,
  type IncidentTimes,
  resolveWindow,
  StatsQuery,
  summarise,
} from './figures.js';

const catalogue = ServiceCatalogue.fromYaml(
  [
    'version: 1',
    'defaults: { fallback: { name: SRE } }',
    'services:',
    '  payments-api: { team: payments, owners: [alice], aliases: [payments] }',
    '  checkout: { team: storefront, owners: [bob] }',
  ].join('\n'),
);

const T0 = Date.parse('2026-11-30T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const window = { from: '2026-11-30T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', groupBy: 'service' as const };

let n = 0;
function incident(over: Partial<IncidentTimes> & { ack?: number; resolve?: number; start?: number }): IncidentTimes {
  const { ack, resolve, start = 0, ...rest } = over;
  n += 1;
  return {
    id: `inc_${n}`,
    service: 'payments-api',
    severity: 'high',
    alertKey: 'HighErrorRate',
    drill: false,
    unverifiedDrillMarker: false,
    triggeredAt: at(start),
    acknowledgedAt: ack === undefined ? null : at(start + ack),
    resolvedAt: resolve === undefined ? null : at(start + resolve),
    events: 3,
    ...rest,
  };
}

describe('MTTA and MTTR figures', () => {
  it('leaves verified drills out of the figures and shows them apart; an unverified marker counts as real', () => {
    const report = computeFigures(
      [
        incident({ ack: 60, resolve: 600 }),
        incident({ ack: 60, resolve: 600, unverifiedDrillMarker: true }),
        incident({ ack: 5, resolve: 30, drill: true, alertKey: 'DrillAlert' }),
      ],
      window,
      catalogue,
    );
    expect(report.total).toEqual({
      incidents: 2,
      acknowledged: 2,
      mttaSeconds: { p50: 60, mean: 60 },
      resolved: 2,
      mttrSeconds: { p50: 600, mean: 600 },
    });
    expect(report.unverifiedDrillMarkers).toBe(1);
    expect(report.drills.total).toMatchObject({ incidents: 1, mttaSeconds: { p50: 5, mean: 5 } });
    expect(report.noisiest).toEqual([{ alert: 'HighErrorRate', incidents: 2, events: 6 }]);
    expect(report.perDay).toEqual([{ day: '2026-11-30', incidents: 2, drills: 1 }]);
  });

  it('groups by catalogue slug (aliases merged), team (unowned outside the catalogue) or severity', () => {
    const incidents = [
      incident({ service: 'payments', ack: 30 }),
      incident({ service: 'payments-api', ack: 90, severity: 'critical' }),
      incident({ service: 'ledger', severity: 'low' }),
    ];
    const by = (groupBy: 'service' | 'team' | 'severity') =>
      computeFigures(incidents, { ...window, groupBy }, catalogue).groups.map((g) => [g.key, g.incidents]);
    expect(by('service')).toEqual([
      ['payments-api', 2],
      ['ledger', 1],
    ]);
    expect(by('team')).toEqual([
      ['payments', 2],
      ['unowned', 1],
    ]);
    expect(by('severity')).toEqual([
      ['critical', 1],
      ['high', 1],
      ['low', 1],
    ]);
    const payments = computeFigures(incidents, window, catalogue).groups[0]!;
    expect(payments).toMatchObject({ acknowledged: 2, mttaSeconds: { p50: 60, mean: 60 }, resolved: 0 });
    expect(payments.mttrSeconds).toEqual({ p50: null, mean: null });
  });

  it('counts an incident in the window its trigger falls in, and every day of the window', () => {
    const report = computeFigures(
      [incident({ start: -11 * 3600 }), incident({ start: 14 * 3600 - 1 }), incident({ start: 14 * 3600 })],
      { ...window, from: '2026-11-29T12:00:00.000Z' },
      catalogue,
    );
    expect(report.total.incidents).toBe(2);
    expect(report.perDay).toEqual([
      { day: '2026-11-29', incidents: 1, drills: 0 },
      { day: '2026-11-30', incidents: 1, drills: 0 },
    ]);
  });

  it('takes the median of an even number of durations as the middle two averaged', () => {
    expect(summarise([10, 20, 40, 1000])).toEqual({ p50: 30, mean: 267.5 });
    expect(summarise([])).toEqual({ p50: null, mean: null });
  });
});

describe('the stats window', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const resolve = (q: Record<string, string>) => resolveWindow(StatsQuery.parse(q), now);

  it('defaults to the last 7 days grouped by service', () => {
    expect(resolve({})).toEqual({
      from: '2026-11-24T12:00:00.000Z',
      to: '2026-12-01T12:00:00.000Z',
      groupBy: 'service',
    });
  });

  it('refuses a window that ends before it starts or is longer than 90 days, naming from', () => {
    expect(resolve({ from: '2026-12-01T00:00:00Z', to: '2026-11-30T00:00:00Z' })).toMatchObject({
      path: 'from',
      message: expect.stringMatching(/must be before to/),
    });
    expect(resolve({ from: '2026-08-01T00:00:00Z', to: '2026-12-01T00:00:00Z' })).toMatchObject({
      path: 'from',
      message: expect.stringMatching(/122 days long; it may be at most 90 days/),
    });
  });

  it('refuses a timestamp without a zone and an unknown grouping', () => {
    expect(StatsQuery.safeParse({ from: '2026-12-01T00:00:00' }).success).toBe(false);
    expect(StatsQuery.safeParse({ groupBy: 'owner' }).success).toBe(false);
  });
});

describe('time-to-acknowledge and time-to-resolve metrics', () => {
  const row = (over: Partial<IncidentRow>): IncidentRow =>
    ({
      service: 'payments',
      severity: 'high',
      drill: false,
      createdAt: at(0),
      triggeredAt: at(0),
      acknowledgedAt: null,
      resolvedAt: null,
      ...over,
    }) as IncidentRow;

  it('observes each transition once, labelled with the catalogue slug (else other) and drill', async () => {
    const registry = createMetricsRegistry('escalation');
    const metrics = createFigureMetrics({ registry, catalogue, now: () => Date.parse(at(600)) });
    const receivedAt = at(600);
    const acked = row({ acknowledgedAt: at(60) });
    metrics.onApplied([{ before: row({}), after: acked, receivedAt }]);
    metrics.onApplied([{ before: acked, after: { ...acked, resolvedAt: at(600) }, receivedAt }]);
    // An acknowledgement already counted is not counted again.
    metrics.onApplied([{ before: acked, after: acked, receivedAt }]);
    metrics.onApplied([
      { before: null, after: row({ service: 'ledger', drill: true, acknowledgedAt: at(5) }), receivedAt },
    ]);
    // A change no incident event made (a drill verdict, a regrouping) is no response.
    metrics.onApplied([{ before: null, after: row({ acknowledgedAt: at(60) }) }]);

    const text = await registry.metrics();
    expect(text).toContain(
      'escalation_incident_time_to_acknowledge_seconds_count{service="escalation",severity="high",incident_service="payments-api",drill="false"} 1',
    );
    expect(text).toContain(
      'escalation_incident_time_to_acknowledge_seconds_sum{service="escalation",severity="high",incident_service="other",drill="true"} 5',
    );
    expect(text).toContain(
      'escalation_incident_time_to_resolve_seconds_sum{service="escalation",severity="high",incident_service="payments-api",drill="false"} 600',
    );
  });
});

describe('time-to-acknowledge and time-to-resolve metrics on a replay of the topic', () => {
  const T = Date.parse('2026-12-01T12:00:00Z');
  const iso = (ms: number) => new Date(T + ms).toISOString();
  const acknowledged = {
    service: 'payments',
    severity: 'high',
    drill: false,
    createdAt: iso(-120_000),
    triggeredAt: iso(-120_000),
    acknowledgedAt: iso(-60_000),
    resolvedAt: null,
  } as unknown as IncidentRow;
  const count = async (registry: ReturnType<typeof createMetricsRegistry>) =>
    /escalation_incident_time_to_acknowledge_seconds_count\{[^}]*\} (\d+)/.exec(await registry.metrics())?.[1] ?? '0';

  it('observes a transition received now, and not the same transition replayed into a rebuilt projection', async () => {
    let now = T;
    const registry = createMetricsRegistry('escalation');
    const metrics = createFigureMetrics({ registry, catalogue, now: () => now });
    metrics.onApplied([{ before: null, after: acknowledged, receivedAt: iso(-1000) }]);
    expect(await count(registry)).toBe('1');

    // Hours later the projection is rebuilt from the topic: the same change, made by the same
    // events (received when they happened), is applied to an empty table again.
    now = T + 3 * 3_600_000;
    metrics.onApplied([{ before: null, after: acknowledged, receivedAt: iso(-1000) }]);
    expect(await count(registry)).toBe('1');
  });

  it('still observes a consumer that is minutes behind', async () => {
    const registry = createMetricsRegistry('escalation');
    const metrics = createFigureMetrics({ registry, catalogue, now: () => T + 10 * 60_000 });
    metrics.onApplied([{ before: null, after: acknowledged, receivedAt: iso(-1000) }]);
    expect(await count(registry)).toBe('1');
  });
});
