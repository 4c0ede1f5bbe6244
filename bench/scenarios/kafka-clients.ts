/**
 * Kafka clients in one harness (issue 15): kafkajs, which service-kit uses, against
 * @platformatic/kafka, alternated over a few rounds, each run in a process of its own
 * (bench/lib/kafka-client-run.ts) so that its CPU and RSS are the client's. Both produce the
 * envelopes webhook-ingest publishes with the service's guarantees (idempotent, acks = all)
 * one message per send with 64 in flight, the same through service-kit's coalescing, and in
 * batches; then read a pre-produced topic in a fresh consumer group until every message was seen.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { topicName } from '@micro-oncall/incident-model';
import { ensureTopics } from '@micro-oncall/service-kit';
import { REPO_ROOT, uniqueNamespace } from '@micro-oncall/test-kit';
import { murmur2 } from '@platformatic/kafka';
import { Partitioners } from 'kafkajs';
import { say } from '../../scripts/lib/console.js';
import { produceFlat } from '../lib/bus.js';
import { running, type Scenario } from '../lib/context.js';
import {
  type ClientRunPlan,
  type ClientRunResult,
  javaCompatiblePartition,
  KAFKA_CLIENTS,
  PRODUCE_MODES,
} from '../lib/kafka-client-run.js';
import { clientRatio } from '../lib/kafka-clients-report.js';
import type { KafkaClientsResults } from '../lib/kafka-clients-results.js';
import { cpuWindow, fmtCores, waitForQuiet } from '../lib/measure.js';
import { spawnNode } from '../lib/procs.js';
import { fmtInt } from '../lib/stats.js';

const PARTITIONS = 6;

/** Keys for which `partition` disagrees with kafkajs's DefaultPartitioner on `partitions` partitions. */
function partitionMismatches(keys: string[], partition: (key: string) => number): number {
  const kafkajs = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  return keys.filter(
    (key) =>
      kafkajs({ topic: 'keys', partitionMetadata, message: { key, value: null } }) !== partition(key) % PARTITIONS,
  ).length;
}

