import {
  consumeRawMessages,
  createDatabase,
  createKafka,
  createLogger,
  createMetricsRegistry,
  createProducer,
  type IncomingMessage,
  topicsFor,
} from '@micro-oncall/service-kit';
import { testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import * as schema from '../src/db/schema.js';
import type { CandidateView } from '../src/discovery/candidates.js';
import { createMatcher } from '../src/discovery/match.js';
import type { RunView } from '../src/discovery/run.js';
import { createStreamReader, streamCursorSource } from '../src/discovery/stream.js';
import type { AppView } from '../src/model.js';
import type { Registry } from '../src/store.js';
import { createFunction, DANA } from './discovery-support.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

/*
 * Discovery from the Kafka topic of raw log lines (DISCOVERY_STREAM_ENABLED): NGINX lines from a
 * gateway and a CloudTrail record arrive as messages; a registered app's traffic moves its last
 * activity, an unknown host and an unregistered Lambda become candidates with their evidence, bad
 * lines are counted in the day's stream report and the others applied, and the same offsets
 * delivered again (a consumer that reads the topic from its start) add nothing twice.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** NGINX `$time_local`, in UTC. */
function clf(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())} +0000`;
}

/** NGINX combined with `"$host"` appended. */
const nginxLine = (ip: string, at: Date, host: string) =>
  `${ip} - - [${clf(at)}] "GET /v1/items HTTP/1.1" 200 512 "-" "curl/8.5" "${host}"`;

describe('app-registry discovery from the Kafka topic of raw log lines', () => {
  let h: Harness;
  let topic: string;
  let ledger: AppView;
  /** Second precision: NGINX logs seconds. */
  let trafficAt: Date;

  const candidates = async () =>
    (await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates?state=open')).body.items;
  const byLabel = async (label: string) => (await candidates()).find((c) => c.label === label);
  const streamReport = async () =>
    (await h.json<{ items: RunView[] }>('/apps/v1/discovery/runs?limit=20')).body.items.find(
      (r) => r.requestedBy === streamCursorSource(topic),
    );

  beforeAll(async () => {
    h = await startHarness({ opa: 'none', env: { DISCOVERY_STREAM_ENABLED: 'true' } });
    topic = h.topic.replace(/\.app-registry\.v1$/, '.discovery-lines.v1');
    const registered = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('ledger', { endpoints: [{ host: 'ledger.apps.example.com' }] })),
      token: h.tokens.responder,
    });
    expect(registered.status).toBe(201);
    ledger = registered.body.app;
    // Two days after the registration (its last activity), traffic an hour ago.
    h.clock.advanceDays(2);
    trafficAt = new Date(Math.floor((h.clock.now().getTime() - 3_600_000) / 1000) * 1000);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('applies NGINX and CloudTrail lines as they arrive: last activity, candidates with evidence, bad lines counted', async () => {
    const gateway = { source: 'gateway-eu', format: 'nginx' };
    await testKafka(inject('stack').kafkaBrokers).publish(topic, [
      { key: 'gateway-eu', value: nginxLine('10.0.0.7', trafficAt, 'ledger.apps.example.com'), headers: gateway },
      { key: 'gateway-eu', value: nginxLine('10.0.0.7', trafficAt, 'shadow-api.example.com'), headers: gateway },
      { key: 'gateway-eu', value: 'this is not an access log line', headers: gateway },
      { key: 'gateway-eu', value: 'Dec  1 10:00:00 host sshd[1]: hello', headers: { ...gateway, format: 'syslog' } },
      { key: 'gateway-eu', value: nginxLine('10.0.0.9', trafficAt, 'shadow-api.example.com'), headers: gateway },
      {
        key: 'cloudtrail-eu',
        value: JSON.stringify(createFunction('thumbnailer', trafficAt, 'ev-1')),
        headers: { source: 'cloudtrail-eu', format: 'cloudtrail' },
      },
    ]);

    const report = await vi.waitFor(
      async () => {
        const r = await streamReport();
        expect(r?.totals.linesRead).toBe(6);
        return r!;
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(report).toMatchObject({
      trigger: 'stream',
      status: 'partial',
      totals: { linesRead: 6, sightings: 4, newCandidates: 2, errors: 2 },
    });
    const gatewayReport = report.sources.find((s) => s.source === 'gateway-eu')!;
    expect(gatewayReport).toMatchObject({ linesRead: 5, sightings: 3, newCandidates: 1, errors: 2, failed: null });
    const messages = gatewayReport.errorList.map((e) => e.message);
    expect(messages[0]).toMatch(/NGINX|nginx|access log/i);
    expect(messages[1]).toMatch(/unknown log format "syslog"/);
    for (const e of gatewayReport.errorList) {
      expect(e.file).toMatch(new RegExp(`^${topic.replaceAll('.', '\\.')}/\\d+$`));
      expect(e.line).toEqual(expect.any(Number));
    }
    expect(report.sources.find((s) => s.source === 'cloudtrail-eu')).toMatchObject({
      linesRead: 1,
      sightings: 1,
      newCandidates: 1,
      errors: 0,
    });

    // The registered app's traffic moves its last activity (which keeps it from idling).
    const app = await h.json<AppView>(`/apps/v1/apps/${ledger.id}`);
    expect(app.body.lifecycle.lastActivityAt).toBe(trafficAt.toISOString());

    const host = await byLabel('shadow-api.example.com');
    expect(host).toMatchObject({ kind: 'endpoint', key: 'host:shadow-api.example.com', sightings: 2 });
    expect(host!.sources).toEqual(['gateway-eu']);
    expect(host!.topCallers.map((c) => c.who).sort()).toEqual(['10.0.0.7', '10.0.0.9']);
    expect(host!.evidence).toHaveLength(2);
    expect(host!.evidence[0]).toMatchObject({ source: 'gateway-eu', format: 'nginx', action: 'traffic' });
    expect(host!.evidence[0]!.file).toMatch(new RegExp(`^${topic.replaceAll('.', '\\.')}/\\d+$`));
    expect(host!.evidence[0]!.text).toContain('shadow-api.example.com');

    const lambda = await byLabel('thumbnailer');
    expect(lambda).toMatchObject({
      kind: 'function',
      sightings: 1,
      sources: ['cloudtrail-eu'],
      creators: [{ who: DANA, count: 1, action: 'create' }],
    });
  });

  /** A second reader on the service's database, as another replica would have: it records activity it would apply. */
  const anotherReader = () => {
    const logger = createLogger({ service: 'discovery-stream-test', level: 'silent' });
    const database = createDatabase({
      url: h.databaseUrl,
      schema,
      max: 4,
      logger,
      applicationName: 'discovery-stream-test',
    });
    const activity: unknown[] = [];
    const reader = createStreamReader({
      db: database.db,
      registry: {
        recordActivities: async (...args: unknown[]) => {
          activity.push(args);
          return [];
        },
      } as unknown as Pick<Registry, 'recordActivities'>,
      clock: h.clock.now,
      logger,
      loadMatcher: async () => createMatcher([]),
    });
    return { reader, activity, logger, database };
  };

  it('the same offsets delivered again (a consumer reading the topic from its start) add nothing twice', async () => {
    const before = { host: await byLabel('shadow-api.example.com'), report: await streamReport() };
    const { reader, activity, logger, database } = anotherReader();
    const handled: IncomingMessage[] = [];
    const kafka = createKafka({ brokers: inject('stack').kafkaBrokers.split(','), clientId: 'stream-test', logger });
    const producer = createProducer(kafka, { logger });
    const namespace = topic.replace(/\.discovery-lines\.v1$/, '');
    // A new group starts at the earliest offset: every message of the topic comes again.
    const again = consumeRawMessages({
      kind: 'discovery-lines',
      groupId: `${namespace}-redelivery`,
      handler: async (messages) => {
        const result = await reader.handle(messages);
        handled.push(...messages);
        return result;
      },
      kafka,
      topics: topicsFor(namespace),
      producer,
      logger,
      registry: createMetricsRegistry('discovery-stream-test'),
    });
    try {
      await producer.start?.();
      await again.start();
      await vi.waitFor(() => expect(handled).toHaveLength(6), { timeout: 30_000, interval: 200 });
    } finally {
      await again.stop?.();
      await producer.stop?.();
      await database.stop?.();
    }
    expect(activity).toEqual([]);
    const host = await byLabel('shadow-api.example.com');
    expect(host!.sightings).toBe(before.host!.sightings);
    expect(host!.evidence).toEqual(before.host!.evidence);
    expect((await byLabel('thumbnailer'))!.sightings).toBe(1);
    expect((await streamReport())!.totals).toEqual(before.report!.totals);
    // The position of every partition is stored: 6 messages in all, on a fresh topic.
    const cursors = await h.sql<{ file: string; size: string }>(
      'select file, size from app_registry.discovery_cursors where source = $1',
      [streamCursorSource(topic)],
    );
    expect(cursors.reduce((n, c) => n + Number(c.size), 0)).toBe(6);
  });
  it('two consumers applying the same messages at once (a rebalance handing the partition over) apply them once', async () => {
    const { reader, activity, database } = anotherReader();
    // Messages of a partition nothing has read yet: the cursor source is per topic name.
    const raceTopic = `${topic}.race`;
    const messages: IncomingMessage[] = [0, 1, 2].map((n) => ({
      topic: raceTopic,
      partition: 0,
      offset: String(n),
      key: 'gateway-race',
      value: Buffer.from(nginxLine(`10.0.1.${n}`, trafficAt, 'race.example.com')),
      headers: { source: 'gateway-race', format: 'nginx' },
      timestamp: String(trafficAt.getTime()),
    }));
    try {
      const [a, b] = await Promise.allSettled([reader.handle(messages), reader.handle(messages)]);
      // Either the second waited for the first's position and found them applied (skipped), or it
      // lost the race on the position and its transaction was rolled back to be read again.
      for (const outcome of [a, b]) {
        if (outcome.status === 'rejected') {
          expect(String(outcome.reason)).toMatch(/applied up to offset 3 by another consumer meanwhile/);
          await expect(reader.handle(messages)).resolves.toEqual({ rejected: [] });
        }
      }
      expect(activity).toEqual([]);
      const race = await byLabel('race.example.com');
      expect(race).toMatchObject({ sightings: 3, sources: ['gateway-race'] });
      const [cursor] = await h.sql<{ size: string }>(
        'select size from app_registry.discovery_cursors where source = $1 and file = $2',
        [streamCursorSource(raceTopic), '0'],
      );
      expect(Number(cursor!.size)).toBe(3);
    } finally {
      await database.stop?.();
    }
  });
});
