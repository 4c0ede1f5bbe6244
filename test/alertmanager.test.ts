import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncidentEventEnvelope, incidentIdFor, topicName } from '@micro-oncall/incident-model';
import { createKafka, createLogger, type RunningService } from '@micro-oncall/service-kit';
import {
  ALERTMANAGER_VERSION,
  type AlertmanagerConfig,
  createTestDatabase,
  type LocalAlertmanager,
  startAlertmanager,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { service as webhookIngest } from '../services/webhook-ingest/src/index.js';

/**
 * The real path of an Alertmanager alert, with nothing faked: alerts posted to a real Prometheus
 * Alertmanager (built from source, see docs/adr/0003) are grouped and sent by its own webhook
 * receiver, with the credentials webhook-ingest expects read from secret files, to a running
 * webhook-ingest, which publishes incident events on Kafka. Also the parts of Alertmanager's API
 * v2 the simulator and the dashboard build on: listing alerts, and silences.
 */

type Envelope = ReturnType<typeof IncidentEventEnvelope.parse>;
type Kafka = ReturnType<typeof createKafka>;
type Consumer = ReturnType<Kafka['consumer']>;

interface ApiAlert {
  labels: Record<string, string>;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: 'unprocessed' | 'active' | 'suppressed'; silencedBy: string[] };
}

const RECEIVER = 'micro-oncall';
const credentials = {
  user: 'alertmanager',
  password: randomBytes(24).toString('hex'),
  token: randomBytes(24).toString('hex'),
};

let am: LocalAlertmanager;
let ingest: RunningService;
let collector: Consumer;
let secretDir: string;
let topic: string;
const published: Envelope[] = [];

function secretFile(name: string, content: string): string {
  const path = join(secretDir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** The receiver as an operator would write it: ingest's Alertmanager endpoint, a secret from a file. */
function receiverConfig(http: 'basic' | 'bearer' | 'wrong-bearer', extra: { max_alerts?: number } = {}) {
  const http_config =
    http === 'basic'
      ? { basic_auth: { username: credentials.user, password_file: join(secretDir, 'password') } }
      : {
          authorization: {
            credentials_file: join(secretDir, http === 'bearer' ? 'token' : 'wrong-token'),
          },
        };
  return {
    receivers: [
      {
        name: RECEIVER,
        webhook_configs: [
          { url: `${ingest.url}/v1/webhooks/alertmanager`, send_resolved: true, http_config, ...extra },
        ],
      },
    ],
  } satisfies AlertmanagerConfig;
}

async function amApi<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${am.url}/api/v2${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Alerts Alertmanager lists for `alertname` (active, silenced and inhibited ones; resolved ones are gone). */
async function listed(alertname: string): Promise<ApiAlert[]> {
  const res = await amApi<ApiAlert[]>('GET', `/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Posts alerts as a Prometheus server (or the simulator) does. */
async function postAlerts(alerts: object[]) {
  const res = await amApi('POST', '/alerts', alerts);
  expect(res.status).toBe(200);
}

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (Alertmanager log: ${am.logFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const eventFor = (fingerprint: string, kind: string) =>
  eventually(`a ${kind} event for alert ${fingerprint} on ${topic}`, () =>
    published.find((e) => e.data.providerId === fingerprint && e.data.kind === kind),
  );

/** Alertmanager's own count of failed webhook notifications (its /metrics). */
async function failedWebhookNotifications(): Promise<number> {
  const text = await (await fetch(`${am.url}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^alertmanager_notifications_failed_total\{([^}]*)\} (\S+)$/gm)) {
    if (match[1]!.includes('integration="webhook"')) total += Number(match[2]);
  }
  return total;
}

const unique = () => randomBytes(3).toString('hex');
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

beforeAll(async () => {
  const stack = inject('stack');
  const namespace = uniqueNamespace('am');
  topic = topicName('incident-events', namespace);
  secretDir = mkdtempSync(join(tmpdir(), 'alertmanager-secrets-'));
  secretFile('password', credentials.password);
  secretFile('token', `${credentials.token}\n`);
  secretFile('wrong-token', randomBytes(24).toString('hex'));
  ingest = await webhookIngest.run(
    webhookIngest.loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: await createTestDatabase(stack.databaseUrl, 'am'),
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE: secretFile('ingest-basic', `${credentials.user}:${credentials.password}`),
      ALERTMANAGER_WEBHOOK_TOKEN_FILE: secretFile('ingest-token', credentials.token),
      // The wrong-credential test makes Alertmanager retry every second from 127.0.0.1, which every
      // other notification of this file shares: its refusals must not use up that address's budget.
      WEBHOOK_AUTH_FAILURES_PER_MINUTE: '100000',
    }),
  );
  const kafka = createKafka({
    brokers: stack.kafkaBrokers.split(','),
    clientId: 'alertmanager-test',
    logger: createLogger({ service: 'alertmanager-test', level: 'silent' }),
  });
  collector = kafka.consumer({ groupId: `${namespace}-collector`, maxWaitTimeInMs: 100 });
  await collector.connect();
  await collector.subscribe({ topic, fromBeginning: true });
  await collector.run({
    eachMessage: async ({ message }) => {
      published.push(IncidentEventEnvelope.parse(JSON.parse(message.value?.toString() ?? 'null')));
    },
  });
  // A cold run builds Alertmanager first (about 2 minutes on 2 cores; cached afterwards).
  am = await startAlertmanager({ config: receiverConfig('basic') });
}, 600_000);

