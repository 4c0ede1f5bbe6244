import {
  dlqTopicName,
  type EventData,
  type EventEnvelope,
  type EventKind,
  envelopeFor,
  type RawTopicKind,
  TOPIC_CONTRACTS,
  topicName,
} from '@micro-oncall/incident-model';
import { context, type Link, SpanKind, trace } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import type { Component } from './component.js';
import {
  type BatchHandler,
  type EventProducer,
  type FetchSettings,
  type IncomingMessage,
  type OutgoingMessage,
  type Rejected,
  runConsumer,
} from './kafka.js';
import type { Logger } from './logger.js';
import type { Registry } from './metrics.js';
import { Counter, Gauge } from './metrics.js';
import { contextFromTraceparent, currentTraceparent, tracer } from './tracing.js';

/*
 * Typed events: every service publishes and consumes through the topic contracts of
 * incident-model. Producing builds and validates the CloudEvents envelope and carries the
 * current trace context both in the envelope (`traceparent` extension) and as a Kafka header;
 * consuming decodes, validates, isolates bad values (dead-letter topic, shared counter) and
 * restores the producer's trace context around the handler.
 */

export interface PublishOptions {
  /** Required for kinds whose payload does not carry the flag itself (actions inherit their incident's). */
  drill?: boolean;
  /** Defaults to the contract's subject (incident id, app id, component id). */
  key?: string;
  /** CloudEvents `source`; defaults to `/<service>`. */
  source?: string;
  /**
   * Skip the envelope validation because the payload was just validated by its own schema
   * (webhook-ingest's normalisers validate every event they emit). Types still hold.
   */
  prevalidated?: boolean;
}

export interface Topics {
  /** `<namespace>.<kind>.v1`, for event topics and raw topics alike. */
  name(kind: EventKind | RawTopicKind): string;
}

export function topicsFor(namespace: string): Topics {
  return { name: (kind) => topicName(kind, namespace) };
}

export interface EventMessages {
  /** The Kafka message for one event on `kind`'s topic: envelope built and validated, trace context attached. */
  message<K extends EventKind>(
    kind: K,
    data: EventData<K>,
    opts?: PublishOptions,
  ): { topic: string; message: OutgoingMessage };
}

export function createEventMessages(opts: { service: string; topics: Topics }): EventMessages {
  return {
    message(kind, data, publish = {}) {
      const traceparent = currentTraceparent();
      const envelope = envelopeFor(kind, data, {
        source: publish.source ?? `/${opts.service}`,
        ...(publish.drill === undefined ? {} : { drill: publish.drill }),
        ...(traceparent ? { traceparent } : {}),
      });
      if (!publish.prevalidated) {
        const checked = TOPIC_CONTRACTS[kind].envelope.safeParse(envelope);
        if (!checked.success) {
          const issues = checked.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
          // A programming error: the event would be refused by every consumer.
          throw new Error(`refusing to publish an invalid ${kind} event: ${issues.join('; ')}`);
        }
      }
      return {
        topic: opts.topics.name(kind),
        message: {
          key: publish.key ?? envelope.subject,
          value: JSON.stringify(envelope),
          headers: {
            'content-type': 'application/cloudevents+json',
            ...(traceparent ? { traceparent } : {}),
          },
        },
      };
    },
  };
}

/** Publishes straight to Kafka and resolves once the broker acknowledged (acks = all). */
export interface DirectPublisher {
  publishNow<K extends EventKind>(kind: K, events: EventData<K>[], opts?: PublishOptions): Promise<void>;
}

export function createDirectPublisher(messages: EventMessages, producer: EventProducer): DirectPublisher {
  return {
    async publishNow(kind, events, opts) {
      if (events.length === 0) return;
      const built = events.map((data) => messages.message(kind, data, opts));
      await producer.send(
        built[0]!.topic,
        built.map((b) => b.message),
      );
    },
  };
}

/** One decoded, validated message handed to a typed handler. */
export interface TypedMessage<K extends EventKind> {
  message: IncomingMessage;
  envelope: EventEnvelope<K>;
  data: EventData<K>;
}

/**
 * Applies a chunk of valid events in partition order. Returns the ones it could never apply
 * (e.g. a value the database refuses) for the dead-letter topic; throwing means "retry".
 */
export type TypedHandler<K extends EventKind> = (events: TypedMessage<K>[]) => Promise<{ rejected: Rejected[] }>;

