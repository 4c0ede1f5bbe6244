import { request } from 'node:http';
import { topicName } from '@micro-oncall/incident-model';
import { createKafka, createLogger, type DevPlatform, ensureTopics } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  freePort,
  type LocalIssuer,
  type Stack,
  startLocalIssuer,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findService } from '../../scripts/lib/services.js';
import { CATALOGUE_FILE } from '../helpers.js';
import {
  type ChildService,
  type Db,
  type Delivery,
  deliverPagerDuty,
  eventIdOf,
  eventually,
  openDatabase,
  type PagerDutyWebhook,
  pagerDutyIncidentEvent,
  pagerDutySignature,
  redeliverUntilAccepted,
  type Secrets,
  sleep,
  spawnService,
  startFaultStack,
  writeSecrets,
} from './harness.js';

const WEBHOOKS = 200;
const HELD = 5;
const CONCURRENCY = 8;
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * A request the server has started on: headers sent with `Expect: 100-continue`, and the
 * server's `100 Continue` received, so the request is provably in flight there. `finish()`
 * sends the body; the promise says what came back (an answer, or the error that replaced it).
 */
async function holdRequest(baseUrl: string, payload: PagerDutyWebhook, secret: string) {
  const body = Buffer.from(JSON.stringify(payload));
  let finish!: () => void;
  let outcome!: Promise<{ status: number | null; error: string | null }>;
  await new Promise<void>((started, failed) => {
    outcome = new Promise((resolve) => {
      const req = request(new URL('/v1/webhooks/pagerduty', baseUrl), {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'x-pagerduty-signature': pagerDutySignature(body.toString('utf8'), secret),
          expect: '100-continue',
        },
      });
      req.on('continue', () => started());
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
        res.on('error', (error) => resolve({ status: null, error: error.message }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        failed(error);
        resolve({ status: null, error: error.code ?? error.message });
      });
      req.flushHeaders();
      finish = () => req.end(body);
    });
  });
  return { finish, outcome };
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startFaultStack('sigterm');
});
afterAll(async () => {
  await stack?.stop();
});

describe(ensureTopics.name, () => {
  it('lets services that start together create the same topics without failing start-up', async () => {
    const logger = createLogger({ service: 'fault-suite', level: 'silent' });
    const services = ['webhook-ingest', 'escalation', 'escalation-2'].map((clientId) =>
      createKafka({ brokers: [stack.kafkaBrokers], clientId, logger }),
    );
    for (let round = 0; round < 6; round += 1) {
      const topic = topicName('incident-events', uniqueNamespace('topics'));
      const wanted = [topic, `${topic}.dlq`, `${topic}.actions`];
      // webhook-ingest creates two of them, each escalation replica all three, all at once.
      const results = await Promise.allSettled(
        services.map((kafka, i) => ensureTopics(kafka, i === 0 ? wanted.slice(0, 2) : wanted)),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const admin = services[0]!.admin();
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: wanted });
      await admin.disconnect();
      expect(topics.map((t) => t.name).sort()).toEqual([...wanted].sort());
      for (const t of topics) expect(t.partitions.every((p) => p.leader >= 0)).toBe(true);
    }
  });
});

