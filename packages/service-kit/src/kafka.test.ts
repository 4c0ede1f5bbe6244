import {
  type EachBatchPayload,
  type Kafka,
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  KafkaJSServerDoesNotSupportApiKey,
} from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError } from './errors.js';
import {
  classifyKafkaError,
  createProducer,
  type EventProducer,
  type IncomingMessage,
  restartDelay,
  runConsumer,
} from './kafka.js';
import { createLogger } from './logger.js';

/*
 * The producer's queue and the consumer runner's crash handling against a fake kafkajs, with
 * fake timers: what happens during a broker outage, deterministically. The same code against a
 * real broker is covered in test/kafka.test.ts and test/faults/kafka-outage.test.ts.
 */

const logger = createLogger({ service: 'kafka-unit-test', level: 'silent' });

// kafkajs's typings declare some error constructors without arguments; they take a message.
const GroupCoordinatorNotFound = KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error;
const SASLAuthenticationError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

/** A broker error response as kafkajs raises it (`type` is the Kafka error name). */
function protocolError(type: string, message = `broker said ${type}`): Error {
  return new KafkaJSProtocolError({ type, message, retriable: false } as unknown as Error);
}

/** How kafkajs's retrier hands on an error it may not retry: a non-retriable wrapper with the cause. */
const retrierWrapped = (cause: Error) =>
  new (KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error)(cause, { cause });

