import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type Log, type ManagedProcess, spawnManaged, waitFor } from './process.js';

/**
 * The broker version is pinned to the 3.9 line: kafkajs 2.2.4 speaks the older protocol
 * versions that Kafka 4.x removed (see docs/adr/0002-kafka-broker-for-development.md).
 * infra/kafka/pom.xml carries the same number.
 */
export const KAFKA_VERSION = '3.9.1';

export interface LocalKafka {
  brokers: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

function javaMajorVersion(): number | null {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr);
  if (!match) return null;
  return Number(match[1]) === 1 ? Number(match[2]) : Number(match[1]);
}

/** Resolves Apache Kafka's release jars from Maven Central into `cacheDir` once. */
export function ensureKafkaJars(opts: { repoRoot: string; cacheDir: string; log: Log }): string {
  const libs = join(opts.cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
  const stamp = join(libs, '.complete');
  if (existsSync(stamp)) return libs;
  const java = javaMajorVersion();
  if (java === null)
    throw new Error('Java was not found: install a Java 17+ JDK (Kafka runs on the JVM), or set KAFKA_BROKERS.');
  if (java < 17)
    throw new Error(
      `Kafka ${KAFKA_VERSION} needs Java 17+, found Java ${java}. Install a newer JDK or set KAFKA_BROKERS.`,
    );
  if (spawnSync('mvn', ['-v'], { encoding: 'utf8' }).status !== 0) {
    throw new Error('Maven (mvn) was not found: it resolves the Kafka jars. Install Maven 3.8+, or set KAFKA_BROKERS.');
  }
  opts.log(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central (first run only, ~30 s)`);
  mkdirSync(libs, { recursive: true });
  const r = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(opts.repoRoot, 'infra', 'kafka', 'pom.xml'),
      `-Dkafka.version=${KAFKA_VERSION}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    throw new Error(`mvn could not resolve the Kafka jars:\n${(r.stdout + r.stderr).slice(-2000)}`);
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return libs;
}

function kraftConfig(opts: { port: number; controllerPort: number; logDir: string }): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${opts.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${opts.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${opts.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${opts.logDir}`,
    'num.partitions=3',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Topics are created explicitly (by the services' ensureTopics or the Helm chart).
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  '',
].join('\n');

/**
 * Starts a single-node KRaft broker on loopback. `workDir` keeps its config, data and log;
 * the storage is formatted on first use.
 */
export async function startKafka(opts: {
  repoRoot: string;
  cacheDir: string;
  workDir: string;
  port: number;
  controllerPort: number;
  log: Log;
}): Promise<LocalKafka> {
  const libs = ensureKafkaJars(opts);
  const dataDir = join(opts.workDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(opts.workDir, 'server.properties');
  writeFileSync(configFile, kraftConfig({ port: opts.port, controllerPort: opts.controllerPort, logDir: dataDir }));
  const log4jFile = join(opts.workDir, 'log4j.properties');
  writeFileSync(log4jFile, LOG4J);
  const classpath = `${libs}/*`;
  const metaFile = join(dataDir, 'meta.properties');
  if (!existsSync(metaFile)) {
    // Kafka's own Uuid never starts with '-' (the storage tool would read it as an option).
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const r = spawnSync(
      'java',
      [
        `-Dlog4j.configuration=file:${log4jFile}`,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        configFile,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`formatting Kafka storage failed: ${r.stderr || r.stdout}`);
  } else if (!readFileSync(metaFile, 'utf8').includes('node.id=1')) {
    throw new Error(`${dataDir} holds another broker's data; delete it to start fresh`);
  }
  opts.log(`starting Apache Kafka ${KAFKA_VERSION} (KRaft, single node) on 127.0.0.1:${opts.port}`);
  const proc = spawnManaged(
    'kafka',
    'java',
    [
      '-Xms256m',
      '-Xmx768m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${log4jFile}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      configFile,
    ],
    { logFile: join(opts.workDir, 'kafka.log') },
  );
  const brokers = `127.0.0.1:${opts.port}`;
  const kafka = new Kafka({
    clientId: 'infra-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  await waitFor(
    `Kafka on ${brokers} (log: ${join(opts.workDir, 'kafka.log')})`,
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { timeoutMs: 90_000, intervalMs: 500, exited: proc.exited },
  ).catch(async (error: unknown) => {
    // A server that never became ready is not left running behind the error.
    await proc.stop();
    throw error;
  });
  return { brokers, port: opts.port, process: proc, stop: () => proc.stop(30_000) };
}
