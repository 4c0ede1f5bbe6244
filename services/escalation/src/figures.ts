import { Severity } from '@micro-oncall/incident-model';
import { Histogram, type Registry } from '@micro-oncall/service-kit';
import { z } from 'zod';
import type { ServiceCatalogue } from './catalogue.js';
import type { IncidentChange } from './db/types.js';

/*
 * MTTA and MTTR (issue 14), computed from the incident event history. An incident counts in the
 * window its first trigger falls in (its first `triggered` event; the provider's creation time
 * when the history has none). Time to acknowledge: from then to its first acknowledgement;
 * time to resolve: from then to its first resolution (a reopened incident is measured to the
 * first one). Verified drills (incidents.drill) are kept out of the figures and reported apart
 * (issue 10); an incident with an unverified drill marker is a real incident and counts.
 */

/** The longest window the figures are computed over. */
export const STATS_MAX_WINDOW_DAYS = 90;
/** The window when none is asked for. */
export const STATS_DEFAULT_WINDOW_DAYS = 7;
/** How many alerts the noisiest list holds. */
export const NOISIEST_LIMIT = 10;

const DAY_MS = 86_400_000;

export const StatsGroupBy = z.enum(['service', 'team', 'severity']);
export type StatsGroupBy = z.infer<typeof StatsGroupBy>;

/** GET /v1/stats. `to` defaults to now, `from` to 7 days before `to`. */
export const StatsQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    groupBy: StatsGroupBy.default('service'),
  })
  .strict();

export interface StatsWindow {
  from: string;
  to: string;
  groupBy: StatsGroupBy;
}

/**
 * The window asked for, checked: `from` before `to`, at most STATS_MAX_WINDOW_DAYS apart.
 * Returns the issue to report (naming the field) instead when it is not.
 */
export function resolveWindow(
  q: z.infer<typeof StatsQuery>,
  now: number = Date.now(),
): StatsWindow | { path: 'from' | 'to'; message: string } {
  const to = q.to ? Date.parse(q.to) : now;
  const from = q.from ? Date.parse(q.from) : to - STATS_DEFAULT_WINDOW_DAYS * DAY_MS;
  if (from >= to) return { path: 'from', message: `must be before to (${new Date(to).toISOString()})` };
  if (to - from > STATS_MAX_WINDOW_DAYS * DAY_MS) {
    const days = Math.ceil((to - from) / DAY_MS);
    return {
      path: 'from',
      message: `the window is ${days} days long; it may be at most ${STATS_MAX_WINDOW_DAYS} days (move from or to)`,
    };
  }
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), groupBy: q.groupBy };
}

/** One incident of the window as the event history tells it (routes/stats.ts reads it). */
export interface IncidentTimes {
  id: string;
  service: string;
  severity: Severity;
  /** The alert it came from: Alertmanager's `alertname`, else the title. */
  alertKey: string;
  drill: boolean;
  unverifiedDrillMarker: boolean;
  triggeredAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  /** Its events that occurred in the window. */
  events: number;
}

export interface Duration {
  p50: number | null;
  mean: number | null;
}

export interface Figures {
  incidents: number;
  acknowledged: number;
  /** Seconds from trigger to first acknowledgement, over the acknowledged incidents. */
  mttaSeconds: Duration;
  resolved: number;
  /** Seconds from trigger to first resolution, over the resolved incidents. */
  mttrSeconds: Duration;
}

export interface GroupFigures extends Figures {
  key: string;
}

export interface FiguresReport {
  window: { from: string; to: string };
  groupBy: StatsGroupBy;
  /** Real incidents (drills excluded; unverified drill markers included). */
  total: Figures;
  groups: GroupFigures[];
  /** Verified drills, the same figures, apart. */
  drills: { total: Figures; groups: GroupFigures[] };
  /** Real incidents counted among the figures although something marked them as a drill. */
  unverifiedDrillMarkers: number;
  /** Each UTC day of the window, oldest first: incidents (real) and drills that started on it. */
  perDay: { day: string; incidents: number; drills: number }[];
  /** Real incidents' alerts with the most incidents (then events in the window), at most NOISIEST_LIMIT. */
  noisiest: { alert: string; incidents: number; events: number }[];
}

