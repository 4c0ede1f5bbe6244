/**
 * What the Kafka client comparison measured (bench/scenarios/kafka-clients.ts): the shape the
 * run's report (report.ts) carries and kafka-clients-report.ts renders. Types only, so that
 * neither of those two files needs the other's.
 */
import type { ClientRunResult, KafkaClientName, ProduceMode } from './kafka-client-run.js';
import type { Cores } from './stats.js';

export interface KafkaClientsResults {
  versions: Partial<Record<KafkaClientName, string>>;
  plan: {
    rounds: number;
    order: KafkaClientName[];
    produced: Record<ProduceMode, number>;
    consumed: number;
    inFlight: number;
    batch: number;
    partitions: number;
  };
  /** Of the message keys, how many @platformatic/kafka's default partitioner puts elsewhere than kafkajs's. */
  defaultPartitionerMismatch: { keys: number; differ: number };
  /**
   * Every run in the order it ran, with the cores of the machine during it and the messages each
   * of its topics holds afterwards (the produce modes are checked to hold exactly what was sent).
   */
  runs: (ClientRunResult & { round: number; cores: Cores; landed: Record<string, number> })[];
}