const connectionRefused = () =>
  new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: '127.0.0.1:9092' });

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Records how a promise settled, so that a test can tell "at once" from "after the timer". */
function outcome<T>(promise: Promise<T>) {
  const seen: { status: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { status: 'pending' };
  promise.then(
    () => Object.assign(seen, { status: 'resolved' }),
    (error: unknown) => Object.assign(seen, { status: 'rejected', error }),
  );
  return seen;
}

/** Runs pending promise callbacks without moving the fake clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

// ---------------------------------------------------------------------------------------------
// A fake kafkajs producer: every sendBatch waits until the test answers it.

interface SentRequest {
  topics: Record<string, string[]>;
  answer: ReturnType<typeof deferred<void>>;
}

function fakeProducerKafka() {
  const requests: SentRequest[] = [];
  const listeners = new Map<string, (() => void)[]>();
  const producer = {
    events: { CONNECT: 'producer.connect', DISCONNECT: 'producer.disconnect' },
    on(event: string, listener: () => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    async connect() {
      for (const l of listeners.get('producer.connect') ?? []) l();
    },
    async disconnect() {
      for (const l of listeners.get('producer.disconnect') ?? []) l();
    },
    sendBatch(args: { topicMessages: { topic: string; messages: { value: string }[] }[] }) {
      const answer = deferred<void>();
      requests.push({
        topics: Object.fromEntries(args.topicMessages.map((t) => [t.topic, t.messages.map((m) => m.value)])),
        answer,
      });
      return answer.promise;
    },
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, requests };
}

const msg = (value: string) => [{ key: 'k', value }];

describe(createProducer.name, () => {
  let fake: ReturnType<typeof fakeProducerKafka>;
  let producer: EventProducer;

  beforeEach(async () => {
    vi.useFakeTimers();
    fake = fakeProducerKafka();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const start = async (opts: Parameters<typeof createProducer>[1]) => {
    producer = createProducer(fake.kafka, opts);
    await producer.start?.();
  };

  it('never sends a message whose caller already got "not acknowledged in time"', async () => {
    await start({ logger, sendTimeoutMs: 1000 });
    const first = outcome(producer.send('t', msg('first')));
    await settle();
    expect(fake.requests).toHaveLength(1);
    // Queued behind the request in flight, which the broker does not answer.
    const second = outcome(producer.send('t', msg('second')));

    await vi.advanceTimersByTimeAsync(1001);
    expect(first.error).toBeInstanceOf(DependencyUnavailableError);
    expect(second.error).toBeInstanceOf(DependencyUnavailableError);
    expect((second.error as Error).message).toMatch(/not sent/);

    // The broker answers the first request late: the second caller was told 503, so its
    // message must not go out now.
    fake.requests[0]!.answer.resolve();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.requests.map((r) => r.topics)).toEqual([{ t: ['first'] }]);
  });

  it('with lingerMs, sends the sends of a few milliseconds in one request, and a full batch at once', async () => {
    await start({ logger, sendTimeoutMs: 10_000, lingerMs: 5, maxBatch: 4 });
    const first = outcome(producer.send('t', msg('a')));
    await vi.advanceTimersByTimeAsync(2);
    const second = outcome(producer.send('u', msg('b')));
    await vi.advanceTimersByTimeAsync(2);
    expect(fake.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    // 5 ms after the first send: one request for both.
    expect(fake.requests.map((r) => r.topics)).toEqual([{ t: ['a'], u: ['b'] }]);
    fake.requests[0]!.answer.resolve();
    await settle();
    expect(first).toMatchObject({ status: 'resolved' });
    expect(second).toMatchObject({ status: 'resolved' });

    // A batch that is already full does not wait.
    const full = outcome(producer.send('t', [...msg('c'), ...msg('d'), ...msg('e'), ...msg('f')]));
    await settle();
    expect(fake.requests.map((r) => r.topics)).toEqual([{ t: ['a'], u: ['b'] }, { t: ['c', 'd', 'e', 'f'] }]);
    fake.requests[1]!.answer.resolve();
    await settle();
    expect(full).toMatchObject({ status: 'resolved' });

    // stop() sends what is lingering rather than dropping or delaying it.
    const last = outcome(producer.send('t', msg('g')));
    const stopped = producer.stop?.();
    await settle();
    expect(fake.requests.map((r) => r.topics).at(-1)).toEqual({ t: ['g'] });
    fake.requests[2]!.answer.resolve();
    await stopped;
    expect(last).toMatchObject({ status: 'resolved' });
  });

  it('refuses a send at once when the queue already holds maxQueuedMessages', async () => {
    await start({ logger, sendTimeoutMs: 10_000, maxQueuedMessages: 3 });
    const inFlight = outcome(producer.send('t', msg('in flight')));
    await settle();
    const queued = outcome(producer.send('t', [...msg('q1'), ...msg('q2')]));
    const refused = outcome(producer.send('t', [...msg('r1'), ...msg('r2')]));
    await settle();

    expect(refused.error).toBeInstanceOf(DependencyUnavailableError);
    expect((refused.error as Error).message).toMatch(/queue is full \(2 messages waiting, at most 3\)/);
    expect(queued.status).toBe('pending');

    // Once the broker answers, the queued send goes out and resolves; the refused one never does.
    fake.requests[0]!.answer.resolve();
    await settle();
    fake.requests[1]!.answer.resolve();
    await settle();
    expect(inFlight).toMatchObject({ status: 'resolved' });
    expect(queued).toMatchObject({ status: 'resolved' });
    expect(fake.requests.map((r) => r.topics)).toEqual([{ t: ['in flight'] }, { t: ['q1', 'q2'] }]);
  });

  it('fails fast after a failed request, and tries the broker again after failFastMs', async () => {
    await start({ logger, sendTimeoutMs: 4000, failFastMs: 1000 });
    const first = outcome(producer.send('t', msg('one')));
    await settle();
    fake.requests[0]!.answer.reject(connectionRefused());
    await settle();
    expect(first.error).toBeInstanceOf(DependencyUnavailableError);

    // Known down: refused without waiting and without a request.
    const meanwhile = outcome(producer.send('t', msg('two')));
    await settle();
    expect(meanwhile.error).toBeInstanceOf(DependencyUnavailableError);
    expect((meanwhile.error as Error).message).toMatch(/Kafka is unavailable \(Connection error/);
    expect(fake.requests).toHaveLength(1);

    // After failFastMs, the next send is a real attempt; when it succeeds, sending is back to normal.
    await vi.advanceTimersByTimeAsync(1000);
    const probe = outcome(producer.send('t', msg('three')));
    await settle();
    expect(fake.requests).toHaveLength(2);
    fake.requests[1]!.answer.resolve();
    await settle();
    expect(probe).toMatchObject({ status: 'resolved' });
    const after = outcome(producer.send('t', msg('four')));
    await settle();
    fake.requests[2]!.answer.resolve();
    await settle();
    expect(after).toMatchObject({ status: 'resolved' });
  });

  it('fails fast while the request in flight has taken longer than the send timeout, and says so in its health', async () => {
    await start({ logger, sendTimeoutMs: 1000 });
    producer.send('t', msg('stuck')).catch(() => undefined);
    await settle();
    await expect(producer.healthcheck()).resolves.toEqual({ healthy: true });

    await vi.advanceTimersByTimeAsync(1500);
    const refused = outcome(producer.send('t', msg('later')));
    await settle();
    expect(refused.error).toBeInstanceOf(DependencyUnavailableError);
    expect((refused.error as Error).message).toMatch(/has not answered the request in flight for 1\.5 s/);
    await expect(producer.healthcheck()).resolves.toMatchObject({ healthy: false, reason: /has not answered/ });

    fake.requests[0]!.answer.resolve();
    await settle();
    await expect(producer.healthcheck()).resolves.toEqual({ healthy: true });
    expect(fake.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// A fake kafkajs consumer: the test decides when it joins its group and when it crashes.

type Listener = (event: { payload: Record<string, unknown> }) => void;

class FakeConsumer {
  readonly events = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' };
  readonly listeners = new Map<string, Listener[]>();
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  disconnected = false;
  constructor(
    readonly config: Record<string, unknown>,
    private readonly behaviour: {
      connect?: () => Promise<void>;
      joinOnRun: boolean;
      assignment: Record<string, number[]>;
    },
  ) {}
  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }
  emit(event: string, payload: Record<string, unknown>) {
    for (const l of this.listeners.get(event) ?? []) l({ payload });
  }
  async connect() {
    await this.behaviour.connect?.();
  }
  async subscribe() {}
  async run(opts: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) {
    this.eachBatch = opts.eachBatch;
    if (this.behaviour.joinOnRun) this.join();
  }
  async disconnect() {
    this.disconnected = true;
  }
  join() {
    this.emit('consumer.group_join', { groupId: 'g', memberAssignment: this.behaviour.assignment });
  }
  /** As kafkajs reports giving up: already disconnected, and not restarting by itself. */
  crash(error: Error) {
    this.disconnected = true;
    this.emit('consumer.crash', { error, groupId: 'g', restart: false });
  }
}

