/**
 * The product's one host in development: what the Ingress does in a cluster (every service
 * behind one host by path, docs/adr/0012-one-product-behind-one-host.md), for the local platform.
 * Routes come from the services' descriptors (`publicPaths`), the same list the charts' Ingress
 * paths are checked against. Requests and answers are streamed both ways (Server-Sent Events
 * pass unbuffered), with X-Forwarded-For/-Proto/-Host/-Port set as nginx ingress sets them.
 * Paths no service declares answer 404 here, as they do behind the Ingress: /metrics, /health
 * and /openapi.json stay on each service's own port.
 */
import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublicPath } from '@micro-oncall/service-kit';

export interface GatewayRoute extends PublicPath {
  /** The service the path belongs to. */
  service: string;
  /** Where that service listens, e.g. http://127.0.0.1:41234. */
  target: string;
}

/** Whether `path` (a request's path, no query) is under `prefix`, element by element. */
function underPrefix(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`);
}

/**
 * The route for `path` as Kubernetes Ingress chooses it: of the paths that match (exact: the
 * path itself; prefix: the path and below, element by element), the longest wins, and of equal
 * ones an exact path wins over a prefix. Null when none matches.
 */
export function routeFor<R extends PublicPath>(routes: readonly R[], path: string): R | null {
  let best: R | null = null;
  for (const route of routes) {
    const matches = route.match === 'exact' ? route.path === path : underPrefix(route.path, path);
    if (!matches) continue;
    if (
      !best ||
      route.path.length > best.path.length ||
      (route.path.length === best.path.length && route.match === 'exact' && best.match === 'prefix')
    ) {
      best = route;
    }
  }
  return best;
}

/** Problems of a routing table: two services (or one twice) claiming the same path the same way. */
export function routeConflicts(routes: readonly GatewayRoute[]): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const route of routes) {
    const key = `${route.match} ${route.path}`;
    const owner = owners.get(key);
    if (owner !== undefined)
      problems.push(`${route.path} (${route.match}) is claimed by both ${owner} and ${route.service}`);
    else owners.set(key, route.service);
  }
  return problems;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name)) kept[name] = value;
  }
  return kept;
}

export interface Gateway {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Replaces the routing table (services start after the gateway listens). */
  setRoutes(routes: readonly GatewayRoute[]): void;
  stop(): Promise<void>;
}

/**
 * Starts the gateway on `port` (0: a free one) of `host`. Until `setRoutes` names the services,
 * every request answers 503. Throws when the port is taken, saying which.
 */
export async function startGateway(opts: {
  port: number;
  host?: string;
  routes?: readonly GatewayRoute[];
}): Promise<Gateway> {
  const host = opts.host ?? '127.0.0.1';
  let routes: readonly GatewayRoute[] = opts.routes ?? [];
  let started = routes.length > 0;
  const agent = new Agent({ keepAlive: true });

  const fail = (res: import('node:http').ServerResponse, status: number, code: string, message: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: { code, message } }));
  };

  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!started) {
      fail(res, 503, 'starting', 'the platform is still starting; try again in a moment');
      return;
    }
    const route = routeFor(routes, path);
    if (!route) {
      fail(res, 404, 'not_found', `no service serves ${path} on the product's host (as behind the Ingress)`);
      return;
    }
    // Answers (an SSE stream above all) go out as they come, not in Nagle-sized batches.
    req.socket.setNoDelay(true);
    const target = new URL(route.target);
    const headers = endToEnd(req.headers);
    const clientAddress = req.socket.remoteAddress ?? '';
    // The edge replaces what a client claims, as nginx ingress does by default.
    headers['x-forwarded-for'] = clientAddress;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-host'] = req.headers.host ?? `${host}:${(server.address() as AddressInfo).port}`;
    headers['x-forwarded-port'] = String((server.address() as AddressInfo).port);
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        res.flushHeaders();
        answer.pipe(res);
        // The service dropped the connection mid-answer: so do we, rather than end it as if complete.
        answer.on('close', () => {
          if (!answer.complete) res.destroy();
        });
      },
    );
    upstream.on('error', (error) => {
      fail(res, 502, 'bad_gateway', `${route.service} did not answer: ${error.message}`);
    });
    // The browser went away (a closed tab, an aborted stream): so does the request upstream.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${opts.port} is taken: the product's host needs it (set PORT to use another)`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    setRoutes(next) {
      routes = [...next];
      started = true;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open streams would keep close() waiting: end them, as the Ingress does on shutdown.
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}
