/**
 * One measured run of one Kafka client, in a process of its own so that its CPU and memory are
 * its own: started by bench/scenarios/kafka-clients.ts (`node --import tsx <this file>`), never
 * by hand. It reads its plan from KAFKA_CLIENT_RUN (JSON, see ClientRunPlan), produces the
 * given messages to three fresh topics (one send per message with `inFlight` sends waiting;
 * the same through service-kit's coalescing; batches back to back), then reads a pre-produced
 * topic in a fresh consumer group from the beginning until every message was seen, and writes
 * its figures (ClientRunResult) as JSON to the file named by KAFKA_CLIENT_RESULT. It stops by
 * itself after `timeoutS`, failing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import {
  murmur2,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  stringSerializers,
} from '@platformatic/kafka';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import type { BusMessage } from './payloads.js';

export const KAFKA_CLIENTS = ['kafkajs', '@platformatic/kafka'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export const PRODUCE_MODES = ['per-message', 'coalesced', 'batched'] as const;
export type ProduceMode = (typeof PRODUCE_MODES)[number];

export interface ClientRunPlan {
  client: KafkaClientName;
  brokers: string[];
  /** JSON file holding BusMessage[]: the messages to produce, in order. */
  messagesFile: string;
  /** A topic to warm the connection and the producer id on (not measured). */
  warmTopic: string;
  produce: Record<ProduceMode, { topic: string; count: number }>;
  /** Concurrent sends in the per-message and coalesced modes (webhook-ingest: one per webhook in flight). */
  inFlight: number;
  /** Messages per send in the batched mode, and at most per request when coalescing (service-kit's maxBatch). */
  batch: number;
  consume: { topic: string; count: number; groupId: string };
  /** Clients that do not bound their requests in flight: one send per message, `inFlight` at once, unbounded. */
  unbounded: { topic: string; count: number };
  timeoutS: number;
}

export interface PhaseResult {
  messages: number;
  seconds: number;
  messagesPerS: number;
  /** User + system CPU of this process over the phase (process.cpuUsage), per 1,000 messages. */
  cpuMsPer1000: number;
  /** Peak and final RSS of this process during the phase (sampled every 50 ms). */
  rssPeakBytes: number;
  rssEndBytes: number;
  /** Produce requests the client was asked for (per-message and coalesced: send calls to the client). */
  sends?: number;
  /** Consume: from the consumer's creation to the first message (connect, join, first fetch). */
  firstMessageS?: number;
}

export interface ClientRunResult {
  client: KafkaClientName;
  version: string;
  produce: Record<ProduceMode, PhaseResult>;
  /** Rate from the first message to the last; CPU and RSS over the whole phase, join included. */
  consume: PhaseResult;
  /** CPU seconds (user + system) of the whole process, start-up included. */
  cpuSeconds: number;
  /** Largest RSS of the process over its life (process.resourceUsage().maxRSS). */
  maxRssBytes: number;
  /** One send per message with `inFlight` sends at once and no bound on the client's requests (where it has none). */
  unbounded?: { ok: true; figures: PhaseResult } | { ok: false; error: string };
  /** RSS with the messages loaded, before the client was created: the harness's share of the RSS. */
  rssBeforeClientBytes: number;
}

/** What the harness needs of a client: the service's producer settings, and a group consumer. */
interface ClientUnderTest {
  version: string;
  /**
   * Resolves once the broker acknowledged every message (acks = all, idempotent), one produce
   * request in flight at a time as service-kit configures kafkajs (maxInFlightRequests 1).
   */
  send(topic: string, messages: readonly BusMessage[]): Promise<void>;
  /** The client's own send without that bound, where the client does not bound it itself. */
  sendUnbounded?(topic: string, messages: readonly BusMessage[]): Promise<void>;
  closeProducer(): Promise<void>;
  /** Reads `topic` in group `groupId` from the beginning; calls onBatch per delivered batch until stop() resolves. */
  consume(
    topic: string,
    groupId: string,
    onMessages: (partition: number, lastOffset: bigint, count: number) => void,
  ): Promise<{ stop(): Promise<void> }>;
}

