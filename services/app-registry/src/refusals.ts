import type { Logger, RefusalHook } from '@micro-oncall/service-kit';
import type { Request } from 'express';
import type { Actor, Registry } from './store.js';

/*
 * Every refused request is audited (outcome `denied`) with what was attempted and why, never a
 * credential: a signed-in person without the role, an approver approving their own request, a
 * pipeline with a wrong token. Refusals of callers nobody could identify are itemised up to a
 * limit per minute (per replica) and then counted in one summary row, so an anonymous flood
 * cannot fill the table.
 */

const MAX_PATH = 200;
const APP_PATH = /^\/apps\/v1\/apps\/(app_[0-9a-f]{24})(?:\/|$)/;

export function createRefusalAudit(opts: {
  registry: Registry;
  logger: Logger;
  anonymousPerMinute?: number;
  now?: () => number;
}): { onRefused: RefusalHook; flush(): Promise<void> } {
  const limit = opts.anonymousPerMinute ?? 20;
  const now = opts.now ?? Date.now;
  let windowStart = now();
  let itemised = 0;
  let uncounted = 0;
  const anonymous: Actor = { type: 'user', subject: 'anonymous', name: null };

  const flush = async () => {
    const count = uncounted;
    const from = new Date(windowStart).toISOString();
    windowStart = now();
    itemised = 0;
    uncounted = 0;
    if (count === 0) return;
    await opts.registry.audit(opts.registry.db, {
      actor: anonymous,
      action: 'request',
      outcome: 'denied',
      detail: `${count} more requests from unidentified callers refused since ${from}, not itemised (at most ${limit} a minute are)`,
    });
  };

  const onRefused: RefusalHook = async (req, error) => {
    const path = pathOf(req);
    const principal = req.principal;
    const pipeline = (req as Request & { appTokenApp?: string }).appTokenApp;
    if (!principal && !pipeline) {
      if (now() - windowStart >= 60_000)
        await flush().catch((e: unknown) => opts.logger.error({ err: e }, 'auditing refusals failed'));
      if (itemised >= limit) {
        uncounted += 1;
        return;
      }
      itemised += 1;
    }
    const actor: Actor = principal
      ? { type: 'user', subject: principal.subject, name: principal.name ?? principal.email }
      : pipeline
        ? { type: 'system', subject: `app-token:${pipeline}`, name: 'pipeline' }
        : anonymous;
    await opts.registry.audit(opts.registry.db, {
      actor,
      action: attemptedAction(req.method, path),
      outcome: 'denied',
      appId: APP_PATH.exec(path)?.[1] ?? null,
      detail: `${req.method} ${path} refused (${error.status}): ${error.message}`,
      requestId: req.id,
      request: { method: req.method, path, client: req.ip ?? null, status: error.status },
    });
  };
  return { onRefused, flush };
}

function pathOf(req: Request): string {
  const raw = req.originalUrl.split('?')[0] ?? '';
  return raw.length > MAX_PATH ? `${raw.slice(0, MAX_PATH - 1)}…` : raw;
}

/** The audit action a refused request attempted, named like the actions recorded when they succeed. */
export function attemptedAction(method: string, path: string): string {
  const tail = /^\/apps\/v1\/apps\/[^/]+\/([a-z-]+)(?:\/[^/]+\/([a-z]+))?$/.exec(path);
  if (method === 'POST' && tail) {
    if (tail[1] === 'exceptions' && tail[2]) return `exception_${tail[2]}`;
    return (
      (
        {
          approve: 'approve',
          reject: 'reject',
          restore: 'restore',
          purge: 'purge',
          evidence: 'evidence',
          activity: 'activity',
          tokens: 'token_issue',
          evaluate: 'evaluate',
          exemption: 'lifecycle_exemption',
          exceptions: 'exception_request',
        } as Record<string, string>
      )[tail[1]!] ?? 'request'
    );
  }
  if (method === 'POST' && path === '/apps/v1/apps') return 'register';
  if (method === 'PATCH' && /^\/apps\/v1\/apps\/[^/]+$/.test(path)) return 'update';
  if (path === '/apps/v1/import') return 'import';
  if (path === '/apps/v1/export') return 'export';
  if (path === '/apps/v1/lifecycle/sweep') return 'lifecycle_sweep';
  if (method === 'POST' && path === '/apps/v1/discovery/runs') return 'discovery_run';
  const candidate = /^\/apps\/v1\/discovery\/candidates\/[^/]+\/(dismiss|register)$/.exec(path);
  if (method === 'POST' && candidate)
    return candidate[1] === 'dismiss' ? 'discovery_dismissed' : 'discovery_registered';
  const costAction = costActionOf(method, path);
  if (costAction) return costAction;
  if (path === '/apps/v1/audit') return 'audit_read';
  if (method === 'GET' && path.startsWith('/apps/v1/')) return 'read';
  return 'request';
}

/** The cost routes' actions (src/routes/cost.ts), as their audit entries name them. */
function costActionOf(method: string, path: string): string | null {
  if (method === 'POST' && path === '/apps/v1/cost/imports') return 'cost_import';
  if (method === 'POST' && path === '/apps/v1/cost/quotas') return 'cost_quota_create';
  if (method === 'POST' && path === '/apps/v1/cost/weekly-report') return 'cost_weekly_report';
  if (/^\/apps\/v1\/cost\/quotas\/[^/]+$/.test(path)) {
    if (method === 'PATCH') return 'cost_quota_update';
    if (method === 'DELETE') return 'cost_quota_delete';
  }
  if (method === 'POST' && /^\/apps\/v1\/cost\/quotas\/[^/]+\/requests$/.test(path)) return 'cost_quota_request';
  const decision = /^\/apps\/v1\/cost\/quota-requests\/[^/]+\/(approve|reject)$/.exec(path);
  if (method === 'POST' && decision) return `cost_quota_request_${decision[1]}`;
  return null;
}
