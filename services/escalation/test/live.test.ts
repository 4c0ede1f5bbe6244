import { request as httpRequest, type IncomingMessage } from 'node:http';
import { normalisePagerDuty } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onlyEvent, startTestEscalation, type TestEscalation, until } from './support.js';
import { eventNames, type OpenStream, openStream } from './web.js';

const CATCH_UP_MAX = 3;
/** Longer than the default, so that a burst of commits spans few intervals even on a fast machine. */
const COALESCE_MS = 200;

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
      LIVE_COALESCE_MS: String(COALESCE_MS),
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

  /** Incidents' ids and the live feed's reads so far (the `live_stream_reads_total` counter). */
  const seedIncidents = async (prefix: string, n: number) => {
    const ids: string[] = [];
    for (let i = 1; i <= n; i += 1) {
      const event = onlyEvent(
        normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: `${prefix}${i}` }), {
          receivedAt: new Date().toISOString(),
        }),
      );
      await esc.publish([event]);
      await esc.applied(event.incidentId, await token('ada'));
      ids.push(event.incidentId);
    }
    return ids;
  };
  const reads = async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    return Number(/^live_stream_reads_total(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
  };
  /**
   * Commits `count` changes, one transaction each as the consumer does (a new change_seq and a
   * NOTIFY), round-robin over `ids`; change `n` sets the label `burst` to `n`. All in one round
   * trip, or one every `paceMs` (a steady stream of small commits, as at a moderate webhook rate).
   * Returns what each incident's last change set.
   */
  const commitBurst = async (ids: string[], count: number, paceMs?: number) => {
    const client = new pg.Client({ connectionString: esc.databaseUrl });
    await client.connect();
    const last = new Map<string, string>();
    const transactions: string[] = [];
    for (let n = 1; n <= count; n += 1) {
      const id = ids[n % ids.length]!;
      transactions.push(
        `begin;
         update escalation.incidents
           set labels = labels || jsonb_build_object('burst', '${n}'),
               change_seq = nextval('escalation.incident_change_seq')
         where id = ${client.escapeLiteral(id)};
         select pg_notify('escalation_incident_changes', '');
         commit;`,
      );
      last.set(id, String(n));
    }
    try {
      if (paceMs === undefined) {
        // One round trip: the explicit begin/commit make each its own transaction.
        await client.query(transactions.join('\n'));
      } else {
        for (const transaction of transactions) {
          await client.query(transaction);
          await new Promise((r) => setTimeout(r, paceMs));
        }
      }
    } finally {
      await client.end();
    }
    return last;
  };
  type Seen = { seq: number; id: string; burst: string | undefined };
  const incidentsIn = (text: string): Seen[] =>
    [...text.matchAll(/^id: (\d+)\nevent: incident\ndata: (.+)$/gm)].map((m) => {
      const data = JSON.parse(m[2]!) as { id: string; labels: Record<string, string> };
      return { seq: Number(m[1]), id: data.id, burst: data.labels.burst };
    });
  const finalStates = async (ids: string[]) =>
    Promise.all(
      ids.map(async (id) => {
        const { incident } = (await esc.get(`/v1/incidents/${id}`, await token('ada'))).body as {
          incident: { id: string; changeSeq: number; labels: Record<string, string> };
        };
        return { seq: incident.changeSeq, id: incident.id, burst: incident.labels.burst };
      }),
    );

  it('serves a stream of commits with a read per interval, each final state once and in change order', async () => {
    const ids = await seedIncidents('PLIVEBURST', 5);
    const s = await stream('ada');
    open.push(s);
    await s.readUntil(/event: ready/);
    const readsBefore = await reads();
    const started = performance.now();

    // 80 commits 10 ms apart: a read for each NOTIFY would be ~80 reads.
    const last = await commitBurst(ids, 80, 10);
    const finals = await finalStates(ids);
    expect(finals.map((f) => f.burst)).toEqual(ids.map((id) => last.get(id)));
    const newest = Math.max(...finals.map((f) => f.seq));
    await s.readUntil(new RegExp(`^id: ${newest}$`, 'm'));
    const elapsedMs = performance.now() - started;

    const seen = incidentsIn(s.text());
    // In change order, no change twice, every incident's final state exactly once and last.
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const final of finals) {
      const ofIncident = seen.filter((e) => e.id === final.id);
      expect(ofIncident.at(-1)).toEqual(final);
      expect(seen.filter((e) => e.seq === final.seq)).toHaveLength(1);
    }
    // Coalesced: at most one read per interval (plus the one a NOTIFY during the last read asks
    // for), not one per commit, whatever the speed of this machine.
    const burstReads = (await reads()) - readsBefore;
    expect(burstReads).toBeGreaterThan(0);
    expect(burstReads).toBeLessThanOrEqual(Math.ceil(elapsedMs / COALESCE_MS) + 2);
    expect(seen.length).toBeLessThanOrEqual(80);
  });

  it('reads nothing while no client is connected, and a client connecting after a burst misses nothing', async () => {
    const ids = await seedIncidents('PLIVEIDLE', 3);
    const [before] = await finalStates(ids.slice(0, 1));
    const readsBefore = await reads();

    const last = await commitBurst(ids, 30);
    const finals = await finalStates(ids);
    expect(finals.map((f) => f.burst)).toEqual(ids.map((id) => last.get(id)));
    const newest = Math.max(...finals.map((f) => f.seq));

    // A client that was away: from its last event id, every incident's final state, in change order.
    const back = await stream('ada', { 'last-event-id': String(before!.seq) });
    open.push(back);
    const caughtUp = await back.readUntil(/event: ready/);
    const seen = incidentsIn(caughtUp);
    expect(seen.map((e) => e.seq)).toEqual(finals.map((f) => f.seq).sort((a, b) => a - b));
    expect(seen).toEqual(expect.arrayContaining(finals));
    // A new client starts from now: the burst is not replayed to it, later changes reach it.
    const fresh = await stream('bob');
    open.push(fresh);
    const freshReady = await fresh.readUntil(/event: ready/);
    expect(freshReady).toContain(`event: ready\ndata: {"lastEventId":${newest}}`);
    expect(incidentsIn(freshReady)).toEqual([]);
    // Nothing was read for the 30 NOTIFYs that arrived with no client connected (catch-up is
    // the client's own replay, not the broadcast's read).
    expect((await reads()) - readsBefore).toBe(0);

    const after = await commitBurst(ids.slice(0, 1), 1);
    const [changed] = await finalStates(ids.slice(0, 1));
    expect(changed!.burst).toBe(after.get(ids[0]!));
    for (const s of [back, fresh]) {
      await s.readUntil(new RegExp(`^id: ${changed!.seq}$`, 'm'));
      expect(incidentsIn(s.text()).at(-1)).toEqual(changed);
    }
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