afterAll(async () => {
  await am?.stop();
  await collector?.disconnect();
  await ingest?.stop();
  if (secretDir) rmSync(secretDir, { recursive: true, force: true });
});

describe(`a real Alertmanager ${ALERTMANAGER_VERSION} → webhook-ingest → Kafka`, () => {
  it('delivers a firing alert as an incident event and its resolution as a resolved event (basic auth)', async () => {
    const alertname = `CheckoutLatencyHigh_${unique()}`;
    const labels = { alertname, service: 'checkout', severity: 'critical', instance: 'checkout-1' };
    const startsAt = iso(-60_000);
    const firing = { labels, annotations: { summary: 'Checkout p99 latency above 2 s' }, startsAt };
    await postAlerts([firing]);

    const [alert] = await listed(alertname);
    expect(alert).toMatchObject({ labels, status: { state: 'active' }, receivers: [{ name: RECEIVER }] });
    const fingerprint = alert!.fingerprint;

    const triggered = await eventFor(fingerprint, 'triggered');
    expect(triggered).toMatchObject({
      source: '/webhook-ingest/alertmanager',
      subject: incidentIdFor('alertmanager', fingerprint),
      data: {
        provider: 'alertmanager',
        providerId: fingerprint,
        providerEventType: 'firing',
        occurredAt: startsAt,
        snapshot: {
          title: 'Checkout p99 latency above 2 s',
          service: 'checkout',
          severity: 'critical',
          providerSeverity: 'critical',
          labels,
          // Links back to the Alertmanager that sent it (its --web.external-url).
          providerUrl: expect.stringContaining(am.url),
        },
      },
    });

    // Resolving, as a client does: the same alert with endsAt in the past.
    const endsAt = iso(-1_000);
    await postAlerts([{ ...firing, endsAt }]);
    const resolved = await eventFor(fingerprint, 'resolved');
    expect(resolved.data).toMatchObject({ providerEventType: 'resolved', occurredAt: endsAt });
    expect(resolved.data.incidentId).toBe(triggered.data.incidentId);
    expect(await listed(alertname)).toEqual([]);
  });

  it('authenticates with a bearer credential from a file after a reload; a wrong one publishes nothing', async () => {
    await am.reload(receiverConfig('wrong-bearer'));
    const refusedName = `RefusedCredential_${unique()}`;
    const failedBefore = await failedWebhookNotifications();
    await postAlerts([{ labels: { alertname: refusedName, service: 'ledger', severity: 'warning' } }]);
    const [refused] = await listed(refusedName);
    // Alertmanager reports the refused notification (webhook-ingest answers 401, which it does not retry)…
    await eventually('Alertmanager to count a failed webhook notification', async () =>
      (await failedWebhookNotifications()) > failedBefore ? true : undefined,
    );
    // …and nothing of the alert reached Kafka.
    expect(published.filter((e) => e.data.providerId === refused!.fingerprint)).toEqual([]);

    await am.reload(receiverConfig('bearer'));
    // Fixing the credential delivers what was refused: Alertmanager never recorded it as sent.
    const late = await eventFor(refused!.fingerprint, 'triggered');
    // Alertmanager's `warning` is our medium, its own word kept beside it (ADR 0008).
    expect(late.data.snapshot).toMatchObject({ service: 'ledger', severity: 'medium', providerSeverity: 'warning' });
    const alertname = `QueueBacklog_${unique()}`;
    await postAlerts([
      { labels: { alertname, service: 'refunds', severity: 'warning' }, annotations: { summary: 'Refund backlog' } },
    ]);
    const [alert] = await listed(alertname);
    const event = await eventFor(alert!.fingerprint, 'triggered');
    expect(event.data.snapshot).toMatchObject({ service: 'refunds', severity: 'medium', title: 'Refund backlog' });
  });

  it('keeps running on its previous configuration when a reload is refused', async () => {
    await expect(am.reload({ receivers: [{ name: RECEIVER }], route: { receiver: 'nobody' } })).rejects.toThrow(
      /refused the configuration.*undefined receiver "nobody"/s,
    );
    const status = await amApi<{ config: { original: string } }>('GET', '/status');
    // Still the bearer receiver of the test before (Alertmanager shows the URL itself as <secret>).
    expect(status.body.config.original).toContain(`credentials_file: ${join(secretDir, 'token')}\n`);
  });

  it('says why when Alertmanager refuses the configuration it is started with', async () => {
    const started = startAlertmanager({
      config: { receivers: [{ name: RECEIVER }], route: { receiver: 'nobody' } },
      log: () => undefined,
    });
    await expect(started).rejects.toThrow(
      /exited before it became ready[\s\S]*undefined receiver \\?"nobody\\?" used in route/,
    );
  });

  it('sends max_alerts alerts of a group and says how many it left out', async () => {
    await am.reload(receiverConfig('basic', { max_alerts: 1 }));
    const alertname = `PodCrashLooping_${unique()}`;
    await postAlerts(
      ['a', 'b', 'c'].map((pod) => ({
        labels: { alertname, service: 'search', severity: 'error', pod: `search-${pod}` },
      })),
    );
    const fingerprints = new Set((await listed(alertname)).map((a) => a.fingerprint));
    expect(fingerprints.size).toBe(3);
    const sent = await eventually('the truncated group on Kafka', () =>
      published.find((e) => fingerprints.has(e.data.providerId)),
    );
    expect(sent.data.change).toEqual({ truncatedAlerts: 2 });
    await am.reload(receiverConfig('basic'));
  });

  it('silences an alert and expires the silence through API v2', async () => {
    const alertname = `PaymentsErrors_${unique()}`;
    const labels = { alertname, service: 'payments', severity: 'critical' };
    await postAlerts([{ labels }]);
    await eventually('the alert to be listed', async () => ((await listed(alertname)).length === 1 ? true : undefined));

    const created = await amApi<{ silenceID: string }>('POST', '/silences', {
      matchers: Object.entries(labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true })),
      startsAt: iso(),
      endsAt: iso(60 * 60_000),
      createdBy: 'ada@example.com',
      comment: 'Acknowledged in micro-oncall',
    });
    expect(created.status).toBe(200);
    const id = created.body.silenceID;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const silence = await amApi<{ status: { state: string }; createdBy: string }>('GET', `/silence/${id}`);
    expect(silence.body).toMatchObject({ status: { state: 'active' }, createdBy: 'ada@example.com' });
    const suppressed = await eventually('the alert to be silenced', async () => {
      const [alert] = await listed(alertname);
      return alert?.status.state === 'suppressed' ? alert : undefined;
    });
    expect(suppressed.status.silencedBy).toEqual([id]);

    const expired = await amApi('DELETE', `/silence/${id}`);
    expect(expired.status).toBe(200);
    expect((await amApi<{ status: { state: string } }>('GET', `/silence/${id}`)).body.status.state).toBe('expired');
    const active = await eventually('the alert to be active again', async () => {
      const [alert] = await listed(alertname);
      return alert?.status.state === 'active' ? alert : undefined;
    });
    expect(active.status.silencedBy).toEqual([]);
    // Expiring again is harmless; an unknown silence is 404.
    expect((await amApi('DELETE', `/silence/${id}`)).status).toBe(200);
    expect((await amApi('GET', '/silence/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});