/** The metrics every consumer shares, created once per service registry. */
export interface ConsumerMetrics {
  applied: Counter<'topic'>;
  deadLettered: Counter<'topic'>;
  invalid: Counter<'topic'>;
  lag: Gauge<'topic' | 'partition'>;
  restarts: Counter<'group'>;
}

const consumerMetricsByRegistry = new WeakMap<Registry, ConsumerMetrics>();

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  let metrics = consumerMetricsByRegistry.get(registry);
  if (!metrics) {
    metrics = {
      applied: new Counter({
        name: 'events_applied_total',
        help: 'Consumed events applied (or skipped as already applied), by topic',
        labelNames: ['topic'] as const,
        registers: [registry],
      }),
      deadLettered: new Counter({
        name: 'events_dead_lettered_total',
        help: 'Consumed events sent to the dead-letter topic, by topic',
        labelNames: ['topic'] as const,
        registers: [registry],
      }),
      invalid: new Counter({
        name: 'events_invalid_total',
        help: 'Consumed messages that failed to decode or validate against the topic contract',
        labelNames: ['topic'] as const,
        registers: [registry],
      }),
      lag: new Gauge({
        name: 'kafka_consumer_lag',
        help: 'Messages behind the high watermark after the last batch',
        labelNames: ['topic', 'partition'] as const,
        registers: [registry],
        // Over worker processes (workers.ts): one owns a partition, another may still hold a
        // value from before a rebalance; the larger is the one to act on.
        aggregator: 'max',
      }),
      restarts: new Counter({
        name: 'kafka_consumer_restarts_total',
        help: 'Crashed consumers rebuilt (broker restarts, coordinator lost), by consumer group',
        labelNames: ['group'] as const,
        registers: [registry],
      }),
    };
    consumerMetricsByRegistry.set(registry, metrics);
  }
  return metrics;
}

export function decodeEvent<K extends EventKind>(
  kind: K,
  message: IncomingMessage,
): { envelope: EventEnvelope<K> } | { reason: string } {
  if (!message.value) return { reason: 'empty message value' };
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch {
    return { reason: 'value is not JSON' };
  }
  const parsed = TOPIC_CONTRACTS[kind].envelope.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    // `incident-events` → "not a valid incident event": the reason dead-letter readers know.
    const what = kind.replace(/s$/, '').replaceAll('-', ' ');
    return { reason: `not a valid ${what}: ${issues.join('; ')}` };
  }
  return { envelope: parsed.data as EventEnvelope<K> };
}

/**
 * Wraps a typed handler into the runner's batch handler: messages that do not decode or
 * validate are rejected (dead-lettered with the reason, counted once per topic), and the
 * handler runs in a consumer span whose parent is the first message's producer context, linked
 * to every other message's, so a trace continues across Kafka.
 */
export function typedBatchHandler<K extends EventKind>(
  kind: K,
  handler: TypedHandler<K>,
  metrics?: ConsumerMetrics,
): BatchHandler {
  return async (messages) => {
    const rejected: Rejected[] = [];
    const valid: TypedMessage<K>[] = [];
    for (const message of messages) {
      const result = decodeEvent(kind, message);
      if ('reason' in result) {
        rejected.push({ message, reason: result.reason });
        metrics?.invalid.inc({ topic: message.topic });
      } else {
        valid.push({ message, envelope: result.envelope, data: result.envelope.data as EventData<K> });
      }
    }
    if (valid.length === 0) return { rejected };
    const traceparents = valid.map((v) => v.envelope.traceparent ?? v.message.headers.traceparent);
    const result = await inConsumerSpan(valid[0]!.message.topic, traceparents, () => handler(valid));
    return { rejected: [...rejected, ...result.rejected] };
  };
}

/**
 * Runs a chunk's handler in a consumer span whose parent is the first message's producer context
 * (`traceparent`), linked to every other message's, so a trace continues across Kafka.
 */
async function inConsumerSpan<R>(
  topic: string,
  traceparents: (string | undefined)[],
  handle: () => Promise<R>,
): Promise<R> {
  const parent = contextFromTraceparent(traceparents[0]);
  const links: Link[] = traceparents.slice(1).flatMap((tp) => {
    const span = tp ? trace.getSpanContext(contextFromTraceparent(tp)) : undefined;
    return span ? [{ context: span }] : [];
  });
  const span = tracer().startSpan(
    `${topic} process`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: { 'messaging.system': 'kafka', 'messaging.batch.message_count': traceparents.length },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), handle);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: 2 });
    throw error;
  } finally {
    span.end();
  }
}

