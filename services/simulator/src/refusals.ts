import { type Logger, type RefusalHook, ServiceError } from '@micro-oncall/service-kit';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditAction, AuditWriter } from './audit.js';
import type { DrillMetrics } from './metrics.js';

const ANONYMOUS = { subject: 'anonymous', name: null };
const MAX_PATH = 200;

interface Attempt {
  action: AuditAction;
  runId?: string | undefined;
  scenarioId?: string | undefined;
}

/**
 * Every refused drill request is audited (outcome `denied`) with what was attempted and why:
 * a route names its action first (`attempt('run_approve')`), its handler runs inside `audited`,
 * which writes the row for any 4xx it throws (self-approval, no MFA, kill switch engaged, a bad
 * request); 401/403 refused before the handler (no token, missing role) reach `onRefused`.
 */
export function createRefusals(deps: { audit: AuditWriter; metrics: DrillMetrics; logger: Logger }) {
  const attempts = new WeakMap<Request, Attempt>();
  const written = new WeakSet<Request>();

  const record = async (req: Request, error: ServiceError) => {
    if (written.has(req)) return;
    written.add(req);
    const attempt = attempts.get(req) ?? { action: 'request' as const };
    const path = (req.originalUrl.split('?')[0] ?? '').slice(0, MAX_PATH);
    deps.metrics.refusals.inc({ action: attempt.action, status: String(error.status) });
    try {
      await deps.audit({
        actor: req.principal ? { subject: req.principal.subject, name: req.principal.name } : ANONYMOUS,
        action: attempt.action,
        outcome: 'denied',
        detail: `${req.method} ${path} refused (${error.status}): ${error.message}`,
        requestId: req.id,
        runId: attempt.runId ?? null,
        scenarioId: attempt.scenarioId ?? null,
        request: { method: req.method, path, client: req.ip ?? null, status: error.status },
      });
    } catch (auditError) {
      deps.logger.error({ err: auditError, requestId: req.id }, 'auditing a refused drill request failed');
    }
  };

  return {
    /** Names what the request attempts, for the audit row of a refusal. */
    attempt(action: AuditAction, of: (req: Request) => Omit<Attempt, 'action'> = () => ({})): RequestHandler {
      return (req, _res, next) => {
        attempts.set(req, { action, ...of(req) });
        next();
      };
    },
    /** Runs `handler`, auditing any refusal (4xx) it throws before passing it on. */
    audited(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
      return async (req: Request, res: Response, next: NextFunction) => {
        try {
          await handler(req, res);
        } catch (error) {
          if (error instanceof ServiceError && error.status >= 400 && error.status < 500) await record(req, error);
          next(error);
        }
      };
    },
    /** For createHttpApp({ onRefused }): 401/403 raised before a handler ran. */
    onRefused: (async (req, error) => record(req, error)) satisfies RefusalHook,
  };
}

export type Refusals = ReturnType<typeof createRefusals>;
