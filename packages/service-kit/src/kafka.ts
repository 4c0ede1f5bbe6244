import {
  type Admin,
  CompressionTypes,
  type Consumer,
  type EachBatchPayload,
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
  /**
   * Resolves only after the broker acknowledged every message (acks = all). Rejects with
   * DependencyUnavailableError when it was not acknowledged in time, when too many messages are
   * already waiting, or at once while the broker is known to be down. A rejected send that was
   * still waiting is never sent; one already handed to the client when its time ran out may
   * still be written, so consumers deduplicate by event id.
   */
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
    // INFO brings the few lifecycle lines (joined the group with its assignment, stopped,
    // restarting) that diagnose a consumer; they go out at debug.
    logLevel: logLevel.INFO,
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

export interface ProducerOptions {
  logger: Logger;
  /** How long send() waits for the acknowledgement before rejecting (default 4 s). */
  sendTimeoutMs?: number;
  /** Most messages per request (default 1000). */
  maxBatch?: number;
  /** Most messages waiting for a request; a send that would exceed it rejects at once (default 5000). */
  maxQueuedMessages?: number;
  /** After a failed request, how long send() rejects at once before the broker is tried again (default 1 s). */
  failFastMs?: number;
  /**
   * How long a send waits for others to share its request when none is in flight (default 0:
   * it goes at once). A few milliseconds turn a request per webhook into a request per few at
   * moderate rates; a full batch (`maxBatch`) goes without waiting.
   */
  lingerMs?: number;
}

interface Pending {
  topic: string;
  messages: OutgoingMessage[];
  /** Resolves (no error) or rejects the caller; only the first call counts. */
  settle(error?: Error): void;
  settled: boolean;
}

/**
 * An idempotent producer (acks = all) that batches: while one request is in flight, later
 * send() calls queue and go out together in the next request, each caller resolving only when
 * its own messages were acknowledged. kafkajs otherwise sends every send() as its own request.
 *
 * The queue is bounded so that a long broker outage cannot grow memory or send stale events
 * later: a send whose caller timed out leaves the queue and is never sent, at most
 * `maxQueuedMessages` wait, and while the broker is known to be down (the last request failed
 * less than `failFastMs` ago, or the one in flight has already taken longer than the send
 * timeout) send() rejects at once. After `failFastMs` the next send tries the broker again.
 */
export function createProducer(kafka: Kafka, opts: ProducerOptions): EventProducer {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const sendTimeoutMs = opts.sendTimeoutMs ?? 4000;
  const maxBatch = opts.maxBatch ?? 1000;
  const maxQueuedMessages = opts.maxQueuedMessages ?? 5000;
  const failFastMs = opts.failFastMs ?? 1000;
  const lingerMs = opts.lingerMs ?? 0;
  const queue: Pending[] = [];
  let queuedMessages = 0;
  let inFlight: Promise<void> | null = null;
  let lingering: NodeJS.Timeout | undefined;
  /** When the request now in flight was handed to the client. */
  let requestSince = 0;
  let requesting = false;
  /** The last request failed: until `until`, send() rejects at once. */
  let down: { until: number; reason: string } | null = null;
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

  /** The request in flight has taken longer than a caller may wait: the broker is not answering. */
  const stalled = (): string | null => {
    const elapsed = Date.now() - requestSince;
    return requesting && elapsed > sendTimeoutMs
      ? `Kafka has not answered the request in flight for ${(elapsed / 1000).toFixed(1)} s`
      : null;
  };

  /** Why send() must not queue right now, or null. */
  const knownDown = (): string | null => {
    if (down && Date.now() < down.until) return `Kafka is unavailable (${down.reason})`;
    return stalled();
  };

  const dequeue = (p: Pending) => {
    const index = queue.indexOf(p);
    if (index < 0) return false;
    queue.splice(index, 1);
    queuedMessages -= p.messages.length;
    return true;
  };

  /** Takes the next batch off the queue: whole sends, at most `maxBatch` messages unless one send is larger. */
  const takeBatch = (): Pending[] => {
    const batch: Pending[] = [];
    let count = 0;
    while (queue.length > 0 && (batch.length === 0 || count + queue[0]!.messages.length <= maxBatch)) {
      const next = queue.shift()!;
      queuedMessages -= next.messages.length;
      count += next.messages.length;
      batch.push(next);
    }
    return batch;
  };

  /** A failed request: every caller still waiting gets the error, and sends fail fast for a while. */
  const failAll = (batch: Pending[], error: unknown) => {
    const err = new DependencyUnavailableError('Kafka did not acknowledge the event; retry later', 5, { cause: error });
    down = { until: Date.now() + failFastMs, reason: (error as Error).message };
    opts.logger.warn({ err: error, waiting: queuedMessages }, 'kafka send failed');
    for (const p of [...batch, ...queue.splice(0)]) p.settle(err);
    queuedMessages = 0;
  };

  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      requesting = true;
      requestSince = Date.now();
      let batch: Pending[] = [];
      try {
        // Connected before taking the batch: what times out while the connection is being
        // made is still queued, and so is dropped rather than sent.
        await connect();
        batch = takeBatch();
        if (batch.length === 0) continue;
        const byTopic = new Map<string, OutgoingMessage[]>();
        for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), ...p.messages]);
        await producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.None,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        down = null;
        for (const p of batch) p.settle();
      } catch (error) {
        failAll(batch, error);
      } finally {
        requesting = false;
      }
    }
  };

  const sendNow = () => {
    clearTimeout(lingering);
    lingering = undefined;
    if (inFlight) return;
    inFlight = flush().finally(() => {
      inFlight = null;
      // What queued meanwhile has already waited for the request in flight.
      if (queue.length > 0) sendNow();
    });
  };

  /** New messages queued: send them now, or after `lingerMs` when nothing is in flight and the batch is not full. */
  const kick = () => {
    if (inFlight) return;
    if (lingerMs <= 0 || stopped || queuedMessages >= maxBatch) sendNow();
    else lingering ??= setTimeout(sendNow, lingerMs);
  };

  return {
    id: 'kafka-producer',
    async start() {
      await connect();
    },
    send(topic, messages) {
      if (stopped) return Promise.reject(new DependencyUnavailableError('the producer is shutting down', 5));
      if (messages.length === 0) return Promise.resolve();
      const reason = knownDown();
      if (reason) return Promise.reject(new DependencyUnavailableError(`${reason}; retry later`, 5));
      // One send larger than the cap still goes out when nothing else waits: its caller holds it anyway.
      if (queuedMessages > 0 && queuedMessages + messages.length > maxQueuedMessages) {
        return Promise.reject(
          new DependencyUnavailableError(
            `the Kafka producer queue is full (${queuedMessages} messages waiting, at most ${maxQueuedMessages}); retry later`,
            5,
          ),
        );
      }
      return new Promise<void>((resolve, reject) => {
        const pending: Pending = {
          topic,
          messages,
          settled: false,
          settle(error) {
            if (pending.settled) return;
            pending.settled = true;
            clearTimeout(timer);
            if (error) reject(error);
            else resolve();
          },
        };
        // A caller must get an answer in time (webhook senders wait at most a few seconds). A
        // send still queued then is dropped: its caller was told it failed, so it must not be
        // written later. One already handed to the client may still be written; consumers
        // deduplicate by event id, and nothing is ever acknowledged without being stored.
        const timer = setTimeout(() => {
          const wasQueued = dequeue(pending);
          pending.settle(
            new DependencyUnavailableError(
              `Kafka did not acknowledge within ${sendTimeoutMs} ms${wasQueued ? ' (not sent)' : ''}; retry later`,
              5,
            ),
          );
        }, sendTimeoutMs);
        queue.push(pending);
        queuedMessages += messages.length;
        kick();
      });
    },
    async stop() {
      stopped = true;
      // Flush first: whatever was accepted is sent before the connection closes.
      if (lingering) sendNow();
      while (inFlight) await inFlight;
      await producer.disconnect();
    },
    async healthcheck(): Promise<HealthStatus> {
      if (!isConnected) return { healthy: false, reason: 'producer not connected' };
      const reason = stalled();
      return reason ? { healthy: false, reason } : { healthy: true };
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
  /**
   * Called when the consumer stopped for good on a configuration error (a topic that does not
   * exist, authentication or authorisation refused): the service stops loudly. Any other crash
   * rebuilds the consumer after a capped backoff instead.
   */
  onCrash?: (error: Error) => void;
  /**
   * How long a (re)built consumer may take to join its group before it is taken for stuck and
   * rebuilt (default 60 s: twice the rebalance timeout).
   */
  joinTimeoutMs?: number;
  /**
   * How long a joined consumer may go without fetching or applying anything while messages wait
   * in its partitions before it is taken for stuck and rebuilt (default 60 s).
   */
  stallTimeoutMs?: number;
  /** Wait before rebuilding a crashed consumer: `initialMs`, doubling up to `maxMs` (default 500 ms to 10 s, ±20 %). */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Fetch requests: the broker answers once it has `minBytes` (default 1) or after `maxWaitMs` (default 100 ms). */
  fetch?: FetchSettings;
  metrics?: {
    applied(count: number): void;
    deadLettered(count: number): void;
    lag?(topic: string, partition: number, lag: number): void;
    /** A crashed consumer is being rebuilt. */
    restarted?(): void;
  };
}

/**
 * How a consumer fetches. With `minBytes` above a few messages' size the broker holds a fetch
 * for up to `maxWaitMs` to fill it: fewer, larger fetches and chunks at moderate rates, for at
 * most `maxWaitMs` more latency.
 */
export interface FetchSettings {
  minBytes?: number;
  maxWaitMs?: number;
}

/** What a Kafka client error means for a consumer or producer that got it. */
export type KafkaErrorClass =
  /** Retrying can help (broker restarting, coordinator moving, network): rebuild and go on. */
  | { kind: 'transient'; reason: string }
  /** No retry fixes it; an operator must change configuration or permissions. */
  | { kind: 'configuration'; reason: string }
  /**
   * The broker does not know a topic. A configuration error when the topic really does not exist
   * (topic auto-creation is off), but also seen briefly while a broker loads its metadata:
   * confirm with the cluster before giving up.
   */
  | { kind: 'unknown-topic'; reason: string };

const AUTHENTICATION_ERRORS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);
const AUTHORIZATION_ERRORS = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
/** Requests the broker refuses as invalid whatever its state: our settings are wrong. */
const INVALID_CONFIGURATION_ERRORS = new Set([
  'INVALID_GROUP_ID',
  'INVALID_SESSION_TIMEOUT',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_CONFIG',
  'INVALID_REQUIRED_ACKS',
]);