/** The installed version (read from the root node_modules: @platformatic/kafka exports no package.json). */
function packageVersion(name: string): string {
  const file = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** kafkajs configured exactly as service-kit's createKafka / createProducer / runConsumer do. */
function kafkajsClient(plan: ClientRunPlan): ClientUnderTest {
  const kafka = new Kafka({
    clientId: 'bench-kafka-clients',
    brokers: plan.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  let connected: Promise<void> | null = null;
  return {
    version: packageVersion('kafkajs'),
    async send(topic, messages) {
      connected ??= producer.connect();
      await connected;
      await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.None,
        topicMessages: [{ topic, messages: messages as BusMessage[] }],
      });
    },
    async closeProducer() {
      await producer.disconnect();
    },
    async consume(topic, groupId, onMessages) {
      const consumer = kafka.consumer({
        groupId,
        sessionTimeout: 10_000,
        rebalanceTimeout: 30_000,
        heartbeatInterval: 3000,
        allowAutoTopicCreation: false,
        minBytes: 1,
        maxWaitTimeInMs: 100,
        retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        async eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) {
          if (batch.messages.length === 0) return;
          const last = batch.messages[batch.messages.length - 1]!.offset;
          onMessages(batch.partition, BigInt(last), batch.messages.length);
          resolveOffset(last);
          await heartbeat();
          await commitOffsetsIfNecessary();
        },
      });
      return { stop: () => consumer.disconnect() };
    },
  };
}

/**
 * The key's partition as kafkajs's DefaultPartitioner (and the Java client) computes it:
 * toPositive(murmur2(key)) mod partitions. @platformatic/kafka's own default takes murmur2 >>> 0
 * instead, which sends about half of the keys to another partition: a switch must keep the
 * mapping, or an incident's events lose their order across the deploy. The library applies
 * `% partitions` to what this returns.
 */
export function javaCompatiblePartition(key: string | Buffer | undefined): number {
  return key === undefined ? 0 : murmur2(key) & 0x7fffffff;
}

/** @platformatic/kafka with the same guarantees: idempotent, acks = all, no compression, the same partitioning. */
function platformaticClient(plan: ClientRunPlan): ClientUnderTest {
  const base = {
    clientId: 'bench-kafka-clients',
    bootstrapBrokers: plan.brokers,
    connectTimeout: 3000,
    timeout: 10_000,
    retries: 5,
    retryDelay: 100,
    autocreateTopics: false,
  };
  const producer = new PlatformaticProducer<string, string, string, string>({
    ...base,
    idempotent: true,
    acks: -1,
    compression: 'none',
    partitioner: (message) => javaCompatiblePartition(message.key),
    serializers: stringSerializers,
  });
  const sendUnbounded = async (topic: string, messages: readonly BusMessage[]) => {
    await producer.send({ messages: messages.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers })) });
  };
  // The library puts every send() on the wire at once; with more than 5 produce requests of an
  // idempotent producer in flight to one partition the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER
  // (seen with 1.22.0), so the caller must hold them back: one at a time, as kafkajs does here.
  let tail: Promise<unknown> = Promise.resolve();
  return {
    version: packageVersion('@platformatic/kafka'),
    send(topic, messages) {
      const sent = tail.then(() => sendUnbounded(topic, messages));
      tail = sent.catch(() => undefined);
      return sent;
    },
    sendUnbounded,
    async closeProducer() {
      await producer.close();
    },
    async consume(topic, groupId, onMessages) {
      const consumer = new PlatformaticConsumer({
        ...base,
        groupId,
        sessionTimeout: 10_000,
        rebalanceTimeout: 30_000,
        heartbeatInterval: 3000,
        minBytes: 1,
        maxWaitTime: 100,
      });
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: 1000,
      });
      stream.on('data', (message) => onMessages(message.partition, message.offset, 1));
      stream.on('error', (error: Error) => fail(error));
      return {
        async stop() {
          await stream.close();
          await consumer.close();
        },
      };
    },
  };
}

