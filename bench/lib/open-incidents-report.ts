/**
 * What the open-incidents scenario measured (bench/scenarios/open-incidents.ts): escalation with
 * 100,000 open incidents in its store, the acknowledge action and the incident list in a bounded
 * closed loop. Types and the method line only, so that report.ts and run-report.ts need nothing else.
 */
import { type Cores, fmtInt, type Latency } from './stats.js';

export interface OpenIncidentsLoop {
  /** The request as sent (method, path and query). */
  request: string;
  latency: Latency;
  requests: number;
  errors: number;
  seconds: number;
  firstError?: string;
  /** Cores used over the measured window ("other": outside this run). */
  cores: Cores;
}

export interface OpenIncidentsResults {
  /** Open (triggered or acknowledged) incidents in escalation's store while measuring. */
  incidents: number;
  seedS: number;
  analyzeS: number;
  connections: number;
  maxRequests: number;
  maxSeconds: number;
  acknowledge: OpenIncidentsLoop;
  list: { firstPage: OpenIncidentsLoop; filtered: OpenIncidentsLoop };
}

/** The slower of the two list pages, the one the target is judged on. */
export function slowerList(r: OpenIncidentsResults | undefined): OpenIncidentsLoop | undefined {
  if (!r) return undefined;
  const { firstPage, filtered } = r.list;
  return firstPage.latency.p99 >= filtered.latency.p99 ? firstPage : filtered;
}

export function openIncidentsMethod(r: OpenIncidentsResults | undefined): string[] {
  if (!r) return [];
  return [
    `Open incidents: a fresh escalation on its own empty database; ${fmtInt(r.incidents)} open PagerDuty incidents (two thirds triggered, one third acknowledged, five severities, catalogue services and unknown ones) seeded straight into escalation.incidents with INSERT … SELECT generate_series — not through Kafka — as the consumer writes them (number and change_seq from their sequences, one incident_events row each), then VACUUM ANALYZE (seed ${r.seedS.toFixed(1)} s, analyze ${r.analyzeS.toFixed(1)} s). Acknowledge: POST /v1/incidents/:id/actions {"action":"acknowledge"} with a responder token and an Idempotency-Key, each request a different triggered incident, the action going to test-kit's fake PagerDuty REST API in the benchmark process. Incident list: GET /v1/incidents (first page, default 50) and a filtered page (${r.list.filtered.request}) with a viewer token. Each a closed loop of ${r.connections} connections after 5 warm-up requests, until ${r.maxRequests} requests or ${r.maxSeconds} s.`,
  ];
}