/** The error and everything it wraps (kafkajs nests the real cause in `cause`, `errors`). */
function errorChain(error: unknown): { name?: string; type?: string; message?: string }[] {
  const chain: { name?: string; type?: string; message?: string }[] = [];
  const pending: unknown[] = [error];
  while (pending.length > 0 && chain.length < 20) {
    const e = pending.shift();
    if (!e || typeof e !== 'object' || chain.includes(e)) continue;
    chain.push(e);
    const { cause, errors } = e as { cause?: unknown; errors?: unknown };
    pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return chain;
}

/**
 * Classifies a Kafka client error by what retrying can do about it. Only positively recognised
 * configuration problems are final; anything else, including errors kafkajs calls non-retriable
 * such as KafkaJSGroupCoordinatorNotFound after a broker restart, is transient.
 */
export function classifyKafkaError(error: unknown): KafkaErrorClass {
  const chain = errorChain(error);
  const message = (error as Error | undefined)?.message ?? String(error);
  for (const e of chain) {
    if (e.name === 'KafkaJSSASLAuthenticationError' || (e.type && AUTHENTICATION_ERRORS.has(e.type))) {
      return { kind: 'configuration', reason: `authentication with the Kafka brokers failed: ${e.message}` };
    }
    if (e.type && AUTHORIZATION_ERRORS.has(e.type)) {
      return { kind: 'configuration', reason: `not authorised by the Kafka brokers (${e.type}): ${e.message}` };
    }
    if (e.type && INVALID_CONFIGURATION_ERRORS.has(e.type)) {
      return { kind: 'configuration', reason: `the Kafka brokers refused the configuration (${e.type}): ${e.message}` };
    }
    if (e.name === 'KafkaJSServerDoesNotSupportApiKey') {
      return { kind: 'configuration', reason: `the Kafka brokers are too old for this client: ${e.message}` };
    }
  }
  if (chain.some((e) => e.type === 'UNKNOWN_TOPIC_OR_PARTITION')) {
    return { kind: 'unknown-topic', reason: message };
  }
  return { kind: 'transient', reason: message };
}

/** Errors kafkajs answers by re-joining the group: they must reach its runner, not be swallowed. */
function isRejoinError(error: unknown): boolean {
  const type = (error as { type?: string } | undefined)?.type;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'UNKNOWN_MEMBER_ID'
  );
}

