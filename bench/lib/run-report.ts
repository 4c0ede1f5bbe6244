/**
 * The report of one run: JSON with every figure, the settings and the method, and a Markdown
 * summary next to it (also printed on screen). Composed from the BenchContext once the
 * scenarios are done.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { KAFKA_VERSION, REPO_ROOT } from '@micro-oncall/test-kit';
import { appRegistryDataMethod, appRegistryDataSection, appRegistryDataVerdicts } from './app-registry-data-report.js';
import { appRegistryMethod, appRegistrySection, appRegistryVerdicts } from './app-registry-report.js';
import type { BenchContext } from './context.js';
import { E2E_LEAD_IN_S } from './e2e.js';
import { kafkaClientsMethod, kafkaClientsSection } from './kafka-clients-report.js';
import { openIncidentsMethod } from './open-incidents-report.js';
import {
  BACKGROUND_LIMIT,
  coresTable,
  evaluate,
  figuresTable,
  memoryTable,
  profileTables,
  targetsTable,
  type Verdict,
} from './report.js';
import { e2eTimelineSection, statementsSection } from './statements-report.js';
import { fmtInt } from './stats.js';
import { statusMapperMethod, statusMapperSection, statusMapperVerdicts } from './status-mapper-report.js';

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function packageVersion(name: string, from: string): string {
  try {
    const dir = join(REPO_ROOT, from, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(dir, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

export interface RunReport {
  /** bench/results/<date>-<commit>[-quick][-durable], without the extension. */
  base: string;
  json: string;
  markdown: string;
  verdicts: Verdict[];
}