/** Partition offsets as the cluster reports them: the group's committed offset and the log end. */
interface FakeOffsets {
  committed: Record<number, string>;
  high: Record<number, string>;
}

function fakeConsumerKafka(
  opts: { topics?: string[]; joinOnRun?: (index: number) => boolean; offsets?: FakeOffsets } = {},
) {
  const consumers: FakeConsumer[] = [];
  // By default every member gets both partitions, and both are caught up.
  const offsets = opts.offsets ?? { committed: { 0: '4', 1: '2' }, high: { 0: '4', 1: '2' } };
  const partitions = Object.keys(offsets.high).map(Number);
  let connect: ((index: number) => Promise<void>) | undefined;
  const kafka = {
    consumer(config: Record<string, unknown>) {
      const index = consumers.length;
      const consumer = new FakeConsumer(config, {
        connect: () => connect?.(index) ?? Promise.resolve(),
        joinOnRun: opts.joinOnRun?.(index) ?? true,
        assignment: { 'incidents.v1': partitions },
      });
      consumers.push(consumer);
      return consumer;
    },
    admin() {
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        listTopics: async () => opts.topics ?? ['incidents.v1'],
        fetchOffsets: async () => [
          {
            topic: 'incidents.v1',
            partitions: partitions.map((partition) => ({ partition, offset: offsets.committed[partition] ?? '-1' })),
          },
        ],
        fetchTopicOffsets: async () =>
          partitions.map((partition) => ({ partition, high: offsets.high[partition], low: '0' })),
      };
    },
  } as unknown as Kafka;
  return {
    kafka,
    consumers,
    failConnect(f: (index: number) => Promise<void>) {
      connect = f;
    },
  };
}