/** The key an incident is grouped under: the catalogue's slug and team; `unowned` outside it. */
export function groupKey(
  incident: Pick<IncidentTimes, 'service' | 'severity'>,
  groupBy: StatsGroupBy,
  catalogue: Pick<ServiceCatalogue, 'lookup'>,
): string {
  if (groupBy === 'severity') return incident.severity;
  const owner = catalogue.lookup(incident.service);
  if (groupBy === 'service') return owner.service;
  return owner.team ?? 'unowned';
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;

/** Median and mean, in seconds rounded to a tenth; nulls when there is nothing to measure. */
export function summarise(seconds: number[]): Duration {
  if (seconds.length === 0) return { p50: null, mean: null };
  const sorted = [...seconds].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const p50 = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = sorted.reduce((sum, s) => sum + s, 0) / sorted.length;
  return { p50: round(p50), mean: round(mean) };
}

const since = (start: string, end: string | null) =>
  end === null ? null : (Date.parse(end) - Date.parse(start)) / 1000;

/** The figures of a set of incidents. */
export function figuresOf(incidents: IncidentTimes[]): Figures {
  const tta: number[] = [];
  const ttr: number[] = [];
  for (const i of incidents) {
    const a = since(i.triggeredAt, i.acknowledgedAt);
    if (a !== null && a >= 0) tta.push(a);
    const r = since(i.triggeredAt, i.resolvedAt);
    if (r !== null && r >= 0) ttr.push(r);
  }
  return {
    incidents: incidents.length,
    acknowledged: tta.length,
    mttaSeconds: summarise(tta),
    resolved: ttr.length,
    mttrSeconds: summarise(ttr),
  };
}

function grouped(
  incidents: IncidentTimes[],
  groupBy: StatsGroupBy,
  catalogue: Pick<ServiceCatalogue, 'lookup'>,
): GroupFigures[] {
  const groups = new Map<string, IncidentTimes[]>();
  for (const i of incidents) {
    const key = groupKey(i, groupBy, catalogue);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  }
  const severityRank = (key: string) => Severity.options.indexOf(key as Severity);
  return [...groups]
    .map(([key, members]) => ({ key, ...figuresOf(members) }))
    .sort((a, b) =>
      groupBy === 'severity'
        ? severityRank(a.key) - severityRank(b.key)
        : b.incidents - a.incidents || a.key.localeCompare(b.key),
    );
}

/** Every figure of the window from its incidents (those whose first trigger is in it). */
export function computeFigures(
  incidents: IncidentTimes[],
  window: StatsWindow,
  catalogue: Pick<ServiceCatalogue, 'lookup'>,
): FiguresReport {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  const inWindow = incidents.filter((i) => {
    const t = Date.parse(i.triggeredAt);
    return t >= from && t < to;
  });
  const real = inWindow.filter((i) => !i.drill);
  const drills = inWindow.filter((i) => i.drill);

  const perDay = new Map<string, { incidents: number; drills: number }>();
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
    perDay.set(new Date(day).toISOString().slice(0, 10), { incidents: 0, drills: 0 });
  }
  for (const i of inWindow) {
    const counts = perDay.get(new Date(i.triggeredAt).toISOString().slice(0, 10));
    if (counts) counts[i.drill ? 'drills' : 'incidents'] += 1;
  }

  const alerts = new Map<string, { incidents: number; events: number }>();
  for (const i of real) {
    const a = alerts.get(i.alertKey) ?? { incidents: 0, events: 0 };
    a.incidents += 1;
    a.events += i.events;
    alerts.set(i.alertKey, a);
  }

  return {
    window: { from: window.from, to: window.to },
    groupBy: window.groupBy,
    total: figuresOf(real),
    groups: grouped(real, window.groupBy, catalogue),
    drills: { total: figuresOf(drills), groups: grouped(drills, window.groupBy, catalogue) },
    unverifiedDrillMarkers: real.filter((i) => i.unverifiedDrillMarker).length,
    perDay: [...perDay].map(([day, counts]) => ({ day, ...counts })),
    noisiest: [...alerts]
      .map(([alert, counts]) => ({ alert, ...counts }))
      .sort((a, b) => b.incidents - a.incidents || b.events - a.events || a.alert.localeCompare(b.alert))
      .slice(0, NOISIEST_LIMIT),
  };
}

