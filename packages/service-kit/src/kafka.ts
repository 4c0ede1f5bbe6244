import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Component, HealthStatus } from './component.js';
import { DependencyUnavailableError } from './errors.js';
import type { Logger } from './logger.js';

/*
 * The Kafka client sits behind these small interfaces (EventProducer, runConsumer's handler
 * contract) so that kafkajs can be swapped for another client without touching services.
 */

export interface OutgoingMessage {
  key: string;
  value: string | Buffer | null;
  headers?: Record<string, string>;
}

export interface EventProducer extends Component {
  /** Resolves only after the broker acknowledged every message (acks = all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    // kafkajs reports retriable protocol errors (a coordinator still loading after a broker
    // start) at ERROR; our own code logs what actually failed, so its lines go out as warn.
    // The idempotent-producer notice about bounded retries is expected: we bound retries so
    // that a webhook gets a 503 in time, and consumers deduplicate by event id.
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        if (message.startsWith('Limiting retries for the idempotent producer')) return;
        settings.logger[level <= logLevel.WARN ? 'warn' : 'debug']({ kafka: extra }, `kafka: ${message}`);
      },
  });
}

function toHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
  }
  return out;
}

interface Pending {
  topic: string;
  messages: OutgoingMessage[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * An idempotent producer (acks = all) that batches: while one request is in flight, later
 * send() calls queue and go out together in the next request, each caller resolving only when
 * its own messages were acknowledged. kafkajs otherwise sends every send() as its own request.
 */
export function createProducer(
  kafka: Kafka,
  opts: { logger: Logger; sendTimeoutMs?: number; maxBatch?: number },
): EventProducer {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const sendTimeoutMs = opts.sendTimeoutMs ?? 4000;
  const maxBatch = opts.maxBatch ?? 1000;
  const queue: Pending[] = [];
  let inFlight: Promise<void> | null = null;
  let connected: Promise<void> | null = null;
  let isConnected = false;
  let stopped = false;
  producer.on(producer.events.CONNECT, () => {
    isConnected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    isConnected = false;
    connected = null;
  });

  const connect = () => {
    connected ??= producer.connect().catch((error: unknown) => {
      connected = null;
      throw error;
    });
    return connected;
  };

  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (queue.length > 0 && (batch.length === 0 || count + queue[0]!.messages.length <= maxBatch)) {
        const next = queue.shift()!;
        count += next.messages.length;
        batch.push(next);
      }
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), ...p.messages]);
      try {
        await connect();
        await producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const p of batch) p.resolve();
      } catch (error) {
        const err = new DependencyUnavailableError('Kafka did not acknowledge the event; retry later', 5, {
          cause: error,
        });
        opts.logger.warn({ err: error }, 'kafka send failed');
        for (const p of batch) p.reject(err);
      }
    }
  };

  const kick = () => {
    if (inFlight) return;
    inFlight = flush().finally(() => {
      inFlight = null;
      if (queue.length > 0) kick();
    });
  };

  return {
    id: 'kafka-producer',
    async start() {
      await connect();
    },
    send(topic, messages) {
      if (stopped) return Promise.reject(new DependencyUnavailableError('the producer is shutting down', 5));
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        // A caller must get an answer in time (webhook senders wait at most a few seconds);
        // a message that times out here may still be written later and is then deduplicated
        // by its event id downstream: never acknowledged without being stored.
        const timer = setTimeout(
          () => reject(new DependencyUnavailableError(`Kafka did not acknowledge within ${sendTimeoutMs} ms`, 5)),
          sendTimeoutMs,
        );
        queue.push({
          topic,
          messages,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        kick();
      });
    },
    async stop() {
      stopped = true;
      // Flush first: whatever was accepted is sent before the connection closes.
      while (inFlight) await inFlight;
      await producer.disconnect();
    },
    async healthcheck(): Promise<HealthStatus> {
      return isConnected ? { healthy: true } : { healthy: false, reason: 'producer not connected' };
    },
  };
}

/** Readiness check that asks the cluster for its metadata (cached for a second). */
export function kafkaClusterCheck(kafka: Kafka): Component {
  let admin: Admin | null = null;
  let last: { at: number; status: HealthStatus } | null = null;
  return {
    id: 'kafka',
    async healthcheck() {
      if (last && Date.now() - last.at < 1000) return last.status;
      let status: HealthStatus;
      try {
        admin ??= kafka.admin();
        await admin.connect();
        const cluster = await admin.describeCluster();
        status = cluster.brokers.length > 0 ? { healthy: true } : { healthy: false, reason: 'no brokers' };
      } catch (error) {
        status = { healthy: false, reason: (error as Error).message };
      }
      last = { at: Date.now(), status };
      return status;
    },
    async stop() {
      await admin?.disconnect();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates topics (and their .dlq) that do not exist yet, and returns once each has a leader.
 * For development and tests. Services starting together create the same topics at once, and a
 * broker may not list a topic it has just created (UNKNOWN_TOPIC_OR_PARTITION, which kafkajs's
 * own `waitForLeaders` gives up on): retriable errors are retried rather than failing start-up.
 */
export async function ensureTopics(kafka: Kafka, topics: string[], opts: { partitions?: number } = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length > 0) {
          await admin.createTopics({
            topics: missing.map((topic) => ({ topic, numPartitions: opts.partitions ?? 6, replicationFactor: -1 })),
          });
        }
        const { topics: found } = await admin.fetchTopicMetadata({ topics });
        if (found.length === topics.length && found.every((t) => t.partitions.every((p) => p.leader >= 0))) return;
      } catch (error) {
        if (attempt >= 10 || !(error as { retriable?: boolean }).retriable) throw error;
      }
      await sleep(Math.min(2000, 100 * 2 ** attempt));
    }
  } finally {
    await admin.disconnect();
  }
}

