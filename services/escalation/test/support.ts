import type { IncidentEvent, NormaliseResult } from '@micro-oncall/incident-model';
import { incidentEventEnvelope, topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  type DevUser,
  type LocalIssuer,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import { service as escalation } from '../src/service.js';

export const CATALOGUE = new URL('../config/services.example.yml', import.meta.url).pathname;

/** The one event a fixture normalises to (throws when it does not normalise). */
export function onlyEvent(result: NormaliseResult): IncidentEvent {
  if (result.outcome !== 'events') throw new Error(`fixture did not normalise: ${JSON.stringify(result)}`);
  return result.events[0]!;
}

/** Polls `fn` until it returns a value, for at most 20 s. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface TestEscalation {
  service: RunningService;
  issuer: LocalIssuer;
  kafka: ReturnType<typeof testKafka>;
  namespace: string;
  /** This escalation's own test database. */
  databaseUrl: string;
  eventsTopic: string;
  /** Publishes incident events as webhook-ingest would (envelope, key = incident id). */
  publish(events: IncidentEvent[]): Promise<void>;
  /** GET with a bearer token. */
  get(path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Waits until the incident is readable through the API. */
  applied(incidentId: string, token: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts escalation in-process against this run's PostgreSQL and Kafka, with its own database,
 * topic namespace and local OIDC issuer. `env` adds or overrides configuration.
 */
export async function startTestEscalation(
  name: string,
  env: (issuer: LocalIssuer) => Record<string, string> = () => ({}),
  /** `users`: the development issuer's people (change their roles, or remove one, while it runs). */
  opts: { users?: DevUser[] } = {},
): Promise<TestEscalation> {
  const stack = inject('stack');
  const { kafkaBrokers } = stack;
  const namespace = uniqueNamespace(name);
  const issuer = await startLocalIssuer(opts.users ? { users: opts.users } : {});
  const databaseUrl = await createTestDatabase(stack.databaseUrl, name.replaceAll('-', '_'));
  const service = await escalation.run(
    escalation.loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      KAFKA_CONSUMER_GROUP: `${namespace}-escalation`,
      SERVICE_CATALOGUE_FILE: CATALOGUE,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      ...env(issuer),
    }),
  );
  const kafka = testKafka(kafkaBrokers);
  const eventsTopic = topicName('incident-events', namespace);
  const get = async (path: string, token: string) => {
    const res = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    service,
    issuer,
    kafka,
    namespace,
    databaseUrl,
    eventsTopic,
    get,
    publish: (events) =>
      kafka.publish(
        eventsTopic,
        events.map((e) => ({
          key: e.incidentId,
          value: JSON.stringify(incidentEventEnvelope(e, { source: '/test' })),
        })),
      ),
    applied: async (incidentId, token) => {
      await until(`incident ${incidentId}`, async () =>
        (await get(`/v1/incidents/${incidentId}`, token)).status === 200 ? true : undefined,
      );
    },
    async stop() {
      await service.stop();
      await issuer.stop();
    },
  };
}