export const kafkaClients: Scenario = {
  title: (ctx) => `Kafka clients in one harness: ${KAFKA_CLIENTS.join(' vs ')} ${ctx.tag}`,
  async run(ctx) {
    const { kafka, stack } = running(ctx);
    const messages = ctx.consumerMessages;
    if (messages.length === 0) throw new Error('no incident events were generated (the set-up skipped the payloads)');

    // A switch must keep key → partition, or an incident's events lose their order across the deploy.
    const keys = [...new Set(messages.map((m) => m.key))];
    const differ = partitionMismatches(keys, (key) => murmur2(key) >>> 0);
    const compatible = partitionMismatches(keys, (key) => javaCompatiblePartition(key));
    if (compatible > 0)
      throw new Error(`the kafkajs-compatible partitioner disagrees with kafkajs on ${compatible} keys`);
    say.info(
      `@platformatic/kafka's default partitioner puts ${fmtInt(differ)} of ${fmtInt(keys.length)} incident keys on another partition than kafkajs; measured with a kafkajs-compatible one`,
    );

    const rounds = ctx.quick ? 2 : 3;
    const produced = ctx.quick
      ? { 'per-message': 3000, coalesced: 10_000, batched: messages.length }
      : { 'per-message': 10_000, coalesced: 50_000, batched: messages.length };
    const batch = 1000;
    const inFlight = ctx.plan.connections;
    const messagesFile = join(ctx.dirs.work, 'kafka-clients-messages.json');
    writeFileSync(messagesFile, JSON.stringify(messages));

    const namespace = uniqueNamespace('bench-clients');
    const consumeTopic = topicName('incident-events', `${namespace}-consume`);
    const warmTopic = topicName('incident-events', `${namespace}-warm`);
    await ensureTopics(kafka, [consumeTopic, warmTopic], { partitions: PARTITIONS });
    // The topic every consumer reads: the same bytes for both clients, produced once in batches.
    await produceFlat({ kafka, topic: consumeTopic, messages, batch, limit: messages.length });

    const order = Array.from({ length: rounds }, () => [...KAFKA_CLIENTS]).flat();
    const results: KafkaClientsResults = {
      versions: {},
      plan: { rounds, order, produced, consumed: messages.length, inFlight, batch, partitions: PARTITIONS },
      defaultPartitionerMismatch: { keys: keys.length, differ },
      runs: [],
    };
    ctx.results.kafkaClients = results;
    const admin = kafka.admin();
    await admin.connect();
    ctx.cleanups.push(() => admin.disconnect());
    /** Messages a topic holds: every partition's high watermark less its low one. */
    const held = async (topic: string) =>
      (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    for (const [i, client] of order.entries()) {
      if (ctx.shuttingDown) return;
      const round = Math.floor(i / KAFKA_CLIENTS.length) + 1;
      const slug = `${client.replace(/\W+/g, '')}-${round}`;
      const topics = Object.fromEntries(
        [...PRODUCE_MODES, 'unbounded'].map((mode) => [
          mode,
          topicName('incident-events', `${namespace}-${slug}-${mode}`),
        ]),
      ) as Record<(typeof PRODUCE_MODES)[number] | 'unbounded', string>;
      await ensureTopics(kafka, Object.values(topics), { partitions: PARTITIONS });
      const timeoutS = ctx.quick ? 120 : 300;
      const plan: ClientRunPlan = {
        client,
        brokers: stack.kafkaBrokers.split(','),
        messagesFile,
        warmTopic,
        produce: Object.fromEntries(
          PRODUCE_MODES.map((mode) => [mode, { topic: topics[mode], count: produced[mode] }]),
        ) as ClientRunPlan['produce'],
        inFlight,
        batch,
        consume: { topic: consumeTopic, count: messages.length, groupId: `${namespace}-${slug}` },
        unbounded: { topic: topics.unbounded, count: produced['per-message'] },
        timeoutS,
      };
      const resultFile = join(ctx.dirs.work, `kafka-clients-${slug}.json`);
      await waitForQuiet(ctx, `${client}, round ${round}`);
      const child = spawnNode({
        name: `kafka-client-${slug}`,
        script: join(REPO_ROOT, 'bench', 'lib', 'kafka-client-run.ts'),
        cwd: REPO_ROOT,
        env: { NODE_ENV: 'production', KAFKA_CLIENT_RUN: JSON.stringify(plan), KAFKA_CLIENT_RESULT: resultFile },
        logDir: ctx.dirs.logs,
      });
      // The client's own CPU comes from the run itself: once it has exited /proc no longer has it.
      const cpu = cpuWindow(ctx, {});
      const spawned = performance.now();
      const guard = setTimeout(() => void child.stop(5000), (timeoutS + 15) * 1000);
      const code = await child.exited;
      clearTimeout(guard);
      const measured = cpu();
      const wallS = (performance.now() - spawned) / 1000;
      await child.stop(5000);
      if (code !== 0) throw new Error(`${client} round ${round} exited with ${code}; see ${child.log}`);
      const run = JSON.parse(readFileSync(resultFile, 'utf8')) as ClientRunResult;
      const clientCores = Math.round((run.cpuSeconds / wallS) * 100) / 100;
      const cores = {
        ...measured,
        client: clientCores,
        other: Math.max(0, Math.round(((measured.other ?? 0) - clientCores) * 100) / 100),
      };
      results.versions[client] = run.version;
      const landed: Record<string, number> = {};
      for (const [mode, topic] of Object.entries(topics)) landed[mode] = await held(topic);
      results.runs.push({ ...run, round, cores, landed });
      // An acknowledged message must be on its topic once: a client that loses or repeats one is out.
      const wrong = PRODUCE_MODES.filter((mode) => landed[mode] !== produced[mode]);
      if (wrong.length > 0) {
        throw new Error(
          `${client} round ${round}: ${wrong.map((m) => `${m} acknowledged ${fmtInt(produced[m])} messages, the topic holds ${fmtInt(landed[m] ?? 0)}`).join('; ')}`,
        );
      }
      if (run.unbounded) {
        say.info(
          `${client} round ${round}, one send per message with ${inFlight} in flight and no bound on requests: ${run.unbounded.ok ? `${fmtInt(run.unbounded.figures.messagesPerS)}/s (${run.unbounded.figures.cpuMsPer1000.toFixed(1)} ms CPU/1000)` : `failed: ${run.unbounded.error}`}; ${fmtInt(landed.unbounded ?? 0)} of ${fmtInt(produced['per-message'])} messages on the topic`,
        );
      }
      say.info(
        `${client} round ${round}: ${PRODUCE_MODES.map((m) => `${m} ${fmtInt(run.produce[m].messagesPerS)}/s (${run.produce[m].cpuMsPer1000.toFixed(1)} ms CPU/1000)`).join(', ')}; consume ${fmtInt(run.consume.messagesPerS)}/s (${run.consume.cpuMsPer1000.toFixed(1)} ms CPU/1000, first after ${run.consume.firstMessageS} s); peak RSS ${fmtInt(run.maxRssBytes / 1e6)} MB, ${fmtInt(run.rssBeforeClientBytes / 1e6)} MB of it before the client ${ctx.tag} (${fmtCores(ctx, cores)})`,
      );
    }
    const [a, b] = KAFKA_CLIENTS;
    for (const phase of [...PRODUCE_MODES, 'consume'] as const) {
      say.info(
        `${phase}: ${b} ÷ ${a}: messages/s ×${clientRatio(results, phase, 'messagesPerS', a, b).toFixed(2)}, CPU per message ×${clientRatio(results, phase, 'cpuMsPer1000', a, b).toFixed(2)} (medians of ${rounds} rounds)`,
      );
    }
  },
};
