import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../bench/lib/load.js';
import {
  type BenchResults,
  coresTable,
  type OverloadRun,
  overloadVerdicts,
  type Targets,
} from '../bench/lib/report.js';
import { readLoadRefusals } from '../bench/lib/service-metrics.js';
import { summarise } from '../bench/lib/stats.js';

const POD = 'webhook-ingest, 2 worker processes';

/** An overload run as the scenario records it, with the machine as busy as `machine` cores. */
function overloadRun(cores: Record<string, number>, issuedLateP99Ms: number): OverloadRun {
  const load: LoadResult = {
    mode: 'fixed-rate',
    offeredRate: 6544,
    connections: 4096,
    durationS: 10,
    sent: 54_775,
    status: { '202': 6_770, '503': 48_005 },
    errors: 0,
    dropped: 10_665,
    answeredPerS: 677,
    latency: summarise([120, 900, 3300]),
    generator: {
      issuedLateMs: { ...summarise([1, 144]), p99: issuedLateP99Ms },
      loopDelayMs: { p50: 12, p99: 391, max: 420 },
    },
  };
  return {
    load,
    label: POD,
    capacityPerS: 3272,
    inFlightBudget: 256,
    share503: 48_005 / 54_775,
    retryAfterShare: 1,
    latency503: { ...summarise([559, 929]), p99: 929 },
    latency202: { ...summarise([900, 3300]), p99: 3300 },
    accepted: 6_770,
    foundOnTopic: 6_770,
    lost: 0,
    cores,
  };
}

const targets = { overload503P99Ms: 50, overload202P99Ms: 1000 } as Targets;

describe('the overload verdicts say when the run saturated the machine', () => {
  it('a run that left no core free marks its answer times, naming the generator’s CPU and lateness', () => {
    const run = overloadRun(
      { bench: 0.68, [POD]: 1.09, [`${POD}.sys`]: 0.2, postgres: 0.07, kafka: 0.06, machine: 1.97, other: 0.02 },
      328,
    );
    const verdicts = overloadVerdicts(run, targets, 'overload, pod', 2);
    const byTarget = (what: string) => verdicts.find((v) => v.target.includes(what));
    for (const what of ['answer time of the 503s', 'answer time of the 202s']) {
      const gap = byTarget(what)?.gap ?? '';
      expect(gap).toContain('the machine was saturated (1.97 of 2 cores busy');
      expect(gap).toContain('the load generator itself used 0.68');
      expect(gap).toContain('p99 328.0 ms late');
    }
    // What the machine's load cannot explain stays unmarked: nothing lost, every 503 with Retry-After.
    expect(byTarget('missing from the topic')?.gap).not.toContain('saturated');
    expect(byTarget('with Retry-After')?.gap).not.toContain('saturated');
    expect(byTarget('missing from the topic')?.met).toBe(true);
  });

  it('an answer time that was not measured gets no note on it', () => {
    const run = overloadRun({ bench: 0.68, [POD]: 1.09, machine: 1.97, other: 0.02 }, 328);
    const verdicts = overloadVerdicts({ ...run, latency202: null }, targets, 'overload, pod', 2);
    const v = verdicts.find((x) => x.target.includes('answer time of the 202s'));
    expect(v).toMatchObject({ measured: 'not measured', met: null, gap: '–' });
  });

  it('a run with a core’s worth to spare is not marked', () => {
    const run = overloadRun({ bench: 0.25, [POD]: 1.06, postgres: 0.13, kafka: 0.06, machine: 1.52, other: 0.01 }, 12);
    for (const v of overloadVerdicts(run, targets, 'overload, pod', 2)) expect(v.gap).not.toContain('saturated');
  });

  it('the cores table has a row for the pod above capacity, its CPU in webhook-ingest’s column', () => {
    const run = overloadRun(
      { bench: 0.68, [POD]: 1.09, [`${POD}.sys`]: 0.2, postgres: 0.07, kafka: 0.06, machine: 1.97, other: 0.02 },
      328,
    );
    const results = {
      httpCeiling: {},
      bus: [],
      ingest: {},
      e2e: [],
      overloadWorkers: run,
    } as unknown as BenchResults;
    const row = coresTable(results, 2)
      .split('\n')
      .find((line) => line.includes('2 worker processes, above capacity'));
    // run | bench | HTTP ceiling | webhook-ingest | escalation | PostgreSQL | Kafka | other | machine
    expect(row?.split('|').map((cell) => cell.trim())).toEqual([
      '',
      'webhook-ingest, 2 worker processes, above capacity',
      '0.68',
      '–',
      '1.09 (0.20 kernel)',
      '–',
      '0.07',
      '0.06',
      '0.02',
      '1.97',
      '',
    ]);
  });
});

describe('who answered the 503s for load', () => {
  it('reads the primary’s refusals and the service’s own overloaded rejections from /metrics, nothing else', async () => {
    let text = [
      '# HELP worker_connections_refused_total Connections the primary answered itself',
      '# TYPE worker_connections_refused_total counter',
      'worker_connections_refused_total{service="webhook-ingest"} 41200',
      'webhook_events_rejected_total{provider="pagerduty",reason="overloaded",service="webhook-ingest"} 5100',
      'webhook_events_rejected_total{provider="opsgenie",reason="overloaded",service="webhook-ingest"} 7',
      'webhook_events_rejected_total{provider="pagerduty",reason="unauthenticated",service="webhook-ingest"} 3',
      'webhook_requests_in_flight{service="webhook-ingest"} 256',
    ].join('\n');
    const server = createServer((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await readLoadRefusals(url)).toEqual({ primary: 41_200, replica: 5_107 });
      // A single process has no primary: its count is absent, not zero.
      text = text
        .split('\n')
        .filter((l) => !l.includes('worker_connections_refused_total'))
        .join('\n');
      expect(await readLoadRefusals(url)).toEqual({ primary: null, replica: 5_107 });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