/** A message that can never be applied (fails its schema): it goes to the dead-letter topic. */
export interface Rejected {
  message: IncomingMessage;
  reason: string;
}

/**
 * Applies a chunk of messages (in partition order) and returns those it rejects as poison.
 * Throwing means "not applied, try again": the runner retries the same chunk with backoff
 * and never commits past it, so a database outage delays events instead of losing them.
 */
export type BatchHandler = (messages: IncomingMessage[]) => Promise<{ rejected: Rejected[] }>;

export interface ConsumerOptions {
  id: string;
  groupId: string;
  topics: string[];
  handler: BatchHandler;
  deadLetter: (topic: string) => string;
  producer: EventProducer;
  logger: Logger;
  /** Largest chunk handed to the handler at once. */
  chunkSize?: number;
  fromBeginning?: boolean;
  /** Called when the consumer crashed for good; main.ts stops the service loudly. */
  onCrash?: (error: Error) => void;
  metrics?: {
    applied(count: number): void;
    deadLettered(count: number): void;
    lag?(topic: string, partition: number, lag: number): void;
  };
}

function toIncoming(topic: string, partition: number, m: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString() : null,
    value: m.value,
    headers: toHeaders(m.headers),
    timestamp: m.timestamp,
  };
}

/**
 * Runs a consumer group with eachBatch: offsets are resolved only after the handler's effect
 * is committed (and poison messages are in the DLQ), heartbeats are sent during long batches,
 * and a batch stops early when the consumer is stopping or the batch went stale.
 */
export function runConsumer(kafka: Kafka, opts: ConsumerOptions): Component & { start(): Promise<void> } {
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    // A member that vanished (broker restart, crash) is replaced after 10 s, not 30.
    sessionTimeout: 10_000,
    heartbeatInterval: 3000,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  let running = false;
  let stopping = false;
  let crashed: string | null = null;
  const chunkSize = opts.chunkSize ?? 500;

  consumer.on(consumer.events.CRASH, (event) => {
    const error = event.payload.error;
    if (event.payload.restart) {
      opts.logger.warn({ err: error }, `${opts.id}: consumer crashed, kafkajs restarts it`);
      return;
    }
    crashed = error.message;
    running = false;
    opts.logger.error({ err: error }, `${opts.id}: consumer crashed for good`);
    opts.onCrash?.(error);
  });

  return {
    id: opts.id,
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? true });
      const joined = new Promise<void>((resolve) => {
        const off = consumer.on(consumer.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          const messages = batch.messages.map((m) => toIncoming(batch.topic, batch.partition, m));
          for (let i = 0; i < messages.length; i += chunkSize) {
            if (!isRunning() || isStale() || stopping) return;
            const chunk = messages.slice(i, i + chunkSize);
            let attempt = 0;
            for (;;) {
              try {
                const { rejected } = await opts.handler(chunk);
                if (rejected.length > 0) {
                  await opts.producer.send(
                    opts.deadLetter(batch.topic),
                    rejected.map((r) => ({
                      key: r.message.key ?? '',
                      // The original bytes, unchanged (also when they are not UTF-8, or null).
                      value: r.message.value,
                      headers: {
                        ...r.message.headers,
                        'x-dlq-reason': r.reason.slice(0, 1000),
                        'x-dlq-source': `${r.message.topic}/${r.message.partition}/${r.message.offset}`,
                        'x-dlq-consumer': opts.groupId,
                      },
                    })),
                  );
                  opts.metrics?.deadLettered(rejected.length);
                  opts.logger.warn(
                    { rejected: rejected.map((r) => ({ offset: r.message.offset, reason: r.reason })) },
                    `${opts.id}: sent poison messages to the dead-letter topic`,
                  );
                }
                opts.metrics?.applied(chunk.length - rejected.length);
                break;
              } catch (error) {
                attempt += 1;
                const delay = Math.min(5_000, 200 * 2 ** Math.min(attempt, 8));
                opts.logger.warn(
                  { err: error, attempt, retryInMs: delay, partition: batch.partition, offset: chunk[0]?.offset },
                  `${opts.id}: applying events failed; retrying`,
                );
                for (let waited = 0; waited < delay; waited += 1000) {
                  if (!isRunning() || stopping) return;
                  await heartbeat().catch(() => undefined);
                  await sleep(Math.min(1000, delay - waited));
                }
              }
            }
            resolveOffset(chunk[chunk.length - 1]!.offset);
            await heartbeat();
            await commitOffsetsIfNecessary();
          }
          const lag = Number(batch.highWatermark) - Number(batch.lastOffset()) - 1;
          opts.metrics?.lag?.(batch.topic, batch.partition, Math.max(0, lag));
        },
      });
      await joined;
      running = true;
    },
    async stop() {
      stopping = true;
      running = false;
      await consumer.disconnect();
    },
    async healthcheck(): Promise<HealthStatus> {
      if (crashed) return { healthy: false, reason: `consumer crashed: ${crashed}` };
      return running ? { healthy: true } : { healthy: false, reason: 'consumer not running' };
    },
  };
}