export interface ConsumeOptions<K extends EventKind> {
  kind: K;
  groupId: string;
  handler: TypedHandler<K>;
  kafka: Kafka;
  topics: Topics;
  producer: EventProducer;
  logger: Logger;
  registry: Registry;
  chunkSize?: number;
  fetch?: FetchSettings;
  onCrash?: (error: Error) => void;
}

/** A consumer group on `kind`'s topic with the shared decoding, dead-lettering and metrics. */
export function consumeEvents<K extends EventKind>(opts: ConsumeOptions<K>): Component & { start(): Promise<void> } {
  const metrics = consumerMetrics(opts.registry);
  // The per-kind counters keep the names dashboards already use (`incident_events_applied_total`).
  const prefix = opts.kind.replaceAll('-', '_');
  const applied = new Counter({
    name: `${prefix}_applied_total`,
    help: `${opts.kind} events applied (or skipped as already applied)`,
    registers: [opts.registry],
  });
  const deadLettered = new Counter({
    name: `${prefix}_dead_lettered_total`,
    help: `${opts.kind} messages sent to the dead-letter topic`,
    registers: [opts.registry],
  });
  return runGroup(opts, {
    id: `${opts.kind}-consumer`,
    topic: opts.topics.name(opts.kind),
    handler: typedBatchHandler(opts.kind, opts.handler, metrics),
    applied: (n) => applied.inc(n),
    deadLettered: (n) => deadLettered.inc(n),
  });
}

/**
 * One chunk of raw messages (in partition order, all of one partition), each with its topic,
 * partition, offset, key, headers and value bytes untouched. Resolve once their effect is
 * committed: the offsets are then committed, and a redelivery (a rebalance, a restart before the
 * commit) brings them again, so a handler that must not apply a message twice stores its own
 * position with its effect. Messages it can never apply may be returned for the dead-letter
 * topic; throwing means "retry the chunk".
 */
export type RawHandler = (messages: IncomingMessage[]) => Promise<{ rejected: Rejected[] }>;

export interface ConsumeRawOptions extends Omit<ConsumeOptions<never>, 'kind' | 'handler'> {
  kind: RawTopicKind;
  handler: RawHandler;
}

/**
 * A consumer group on a topic of raw messages (log lines other systems write, not event
 * envelopes): no decoding, the same runner (eachBatch, offsets after the effect, dead letters,
 * rebuilds), a consumer span per chunk (from a `traceparent` header when there is one) and the
 * shared metrics, labelled with the topic.
 */
export function consumeRawMessages(opts: ConsumeRawOptions): Component & { start(): Promise<void> } {
  const topic = opts.topics.name(opts.kind);
  return runGroup(opts, {
    id: `${opts.kind}-consumer`,
    topic,
    handler: (messages) =>
      inConsumerSpan(
        topic,
        messages.map((m) => m.headers.traceparent),
        () => opts.handler(messages),
      ),
  });
}

/** The runner with the shared metrics (by topic) and the kit's dead-letter topics. */
function runGroup(
  opts: Omit<ConsumeOptions<never>, 'kind' | 'handler'>,
  group: {
    id: string;
    topic: string;
    handler: BatchHandler;
    applied?: (n: number) => void;
    deadLettered?: (n: number) => void;
  },
): Component & { start(): Promise<void> } {
  const metrics = consumerMetrics(opts.registry);
  const { topic } = group;
  // Exported from the start (0), so that an alert on its increase has a series to look at.
  metrics.restarts.inc({ group: opts.groupId }, 0);
  return runConsumer(opts.kafka, {
    id: group.id,
    groupId: opts.groupId,
    topics: [topic],
    handler: group.handler,
    deadLetter: dlqTopicName,
    producer: opts.producer,
    logger: opts.logger,
    ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.onCrash ? { onCrash: opts.onCrash } : {}),
    metrics: {
      applied: (n) => {
        group.applied?.(n);
        metrics.applied.inc({ topic }, n);
      },
      deadLettered: (n) => {
        group.deadLettered?.(n);
        metrics.deadLettered.inc({ topic }, n);
      },
      lag: (t, partition, value) => metrics.lag.set({ topic: t, partition: String(partition) }, value),
      restarted: () => metrics.restarts.inc({ group: opts.groupId }),
    },
  });
}