describe('webhook-ingest and escalation stopped with SIGTERM under load', () => {
  let issuer: LocalIssuer;
  let secrets: Secrets;
  let db: Db;
  let env: { ingest: Record<string, string>; escalation: Record<string, string> };
  let ports: { ingest: number; escalation: number };
  let namespace: string;
  const children: ChildService[] = [];

  // Both at once, as after a deployment; one that starts while the other fails is still stopped afterwards.
  const start = async () => {
    const [ingest, escalation] = await Promise.allSettled([
      spawnService('webhook-ingest', ports.ingest, env.ingest),
      spawnService('escalation', ports.escalation, env.escalation),
    ]);
    for (const r of [ingest, escalation]) if (r.status === 'fulfilled') children.push(r.value);
    if (ingest.status === 'rejected') throw ingest.reason;
    if (escalation.status === 'rejected') throw escalation.reason;
    return { ingest: ingest.value, escalation: escalation.value };
  };

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase(stack.databaseUrl, 'faults');
    namespace = uniqueNamespace('faults');
    issuer = await startLocalIssuer();
    secrets = writeSecrets();
    db = openDatabase(databaseUrl);
    ports = { ingest: await freePort(), escalation: await freePort() };
    const common = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    };
    // Each service's own environment comes from its descriptor, as on every local platform.
    const dev: DevPlatform = {
      nodeEnv: 'test',
      namespace,
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: secrets.files,
      urls: {},
      files: { 'service-catalogue': CATALOGUE_FILE },
    };
    env = {
      ingest: (await findService('webhook-ingest')).service.platformEnv(dev, common),
      escalation: (await findService('escalation')).service.platformEnv(dev, common),
    };
  });
  afterAll(async () => {
    for (const child of children) child.kill();
    await Promise.allSettled([db?.stop(), issuer?.stop()]);
    secrets?.remove();
  });

  it('finishes requests in flight, exits 0, and after a restart every accepted event is applied exactly once', {
    timeout: 240_000,
  }, async () => {
    const payloads = Array.from({ length: WEBHOOKS + HELD }, (_, i) =>
      pagerDutyIncidentEvent({ incidentId: `PDTERM${String(i).padStart(4, '0')}`, title: `SIGTERM ${i}` }),
    );
    const ids = payloads.map(eventIdOf);
    const heldPayloads = payloads.slice(WEBHOOKS);
    const first = await start();

    // Load: CONCURRENCY senders working through the webhooks until webhook-ingest is gone.
    const outcomes = new Map<number, Delivery>();
    let next = 0;
    // A sender stops at its first refused connection (a provider backs off and retries later).
    let refused = false;
    const load = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < WEBHOOKS && !refused) {
          const index = next++;
          const delivery = await deliverPagerDuty(first.ingest.url, payloads[index]!, secrets.pagerduty);
          outcomes.set(index, delivery);
          if (delivery.status === null) refused = true;
          await sleep(20);
        }
      }),
    );
    await eventually(
      'load under way in both services',
      async () =>
        [...outcomes.values()].filter((d) => d.status === 202).length >= 60 &&
        (await db.pool.query('select 1 from escalation.incident_events')).rowCount! >= 20
          ? true
          : undefined,
      60_000,
    );

    // Requests the server has started on when the signal arrives.
    const held = await Promise.all(
      heldPayloads.map((payload) => holdRequest(first.ingest.url, payload, secrets.pagerduty)),
    );
    process.kill(first.ingest.pid, 'SIGTERM');
    process.kill(first.escalation.pid, 'SIGTERM');
    for (const h of held) h.finish();

    const bound = (child: ChildService) =>
      Promise.race([
        child.exited,
        sleep(6 * SHUTDOWN_TIMEOUT_MS).then(() => ({ code: 'still running', signal: null })),
      ]);
    const [ingestExit, escalationExit] = await Promise.all([bound(first.ingest), bound(first.escalation)]);
    await load;
    const heldOutcomes = await Promise.all(held.map((h) => h.outcome));

    expect(ingestExit, first.ingest.output().slice(-4000)).toEqual({ code: 0, signal: null });
    expect(escalationExit, first.escalation.output().slice(-4000)).toEqual({ code: 0, signal: null });
    // Every request the server had started got its answer, and it was an acceptance.
    expect(heldOutcomes).toEqual(heldPayloads.map(() => ({ status: 202, error: null })));
    // Whatever the load got back was 202 or 503.
    const answered = [...outcomes.values()].filter((d) => d.status !== null);
    expect(answered.filter((d) => d.status !== 202 && d.status !== 503)).toEqual([]);
    // A request that lost its connection was never accepted by the server: had it been (its
    // event published and recorded), the sender would have lost the answer to a request in flight.
    const recorded = await db.pool.query<{ event_id: string }>('select event_id from ingest.received_events');
    const acceptedByServer = new Set(recorded.rows.map((r) => r.event_id));
    const cutOff = [...outcomes].filter(([, d]) => d.status === null).map(([index]) => ids[index]!);
    expect(cutOff.filter((id) => acceptedByServer.has(id))).toEqual([]);

    // What the consumer group had committed when escalation stopped.
    const kafka = createKafka({
      brokers: [stack.kafkaBrokers],
      clientId: 'fault-suite',
      logger: createLogger({ service: 'fault-suite', level: 'silent' }),
    });
    const admin = kafka.admin();
    await admin.connect();
    const topic = topicName('incident-events', namespace);
    const committedOffsets = async () => {
      const [offsets] = await admin.fetchOffsets({ groupId: `${namespace}-escalation`, topics: [topic] });
      return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    const committed = await committedOffsets();
    expect(committed).toBeGreaterThan(0);

    // Restarted, both continue: the provider re-sends what was not accepted, and what was never sent goes now.
    const second = await start();
    const accepted = new Set([...outcomes].filter(([, d]) => d.status === 202).map(([index]) => index));
    await redeliverUntilAccepted(
      second.ingest.url,
      payloads.slice(0, WEBHOOKS).filter((_, index) => !accepted.has(index)),
      secrets.pagerduty,
    );
    const history = await eventually(
      'every event applied',
      async () => {
        const { rows } = await db.pool.query<{ event_id: string }>('select event_id from escalation.incident_events');
        return rows.length >= ids.length ? rows.map((r) => r.event_id) : undefined;
      },
      120_000,
    );
    expect(history).toHaveLength(ids.length);
    expect(new Set(history)).toEqual(new Set(ids));

    // The restarted consumer read on from its committed offsets, not from the start of the topic.
    const topicEnd = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    await admin.disconnect();
    const applied = metric(
      await (await fetch(`${second.escalation.url}/metrics`)).text(),
      'incident_events_applied_total',
    );
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThanOrEqual(topicEnd - committed);

    process.kill(second.ingest.pid, 'SIGTERM');
    process.kill(second.escalation.pid, 'SIGTERM');
    expect(await second.ingest.exited).toEqual({ code: 0, signal: null });
    expect(await second.escalation.exited).toEqual({ code: 0, signal: null });
    const errors = [...outcomes.values()].filter((d) => d.status === null).map((d) => d.error);
    const resets = `${errors.length} (${[...new Set(errors)].join(', ')})`;
    console.log(
      `[faults/sigterm] ${accepted.size} accepted before the signal, ${resets} refused connections while stopping, ${HELD} in flight completed; committed ${committed}, re-read ${applied} of ${topicEnd}`,
    );
  });
});
