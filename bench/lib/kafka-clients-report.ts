/**
 * The Kafka client comparison (bench/scenarios/kafka-clients.ts) in the run's report: its
 * results, its section of the Markdown report and its line of the method. No targets: the
 * figures decide whether service-kit changes its client (issue 15), not whether a run passes.
 */
import type { ClientRunResult, KafkaClientName, PhaseResult, ProduceMode } from './kafka-client-run.js';
import type { KafkaClientsResults } from './kafka-clients-results.js';
import { BACKGROUND_LIMIT, table } from './report.js';
import { fmtInt } from './stats.js';

type Figure = 'messagesPerS' | 'cpuMsPer1000' | 'rssPeakBytes';

function range(values: number[], fmt: (n: number) => string): string {
  if (values.length === 0) return '–';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const median = [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return lo === hi ? fmt(lo) : `${fmt(median)} (${fmt(lo)}–${fmt(hi)})`;
}

const median = (values: number[]) =>
  values.length === 0 ? Number.NaN : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The phase of a run by name: one of the produce modes, or the consumer. */
function phaseOf(run: ClientRunResult, phase: ProduceMode | 'consume'): PhaseResult {
  return phase === 'consume' ? run.consume : run.produce[phase];
}

const FORMAT: Record<Figure, (n: number) => string> = {
  messagesPerS: fmtInt,
  cpuMsPer1000: (n) => n.toFixed(1),
  rssPeakBytes: (n) => fmtInt(n / 1e6),
};

/** Median of B ÷ median of A for one figure of one phase. */
export function clientRatio(
  r: KafkaClientsResults,
  phase: ProduceMode | 'consume',
  figure: Figure,
  a: KafkaClientName,
  b: KafkaClientName,
): number {
  const of = (client: KafkaClientName) =>
    median(r.runs.filter((run) => run.client === client).map((run) => phaseOf(run, phase)[figure]));
  return of(b) / of(a);
}

export function kafkaClientsSection(r: KafkaClientsResults | undefined, shared: string): string[] {
  if (!r) return [];
  const clients = r.plan.order.filter((c, i) => r.plan.order.indexOf(c) === i);
  const phases: (ProduceMode | 'consume')[] = ['per-message', 'coalesced', 'batched', 'consume'];
  const label: Record<ProduceMode | 'consume', string> = {
    'per-message': `produce, one send per message, ${r.plan.inFlight} in flight (${fmtInt(r.plan.produced['per-message'])})`,
    coalesced: `produce, one message per send through service-kit's coalescing, ${r.plan.inFlight} in flight (${fmtInt(r.plan.produced.coalesced)})`,
    batched: `produce, ${fmtInt(r.plan.batch)} per send back to back (${fmtInt(r.plan.produced.batched)})`,
    consume: `consume in a fresh group from the beginning (${fmtInt(r.plan.consumed)})`,
  };
  const rows: string[][] = [];
  for (const phase of phases) {
    for (const client of clients) {
      const own = r.runs.filter((run) => run.client === client);
      const runs = own.map((run) => phaseOf(run, phase));
      rows.push([
        label[phase],
        `${client} ${r.versions[client] ?? '?'}`,
        range(
          runs.map((p) => p.messagesPerS),
          FORMAT.messagesPerS,
        ),
        range(
          runs.map((p) => p.cpuMsPer1000),
          FORMAT.cpuMsPer1000,
        ),
        range(
          own.map((run) => phaseOf(run, phase).rssPeakBytes - run.rssBeforeClientBytes),
          FORMAT.rssPeakBytes,
        ),
      ]);
    }
  }
  const [a, b] = clients;
  const ratios =
    a && b
      ? phases.map(
          (phase) =>
            `${phase}: ${b} ÷ ${a} messages/s ×${clientRatio(r, phase, 'messagesPerS', a, b).toFixed(2)}, CPU per message ×${clientRatio(r, phase, 'cpuMsPer1000', a, b).toFixed(2)}`,
        )
      : [];
  const disturbed = r.runs.filter((run) => (run.cores.other ?? 0) > BACKGROUND_LIMIT);
  return [
    '',
    `## Kafka clients, same harness (median (min–max) of ${r.plan.rounds} rounds each, alternated; ${shared})`,
    '',
    table(
      ['phase (messages)', 'client', 'messages/s', 'CPU ms per 1,000 messages', 'peak RSS above the harness, MB'],
      rows,
    ),
    '',
    ...ratios.map((line) => `- ${line}`),
    `- @platformatic/kafka's default partitioner puts ${fmtInt(r.defaultPartitionerMismatch.differ)} of ${fmtInt(r.defaultPartitionerMismatch.keys)} keys on another partition than kafkajs's (measured with a kafkajs-compatible partitioner).`,
    ...clients.flatMap((client) => {
      const probes = r.runs.filter((run) => run.client === client && run.unbounded).map((run) => run.unbounded!);
      if (probes.length === 0) return [];
      const failures = probes.filter((p) => !p.ok).map((p) => (p.ok ? '' : p.error));
      const ok = probes.flatMap((p) => (p.ok ? [p.figures.messagesPerS] : []));
      const landed = r.runs
        .filter((run) => run.client === client && run.unbounded)
        .map((run) => fmtInt(run.landed.unbounded ?? Number.NaN));
      return [
        `- ${client} with one send per message, ${r.plan.inFlight} in flight, and no bound on its requests in flight (the table holds them to one at a time, as kafkajs does itself): ${failures.length} of ${probes.length} runs failed${failures.length > 0 ? ` (${[...new Set(failures)].join('; ')})` : ''}${ok.length > 0 ? `; the others ${range(ok, fmtInt)} messages/s` : ''}; messages on the topic afterwards, of ${fmtInt(r.plan.produced['per-message'])} sent: ${landed.join(', ')}.`,
      ];
    }),
    ...(disturbed.length > 0
      ? [
          `- ⚠ ${disturbed.length} of ${r.runs.length} runs had more than ${BACKGROUND_LIMIT} cores busy outside this run (${disturbed.map((run) => `${run.client} round ${run.round}: ${run.cores.other!.toFixed(2)}`).join(', ')}).`,
        ]
      : []),
  ];
}

export function kafkaClientsMethod(r: KafkaClientsResults | undefined): string[] {
  if (!r) return [];
  return [
    `Kafka clients: ${r.plan.order.join(', ')} in turn (${r.plan.rounds} rounds), each run in a fresh process of its own (node --import tsx bench/lib/kafka-client-run.ts) against the bench's broker; the incident-event envelopes of the consumer scenario (key = incident id), topics of ${r.plan.partitions} partitions. Both producers idempotent, acks = all, no compression, kafkajs-compatible partitioning, one produce request in flight (kafkajs: maxInFlightRequests 1 as service-kit configures it; @platformatic/kafka has no such setting, so the harness queues its sends, and measures once more without that queue). Per run: a warm-up (not measured), then ${fmtInt(r.plan.produced['per-message'])} messages with ${r.plan.inFlight} workers each sending one message per client send; ${fmtInt(r.plan.produced.coalesced)} the same through service-kit createProducer's coalescing (lingerMs 0, at most ${fmtInt(r.plan.batch)} per request), as webhook-ingest publishes; ${fmtInt(r.plan.produced.batched)} in sends of ${fmtInt(r.plan.batch)} back to back; then a fresh consumer group reads a topic pre-produced once with ${fmtInt(r.plan.consumed)} messages from the beginning until each message was seen once (kafkajs: eachBatch, 3 partitions concurrently, autocommit 1 s, as runConsumer; @platformatic/kafka: a MessagesStream, mode committed falling back to earliest, autocommit 1 s), its rate from the first message to the last. CPU is process.cpuUsage (user + system) of the client process over each phase (the consumer's includes its join); RSS sampled every 50 ms, shown above the RSS the process had with the messages loaded and before the client was created (tsx and the messages: the same for both).`,
  ];
}
