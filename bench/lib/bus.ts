import type { createKafka } from '@micro-oncall/service-kit';
import type { BusMessage } from './payloads.js';

type Kafka = ReturnType<typeof createKafka>;

export interface BusResult {
  /** Messages per produce request. */
  batch: number;
  events: number;
  requests: number;
  seconds: number;
  eventsPerS: number;
}

/**
 * Raw kafkajs producer configured like service-kit's createProducer (idempotent, one request
 * in flight, acks = all, no compression, default partitioner) sending `batch` messages per
 * request back to back for `durationS` (or until `limit` messages): the bus ceiling.
 */
export async function produceFlat(opts: {
  kafka: Kafka;
  topic: string;
  messages: readonly BusMessage[];
  batch: number;
  durationS?: number;
  limit?: number;
  progress?: (line: string) => void;
  label?: string;
}): Promise<BusResult> {
  const producer = opts.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  await producer.connect();
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const deadline = opts.durationS === undefined ? Number.POSITIVE_INFINITY : performance.now() + opts.durationS * 1000;
  let events = 0;
  let requests = 0;
  let cursor = 0;
  const start = performance.now();
  let nextReport = start + 5000;
  try {
    while (events < limit && performance.now() < deadline) {
      const size = Math.min(opts.batch, limit - events);
      const messages: BusMessage[] = [];
      for (let i = 0; i < size; i += 1) {
        messages.push(opts.messages[cursor]!);
        cursor = (cursor + 1) % opts.messages.length;
      }
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: opts.topic, messages }] });
      events += size;
      requests += 1;
      const now = performance.now();
      if (now >= nextReport) {
        opts.progress?.(
          `${opts.label ?? 'produce'}: ${Math.round((now - start) / 1000)} s, ${events.toLocaleString('en-GB')} events acknowledged`,
        );
        nextReport += 5000;
      }
    }
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    batch: opts.batch,
    events,
    requests,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerS: Math.round(events / seconds),
  };
}