/** Buckets of the time-to-acknowledge and time-to-resolve histograms, in seconds (30 s … 1 day). */
export const RESPONSE_TIME_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400];

/**
 * A change made by events first received longer ago than this is a replay of the topic (a
 * projection rebuild, ADR 0004), not a response happening now: it is not observed again.
 */
export const RESPONSE_TIME_REPLAY_AFTER_MS = 3_600_000;

/**
 * Prometheus histograms of the time to acknowledge and to resolve, observed when an incident's
 * acknowledgement or resolution is applied (after commit), labelled by severity,
 * `incident_service` (a catalogue slug, else `other`: bounded; `service` is the registry's label
 * naming escalation itself) and `drill` (`true` for verified drills, so dashboards
 * can leave them out). A resolution after a reopen is measured from the reopen.
 *
 * Observed once per transition, and only for changes incident events made (`receivedAt`): a
 * redelivered event is not applied again (the consumer skips known event ids), and a change whose
 * events were received more than
 * RESPONSE_TIME_REPLAY_AFTER_MS ago (`receivedAt`) is a replay into a rebuilt projection, already
 * observed when it happened, so it is left out (a consumer that far behind loses those
 * observations; the API's figures, computed from the history, still count them).
 */
export function createFigureMetrics(deps: {
  registry: Registry;
  catalogue: Pick<ServiceCatalogue, 'lookup'>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const labelNames = ['severity', 'incident_service', 'drill'] as const;
  const acknowledge = new Histogram({
    name: 'escalation_incident_time_to_acknowledge_seconds',
    help: 'Time from an incident trigger to its first acknowledgement, by severity, incident_service (catalogue slug or other) and drill',
    labelNames,
    buckets: RESPONSE_TIME_BUCKETS,
    registers: [deps.registry],
  });
  const resolve = new Histogram({
    name: 'escalation_incident_time_to_resolve_seconds',
    help: 'Time from an incident trigger (or reopen) to its resolution, by severity, incident_service (catalogue slug or other) and drill',
    labelNames,
    buckets: RESPONSE_TIME_BUCKETS,
    registers: [deps.registry],
  });
  return {
    onApplied(changes: IncidentChange[]) {
      for (const { before, after, receivedAt } of changes) {
        // Only what an incident event did is a response (not a drill verdict or a regrouping).
        if (receivedAt === undefined || now() - Date.parse(receivedAt) > RESPONSE_TIME_REPLAY_AFTER_MS) continue;
        const start = after.triggeredAt ?? after.createdAt;
        const owner = deps.catalogue.lookup(after.service);
        const labels = {
          severity: after.severity,
          incident_service: owner.owned ? owner.service : 'other',
          drill: after.drill ? 'true' : 'false',
        };
        if (!before?.acknowledgedAt && after.acknowledgedAt) {
          const s = since(start, after.acknowledgedAt);
          if (s !== null && s >= 0) acknowledge.observe(labels, s);
        }
        if (!before?.resolvedAt && after.resolvedAt) {
          const s = since(start, after.resolvedAt);
          if (s !== null && s >= 0) resolve.observe(labels, s);
        }
      }
    },
  };
}
