import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertmanagerFingerprint } from '@micro-oncall/incident-model';
import { ConflictError, createLogger, DependencyUnavailableError, type ServiceError } from '@micro-oncall/service-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AlertmanagerAuth,
  createAlertmanagerActions,
  MAX_SILENCE_MINUTES,
  silenceComment,
  silenceMatchers,
} from './alertmanager.js';
import type { ActionContext } from './types.js';

const logger = createLogger({ service: 'alertmanager-test', level: 'silent' });
const NOW = new Date('2026-12-01T10:00:00.000Z');
const labels = { alertname: 'CheckoutLatencyHigh', service: 'checkout', severity: 'critical', pod: 'checkout-1' };
const incident = {
  id: 'inc_alertmanager_1',
  providerId: alertmanagerFingerprint(labels),
  title: 'Checkout p99 latency',
  labels,
};
const ctx: ActionContext = {
  actor: { subject: 'user-1', email: 'ada@example.com', name: 'Ada Lovelace' },
  requestId: 'req-1',
};

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** A stand-in for Alertmanager's API v2 that records what it was sent (the real one: test/alertmanager-actions.test.ts). */
let server: Server;
let url: string;
let seen: Seen[];
let silences: Map<string, string>;
/** What the stand-in answers to GET /api/v2/alerts and GET /api/v2/status. */
let alerts: unknown;
let status: unknown;

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : null;
}

beforeEach(async () => {
  seen = [];
  silences = new Map();
  alerts = [];
  status = { uptime: '2026-12-01T09:00:00.000Z' };
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
    const id = /^\/api\/v2\/silence\/([^/]+)$/.exec(req.url!)?.[1];
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET' && req.url!.startsWith('/api/v2/alerts?')) {
      res.end(JSON.stringify(alerts));
    } else if (req.method === 'GET' && req.url === '/api/v2/status') {
      res.end(JSON.stringify(status));
    } else if (req.method === 'POST' && req.url === '/api/v2/silences') {
      const silenceID = `0000000${silences.size}-aaaa-bbbb-cccc-dddddddddddd`;
      silences.set(silenceID, 'active');
      res.end(JSON.stringify({ silenceID }));
    } else if (id && silences.has(id)) {
      if (req.method === 'DELETE') silences.set(id, 'expired');
      res.end(req.method === 'GET' ? JSON.stringify({ id, status: { state: silences.get(id) } }) : '');
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify(`silence ${id} not found`));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function actions(opts: { auth?: AlertmanagerAuth; minutes?: number; ours?: string[]; baseUrl?: string } = {}) {
  return createAlertmanagerActions({
    baseUrl: opts.baseUrl ?? url,
    auth: opts.auth ?? null,
    ...(opts.minutes !== undefined ? { silenceMinutes: opts.minutes } : {}),
    silencesOf: async () => opts.ours ?? [...silences.keys()],
    logger,
    now: () => NOW,
    http: { retries: 1, backoff: { initialMs: 1, maxMs: 1 } },
  });
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the action to fail');
}

describe(silenceMatchers.name, () => {
  it('matches every label of the alert exactly, sorted by name', () => {
    expect(silenceMatchers(labels)).toEqual([
      { name: 'alertname', value: 'CheckoutLatencyHigh', isRegex: false, isEqual: true },
      { name: 'pod', value: 'checkout-1', isRegex: false, isEqual: true },
      { name: 'service', value: 'checkout', isRegex: false, isEqual: true },
      { name: 'severity', value: 'critical', isRegex: false, isEqual: true },
    ]);
  });

  it('leaves out empty labels (absent in Alertmanager) and refuses an alert with nothing to match', () => {
    expect(silenceMatchers({ alertname: 'X', instance: '' })).toEqual([
      { name: 'alertname', value: 'X', isRegex: false, isEqual: true },
    ]);
    expect(() => silenceMatchers({ instance: '' })).toThrow(ConflictError);
  });
});

describe('Alertmanager acknowledge', () => {
  it('creates a silence of the alert for the configured time, by and for the signed-in responder', async () => {
    const outcome = await actions({ minutes: 30 }).perform(incident, { action: 'acknowledge' }, ctx);

    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/api/v2/silences',
        authorization: undefined,
        body: {
          matchers: silenceMatchers(labels),
          startsAt: '2026-12-01T10:00:00.000Z',
          endsAt: '2026-12-01T10:30:00.000Z',
          createdBy: 'ada@example.com',
          comment: `Acknowledged in micro-oncall by Ada Lovelace, incident ${incident.id}`,
        },
      },
    ]);
    const silenceId = [...silences.keys()][0]!;
    expect(outcome).toEqual({
      detail: `Alertmanager silenced alert ${incident.providerId} until 2026-12-01T10:30:00.000Z (silence ${silenceId})`,
      providerRequestId: silenceId,
      providerStatus: 200,
    });
  });

  it("takes the responder's note as the comment, caps the expiry and sends the configured credential", async () => {
    await actions({ minutes: 10 * 24 * 60, auth: { bearer: 'am-token-123' } }).perform(
      incident,
      { action: 'acknowledge', note: 'Deploy rolling back' },
      ctx,
    );
    await actions({ auth: { basic: { username: 'oncall', password: 'p:w' } } }).perform(
      incident,
      { action: 'acknowledge' },
      { ...ctx, actor: { subject: 'user-2', email: null, name: null } },
    );

    const [capped, byDefault] = seen as [Seen, Seen];
    expect(capped.authorization).toBe('Bearer am-token-123');
    expect(capped.body).toMatchObject({
      comment: 'Deploy rolling back',
      endsAt: new Date(NOW.getTime() + MAX_SILENCE_MINUTES * 60_000).toISOString(),
    });
    expect(byDefault.authorization).toBe(`Basic ${Buffer.from('oncall:p:w').toString('base64')}`);
    // Four hours by default; without name or email the subject is the creator.
    expect(byDefault.body).toMatchObject({ endsAt: '2026-12-01T14:00:00.000Z', createdBy: 'user-2' });
    expect(silenceComment('inc_1', { ...ctx, actor: { subject: 's', email: 'e@x', name: null } }, undefined)).toBe(
      'Acknowledged in micro-oncall by e@x, incident inc_1',
    );
  });

  it('sends nothing when the stored labels no longer identify the alert (shortened on the way in)', async () => {
    const error = await rejection(
      actions().perform({ ...incident, labels: { ...labels, pod: 'checkout-…' } }, { action: 'acknowledge' }, ctx),
    );

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/labels were shortened.*silence it in Alertmanager itself/);
    expect(seen).toEqual([]);
  });

  it('fails plainly when Alertmanager cannot be reached', async () => {
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const error = await rejection(
      actions({ baseUrl: `http://127.0.0.1:${port}` }).perform(incident, { action: 'acknowledge' }, ctx),
    );

    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error.message).toMatch(/Alertmanager could not be reached \(ECONNREFUSED\)/);
    server = createServer().listen(0);
  });
});

