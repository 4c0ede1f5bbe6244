import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface RawMessage {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  partition: number;
  offset: string;
}

/**
 * Direct access to topics for tests: publish raw messages (to exercise consumers with any
 * bytes, poison included) and read what services published.
 */
export function testKafka(brokers: string) {
  const kafka = new Kafka({ clientId: 'test-kit', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  return {
    async publish(topic: string, messages: { key: string | null; value: string; headers?: Record<string, string> }[]) {
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        await producer.send({ topic, acks: -1, messages });
      } finally {
        await producer.disconnect();
      }
    },
    /**
     * Reads a topic from the beginning until `count` messages arrived or `timeoutMs` passed,
     * and returns what it saw (so "nothing was published" is checked with count: Infinity).
     */
    async read(topic: string, opts: { count: number; timeoutMs: number }): Promise<RawMessage[]> {
      const consumer = kafka.consumer({
        groupId: `test-reader-${randomBytes(4).toString('hex')}`,
        maxWaitTimeInMs: 100,
      });
      const seen: RawMessage[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.timeoutMs);
          void consumer.run({
            eachMessage: async ({ partition, message }) => {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(message.headers ?? {}))
                if (v !== undefined) headers[k] = v.toString();
              seen.push({
                key: message.key?.toString() ?? null,
                value: message.value?.toString() ?? null,
                headers,
                partition,
                offset: message.offset,
              });
              if (seen.length >= opts.count) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return seen;
    },
  };
}
