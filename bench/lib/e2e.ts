import { Agent, type ClientRequest, get, type IncomingMessage } from 'node:http';

/**
 * Seconds each end-to-end pass is led into at its own rate, unmeasured: the pass then sends on
 * connections already open (as an ingress keeps its upstream connections to a replica) into a
 * pipeline already running at that rate. Without it the first seconds of every pass measured the
 * replica accepting the generator's new connections, one per turn of its busy event loop
 * (docs/performance.md, "End to end at 500/s: the seconds-long tail…").
 */
export const E2E_LEAD_IN_S = 2;

/**
 * Live feed client: `GET /v1/stream` with a bearer token; records the time each incident id
 * first arrives in an `incident` event. Resolves `ready` once the feed sent its `ready` event.
 */
export function openStream(opts: { url: string; token: string; onIncident: (id: string, at: number) => void }) {
  let req: ClientRequest | undefined;
  let events = 0;
  const ready = new Promise<void>((resolve, reject) => {
    req = get(
      new URL('/v1/stream', opts.url),
      { headers: { authorization: `Bearer ${opts.token}`, accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET /v1/stream answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (frame.includes('event: ready')) resolve();
            else if (frame.includes('event: incident')) {
              // The incident's id is the first field of the presented incident.
              const match = /data: \{"id":"(inc_[0-9a-f]{24})"/.exec(frame);
              if (match) {
                events += 1;
                opts.onIncident(match[1]!, at);
              }
            }
            end = buffer.indexOf('\n\n');
          }
        });
      },
    );
    req.on('error', reject);
  });
  return {
    ready,
    events: () => events,
    close: () => req?.destroy(),
  };
}

/**
 * Polls `GET /v1/incidents/:id` from `since` until it answers 200 or `timeoutMs` passed, and
 * resolves with the time the 200 arrived (or null). Polls every `intervalMs` for the first
 * `fineForMs`, then backs off (×1.25 per poll, at most 500 ms apart), so that a backlog does
 * not multiply the polling load on escalation: resolution is `intervalMs` for fast answers and
 * about a fifth of the latency beyond that.
 */
export function createPoller(opts: {
  url: string;
  token: string;
  intervalMs: number;
  fineForMs: number;
  timeoutMs: number;
}) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32, timeout: 4000 });
  let requests = 0;
  const once = (id: string) =>
    new Promise<number>((resolve) => {
      requests += 1;
      const req = get(
        new URL(`/v1/incidents/${id}`, opts.url),
        { agent, headers: { authorization: `Bearer ${opts.token}` }, timeout: 5000 },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', () => resolve(0));
    });
  return {
    requests: () => requests,
    async until(id: string, since: number): Promise<number | null> {
      const deadline = since + opts.timeoutMs;
      let due = since;
      let interval = opts.intervalMs;
      while (performance.now() < deadline) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const status = await once(id);
        const at = performance.now();
        if (status === 200) return at;
        if (at - since > opts.fineForMs) interval = Math.min(500, interval * 1.25);
        due += interval;
        if (due < at) due = at;
      }
      return null;
    },
    close: () => agent.destroy(),
  };
}
