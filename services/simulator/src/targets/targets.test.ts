import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  drillRunIdOf,
  type IncidentEvent,
  normaliseAlertmanager,
  normalisePagerDuty,
} from '@micro-oncall/incident-model';
import { verifyPagerDutySignature } from '@micro-oncall/incident-model/signatures';
import { createLogger } from '@micro-oncall/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { alertContent } from '../model.js';
import { createAlertmanagerTarget } from './alertmanager.js';
import { createIngestTarget } from './ingest.js';
import type { DrillAlert } from './types.js';

const logger = createLogger({ service: 'simulator-test', level: 'silent' });
const RUN_ID = '0f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f';

function anAlert(severity: DrillAlert['severity'] = 'high'): DrillAlert {
  const content = alertContent(
    { id: RUN_ID, environment: 'staging', scenarioId: 'checkout-drill' },
    {
      name: 'CheckoutErrors',
      summary: 'Checkout errors above 5%',
      service: 'checkout',
      labels: { region: 'eu-west-1' },
    },
    severity,
    'https://runbooks.example.com/checkout',
  );
  return {
    runId: RUN_ID,
    key: 'checkout-errors',
    dedupKey: `drill:${RUN_ID}:checkout-errors`,
    ...content,
    severity,
    service: 'checkout',
    startsAt: '2026-12-01T10:00:00.000Z',
  };
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  body: unknown;
}

/** A loopback receiver that records each request and answers `status`. */
async function receiver(status = 202): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      received.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status < 300 ? '{"status":"accepted"}' : '"bad alert"');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

const eventsOf = (result: ReturnType<typeof normalisePagerDuty>): IncidentEvent[] => {
  if (result.outcome !== 'events') throw new Error(`not normalised: ${JSON.stringify(result)}`);
  return result.events;
};

describe('ingest target, PagerDuty format', () => {
  it('signs each webhook as PagerDuty does and webhook-ingest reads the run id, severity and drill from it', async () => {
    const rx = await receiver();
    servers.push(rx.server);
    const secret = randomBytes(24).toString('hex');
    const target = createIngestTarget({
      url: rx.url,
      format: 'pagerduty',
      secret,
      timeoutMs: 2000,
      retries: 0,
      logger,
    });
    await target.fire(anAlert('high'));
    await target.fire(anAlert('critical'), anAlert('high'));
    await target.resolve(anAlert('critical'));

    expect(rx.received.map((r) => r.path)).toEqual(Array(3).fill('/v1/webhooks/pagerduty'));
    for (const r of rx.received) {
      expect(verifyPagerDutySignature(r.raw, r.headers['x-pagerduty-signature'] as string, [secret])).toBe(true);
    }
    const events = rx.received.flatMap((r) =>
      eventsOf(normalisePagerDuty(r.body, { receivedAt: new Date().toISOString() })),
    );
    expect(events.map((e) => [e.kind, e.snapshot?.severity])).toEqual([
      ['triggered', 'high'],
      ['priority_changed', 'critical'],
      ['resolved', 'critical'],
    ]);
    expect(new Set(events.map((e) => e.incidentId)).size).toBe(1);
    for (const e of events) {
      expect(e.drill).toBe(true);
      expect(drillRunIdOf(e.dedupKey)).toBe(RUN_ID);
      expect(e.snapshot?.service).toBe('checkout');
    }
  });

  it('sends the same event id when a delivery is repeated (webhook-ingest drops the replay)', async () => {
    const rx = await receiver();
    servers.push(rx.server);
    const target = createIngestTarget({
      url: rx.url,
      format: 'pagerduty',
      secret: randomBytes(24).toString('hex'),
      timeoutMs: 2000,
      retries: 0,
      logger,
    });
    await target.fire(anAlert());
    await target.fire(anAlert());
    const ids = rx.received.map((r) => (r.body as { event: { id: string } }).event.id);
    expect(ids[0]).toBe(ids[1]);
  });
});