/** The wait before rebuild number `attempt` (1, 2, …): doubling from `initialMs`, capped, ±20 % jitter. */
export function restartDelay(attempt: number, backoff: { initialMs: number; maxMs: number }, random = Math.random) {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(Math.max(0, attempt - 1), 20));
  return Math.round(base * (0.8 + 0.4 * random()));
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

type ConsumerState =
  | { kind: 'starting' }
  | { kind: 'running' }
  | { kind: 'down'; since: number; reason: string; retryAt: number }
  | { kind: 'failed'; reason: string }
  | { kind: 'stopped' };

/**
 * Runs a consumer group with eachBatch: offsets are resolved only after the handler's effect
 * is committed (and poison messages are in the DLQ), heartbeats are sent during long batches,
 * and a batch stops early when the consumer is stopping or the batch went stale.
 *
 * kafkajs gives up on some errors for good (KafkaJSGroupCoordinatorNotFound when a restarted
 * broker is slow to load its groups, retries exhausted during an outage). Such a crash does not
 * stop the service: the consumer is rebuilt with a fresh kafkajs consumer after a capped
 * exponential backoff, readiness says why it is down meanwhile, and `metrics.restarted` counts
 * each rebuild. So is one that neither joins its group nor crashes within `joinTimeoutMs`, and
 * one that makes no progress for `stallTimeoutMs` while messages wait in its partitions. Only a
 * configuration error (see classifyKafkaError) ends it: `start()` rejects, or `onCrash` is called
 * once it had started.
 */
