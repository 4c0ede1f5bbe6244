import { topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import { createTestDatabase, uniqueNamespace } from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import {
  type ConfigFiles,
  configFiles,
  type ProviderStatusEvent,
  providerStatusEvents,
  type StatusMapperClient,
  startTestUsers,
  statusMapperClient,
  type TestUsers,
} from '../../../test/lib/status-mapper.js';
import { service } from '../src/service.js';

// The rest of what these tests use, from the repository's one library for driving status-mapper in tests.
export { type StatusMapperClient, type StatusSource, statuspageSources } from '../../../test/lib/status-mapper.js';

export interface TestStatusMapper extends StatusMapperClient, TestUsers {
  /** Every replica, started at once; the client's requests go to the first. */
  replicas: RunningService[];
  /** The same requests to another replica. */
  on(replica: RunningService): StatusMapperClient;
  /** The replicas' own database (read it with test-kit's `sqlAs`). */
  databaseUrl: string;
  namespace: string;
  /** The `provider-status` topic of this namespace. */
  topic: string;
  files: ConfigFiles;
  /** The mapping file the replicas read (rewrite it to test a reload); null without one. */
  mappingFile: string | null;
  /** Every `provider-status` event so far: waits for `count`, then a little longer to prove there is no more. */
  events(count: number): Promise<ProviderStatusEvent[]>;
  stop(): Promise<void>;
}

/**
 * Starts status-mapper in this process against this run's PostgreSQL and Kafka, with its own
 * database, topic namespace and local OIDC issuer (a viewer's and a responder's tokens), reading
 * `sources` (the text of sources.yml, or written beside the files it names) and `mapping`.
 * `env` adds or overrides configuration; `replicas` starts several replicas of one deployment at
 * once (one database, one namespace), each with its own additions.
 */
export async function startTestStatusMapper(
  name: string,
  opts: {
    sources: string | ((files: ConfigFiles) => string);
    mapping?: string;
    env?: Record<string, string>;
    replicas?: Record<string, string>[];
  },
): Promise<TestStatusMapper> {
  const { databaseUrl, kafkaBrokers } = inject('stack');
  const database = opts.env?.DATABASE_URL ?? (await createTestDatabase(databaseUrl, name.replaceAll('-', '_')));
  const users = await startTestUsers();
  const files = configFiles(name);
  const namespace = uniqueNamespace(name);
  const mappingFile = opts.mapping === undefined ? null : files.write('mapping.yml', opts.mapping);
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database,
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_TOPIC_NAMESPACE: namespace,
    OIDC_ISSUER: users.issuer.issuer,
    OIDC_AUDIENCE: users.issuer.audience,
    STATUS_SOURCES_FILE: files.write(
      'sources.yml',
      typeof opts.sources === 'string' ? opts.sources : opts.sources(files),
    ),
    ...(mappingFile ? { STATUS_MAPPING_FILE: mappingFile } : {}),
    ...opts.env,
  };
  const started = await Promise.allSettled(
    (opts.replicas ?? [{}]).map((extra) =>
      service.run(service.loadConfig({ ...env, ...extra }), {
        onFatal: (error) => console.error(`status-mapper stopped: ${error.message}`),
      }),
    ),
  );
  const replicas = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async () => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await users.issuer.stop();
    files.remove();
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const on = (replica: RunningService) => statusMapperClient(replica.url, users);
  const topic = topicName('provider-status', namespace);
  return {
    ...users,
    ...on(replicas[0]!),
    replicas,
    on,
    databaseUrl: env.DATABASE_URL,
    namespace,
    topic,
    files,
    mappingFile,
    events: (count) => providerStatusEvents(topic, count),
    stop,
  };
}