describe('ingest target, Alertmanager format', () => {
  it('sends the webhook receiver payload with the receiver credential; the run id is a label', async () => {
    const rx = await receiver();
    servers.push(rx.server);
    const basicAuth = `alertmanager:${randomBytes(12).toString('hex')}`;
    const target = createIngestTarget({
      url: rx.url,
      format: 'alertmanager',
      basicAuth,
      timeoutMs: 2000,
      retries: 0,
      logger,
    });
    await target.fire(anAlert('high'));
    await target.fire(anAlert('critical'), anAlert('high'));
    await target.resolve(anAlert('critical'));

    expect(
      rx.received.every((r) => r.headers.authorization === `Basic ${Buffer.from(basicAuth).toString('base64')}`),
    ).toBe(true);
    const events = rx.received.flatMap((r) =>
      eventsOf(normaliseAlertmanager(r.body, { receivedAt: new Date().toISOString() })),
    );
    // A new severity is a new label set, so a new alert; the old one resolves (as Alertmanager does).
    expect(events.map((e) => [e.kind, e.snapshot?.severity])).toEqual([
      ['triggered', 'high'],
      ['resolved', 'high'],
      ['triggered', 'critical'],
      ['resolved', 'critical'],
    ]);
    for (const e of events) {
      expect(e.drill).toBe(true);
      expect(e.snapshot?.labels).toMatchObject({
        drill_run_id: RUN_ID,
        drill_scenario: 'checkout-drill',
        environment: 'staging',
      });
      expect(e.snapshot?.title).toBe('[DRILL] Checkout errors above 5%');
    }
  });
});

describe('Alertmanager target: what it posts to API v2 (the real Alertmanager: test/alertmanager.test.ts)', () => {
  it('posts firing alerts with endsAt four resend intervals ahead, and resolves with endsAt now', async () => {
    const amToken = randomBytes(16).toString('hex');
    const rx = await receiver(200);
    servers.push(rx.server);
    const target = createAlertmanagerTarget({
      url: rx.url,
      resendSeconds: 30,
      timeoutMs: 2000,
      retries: 0,
      logger,
      bearerToken: amToken,
    });
    const before = Date.now();
    await target.fire(anAlert());
    await target.refresh!([anAlert()]);
    await target.resolve(anAlert());
    expect(rx.received.map((r) => r.path)).toEqual(Array(3).fill('/api/v2/alerts'));
    expect(rx.received[0]?.headers.authorization).toBe(`Bearer ${amToken}`);
    type Posted = {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
    }[];
    const [fired, refreshed, resolved] = rx.received.map((r) => r.body as Posted);
    expect(fired).toHaveLength(1);
    expect(fired![0]!.labels).toMatchObject({ alertname: 'CheckoutErrors', severity: 'high', drill_run_id: RUN_ID });
    expect(fired![0]!.annotations.summary).toBe('[DRILL] Checkout errors above 5%');
    expect(Date.parse(fired![0]!.endsAt) - before).toBeGreaterThanOrEqual(120_000 - 1000);
    expect(Date.parse(refreshed![0]!.endsAt)).toBeGreaterThanOrEqual(Date.parse(fired![0]!.endsAt));
    expect(Date.parse(resolved![0]!.endsAt)).toBeLessThanOrEqual(Date.now());
    expect(resolved![0]!.startsAt).toBe('2026-12-01T10:00:00.000Z');
  });

  it('ends the old label set in the same request when the severity changes', async () => {
    const rx = await receiver(200);
    servers.push(rx.server);
    const target = createAlertmanagerTarget({ url: rx.url, resendSeconds: 30, timeoutMs: 2000, retries: 0, logger });
    await target.fire(anAlert('critical'), anAlert('high'));
    const posted = rx.received[0]!.body as { labels: Record<string, string>; endsAt: string }[];
    expect(posted.map((a) => a.labels.severity)).toEqual(['high', 'critical']);
    expect(Date.parse(posted[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(posted[1]!.endsAt)).toBeGreaterThan(Date.now());
  });

  it("reports Alertmanager's 400 (a bad alert) without retrying it", async () => {
    const rx = await receiver(400);
    servers.push(rx.server);
    const target = createAlertmanagerTarget({ url: rx.url, resendSeconds: 30, timeoutMs: 2000, retries: 3, logger });
    await expect(target.fire(anAlert())).rejects.toThrow('Alertmanager answered 400: bad alert');
    expect(rx.received).toHaveLength(1);
  });
});