export function runConsumer(kafka: Kafka, opts: ConsumerOptions): Component & { start(): Promise<void> } {
  const chunkSize = opts.chunkSize ?? 500;
  const backoff = opts.restartBackoff ?? { initialMs: 500, maxMs: 10_000 };
  let state: ConsumerState = { kind: 'starting' };
  let current: Consumer | null = null;
  let stopping = false;
  /** Crashes since the consumer last joined its group, for the backoff. */
  let failures = 0;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** Gives up on a launched consumer that has neither joined nor crashed after joinTimeoutMs. */
  let joinWatch: NodeJS.Timeout | undefined;
  const joinTimeoutMs = opts.joinTimeoutMs ?? 60_000;
  const stallTimeoutMs = opts.stallTimeoutMs ?? 60_000;
  /** The partitions this member was given at its last join. */
  let assignment: Record<string, number[]> = {};
  /** The last sign of life of the consumer: a join, a batch, a chunk applied or retried. */
  let lastProgress = Date.now();
  const progressed = () => {
    lastProgress = Date.now();
  };
  let stallWatch: NodeJS.Timeout | undefined;
  let admin: Admin | null = null;
  /** start() waits for the first join; settled by the join, a configuration error, or stop(). */
  let firstJoin: { resolve(): void; reject(error: Error): void } | null = null;

  /**
   * Heartbeat and commit during a batch. A re-join request (rebalance, new generation) is
   * rethrown so that kafkajs re-joins; anything else (the broker or coordinator unreachable)
   * ends the batch quietly: what was applied stays resolved and is committed once the broker
   * answers, the rest is fetched again.
   */
  const groupCall = async (what: string, call: () => Promise<void>): Promise<boolean> => {
    try {
      await call();
      return true;
    } catch (error) {
      if (isRejoinError(error)) throw error;
      opts.logger.warn({ err: error }, `${opts.id}: ${what} failed; ending the batch until Kafka answers`);
      return false;
    }
  };

  const eachBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload) => {
    progressed();
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
          progressed();
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
            progressed(); // failing, not stuck: the database is down, the consumer is alive
            // Still a member while waiting; a rebalance ends the batch (rethrown), the chunk
            // is not resolved and goes to whichever member gets the partition.
            await heartbeat().catch((e: unknown) => {
              if (isRejoinError(e)) throw e;
            });
            await sleep(Math.min(1000, delay - waited));
          }
        }
      }
      resolveOffset(chunk[chunk.length - 1]!.offset);
      if (!(await groupCall('heartbeat', heartbeat))) return;
      if (!(await groupCall('committing offsets', () => commitOffsetsIfNecessary()))) return;
    }
    const lag = Number(batch.highWatermark) - Number(batch.lastOffset()) - 1;
    opts.metrics?.lag?.(batch.topic, batch.partition, Math.max(0, lag));
  };

  /** An admin client for the checks below, connected on first use. */
  const clusterAdmin = async (): Promise<Admin> => {
    admin ??= kafka.admin();
    await admin.connect();
    return admin;
  };

  /** Asks the cluster which subscribed topics do not exist; null when it cannot tell. */
  const missingTopics = async (): Promise<string[] | null> => {
    try {
      const existing = new Set(await (await clusterAdmin()).listTopics());
      return opts.topics.filter((t) => !existing.has(t));
    } catch {
      return null;
    }
  };

  /** Messages after the group's committed offsets in this member's partitions; null when the cluster cannot tell. */
  const waitingMessages = async (): Promise<number | null> => {
    try {
      const client = await clusterAdmin();
      const topics = Object.keys(assignment);
      const committed = await client.fetchOffsets({ groupId: opts.groupId, topics });
      let waiting = 0;
      for (const topic of topics) {
        const ends = await client.fetchTopicOffsets(topic);
        const done = committed.find((t) => t.topic === topic)?.partitions ?? [];
        for (const partition of assignment[topic] ?? []) {
          const end = ends.find((e) => e.partition === partition);
          if (!end) continue;
          const at = Number(done.find((d) => d.partition === partition)?.offset ?? -1);
          waiting += Math.max(0, Number(end.high) - (at >= 0 ? at : Number(end.low)));
        }
      }
      return waiting;
    } catch {
      return null;
    }
  };

  /**
   * A joined consumer that has neither fetched nor applied anything for `stallTimeoutMs` while
   * messages wait in its partitions is stuck (kafkajs can idle silently after a broker restart):
   * it is abandoned and rebuilt like a crashed one. An idle consumer that is caught up is fine.
   */
  const checkProgress = async () => {
    const consumer = current;
    const idle = () => Date.now() - lastProgress >= stallTimeoutMs;
    if (!consumer || stopping || state.kind !== 'running' || !idle()) return;
    const waiting = await waitingMessages();
    if (!waiting || current !== consumer || stopping || state.kind !== 'running' || !idle()) return;
    current = null;
    consumer.disconnect().catch(() => undefined);
    scheduleRebuild(
      new Error(
        `made no progress for ${Math.round((Date.now() - lastProgress) / 1000)} s with ${waiting} messages waiting`,
      ),
    );
  };

  /** A configuration error is final only when the cluster confirms it twice, a few seconds apart. */
  const confirm = async (verdict: KafkaErrorClass): Promise<KafkaErrorClass> => {
    if (verdict.kind !== 'unknown-topic') return verdict;
    for (let check = 0; check < 2; check += 1) {
      if (check > 0) await sleep(2000);
      const missing = await missingTopics();
      if (!missing || missing.length === 0 || stopping) return { kind: 'transient', reason: verdict.reason };
      if (check === 1) {
        return {
          kind: 'configuration',
          reason: `topic ${missing.join(', ')} does not exist and topic auto-creation is off: create it (KAFKA_CREATE_TOPICS=true does in development)`,
        };
      }
    }
    return { kind: 'transient', reason: verdict.reason };
  };

  const fail = (reason: string, cause: unknown) => {
    state = { kind: 'failed', reason };
    const error = new Error(`${opts.id}: ${reason}`, { cause });
    opts.logger.error({ err: cause }, `${opts.id}: consumer stopped for good: ${reason}`);
    if (firstJoin) {
      firstJoin.reject(error);
      firstJoin = null;
    } else {
      opts.onCrash?.(error);
    }
  };

  const scheduleRebuild = (error: Error) => {
    failures += 1;
    const delay = restartDelay(failures, backoff);
    const since = state.kind === 'down' ? state.since : Date.now();
    state = { kind: 'down', since, reason: error.message, retryAt: Date.now() + delay };
    opts.logger.warn(
      { err: error, restartInMs: delay, crashesSinceJoin: failures },
      `${opts.id}: consumer down; rebuilding it`,
    );
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      restarts += 1;
      opts.metrics?.restarted?.();
      void launch().catch((e: unknown) => crashed(e as Error));
    }, delay);
  };

  const crashed = async (error: Error) => {
    if (stopping || state.kind === 'failed') return;
    current = null;
    const verdict = await confirm(classifyKafkaError(error));
    if (stopping) return;
    if (verdict.kind === 'configuration') fail(verdict.reason, error);
    else scheduleRebuild(error);
  };

  /** Builds a fresh kafkajs consumer and runs it; resolves once it joined or crashed. */
  const launch = async (): Promise<void> => {
    const consumer = kafka.consumer({
      groupId: opts.groupId,
      // A member that vanished (broker restart, crash) is replaced after 10 s, not 30.
      sessionTimeout: 10_000,
      // How long the coordinator waits for members to re-join during a rebalance (kafkajs: 60 s).
      // A batch stops at its next chunk boundary when a rebalance begins, well within this.
      rebalanceTimeout: 30_000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      minBytes: opts.fetch?.minBytes ?? 1,
      maxWaitTimeInMs: opts.fetch?.maxWaitMs ?? 100,
      // kafkajs never restarts the consumer by itself: every crash comes here (see `crashed`).
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
    });
    current = consumer;
    // A consumer that neither joins nor crashes is stuck (kafkajs waits on a request it will
    // never get an answer to): it is abandoned and rebuilt like a crashed one.
    clearTimeout(joinWatch);
    joinWatch = setTimeout(() => {
      if (current !== consumer || stopping) return;
      current = null;
      consumer.disconnect().catch(() => undefined);
      scheduleRebuild(new Error(`did not join its consumer group within ${joinTimeoutMs / 1000} s`));
    }, joinTimeoutMs);
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      if (current !== consumer || stopping) return;
      clearTimeout(joinWatch);
      assignment = (event.payload.memberAssignment as Record<string, number[]> | undefined) ?? {};
      progressed();
      if (state.kind === 'down') opts.logger.info({ restarts }, `${opts.id}: consumer re-joined its group`);
      state = { kind: 'running' };
      failures = 0;
      firstJoin?.resolve();
      firstJoin = null;
    });
    // kafkajs has disconnected the consumer before it reports the crash.
    consumer.on(consumer.events.CRASH, (event) => {
      if (current !== consumer) return;
      clearTimeout(joinWatch);
      void crashed(event.payload.error);
    });
    const abandoned = () => stopping || current !== consumer;
    try {
      await consumer.connect();
      if (abandoned()) return void (await consumer.disconnect());
      await consumer.subscribe({ topics: opts.topics, fromBeginning: opts.fromBeginning ?? true });
      if (abandoned()) return void (await consumer.disconnect());
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 3,
        eachBatch,
      });
      // stop() may have come while kafkajs was joining, when its own stop does nothing yet.
      if (stopping) await consumer.disconnect();
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      // Abandoned meanwhile (stopped, or given up on as stuck): nothing more to report.
      if (current !== consumer) return;
      clearTimeout(joinWatch);
      current = null;
      throw error;
    }
  };

  return {
    id: opts.id,
    async start() {
      const joined = new Promise<void>((resolve, reject) => {
        firstJoin = { resolve, reject };
      });
      joined.catch(() => undefined);
      try {
        await launch();
      } catch (error) {
        firstJoin = null;
        const verdict = classifyKafkaError(error);
        const failure =
          verdict.kind === 'unknown-topic'
            ? new Error(
                `${opts.id}: cannot subscribe to ${opts.topics.join(', ')}: ${verdict.reason} (topic auto-creation is off: create the topic, e.g. with KAFKA_CREATE_TOPICS=true in development)`,
                { cause: error },
              )
            : (error as Error);
        state = { kind: 'failed', reason: failure.message };
        throw failure;
      }
      await joined;
      stallWatch = setInterval(() => void checkProgress(), Math.min(15_000, Math.max(1000, stallTimeoutMs / 4)));
      stallWatch.unref();
    },
    async stop() {
      stopping = true;
      state = { kind: 'stopped' };
      clearTimeout(restartTimer);
      clearTimeout(joinWatch);
      clearInterval(stallWatch);
      firstJoin?.reject(new Error(`${opts.id}: stopped before joining its consumer group`));
      firstJoin = null;
      const consumer = current;
      current = null;
      await consumer?.disconnect();
      await admin?.disconnect().catch(() => undefined);
    },
    async healthcheck(): Promise<HealthStatus> {
      switch (state.kind) {
        case 'running':
          return { healthy: true };
        case 'starting':
          return { healthy: false, reason: 'consumer joining its group' };
        case 'down': {
          const seconds = Math.max(0, Math.round((state.retryAt - Date.now()) / 1000));
          return {
            healthy: false,
            reason: `consumer down since ${new Date(state.since).toISOString()} (${state.reason}); ${
              current ? 'rebuilt, re-joining its group' : `rebuilding in ${seconds} s`
            }; ${restarts} restarts so far`,
          };
        }
        case 'failed':
          return { healthy: false, reason: `consumer stopped: ${state.reason}` };
        case 'stopped':
          return { healthy: false, reason: 'consumer stopped' };
      }
    },
  };
}
