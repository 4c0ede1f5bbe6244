/**
 * `npm run bench`: throughput, latency and memory of webhook-ingest and escalation on this
 * machine, next to the ceilings they are judged against (a bare node:http endpoint doing the
 * same signature check and JSON parse, and raw kafkajs producing the same messages), and
 * status-mapper polling 500 fake status pages (one replica, then two), all in one run against a
 * fresh PostgreSQL and Kafka. Writes bench/results/<date>-<commit>.json and
 * .md; the targets live in this file, never in tests (docs/performance.md explains them).
 *
 *   npm run bench            full run (about 10 minutes on a quiet machine, longer while it waits)
 *   npm run bench -- --quick short durations, to check the harness itself (figures not comparable)
 *   npm run bench -- --durable  every scenario on a PostgreSQL with fsync and synchronous_commit on
 *                            (without it the ingest and consumer figures are measured once more on
 *                            such a server, at the end: the "durable" scenario)
 *   npm run bench -- --wait-quiet=600   wait up to 600 s in all (default 300) for a quiet machine
 *   npm run bench -- --only=status-mapper-polling   the set-up and the named scenario(s) only (comma-separated)
 *   npm run bench -- --status-minutes=5  measure one status-mapper replica for 5 whole minutes (default 2)
 *   npm run bench -- --only=open-incidents   acknowledge and the incident list with 100,000 open
 *                            incidents in escalation's store (--quick: 10,000)
 *   npm run bench -- --only=app-registry-discovery,app-registry-cost   app-registry's discovery run over
 *                            10 million log lines and cost import of 1 million FOCUS rows (--quick: a tenth)
 *   npm run bench -- --only=kafka-clients   kafkajs against @platformatic/kafka in one harness (issue 15)
 *
 * Every load goes to 127.0.0.1, is bounded in requests and time, and ends by itself. Ctrl-C or
 * an error stops exactly the processes this run started, by their PIDs.
 *
 * This file is the orchestrator: the plan and the targets, the order of the scenarios
 * (bench/scenarios/, one file each), failure handling and the report. The state of the run is
 * one BenchContext (bench/lib/context.ts) handed to every scenario.
 */
import { writeFileSync } from 'node:fs';
import {
  type BenchContext,
  createContext,
  type Plan,
  type Scenario,
  type Settings,
  stopEverything,
} from '../bench/lib/context.js';
import { children } from '../bench/lib/procs.js';
import type { Targets } from '../bench/lib/report.js';
import { composeReport } from '../bench/lib/run-report.js';
import { appRegistryCost } from '../bench/scenarios/app-registry-cost.js';
import { appRegistryDiscovery } from '../bench/scenarios/app-registry-discovery.js';
import { appRegistryScale } from '../bench/scenarios/app-registry-scale.js';
import { busCeiling } from '../bench/scenarios/bus-ceiling.js';
import { consumer } from '../bench/scenarios/consumer.js';
import { durable as durableScenario } from '../bench/scenarios/durable.js';
import { e2e } from '../bench/scenarios/e2e.js';
import { httpCeiling } from '../bench/scenarios/http-ceiling.js';
import { ingest } from '../bench/scenarios/ingest.js';
import { ingestProfile } from '../bench/scenarios/ingest-profile.js';
import { kafkaClients } from '../bench/scenarios/kafka-clients.js';
import { openIncidents } from '../bench/scenarios/open-incidents.js';
import { overload } from '../bench/scenarios/overload.js';
import { replicas } from '../bench/scenarios/replicas.js';
import { setup } from '../bench/scenarios/setup.js';
import { statusMapperPolling } from '../bench/scenarios/status-mapper-polling.js';
import { elapsed, say } from './lib/console.js';

// ---------------------------------------------------------------------------------------------
// What is measured, and the targets (2 cores, measured this way).

const quick = process.argv.includes('--quick');
const durable = process.argv.includes('--durable');
const waitArg = process.argv.find((a) => a.startsWith('--wait-quiet='));
/** How long, in all, to wait for other processes on the machine to calm down before measuring. */
const quietBudgetS = waitArg ? Number(waitArg.split('=')[1]) : 300;
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const statusMinutesArg = process.argv.find((a) => a.startsWith('--status-minutes='));

const PLAN: Plan = quick
  ? {
      warmS: 2,
      lowRate: 500,
      lowS: 4,
      fixedRate: 2000,
      fixedS: 5,
      connections: 64,
      saturationS: 5,
      profileS: 5,
      busS: 3,
      e2eS: 4,
      consumerEvents: 20_000,
      statusMinutes: 1,
      statusReplicasS: 65,
      overloadS: 3,
    }
  : {
      warmS: 4,
      lowRate: 500,
      lowS: 15,
      fixedRate: 2000,
      fixedS: 20,
      connections: 64,
      saturationS: 20,
      profileS: 15,
      busS: 10,
      e2eS: 10,
      consumerEvents: 100_000,
      statusMinutes: 2,
      statusReplicasS: 75,
      overloadS: 10,
    };
if (statusMinutesArg) PLAN.statusMinutes = Math.max(1, Math.round(Number(statusMinutesArg.split('=')[1]) || 1));

const SETTINGS: Settings = {
  e2eRates: [500, 2000],
  apiSamplesPerS: 20,
  pollIntervalMs: 10,
  pollFineMs: 250,
  eventsPerIncident: 10,
  busBatches: [1000, 64],
  consumerTimeoutS: quick ? 90 : 240,
  maxAttempts: 3,
  statusPages: 500,
  statusIntervalS: 60,
  statusJitterS: 10,
};

