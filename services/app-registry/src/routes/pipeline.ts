import { AuthenticationError, NotFoundError, rateLimit } from '@micro-oncall/service-kit';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { EvidenceBody, summariseEvidence } from '../evidence.js';
import type { Registry } from '../store.js';
import { bearerAppToken, tokenMatches } from '../tokens.js';
import { ActivityBody, parse } from './apps.js';

/**
 * What pipelines post with the app's own token (`Authorization: Bearer moapp_…`), not a
 * person's JWT: evidence (an SBOM, a SARIF scan, the SSO client id) and activity. The token is
 * compared in constant time with the hash of the app's live token; it is never logged.
 */
export function createPipelineRouter(deps: { registry: Registry }): Router {
  const { registry } = deps;
  const router = Router();

  /** Resolves the app token into `req.appTokenId`; refuses a wrong one (401). */
  const appToken = (required: boolean) => async (req: Request, _res: Response, next: NextFunction) => {
    const presented = bearerAppToken(req.get('authorization'));
    if (!presented) {
      if (required) {
        next(
          new AuthenticationError(
            "send the app's pipeline token: Authorization: Bearer moapp_… (issued when the app was registered)",
          ),
        );
      } else next('route'); // a person's JWT: the signed-in routes handle it
      return;
    }
    const id = String(req.params.id);
    const tokens = await registry.liveTokens(id).catch(() => []);
    const match = tokens.find((t) => tokenMatches(presented, t.sha256));
    if (!match) {
      next(new AuthenticationError('the token is not a live pipeline token of this app'));
      return;
    }
    (req as Request & { appTokenId?: string; appTokenApp?: string }).appTokenId = match.id;
    (req as Request & { appTokenApp?: string }).appTokenApp = id;
    next();
  };
  // A wrong token costs a database round trip: bound the guessing per client.
  const limit = rateLimit({ windowMs: 60_000, limit: 120 });

  router.post('/apps/v1/apps/:id/evidence', limit, appToken(true), express.json({ limit: '8mb' }), async (req, res) => {
    const body = parse(EvidenceBody, req.body, 'evidence');
    const summary = summariseEvidence(body);
    const tokenId = (req as Request & { appTokenId?: string }).appTokenId;
    if (!tokenId) throw new NotFoundError('no token');
    const { evidenceId, app } = await registry.addEvidence(String(req.params.id), summary, tokenId, {
      requestId: req.id,
    });
    res.status(201).json({
      evidence: {
        id: evidenceId,
        kind: summary.kind,
        format: summary.format,
        summary: summary.summary,
        sha256: summary.sha256,
      },
      app: { id: app.id, state: app.state, tier: app.tier, openViolations: app.openViolations },
      decision: app.decision,
    });
  });

  router.post(
    '/apps/v1/apps/:id/activity',
    limit,
    appToken(false),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const body = parse(ActivityBody, req.body, 'activity');
      const at = body.at ? new Date(body.at) : new Date(registry.nowIso());
      await registry.recordActivity({ id: String(req.params.id) }, at, `pipeline: ${body.source}`);
      res.status(202).json({ recorded: true });
    },
  );

  return router;
}
