import { request as httpRequest, type IncomingMessage } from 'node:http';
import { normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';
import { eventNames, type OpenStream, openStream } from './web.js';

const CATCH_UP_MAX = 3;

describe('escalation live feed limits', () => {
  let esc: TestEscalation;
  let url: string;
  const tokens = new Map<string, string>();
  const token = async (sub: string) => {
    let t = tokens.get(sub);
    if (!t) {
      t = await esc.issuer.token({ sub, roles: ['viewer'] });
      tokens.set(sub, t);
    }
    return t;
  };
  const stream = async (sub: string, extra: Record<string, string> = {}, query = '') =>
    openStream(`${url}/v1/stream${query}`, { authorization: `Bearer ${await token(sub)}`, ...extra });
  const open: OpenStream[] = [];

  beforeAll(async () => {
    esc = await startTestEscalation('live', () => ({
      LIVE_MAX_CONNECTIONS: '3',
      LIVE_MAX_CONNECTIONS_PER_USER: '2',
      LIVE_CATCH_UP_MAX: String(CATCH_UP_MAX),
      LIVE_MAX_BUFFER_KB: '64',
      LIVE_HEARTBEAT_SECONDS: '1',
    }));
    url = esc.service.url;
  });

  afterAll(async () => {
    await esc?.stop();
  });

  const closeAll = async () => {
    for (const s of open.splice(0)) s.close();
    // The server frees the slots when it sees the connections close.
    await until('the streams to close', async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return /^live_stream_clients\{[^}]*\} 0$/m.test(metrics) ? true : undefined;
    });
  };
  afterEach(closeAll);

  it('refuses connections over the per-user and per-server caps with 429, Retry-After and why', async () => {
    const connect = async (sub: string) => {
      const s = await stream(sub);
      open.push(s);
      expect(s.status).toBe(200);
      await s.readUntil(/event: ready/);
    };
    await connect('ada');
    await connect('ada');
    const third = await stream('ada');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('30');
    expect(JSON.parse(third.text()).error.message).toMatch(/already have 2 live connections open/);

    await connect('bob');
    const overServer = await stream('carol');
    expect(overServer.status).toBe(429);
    expect(Number(overServer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.parse(overServer.text()).error.message).toMatch(/limit of 3 connections/);

    // A closed stream frees its slot.
    open.shift()!.close();
    const again = await until('a free slot', async () => {
      const s = await stream('ada');
      if (s.status === 200) return s;
      return undefined;
    });
    open.push(again);
    await again.readUntil(/event: ready/);
  });

  it(`replays at most ${CATCH_UP_MAX} missed changes, and tells a client further behind to reload`, async () => {
    const ids: string[] = [];
    for (let n = 1; n <= 5; n += 1) {
      const event = onlyEvent(
        normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: `PLIVECAP${n}` }), {
          receivedAt: new Date().toISOString(),
        }),
      );
      await esc.publish([event]); // one at a time: each gets the next change sequence
      await esc.applied(event.incidentId, await token('ada'));
      ids.push(event.incidentId);
    }
    const seqs = await Promise.all(
      ids.map(
        async (id) => (await esc.get(`/v1/incidents/${id}`, await token('ada'))).body.incident as { changeSeq: number },
      ),
    ).then((rows) => rows.map((r) => r.changeSeq));

    // since=0 (or a long-gone id) must not replay the whole table.
    const fromZero = await stream('ada', {}, '?since=0');
    open.push(fromZero);
    const text = await fromZero.readUntil(/event: ready/);
    expect(eventNames(text)).toEqual(['reset', 'ready']);
    expect(text).toContain(`event: reset\ndata: {"lastEventId":${Math.max(...seqs)}`);
    fromZero.close();

    // Two changes behind: exactly those two, in order, from Last-Event-ID.
    const behind = await stream('ada', { 'last-event-id': String(seqs[2]) });
    open.push(behind);
    const caughtUp = await behind.readUntil(/event: ready/);
    expect(eventNames(caughtUp)).toEqual(['incident', 'incident', 'ready']);
    expect([...caughtUp.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(seqs.slice(3));
    behind.close();
  });

  it('ends a stream when the bearer token it was opened with expires', async () => {
    const shortLived = await esc.issuer.token({ sub: 'tool', roles: ['viewer'] }, { expiresIn: '2s' });
    const s = await openStream(`${url}/v1/stream`, { authorization: `Bearer ${shortLived}` });
    open.push(s);
    await s.readUntil(/event: ready/);
    const text = await s.readToEnd(6000);
    expect(text).toMatch(/event: end\ndata: \{"reason":"credential_expired"\}\n\n$/);
  });

  it('disconnects a client that does not read, instead of buffering for it without bound', async () => {
    const viewer = await token('slow');
    // A client that connects and then stops reading: its socket buffers fill up.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/stream`, { headers: { authorization: `Bearer ${viewer}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(response.statusCode).toBe(200);
    let received = 0;
    let closed = false;
    response.once('data', (chunk: Buffer) => {
      received += chunk.length;
      response.pause();
    });
    response.on('close', () => {
      closed = true;
    });
    response.on('error', () => undefined);
    await until('the stream to be ready', async () => (received > 0 ? true : undefined));

    // 100 changes of ~200 kB each: 20 MB that the client will not read.
    const template = onlyEvent(
      normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PSLOWBASE' }), { receivedAt: new Date().toISOString() }),
    );
    await esc.publish([template]);
    await esc.applied(template.incidentId, viewer);
    const client = new pg.Client({ connectionString: esc.databaseUrl });
    await client.connect();
    try {
      await client.query(
        `insert into escalation.incidents
           select (jsonb_populate_record(i, jsonb_build_object(
             'id', 'inc_' || lpad(to_hex(n), 24, 'f'),
             'provider_id', 'PSLOW' || n,
             'labels', jsonb_build_object('note', repeat('x', 200000)),
             'change_seq', nextval('escalation.incident_change_seq'),
             'number', nextval('escalation.incident_number_seq')))).*
           from escalation.incidents i, generate_series(1, 100) n where i.id = $1`,
        [template.incidentId],
      );
      await client.query(`select pg_notify('escalation_incident_changes', '')`);
    } finally {
      await client.end();
    }

    // Still not reading: the server gives up on this client rather than holding 20 MB for it.
    await until('the server to drop the slow client', async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return /^live_stream_ended_total\{[^}]*reason="slow"[^}]*\} 1$/m.test(metrics) ? true : undefined;
    });
    response.resume();
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await until('the connection to close', async () => (closed ? true : undefined));
    expect(received).toBeLessThan(20_000_000);

    // It reconnects like any client.
    const back = await stream('slow');
    open.push(back);
    expect(back.status).toBe(200);
    await back.readUntil(/event: ready/, 20_000);
    back.close();
  });
});
