import { randomUUID } from 'node:crypto';
import { INCIDENT_ID_PATTERN } from '@micro-oncall/incident-model';
import type { Logger, RefusalHook } from '@micro-oncall/service-kit';
import type { Request } from 'express';
import type { AuditWriter } from './audit.js';
import { ACTION_NAMES } from './routes/actions.js';

export interface RefusalAuditOptions {
  audit: AuditWriter;
  logger: Logger;
  /**
   * Refusals of callers nobody could identify are itemised up to `limit` per `windowMs` (per
   * replica); the rest are counted and written as one summary row per window. Default 20 per
   * minute.
   */
  anonymous?: { windowMs: number; limit: number };
  now?: () => number;
}

export interface RefusalAudit {
  /** For createHttpApp({ onRefused }). */
  onRefused: RefusalHook;
  /** Writes the summary of the current window's uncounted refusals now (shutdown, tests). */
  flush(): Promise<void>;
}

const ANONYMOUS = { subject: 'anonymous', name: null, email: null };
/** Distinct client addresses counted per window for the summary; the rest count as "others". */
const MAX_CLIENTS = 1000;
const MAX_PATH = 200;

/**
 * Audits every refused request (outcome `denied`) with what was attempted and why, never a
 * credential. A refusal of a known principal (403: signed in, but without the role) is always
 * written: the principal is accountable and cannot flood the table anonymously. A refusal of an
 * unknown caller (401, or a 403 raised before the caller was identified, such as a failed CSRF
 * check) is itemised up to a limit per window, then counted, so an unauthenticated flood adds at
 * most `limit` + 1 rows per window and replica. `GET /auth/me` answering 401 is the dashboard
 * asking whether anyone is signed in, not an attempt, and is not audited.
 */
export function createRefusalAudit(opts: RefusalAuditOptions): RefusalAudit {
  const { audit, logger } = opts;
  const { windowMs, limit } = opts.anonymous ?? { windowMs: 60_000, limit: 20 };
  const now = opts.now ?? Date.now;

  let windowStart = now();
  let itemised = 0;
  let uncounted = 0;
  let byClient = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  /** Ends the current window, writing one row for the refusals it did not itemise. */
  const flush = async () => {
    clearTimeout(timer);
    timer = undefined;
    const count = uncounted;
    const from = new Date(windowStart).toISOString();
    const clients = [...byClient].sort((a, b) => b[1] - a[1]).slice(0, 5);
    windowStart = now();
    itemised = 0;
    uncounted = 0;
    byClient = new Map();
    if (count === 0) return;
    const to = new Date(windowStart).toISOString();
    const top = clients.map(([client, n]) => `${client} (${n})`).join(', ');
    await audit({
      actor: ANONYMOUS,
      action: 'request',
      outcome: 'denied',
      detail: `${count} more requests from unidentified callers refused between ${from} and ${to}, not itemised (at most ${limit} are per ${Math.round(windowMs / 1000)} s); most from ${top}`,
      requestId: `refusals-${randomUUID()}`,
      request: { summary: { count, from, to, clients: Object.fromEntries(clients) } },
    });
  };

  const flushLogged = () =>
    flush().catch((error: unknown) =>
      logger.error({ err: error }, 'writing the summary of refused requests to the audit log failed'),
    );

  const onRefused: RefusalHook = async (req, error) => {
    const path = pathOf(req);
    if (req.method === 'GET' && path === '/auth/me' && error.status === 401) return;
    const principal = req.principal;
    if (!principal) {
      if (now() - windowStart >= windowMs) await flushLogged();
      if (itemised >= limit) {
        uncounted += 1;
        const client = req.ip ?? 'unknown';
        if (byClient.has(client) || byClient.size < MAX_CLIENTS) byClient.set(client, (byClient.get(client) ?? 0) + 1);
        else byClient.set('others', (byClient.get('others') ?? 0) + 1);
        timer ??= setTimeout(() => void flushLogged(), Math.max(0, windowStart + windowMs - now())).unref();
        return;
      }
      itemised += 1;
    }
    await audit({
      actor: principal ?? ANONYMOUS,
      action: attemptedAction(req, path),
      outcome: 'denied',
      detail: `${req.method} ${path} refused: ${error.message}`,
      requestId: req.id,
      incidentId: incidentIdOf(path),
      request: { method: req.method, path, client: req.ip ?? null, status: error.status },
    });
  };

  return { onRefused, flush };
}

/** The path asked for (without the query, which is not ours to keep), bounded. */
function pathOf(req: Request): string {
  const raw = req.originalUrl.split('?')[0] ?? '';
  return raw.length > MAX_PATH ? `${raw.slice(0, MAX_PATH - 1)}…` : raw;
}

function incidentIdOf(path: string): string | null {
  const match = /^\/v1\/incidents\/([^/]+)/.exec(path);
  return match?.[1] && INCIDENT_ID_PATTERN.test(match[1]) ? match[1] : null;
}

/** The audit `action` a refused request attempted, named like the actions the log records when they succeed. */
function attemptedAction(req: Request, path: string): string {
  if (req.method === 'POST' && /^\/v1\/incidents\/[^/]+\/actions$/.test(path)) {
    const asked = (req.body as { action?: unknown } | undefined)?.action;
    return typeof asked === 'string' && (ACTION_NAMES as readonly string[]).includes(asked) ? asked : 'invalid_action';
  }
  if (req.method === 'POST' && /^\/v1\/incidents\/[^/]+\/(merge|split)$/.test(path))
    return path.endsWith('merge') ? 'merge' : 'split';
  if (/^\/v1\/incidents\/[^/]+\/targets$/.test(path)) return 'targets_read';
  if (path === '/v1/audit/export') return 'audit_export';
  if (path === '/v1/audit') return 'audit_read';
  if (path === '/v1/stream') return 'stream';
  if (path === '/v1/stats') return 'stats_read';
  if (path.startsWith('/v1/incidents')) return 'incident_read';
  if (path === '/auth/logout') return 'sign_out';
  if (path === '/auth/token') return 'access_token';
  return 'request';
}
