import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertmanagerFingerprint } from '@micro-oncall/incident-model';

/*
 * A minimal stand-in for Prometheus Alertmanager's API v2 alerts endpoints, for the simulator's
 * tests until the real Alertmanager (test-kit's startAlertmanager) is available on this branch.
 * It keeps to the documented contract (api/v2/openapi.yaml, providers.md): POST /api/v2/alerts
 * takes an array of postable alerts whose labels are required, non-empty and validly named,
 * startsAt/endsAt RFC 3339 (missing startsAt = now, missing endsAt = now + resolve_timeout), and
 * answers 400 with a JSON string for an alert that ends before it starts; an alert is its label
 * set (fingerprint), the latest post wins; GET /api/v2/alerts lists the alerts that are not
 * resolved (endsAt in the future), state `active`. No routing, grouping, silences or inhibition.
 */

export interface StandInAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
}

export interface AlertmanagerStandIn {
  url: string;
  /** Every POST body received, in order. */
  posts: unknown[];
  stop(): Promise<void>;
}

const RESOLVE_TIMEOUT_MS = 5 * 60_000;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export async function startAlertmanagerStandIn(): Promise<AlertmanagerStandIn> {
  const alerts = new Map<string, StandInAlert>();
  const posts: unknown[] = [];

  const post = (body: unknown): { status: number; body: unknown } => {
    if (!Array.isArray(body))
      return { status: 422, body: { code: 602, message: 'alerts in body must be of type array' } };
    const problems: string[] = [];
    const now = Date.now();
    for (const [i, item] of body.entries()) {
      const a = item as Partial<StandInAlert> | null;
      const labels = a?.labels;
      if (!labels || typeof labels !== 'object' || Object.keys(labels).length === 0) {
        problems.push(`${i}: at least one label pair required`);
        continue;
      }
      if (Object.entries(labels).some(([k, v]) => !LABEL_NAME.test(k) || typeof v !== 'string')) {
        problems.push(`${i}: invalid label set`);
        continue;
      }
      const startsAt = a.startsAt ? Date.parse(a.startsAt) : now;
      const endsAt = a.endsAt ? Date.parse(a.endsAt) : now + RESOLVE_TIMEOUT_MS;
      if (Number.isNaN(startsAt) || Number.isNaN(endsAt)) {
        problems.push(`${i}: startsAt and endsAt must be RFC 3339 date-times`);
        continue;
      }
      if (endsAt < startsAt) {
        problems.push(`${i}: start time must be before end time`);
        continue;
      }
      const fingerprint = alertmanagerFingerprint(labels);
      const known = alerts.get(fingerprint);
      alerts.set(fingerprint, {
        fingerprint,
        labels,
        annotations: a.annotations ?? {},
        // A firing alert keeps its first start while it stays open.
        startsAt: new Date(
          known && Date.parse(known.endsAt) > now ? Date.parse(known.startsAt) : startsAt,
        ).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
        updatedAt: new Date(now).toISOString(),
      });
    }
    return problems.length > 0 ? { status: 400, body: problems.join('; ') } : { status: 200, body: null };
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
      let answer: { status: number; body: unknown };
      if (req.method === 'POST' && path === '/api/v2/alerts') {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          posts.push(body);
          answer = post(body);
        } catch {
          answer = { status: 400, body: 'parsing alerts body failed' };
        }
      } else if (req.method === 'GET' && path === '/api/v2/alerts') {
        const now = Date.now();
        answer = {
          status: 200,
          body: [...alerts.values()]
            .filter((a) => Date.parse(a.endsAt) > now)
            .map((a) => ({
              ...a,
              receivers: [{ name: 'stand-in' }],
              status: { state: 'active', silencedBy: [], inhibitedBy: [], mutedBy: [] },
            })),
        };
      } else {
        answer = { status: 404, body: 'not found' };
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body === null ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