const noProducer: EventProducer = {
  id: 'producer',
  send: async () => undefined,
  stop: async () => undefined,
  healthcheck: async () => ({ healthy: true }),
};

function consumerUnderTest(kafka: Kafka, overrides: Partial<Parameters<typeof runConsumer>[1]> = {}) {
  const crashes: Error[] = [];
  let restarts = 0;
  const handled: IncomingMessage[][] = [];
  const consumer = runConsumer(kafka, {
    id: 'incident-events-consumer',
    groupId: 'g',
    topics: ['incidents.v1'],
    deadLetter: (t) => `${t}.dlq`,
    producer: noProducer,
    logger,
    restartBackoff: { initialMs: 1000, maxMs: 8000 },
    onCrash: (error) => crashes.push(error),
    metrics: {
      applied: () => undefined,
      deadLettered: () => undefined,
      restarted: () => {
        restarts += 1;
      },
    },
    handler: async (messages) => {
      handled.push(messages);
      return { rejected: [] };
    },
    ...overrides,
  });
  return { consumer, crashes, handled, restarts: () => restarts };
}

describe(runConsumer.name, () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter: backoff exactly initialMs · 2ⁿ
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('rebuilds a consumer that kafkajs gave up on after a broker restart, unready until it re-joined', async () => {
    const fake = fakeConsumerKafka();
    const { consumer, crashes, restarts } = consumerUnderTest(fake.kafka);
    await consumer.start();
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });
    expect(fake.consumers[0]!.config).toMatchObject({ rebalanceTimeout: 30_000, sessionTimeout: 10_000 });

    // What kafkajs does when a restarted broker is slow to load its groups: a non-retriable
    // crash, `restart: false`.
    fake.consumers[0]!.crash(new GroupCoordinatorNotFound('Failed to find group coordinator'));
    await settle();
    expect(crashes).toEqual([]);
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/consumer down since .*Failed to find group coordinator.*rebuilding in 1 s/),
    });

    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.consumers).toHaveLength(2);
    expect(restarts()).toBe(1);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });

    await consumer.stop();
    expect(fake.consumers[1]!.disconnected).toBe(true);
  });

  it('keeps rebuilding with a doubling, capped wait while the broker stays down, and recovers', async () => {
    const fake = fakeConsumerKafka();
    const { consumer, crashes, restarts } = consumerUnderTest(fake.kafka);
    await consumer.start();
    // Every rebuild fails to connect until the fifth.
    fake.failConnect(async (index) => {
      if (index < 5) throw new KafkaJSNumberOfRetriesExceeded(connectionRefused(), { retryCount: 5, retryTime: 2000 });
    });
    fake.consumers[0]!.crash(
      new KafkaJSNumberOfRetriesExceeded(connectionRefused(), { retryCount: 5, retryTime: 2000 }),
    );
    await settle();

    const builtAt: number[] = [];
    const start = Date.now();
    for (let built = fake.consumers.length; built < 6; built = fake.consumers.length) {
      await vi.advanceTimersByTimeAsync(100);
      if (fake.consumers.length > built) builtAt.push(Date.now() - start);
    }
    // 1 s, 2 s, 4 s, 8 s, then 8 s again (the cap) between attempts.
    expect(builtAt).toEqual([1000, 3000, 7000, 15_000, 23_000]);
    expect(restarts()).toBe(5);
    expect(crashes).toEqual([]);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });
    await consumer.stop();
  });

  it('stops for good on an authorisation error and tells the service', async () => {
    const fake = fakeConsumerKafka();
    const { consumer, crashes } = consumerUnderTest(fake.kafka);
    await consumer.start();
    fake.consumers[0]!.crash(protocolError('GROUP_AUTHORIZATION_FAILED', 'Not authorized to access group'));
    await settle();

    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.message).toMatch(/not authorised by the Kafka brokers \(GROUP_AUTHORIZATION_FAILED\)/);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.consumers).toHaveLength(1);
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/^consumer stopped: not authorised/),
    });
  });

  it('stops for good on an unknown topic only when the cluster confirms the topic is missing', async () => {
    const listed = fakeConsumerKafka({ topics: ['incidents.v1'] });
    const transient = consumerUnderTest(listed.kafka);
    await transient.consumer.start();
    listed.consumers[0]!.crash(protocolError('UNKNOWN_TOPIC_OR_PARTITION'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transient.crashes).toEqual([]);
    expect(listed.consumers).toHaveLength(2);
    await transient.consumer.stop();

    const deleted = fakeConsumerKafka({ topics: ['something-else'] });
    const fatal = consumerUnderTest(deleted.kafka);
    await fatal.consumer.start();
    deleted.consumers[0]!.crash(protocolError('UNKNOWN_TOPIC_OR_PARTITION'));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fatal.crashes.map((e) => e.message)).toEqual([
      expect.stringMatching(/topic incidents\.v1 does not exist and topic auto-creation is off/),
    ]);
    expect(deleted.consumers).toHaveLength(1);
  });

  it('start() waits through a transient crash while joining, and rejects on a configuration error', async () => {
    const flaky = fakeConsumerKafka({ joinOnRun: (index) => index > 0 });
    const { consumer } = consumerUnderTest(flaky.kafka);
    const started = outcome(consumer.start());
    await settle();
    flaky.consumers[0]!.crash(protocolError('COORDINATOR_LOAD_IN_PROGRESS'));
    await settle();
    expect(started.status).toBe('pending');
    await vi.advanceTimersByTimeAsync(1000);
    expect(started).toMatchObject({ status: 'resolved' });
    await consumer.stop();

    const refused = fakeConsumerKafka({ joinOnRun: () => false });
    const second = consumerUnderTest(refused.kafka);
    const failed = outcome(second.consumer.start());
    await settle();
    refused.consumers[0]!.crash(new SASLAuthenticationError('SASL PLAIN authentication failed'));
    await settle();
    expect((failed.error as Error).message).toMatch(/authentication with the Kafka brokers failed/);
    expect(second.crashes).toEqual([]); // start() rejecting is the signal; onCrash is for later.
  });

  it('rebuilds a consumer that neither joins nor crashes within joinTimeoutMs', async () => {
    const fake = fakeConsumerKafka({ joinOnRun: (index) => index !== 1 });
    const { consumer, crashes, restarts } = consumerUnderTest(fake.kafka, { joinTimeoutMs: 60_000 });
    await consumer.start();
    fake.consumers[0]!.crash(new GroupCoordinatorNotFound('Failed to find group coordinator'));
    await vi.advanceTimersByTimeAsync(1000);
    // The rebuilt consumer hangs while joining: kafkajs reports nothing.
    expect(fake.consumers).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(59_000);
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/rebuilt, re-joining its group/),
    });

    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.consumers[1]!.disconnected).toBe(true);
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/did not join its consumer group within 60 s/),
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(fake.consumers).toHaveLength(3);
    expect(restarts()).toBe(2);
    expect(crashes).toEqual([]);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });
    await consumer.stop();
  });

  it('rebuilds a joined consumer that makes no progress while messages wait in its partitions', async () => {
    // Partition 1 has 3 messages after the committed offset, and nothing is fetched.
    const fake = fakeConsumerKafka({ offsets: { committed: { 0: '4', 1: '2' }, high: { 0: '4', 1: '5' } } });
    const { consumer, crashes, restarts } = consumerUnderTest(fake.kafka, { stallTimeoutMs: 60_000 });
    await consumer.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(fake.consumers[0]!.disconnected).toBe(false);

    // Checked every 15 s: at 60 s it is taken for stuck.
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.consumers[0]!.disconnected).toBe(true);
    await expect(consumer.healthcheck()).resolves.toMatchObject({
      healthy: false,
      reason: expect.stringMatching(/made no progress for \d+ s with 3 messages waiting/),
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.consumers).toHaveLength(2);
    expect(restarts()).toBe(1);
    expect(crashes).toEqual([]);
    await consumer.stop();
  });

  it('fetches with the fetch settings, and by default answers as soon as anything is waiting', async () => {
    const tuned = fakeConsumerKafka();
    const { consumer } = consumerUnderTest(tuned.kafka, { fetch: { minBytes: 65_536, maxWaitMs: 20 } });
    await consumer.start();
    expect(tuned.consumers[0]!.config).toMatchObject({ minBytes: 65_536, maxWaitTimeInMs: 20 });
    await consumer.stop();

    const plain = fakeConsumerKafka();
    const defaults = consumerUnderTest(plain.kafka).consumer;
    await defaults.start();
    expect(plain.consumers[0]!.config).toMatchObject({ minBytes: 1, maxWaitTimeInMs: 100 });
    await defaults.stop();
  });

  it('leaves a caught-up consumer alone however long it idles', async () => {
    const fake = fakeConsumerKafka();
    const { consumer, restarts } = consumerUnderTest(fake.kafka, { stallTimeoutMs: 60_000 });
    await consumer.start();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fake.consumers).toHaveLength(1);
    expect(restarts()).toBe(0);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });
    await consumer.stop();
  });

  it('takes a batch retrying through a database outage for progress, not for a stuck consumer', async () => {
    const fake = fakeConsumerKafka({ offsets: { committed: { 0: '0' }, high: { 0: '1' } } });
    const { consumer } = consumerUnderTest(fake.kafka, {
      stallTimeoutMs: 60_000,
      handler: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    });
    await consumer.start();
    const batch = fake.consumers[0]!.eachBatch!({
      batch: {
        topic: 'incidents.v1',
        partition: 0,
        highWatermark: '1',
        messages: [{ offset: '0', key: null, value: Buffer.from('e'), headers: {}, timestamp: '0' }],
        lastOffset: () => '0',
      },
      resolveOffset: () => undefined,
      heartbeat: async () => undefined,
      commitOffsetsIfNecessary: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(fake.consumers).toHaveLength(1);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: true });
    await consumer.stop();
    await vi.advanceTimersByTimeAsync(5000);
    await expect(batch).resolves.toBeUndefined();
  });

  it('does not rebuild after stop()', async () => {
    const fake = fakeConsumerKafka();
    const { consumer } = consumerUnderTest(fake.kafka);
    await consumer.start();
    fake.consumers[0]!.crash(new GroupCoordinatorNotFound('Failed to find group coordinator'));
    await settle();
    await consumer.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.consumers).toHaveLength(1);
    await expect(consumer.healthcheck()).resolves.toEqual({ healthy: false, reason: 'consumer stopped' });
  });

  describe('a batch during a broker outage', () => {
    const message = (offset: number) => ({
      offset: String(offset),
      key: Buffer.from('inc'),
      value: Buffer.from(`event ${offset}`),
      headers: {},
      timestamp: '0',
      attributes: 0,
      size: 0,
    });

    async function batchRun(payload: Partial<EachBatchPayload>) {
      const fake = fakeConsumerKafka();
      const subject = consumerUnderTest(fake.kafka, { chunkSize: 1 });
      await subject.consumer.start();
      const resolved: string[] = [];
      const messages = [message(0), message(1)];
      const run = fake.consumers[0]!.eachBatch!({
        batch: {
          topic: 'incidents.v1',
          partition: 0,
          highWatermark: '2',
          messages,
          lastOffset: () => '1',
        },
        resolveOffset: (offset: string) => resolved.push(offset),
        heartbeat: async () => undefined,
        commitOffsetsIfNecessary: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
        ...payload,
      } as unknown as EachBatchPayload);
      return { run, resolved, handled: subject.handled };
    }

    it('ends the batch quietly when the heartbeat cannot reach the broker, keeping what was applied', async () => {
      const { run, resolved, handled } = await batchRun({
        heartbeat: async () => {
          throw connectionRefused();
        },
      });
      await expect(run).resolves.toBeUndefined();
      expect(resolved).toEqual(['0']);
      expect(handled.map((chunk) => chunk.map((m) => m.offset))).toEqual([['0']]);
    });

    it('ends the batch quietly when committing finds no group coordinator', async () => {
      const { run, resolved } = await batchRun({
        commitOffsetsIfNecessary: async () => {
          throw retrierWrapped(new GroupCoordinatorNotFound('Failed to find group coordinator'));
        },
      });
      await expect(run).resolves.toBeUndefined();
      expect(resolved).toEqual(['0']);
    });

    it('passes a rebalance on to kafkajs, which re-joins the group', async () => {
      const rebalance = protocolError('REBALANCE_IN_PROGRESS');
      const { run } = await batchRun({
        heartbeat: async () => {
          throw rebalance;
        },
      });
      await expect(run).rejects.toBe(rebalance);
    });
  });
});