const TARGETS: Targets = {
  ingestVsHttpCeiling: 0.6,
  ingestEventsPerS: 8000,
  ingestFixedP99Ms: 50,
  // Above capacity: a refusal is answered at once; an admitted webhook waits at most behind the
  // in-flight budget (256 × ~0.76 ms of CPU ≈ 0.2 s on one core) or the event-loop delay limit
  // (WEBHOOK_MAX_EVENT_LOOP_DELAY_MS, 500 ms), plus its own work: about a second, not seconds of queue.
  overload503P99Ms: 50,
  overload202P99Ms: 1000,
  e2eP99MsAt500: 150,
  e2eP99MsAt2000: 500,
  consumerEventsPerS: 10_000,
  consumerVsBusCeiling: 0.5,
  rssBytes: 150e6,
  readyS: 1,
  acknowledgeP99Ms: 50,
  incidentListP99Ms: 100,
  statusMapperCores: 0.1,
  statusMapperCadence: 0.9,
  appRegistryListP99Ms: 100,
  appRegistrySweepS: 60,
  discoveryRunS: 600,
  discoveryRssBytes: 300e6,
  costImportS: 60,
};

/** In order: each later scenario may read what an earlier one measured (e.g. the HTTP ceiling). */
const ALL: Record<string, Scenario> = {
  'http-ceiling': httpCeiling,
  'bus-ceiling': busCeiling,
  ingest,
  'ingest-profile': ingestProfile,
  e2e,
  consumer,
  replicas,
  // After replicas: it doubles the saturation figures of one process (ingest) and of one replica
  // of two worker processes (replicas).
  overload,
  durable: durableScenario,
  'status-mapper-polling': statusMapperPolling,
  'app-registry-scale': appRegistryScale,
  'app-registry-discovery': appRegistryDiscovery,
  'app-registry-cost': appRegistryCost,
  'open-incidents': openIncidents,
  'kafka-clients': kafkaClients,
};
const only = onlyArg?.split('=')[1]?.split(',').filter(Boolean);
for (const name of only ?? []) {
  if (!ALL[name]) throw new Error(`--only: no scenario ${name}; there are ${Object.keys(ALL).join(', ')}`);
}
const SCENARIOS: Scenario[] = Object.entries(ALL)
  .filter(([name]) => !only || only.includes(name))
  .map(([, scenario]) => scenario);

// ---------------------------------------------------------------------------------------------
// The run.

const ctx = createContext({ quick, durable, plan: PLAN, settings: SETTINGS, targets: TARGETS, quietBudgetS });
ctx.skipPayloads = SCENARIOS.every((s) => s.usesPayloads === false);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (ctx.shuttingDown) return;
    ctx.shuttingDown = true;
    say.fail('interrupted: stopping what this run started');
    void stopEverything(ctx).finally(() => process.exit(130));
  });
}

/** Runs one scenario; a failure is recorded and stops what it left running, and the run goes on. */
async function runScenario(context: BenchContext, scenario: Scenario): Promise<void> {
  if (context.shuttingDown) return;
  const name = scenario.title(context);
  const start = Date.now();
  say.step(name);
  try {
    await scenario.run(context);
    say.ok(`${name} (${elapsed(start)})`);
  } catch (error) {
    if (context.shuttingDown) return;
    context.failures.push(`${name}: ${(error as Error).message}`);
    say.fail(`${name}: ${(error as Error).message}`);
    // A failed scenario leaves nothing running for the next one.
    await Promise.allSettled([...children].map((c) => c.stop(15_000)));
  }
}

try {
  await runScenario(ctx, setup);
  if (!ctx.stack) throw new Error('the infrastructure did not start; nothing to measure');
  for (const scenario of SCENARIOS) await runScenario(ctx, scenario);
} catch (error) {
  ctx.failures.push((error as Error).message);
  say.fail((error as Error).message);
} finally {
  for (const label of ['webhook-ingest', 'escalation', 'http-ceiling', 'status-mapper', 'app-registry']) {
    const peak = ctx.sampler.peak(label);
    if (Number.isFinite(peak)) ctx.results.rssPeakBytes[label] = peak;
  }
  if (!ctx.shuttingDown) {
    say.step('stopping what this run started');
    await stopEverything(ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// Report: JSON with every figure and the method, a Markdown table next to it, the same on screen.

if (!ctx.shuttingDown) {
  const { json, markdown, verdicts, ...report } = composeReport(ctx);
  // A partial run never overwrites the report of a full one.
  const base = only ? `${report.base}-only-${only.join('+')}` : report.base;
  writeFileSync(`${base}.json`, json);
  writeFileSync(`${base}.md`, markdown);
  process.stdout.write(`\n${markdown}\n`);
  for (const v of verdicts) {
    const mark = v.met === null ? '\u2716' : v.met ? '\u2714' : '\u2716';
    process.stdout.write(
      `${mark} ${v.target}: ${v.measured} (required ${v.required}) ${v.met === null ? 'not measured' : v.met ? 'met' : 'MISSED'}; ${v.gap} ${ctx.tag}\n`,
    );
  }
  process.stdout.write(
    `\nResults: ${base}.json and ${base}.md\nLogs: ${ctx.dirs.logs}\nTotal time ${elapsed(ctx.startedAt)}\n`,
  );
  process.exit(ctx.failures.length > 0 ? 1 : 0);
}
