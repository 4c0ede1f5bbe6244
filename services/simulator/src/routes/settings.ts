import { requireRole } from '@micro-oncall/service-kit';
import { Router } from 'express';
import type { ApprovalPolicy } from '../policy.js';
import type { Targets } from '../targets/index.js';

/** GET /drills/v1/settings (viewer): where drills can go here, and what needs approval. */
export function createSettingsRouter(deps: {
  targets: Targets;
  policy: ApprovalPolicy;
  productionAllowed: boolean;
  defaultMaxDurationMinutes: number;
  hardCapMinutes: number;
}): Router {
  const router = Router();
  router.get('/drills/v1/settings', requireRole('viewer'), (_req, res) => {
    res.json({
      targets: deps.targets.available(),
      productionAllowed: deps.productionAllowed,
      approval: {
        severityThreshold: deps.policy.threshold,
        productionAlways: true,
        mfa: {
          amr: deps.policy.mfaMethods,
          acr: deps.policy.mfaLevels,
          maxAuthAgeSeconds: deps.policy.maxAuthAgeSeconds,
        },
      },
      maxDuration: { defaultMinutes: deps.defaultMaxDurationMinutes, hardCapMinutes: deps.hardCapMinutes },
    });
  });
  return router;
}