describe(classifyKafkaError.name, () => {
  it.each([
    ['no group coordinator after a broker restart', new GroupCoordinatorNotFound('Failed to find group coordinator')],
    [
      'retries exhausted while the broker is down',
      new KafkaJSNumberOfRetriesExceeded(connectionRefused(), { retryCount: 5, retryTime: 2000 }),
    ],
    ['a non-retriable wrapper around a refused connection', retrierWrapped(connectionRefused())],
    ['a coordinator still loading', protocolError('COORDINATOR_LOAD_IN_PROGRESS')],
    ['a rebalance', protocolError('REBALANCE_IN_PROGRESS')],
    ['an unsupported protocol version (rolling upgrade)', protocolError('UNSUPPORTED_VERSION')],
    ['anything unrecognised', new Error('socket hang up')],
  ])('treats %s as transient', (_, error) => {
    expect(classifyKafkaError(error).kind).toBe('transient');
  });

  it.each([
    [
      'SASL authentication refused',
      new SASLAuthenticationError('SASL SCRAM-SHA-512 authentication failed'),
      /authentication/,
    ],
    ['a SASL mechanism the broker does not offer', protocolError('UNSUPPORTED_SASL_MECHANISM'), /authentication/],
    ['no ACL for the topic', protocolError('TOPIC_AUTHORIZATION_FAILED'), /not authorised/],
    ['no ACL for the group', protocolError('GROUP_AUTHORIZATION_FAILED'), /not authorised/],
    [
      'an authorisation error wrapped by the retrier',
      retrierWrapped(protocolError('CLUSTER_AUTHORIZATION_FAILED')),
      /not authorised/,
    ],
    [
      'a session timeout outside the broker limits',
      protocolError('INVALID_SESSION_TIMEOUT'),
      /refused the configuration/,
    ],
    ['another assignor in the same group', protocolError('INCONSISTENT_GROUP_PROTOCOL'), /refused the configuration/],
    [
      'a broker too old for the client',
      new KafkaJSServerDoesNotSupportApiKey('The Kafka server does not support the requested API version'),
      /too old/,
    ],
  ])('treats %s as a configuration error', (_, error, reason) => {
    const verdict = classifyKafkaError(error);
    expect(verdict.kind).toBe('configuration');
    expect(verdict.reason).toMatch(reason);
  });

  it('asks for confirmation of an unknown topic, also when it is wrapped', () => {
    expect(classifyKafkaError(protocolError('UNKNOWN_TOPIC_OR_PARTITION')).kind).toBe('unknown-topic');
    expect(
      classifyKafkaError(
        new KafkaJSNumberOfRetriesExceeded(protocolError('UNKNOWN_TOPIC_OR_PARTITION'), {
          retryCount: 5,
          retryTime: 2000,
        }),
      ).kind,
    ).toBe('unknown-topic');
  });
});

describe(restartDelay.name, () => {
  it('doubles from initialMs up to maxMs, with ±20 % jitter', () => {
    const backoff = { initialMs: 500, maxMs: 15_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => restartDelay(n, backoff, () => 0.5))).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000,
    ]);
    expect(restartDelay(1, backoff, () => 0)).toBe(400);
    expect(restartDelay(6, backoff, () => 1)).toBe(18_000);
  });
});
