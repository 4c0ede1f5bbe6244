import { createMetricsRegistry } from '@micro-oncall/service-kit';
import { describe, expect, it, vi } from 'vitest';
import type { RunView } from './discovery/run.js';
import { emptyReport } from './discovery/sink.js';
import { createDiscoveryMetrics } from './metrics.js';
import type { Db } from './store.js';

const source = (name: string, figures: Partial<RunView['sources'][number]> = {}): RunView['sources'][number] => ({
  ...emptyReport(name),
  files: 1,
  ...figures,
});

function run(status: RunView['status'], sources: RunView['sources'], flagged: number, seconds: number): RunView {
  const sum = (k: 'linesRead' | 'sightings' | 'appsMatched' | 'newCandidates' | 'errors') =>
    sources.reduce((n, s) => n + s[k], 0);
  return {
    id: '00000000-0000-4000-8000-000000000001',
    trigger: 'manual',
    requestedBy: 'admin',
    status,
    startedAt: '2026-12-01T03:23:00.000Z',
    finishedAt: new Date(Date.parse('2026-12-01T03:23:00.000Z') + seconds * 1000).toISOString(),
    totals: {
      linesRead: sum('linesRead'),
      sightings: sum('sightings'),
      appsMatched: sum('appsMatched'),
      newCandidates: sum('newCandidates'),
      flagged,
      errors: sum('errors'),
    },
    sources,
    error: null,
  };
}

/** The value of one series in the exposition text, e.g. `name{source="nginx"}`. */
async function value(registry: ReturnType<typeof createMetricsRegistry>, series: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series.replace(/}$/, ',')}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A database every read of which fails. */
const unreadable = {
  select: () => {
    throw new Error('the database cannot be read');
  },
} as unknown as Db;

describe('discovery metrics', () => {
  it('adds up each source across the runs this replica finished', async () => {
    const registry = createMetricsRegistry('app-registry');
    const metrics = createDiscoveryMetrics(registry, unreadable);
    // Before any run the run counters exist at 0 (an alert on them has something to read).
    expect(await value(registry, 'app_registry_discovery_runs_total{status="succeeded"')).toBe(0);
    expect(await value(registry, 'app_registry_discovery_candidates_flagged_total{service="app-registry"}')).toBe(0);

    metrics.runFinished(
      run(
        'partial',
        [
          source('cloudtrail', { linesRead: 5000, sightings: 150, appsMatched: 3, newCandidates: 12, errors: 2 }),
          source('nginx', { linesRead: 100_000, sightings: 99_000, appsMatched: 40, newCandidates: 5 }),
          source('broken', { files: 0, failed: 'the folder cannot be read' }),
        ],
        4,
        90,
      ),
    );
    metrics.runFinished(
      run('succeeded', [source('nginx', { linesRead: 50_000, sightings: 49_000, appsMatched: 38 })], 1, 30),
    );
    metrics.candidatesFlagged(2);

    const of = (name: string, src: string) => value(registry, `app_registry_discovery_${name}{source="${src}"`);
    expect(await of('lines_read_total', 'nginx')).toBe(150_000);
    expect(await of('lines_read_total', 'cloudtrail')).toBe(5000);
    expect(await of('sightings_total', 'nginx')).toBe(148_000);
    expect(await of('read_errors_total', 'cloudtrail')).toBe(2);
    expect(await of('apps_matched_total', 'nginx')).toBe(78);
    expect(await of('new_candidates_total', 'cloudtrail')).toBe(12);
    expect(await of('source_failures_total', 'broken')).toBe(1);
    expect(await of('source_failures_total', 'nginx')).toBeUndefined();
    expect(await value(registry, 'app_registry_discovery_runs_total{status="partial"')).toBe(1);
    expect(await value(registry, 'app_registry_discovery_runs_total{status="succeeded"')).toBe(1);
    // Flagged by the two runs (4 + 1) and by a lifecycle sweep (2).
    expect(await value(registry, 'app_registry_discovery_candidates_flagged_total{service="app-registry"}')).toBe(7);
    // The last run's gauges are read from the runs table (test/discovery-metrics.test.ts), not
    // from the runs this replica counted: with the table unreadable none of them was ever set.
    expect(await value(registry, 'app_registry_discovery_last_run_status{status="partial"')).toBeUndefined();
    expect(await value(registry, 'app_registry_discovery_last_run_status{status="succeeded"')).toBeUndefined();
  });

  it('keeps the last run it read while the runs table cannot be read', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.parse('2026-12-01T04:00:00.000Z'));
      let reads = 0;
      const firstRead = [
        {
          status: 'partial',
          startedAt: '2026-12-01T03:23:00.000Z',
          finishedAt: '2026-12-01T03:24:30.000Z',
          error: null,
        },
      ];
      const query = {
        from: () => query,
        where: () => query,
        orderBy: () => query,
        limit: async () => {
          reads += 1;
          if (reads === 1) return firstRead;
          throw new Error('connection terminated');
        },
      };
      const registry = createMetricsRegistry('app-registry');
      createDiscoveryMetrics(registry, { select: () => query } as unknown as Db);
      const lastRun = async () => ({
        durationS: await value(registry, 'app_registry_discovery_last_run_duration_seconds{service="app-registry"}'),
        endedAt: await value(registry, 'app_registry_discovery_last_run_timestamp_seconds{service="app-registry"}'),
        partial: await value(registry, 'app_registry_discovery_last_run_status{status="partial"'),
        succeeded: await value(registry, 'app_registry_discovery_last_run_status{status="succeeded"'),
      });
      const read = { durationS: 90, endedAt: Date.parse('2026-12-01T03:24:30.000Z') / 1000, partial: 1, succeeded: 0 };
      expect(await lastRun()).toEqual(read);
      // Past the one-second memo the next read fails: the scrape still answers, with what was read.
      vi.setSystemTime(Date.parse('2026-12-01T04:00:05.000Z'));
      expect(await lastRun()).toEqual(read);
      expect(reads).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