describe('Alertmanager resolve', () => {
  it('expires the silences acknowledgements created, skipping expired and unknown ones', async () => {
    const am = actions();
    await am.perform(incident, { action: 'acknowledge' }, ctx);
    await am.perform(incident, { action: 'acknowledge' }, ctx);
    const [first, second] = [...silences.keys()] as [string, string];
    silences.set(first, 'expired');
    const unknown = '99999999-aaaa-bbbb-cccc-dddddddddddd';

    const outcome = await actions({ ours: [second, first, unknown] }).perform(incident, { action: 'resolve' }, ctx);

    expect(outcome.detail).toBe(
      `Alertmanager expired silence ${second} of alert ${incident.providerId}; it resolves when its source stops firing it`,
    );
    expect(silences.get(second)).toBe('expired');
    expect(seen.filter((s) => s.method === 'DELETE').map((s) => s.url)).toEqual([`/api/v2/silence/${second}`]);
  });

  it('says that an alert resolves at its source when no silence of ours is in force', async () => {
    const error = await rejection(actions({ ours: [] }).perform(incident, { action: 'resolve' }, ctx));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/no silence from micro-oncall is in force.*resolves when its source stops firing/);
  });
});

describe('the alert as Alertmanager lists it', () => {
  const alert = { labels, fingerprint: incident.providerId };
  const other = alertmanagerFingerprint({ ...labels, pod: 'checkout-2' });

  it('is firing while listed, silenced or not, with its end time ahead', async () => {
    alerts = [
      { fingerprint: other, endsAt: '2026-12-01T10:05:00.000Z' },
      { fingerprint: incident.providerId, endsAt: '2026-12-01T10:05:00.000Z', status: { state: 'suppressed' } },
    ];

    expect(await actions().alertState(alert)).toEqual({ state: 'firing', endsAt: '2026-12-01T10:05:00.000Z' });
    const asked = new URL(seen[0]!.url, url).searchParams;
    expect(asked.get('filter')).toBe('alertname="CheckoutLatencyHigh"');
    expect(['active', 'silenced', 'inhibited', 'unprocessed'].map((name) => asked.get(name))).toEqual([
      'true',
      'true',
      'true',
      'true',
    ]);
  });

  it('has ended when it is no longer listed, or listed with its end time passed', async () => {
    alerts = [{ fingerprint: other, endsAt: '2026-12-01T10:05:00.000Z' }];
    expect(await actions().alertState(alert)).toEqual({
      state: 'ended',
      listed: false,
      why: `Alertmanager no longer lists alert ${incident.providerId}`,
    });

    alerts = [{ fingerprint: incident.providerId, endsAt: '2026-12-01T09:59:00.000Z' }];
    expect(await actions().alertState(alert)).toMatchObject({ state: 'ended', listed: true });
  });

  it('is never taken as ended when Alertmanager cannot say', async () => {
    alerts = { error: 'not a list' };
    await expect(actions().alertState(alert)).rejects.toThrow(/something other than a list of alerts/);
    await expect(actions({ baseUrl: 'http://127.0.0.1:1' }).alertState(alert)).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
  });

  it('reads when Alertmanager started from its status', async () => {
    expect(await actions().startedAt()).toEqual(new Date('2026-12-01T09:00:00.000Z'));
    status = { cluster: {} };
    await expect(actions().startedAt()).rejects.toThrow(/without its start time/);
  });
});

describe('what Alertmanager cannot do', () => {
  it('refuses escalate, reassign and note with the reason, and allows acknowledge and resolve', () => {
    const am = actions();

    expect(am.refuse?.({ action: 'escalate', level: 2 })?.message).toMatch(/^Alertmanager has no escalation/);
    expect(am.refuse?.({ action: 'reassign', userId: 'U1' })?.message).toMatch(/^Alertmanager has no assignment/);
    expect(am.refuse?.({ action: 'note', note: 'x' })?.message).toMatch(/keeps no notes/);
    expect(am.refuse?.({ action: 'escalate' })).toBeInstanceOf(ConflictError);
    expect(am.refuse?.({ action: 'acknowledge' })).toBeNull();
    expect(am.refuse?.({ action: 'resolve' })).toBeNull();
  });
});