export function composeReport(ctx: BenchContext): RunReport {
  const { plan, settings, results, failures, quick, postgresSettings } = ctx;
  const CORES = ctx.cores;
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'nocommit';
  const dirty = git(['status', '--porcelain']).length > 0;
  const now = new Date();
  const date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  const base = join(ctx.dirs.results, `${date}-${commit}${quick ? '-quick' : ''}${ctx.durable ? '-durable' : ''}`);
  const verdicts = [
    ...evaluate(results, ctx.targets, CORES),
    ...statusMapperVerdicts(results.statusMapper, ctx.targets),
    ...appRegistryVerdicts(results.appRegistry, ctx.targets),
    ...appRegistryDataVerdicts(results.discovery, results.costImport, ctx.targets),
  ];
  const machine = {
    cores: CORES,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    sharedBy: 'load generator (this process), webhook-ingest, escalation, PostgreSQL, Kafka',
  };
  const versions = {
    kafka: KAFKA_VERSION,
    postgres: postgresSettings.server_version ?? '?',
    kafkajs: packageVersion('kafkajs', 'packages/service-kit'),
    autocannon: packageVersion('autocannon', '.'),
    tsx: packageVersion('tsx', '.'),
  };
  const method = [
    `Everything on one machine with ${CORES} cores, shared by the load generator, the services, PostgreSQL and Kafka; all traffic on 127.0.0.1.`,
    'Infrastructure: startStack({ mode: "test" }) from @micro-oncall/test-kit: a fresh PostgreSQL (fsync=off, synchronous_commit=off, full_page_writes=off) and a single-node Kafka ' +
      `${KAFKA_VERSION} (KRaft, replication factor 1, broker default flush: no fsync per message); topics with 6 partitions as the services create them.` +
      (ctx.durable
        ? ' This run (--durable): every scenario used a second PostgreSQL of the same version with the server defaults, fsync, synchronous_commit and full_page_writes on.'
        : ' The durable figures: webhook-ingest and the consumer measured once more against a second PostgreSQL of the same version with the server defaults (fsync, synchronous_commit, full_page_writes on).'),
    'Services run as separate processes exactly as the container starts them (node dist/main.mjs, the esbuild bundle built for the run; MO_SERVICE_RUNNER=tsx runs the sources under tsx instead), LOG_LEVEL=warn, secrets from *_FILE files, KAFKA_CREATE_TOPICS=false with the topics of each namespace created by the bench before the start (as the charts run them: the platform creates the topics); webhook-ingest with NODE_ENV=production and WEBHOOK_RATE_LIMIT_PER_MINUTE raised so the per-replica limit does not cap the figures; escalation with NODE_ENV=development because the local OIDC issuer is plain http. Other settings are the defaults (DATABASE_POOL_MAX 10, incident-events chunks of up to 1,000 in escalation, 3 partitions consumed concurrently, WORKER_PROCESSES 1).',
    'Webhooks: PagerDuty v3 incident events from the incident-model fixtures (~1.8 KB), each with its own event id (10 per incident for ingest, one new incident each for end to end), signed (HMAC-SHA256) before the load starts.',
    `Fixed rate: an open-loop generator (node:http, keep-alive) issues request i at start + i/rate; latency counts from that due time (no coordinated omission); at most 2,000 requests outstanding, the rest are counted as dropped. webhook-ingest is measured at ${plan.lowRate}/s (below its capacity) and at ${plan.fixedRate}/s. Saturation: autocannon ${versions.autocannon}, ${plan.connections} connections, pipelining 1, ${plan.saturationS} s; latency from autocannon's per-response timing.`,
    "Accepted events/s: the increase of webhook-ingest's own webhook_events_accepted_total (published and acknowledged by Kafka) over the run, divided by its duration.",
    "HTTP ceiling: bare node:http in its own process reading the body, verifying the signature with webhook-ingest's verifyPagerDutySignature, decoding and parsing the JSON, answering 202; the same fixed-rate and saturation loads.",
    `Bus ceiling: raw kafkajs in the benchmark process, configured like service-kit createProducer (idempotent, maxInFlightRequests 1, acks -1, no compression), sending batches of ${settings.busBatches.join(' and ')} messages back to back to a bench topic for ${plan.busS} s each; the messages are the envelopes webhook-ingest would publish.`,
    `End to end: a fresh webhook-ingest and escalation on their own topic namespace; each webhook creates a new incident; times count from the moment the POST was issued. Per rate two passes of ${plan.e2eS} s, each led into by ${E2E_LEAD_IN_S} s at its rate on the same keep-alive connections (not measured), so that it starts on open connections into a pipeline already at that rate: (1) the live stream alone (GET /v1/stream with a viewer token; the arrival of each incident id is timestamped), (2) the same plus ${settings.apiSamplesPerS} incidents per second polled with GET /v1/incidents/:id (every ${settings.pollIntervalMs} ms for the first ${settings.pollFineMs} ms, then backing off ×1.25 per poll up to 500 ms, so that a backlog does not multiply the polling load).`,
    `Consumer: ${fmtInt(plan.consumerEvents)} events normalised with normalisePagerDuty and wrapped with incidentEventEnvelope (key = incident id), ${settings.eventsPerIncident} per incident, pre-published to a fresh topic; escalation then starts on an empty database; rate = events applied from the first sample that shows any to the last, sampled every 250 ms from the replicas' incident_events_applied_total, the end confirmed by counting the rows in escalation.incident_events (not counted every 250 ms: that was a fifth of PostgreSQL's statement time).`,
    `Overload: a fresh webhook-ingest (WEBHOOK_MAX_IN_FLIGHT ${results.overload?.inFlightBudget ?? 256}) under the open-loop generator at twice its saturation figure of this run (or of a 5 s saturation probe after the ingest scenario's warm-up at 500/s) for ${plan.overloadS} s, each request on a new socket unless an earlier one was answered on a kept-alive connection that is free again (up to 4,096 open at once; a request due while all 4,096 wait is never sent, and the report says how many were not); then the same for a fresh replica of 2 worker processes (WORKER_PROCESSES=2, default WORKER_MAX_WAIT_MS) at twice its own saturation figure (the replicas scenario's, or a probe the same way). Answer times by status from the due time, which includes any lateness of the generator's own (reported in each overload row: how late it issued its requests, and its event-loop delay); every event of a webhook answered 202 is then looked for on the topic (CloudEvent id pagerduty:<event.id>) by a fresh consumer group reading from the beginning, for up to 60 s; what is not found counts as lost.`,
    `Replicas: webhook-ingest as two processes on two ports of the same topic namespace, the ${plan.connections} saturation connections split between them (one autocannon each, run side by side, latencies pooled); escalation as two processes on one database and one consumer group, sharing the partitions of the pre-published topic, otherwise as the consumer run. Then webhook-ingest as one replica of two worker processes (WORKER_PROCESSES=2: a primary handing the connections to its workers in turn) under the same saturation load; its CPU and RSS are the primary's and the workers' together. The 1-replica figures beside them are this run's saturation and consumer figures.`,
    'Ready after start: from spawning a service process to its first 200 from /health/ready (polled every 50 ms), every start without extra node arguments in the run; the verdict takes the median.',
    "PostgreSQL time by statement: the bench's PostgreSQL servers load pg_stat_statements (startStack's statementStats option; tests and npm start do not); its statistics are reset right before each end-to-end pass and consumer run and read right after. When the webhook latency happened: the fixed-rate generator groups the 2xx answers by the second their request was due, with the count, the worst and the p99 (from 2% histogram buckets) of each second.",
    'Peak RSS: VmRSS from /proc/<pid>/status every 250 ms per service process (the profiled run excluded). CPU split: utime+stime per process (and its children) from /proc over each measured window; "other" is machine busy time not accounted to this run (other processes).',
    ...statusMapperMethod(results.statusMapper),
    ...appRegistryMethod(results.appRegistry),
    ...appRegistryDataMethod(results.discovery, results.costImport),
    ...openIncidentsMethod(results.openIncidents),
    ...kafkaClientsMethod(results.kafkaClients),
    `Disturbance: before each measurement the run waits (bounded) until processes outside it use less than ${BACKGROUND_LIMIT} cores, and repeats a measurement that was disturbed (at most ${settings.maxAttempts} times), keeping the least disturbed attempt; figures measured with more background load are marked.`,
  ];
  const report = {
    schema: 1,
    date: now.toISOString(),
    commit,
    dirtyWorkingTree: dirty,
    quick,
    machine,
    versions,
    settings: {
      postgres: postgresSettings,
      durable: ctx.durable,
      plan,
      e2eRates: settings.e2eRates,
      targets: ctx.targets,
    },
    method,
    results,
    targets: verdicts,
    failures,
    durationS: Math.round((Date.now() - ctx.startedAt) / 1000),
  };
  const markdown = [
    `# Benchmark ${date} ${commit}${dirty ? ' (uncommitted changes)' : ''}${quick ? ' — QUICK RUN, not comparable' : ''}`,
    '',
    `${CORES} cores (${machine.cpuModel}), ${fmtInt(machine.memoryBytes / 2 ** 30)} GiB, Node ${process.version}, Kafka ${KAFKA_VERSION}, PostgreSQL ${versions.postgres} (fsync=${postgresSettings.fsync ?? '?'}, synchronous_commit=${postgresSettings.synchronous_commit ?? '?'}${ctx.durable ? ', --durable' : ''}). **Every figure was measured with the ${CORES} cores shared** by the load generator, both services, PostgreSQL and Kafka.`,
    '',
    '## Figures',
    '',
    figuresTable(results, `${CORES} shared cores`, plan, CORES),
    '',
    '## Targets',
    '',
    targetsTable(verdicts),
    '',
    '## Memory (MB = 10^6 bytes)',
    '',
    `Idle after start: ${Object.entries(results.rssIdleBytes)
      .map(([k, v]) => `${k} ${fmtInt(v / 1e6)} MB`)
      .join(', ')}.`,
    '',
    memoryTable(results),
    '',
    '## Where the cores went (cores in use, averaged over each run)',
    '',
    coresTable(results, CORES),
    ...e2eTimelineSection(results),
    ...statementsSection(results),
    ...statusMapperSection(results.statusMapper, `${CORES} shared cores`),
    ...appRegistrySection(results.appRegistry, `${CORES} shared cores`, ctx.targets),
    ...appRegistryDataSection(results.discovery, results.costImport, `${CORES} shared cores`),
    ...kafkaClientsSection(results.kafkaClients, `${CORES} shared cores`),
    ...(results.profile
      ? [
          '',
          '## webhook-ingest CPU profile at saturation',
          '',
          profileTables(results.profile.summary, 'the saturation window'),
        ]
      : []),
    ...(results.consumerProfile
      ? [
          '',
          `## escalation CPU profile while consuming (${fmtInt(results.consumerProfile.eventsPerS)} events/s under the profiler)`,
          '',
          profileTables(results.consumerProfile.summary, 'the window from the first applied event to the last'),
        ]
      : []),
    ...(failures.length > 0 ? ['', '## Failures', '', ...failures.map((f) => `- ${f}`)] : []),
    '',
  ].join('\n');
  return { base, json: `${JSON.stringify(report, null, 2)}\n`, markdown, verdicts };
}