function fail(error: unknown): never {
  // @platformatic/kafka reports AggregateErrors: the causes say what the broker answered.
  const causes = (error as { errors?: unknown[] }).errors ?? [];
  const detail = causes
    .map((e) => `\n  cause: ${inspect(e, { depth: 6, breakLength: Number.POSITIVE_INFINITY })}`)
    .join('');
  process.stderr.write(`kafka client run failed: ${(error as Error).stack ?? String(error)}${detail}\n`);
  process.exit(1);
}

/** Measures `run` (which handles `messages` messages): rate, CPU per 1,000, peak and end RSS. */
async function phase(messages: number, run: () => Promise<Partial<PhaseResult> | undefined>): Promise<PhaseResult> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    const extra = (await run()) ?? {};
    const seconds = extra.seconds ?? (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const end = process.memoryUsage.rss();
    return {
      messages,
      seconds: Math.round(seconds * 1000) / 1000,
      messagesPerS: Math.round(messages / seconds),
      cpuMsPer1000: Math.round(((used.user + used.system) / 1000 / messages) * 1000 * 100) / 100,
      rssPeakBytes: Math.max(peak, end),
      rssEndBytes: end,
      ...extra,
      ...(extra.seconds === undefined ? {} : { seconds: Math.round(extra.seconds * 1000) / 1000 }),
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * service-kit createProducer's batching (lingerMs 0): while a request is in flight later sends
 * queue, and go out together in the next request (whole sends, at most `maxBatch` messages),
 * each caller resolving when its own messages were acknowledged.
 */
function coalescing(client: ClientUnderTest, topic: string, maxBatch: number) {
  const queue: { messages: readonly BusMessage[]; resolve(): void; reject(error: unknown): void }[] = [];
  let inFlight = false;
  let requests = 0;
  const flush = async () => {
    inFlight = true;
    while (queue.length > 0) {
      const batch = [queue.shift()!];
      let count = batch[0]!.messages.length;
      while (queue.length > 0 && count + queue[0]!.messages.length <= maxBatch) {
        count += queue[0]!.messages.length;
        batch.push(queue.shift()!);
      }
      requests += 1;
      try {
        await client.send(
          topic,
          batch.flatMap((p) => p.messages),
        );
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    inFlight = false;
  };
  return {
    send: (messages: readonly BusMessage[]) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ messages, resolve, reject });
        if (!inFlight) void flush();
      }),
    requests: () => requests,
  };
}

/** What the broker answered, from @platformatic/kafka's nested AggregateErrors (their apiId), else the message. */
function brokerErrors(error: unknown): string {
  const ids = new Set<string>();
  const walk = (e: unknown) => {
    const { apiId, errors } = e as { apiId?: string; errors?: unknown[] };
    if (apiId) ids.add(apiId);
    for (const inner of errors ?? []) walk(inner);
  };
  walk(error);
  return ids.size > 0 ? [...ids].join(', ') : (error as Error).message;
}

/** `inFlight` workers, each sending one message at a time until `count` were acknowledged. */
async function oneAtATime(
  count: number,
  inFlight: number,
  messages: readonly BusMessage[],
  send: (one: readonly BusMessage[]) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < count && !failed) {
      const i = next;
      next += 1;
      try {
        await send([messages[i % messages.length]!]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  // Every worker has stopped before this returns, also after a failure.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(inFlight, count) }, worker));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

async function main(): Promise<void> {
  const raw = process.env.KAFKA_CLIENT_RUN;
  const out = process.env.KAFKA_CLIENT_RESULT;
  if (!raw || !out) throw new Error('KAFKA_CLIENT_RUN and KAFKA_CLIENT_RESULT must be set (started by the bench)');
  const plan = JSON.parse(raw) as ClientRunPlan;
  if (!KAFKA_CLIENTS.includes(plan.client)) throw new Error(`unknown client ${plan.client}`);
  setTimeout(() => fail(new Error(`did not finish within ${plan.timeoutS} s`)), plan.timeoutS * 1000).unref();
  const messages = JSON.parse(readFileSync(plan.messagesFile, 'utf8')) as BusMessage[];
  if (messages.length === 0) throw new Error(`${plan.messagesFile} holds no messages`);
  const rssBeforeClientBytes = process.memoryUsage.rss();
  const client = plan.client === 'kafkajs' ? kafkajsClient(plan) : platformaticClient(plan);

  // Warm: connection, metadata, producer id; nothing of it is measured.
  for (let i = 0; i < 4; i += 1) await client.send(plan.warmTopic, messages.slice(i * 100, i * 100 + 100));
  await oneAtATime(200, plan.inFlight, messages, (one) => client.send(plan.warmTopic, one));

  const produce = {} as Record<ProduceMode, PhaseResult>;
  const { topic: perTopic, count: perCount } = plan.produce['per-message'];
  produce['per-message'] = await phase(perCount, async () => {
    await oneAtATime(perCount, plan.inFlight, messages, (one) => client.send(perTopic, one));
    return { sends: perCount };
  });
  const { topic: coTopic, count: coCount } = plan.produce.coalesced;
  const coalesced = coalescing(client, coTopic, plan.batch);
  produce.coalesced = await phase(coCount, async () => {
    await oneAtATime(coCount, plan.inFlight, messages, coalesced.send);
    return { sends: coalesced.requests() };
  });
  const { topic: batchTopic, count: batchCount } = plan.produce.batched;
  produce.batched = await phase(batchCount, async () => {
    let sends = 0;
    for (let sent = 0; sent < batchCount; sent += plan.batch) {
      const size = Math.min(plan.batch, batchCount - sent);
      const from = sent % messages.length;
      const slice = messages.slice(from, from + size);
      await client.send(
        batchTopic,
        slice.length === size ? slice : [...slice, ...messages.slice(0, size - slice.length)],
      );
      sends += 1;
    }
    return { sends };
  });
  // Without the bound: does the client keep an idempotent producer's order by itself?
  let unbounded: ClientRunResult['unbounded'];
  if (client.sendUnbounded) {
    const sendUnbounded = client.sendUnbounded;
    const { topic, count } = plan.unbounded;
    try {
      const figures = await phase(count, async () => {
        await oneAtATime(count, plan.inFlight, messages, (one) => sendUnbounded(topic, one));
        return { sends: count };
      });
      unbounded = { ok: true, figures };
    } catch (error) {
      unbounded = { ok: false, error: brokerErrors(error) };
    }
  }
  await client.closeProducer().catch(() => undefined);

  const { topic, count, groupId } = plan.consume;
  const consume = await phase(count, async () => {
    const created = performance.now();
    let first = 0;
    let last = 0;
    let seen = 0;
    const highest = new Map<number, bigint>();
    let done!: () => void;
    const all = new Promise<void>((resolve) => {
      done = resolve;
    });
    const consumer = await client.consume(topic, groupId, (partition, lastOffset, n) => {
      const now = performance.now();
      if (seen === 0) first = now;
      last = now;
      seen += n;
      if (lastOffset > (highest.get(partition) ?? -1n)) highest.set(partition, lastOffset);
      if (seen >= count) done();
    });
    await all;
    await consumer.stop();
    // Every message exactly once: as many seen as there are, and the offsets reached cover them all.
    const covered = [...highest.values()].reduce((sum, o) => sum + Number(o) + 1, 0);
    if (seen !== count || covered !== count) {
      throw new Error(`consumed ${seen} messages reaching ${covered} offsets; expected ${count} of each`);
    }
    return { seconds: (last - first) / 1000, firstMessageS: Math.round((first - created) / 10) / 100 };
  });

  const result: ClientRunResult = {
    client: plan.client,
    version: client.version,
    produce,
    consume,
    ...(unbounded ? { unbounded } : {}),
    cpuSeconds: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage()),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeClientBytes,
  };
  writeFileSync(out, `${JSON.stringify(result)}\n`);
}

if (process.env.KAFKA_CLIENT_RUN) {
  main().then(
    () => process.exit(0),
    (error: unknown) => fail(error),
  );
}
