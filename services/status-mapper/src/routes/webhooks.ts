import {
  AuthenticationError,
  InputError,
  type Logger,
  NotFoundError,
  rateLimit,
  secretsEqual,
} from '@micro-oncall/service-kit';
import express, { Router } from 'express';
import { readWebhook } from '../statuspage.js';
import type { Store } from '../store.js';

/**
 * POST /status/v1/webhooks/statuspage: Statuspage webhook subscriptions (component update, incident
 * update). Statuspage signs nothing and sends no custom header, so the subscription URL carries
 * a secret token (`?token=`; `X-Webhook-Token` also accepted). Bad token → 401, malformed → 400,
 * a page we do not watch → 400; nothing is stored in any of those cases.
 */
export function createWebhookRouter(deps: { token: string | undefined; store: Store; logger: Logger }): Router {
  const router = Router();
  const checkToken: express.RequestHandler = (req, _res, next) => {
    if (!deps.token) throw new NotFoundError('Statuspage webhooks are not configured (STATUSPAGE_WEBHOOK_TOKEN)');
    const given = typeof req.query.token === 'string' ? req.query.token : req.get('x-webhook-token');
    if (!given || !secretsEqual(given, deps.token)) throw new AuthenticationError('missing or wrong webhook token');
    next();
  };
  // The token is checked before the body is read; any content type is read as JSON.
  const body = express.json({ limit: '256kb', type: () => true });
  // Statuspage sends one request per change; a flood is a misconfiguration or an attack.
  const limit = rateLimit({ windowMs: 60_000, limit: 600, key: () => 'statuspage' });
  router.post('/status/v1/webhooks/statuspage', limit, checkToken, body, async (req, res) => {
    const webhook = readWebhook(req.body);
    if (!webhook) {
      throw new InputError('not a Statuspage component update or incident update payload');
    }
    const written =
      webhook.kind === 'component'
        ? await deps.store.applyWebhookComponent(
            webhook.providerPageId,
            webhook.component,
            webhook.status,
            webhook.providerStatus,
            webhook.at,
          )
        : await deps.store.applyWebhookIncident(webhook.providerPageId, webhook.incident);
    if (written === null)
      throw new InputError(`page ${webhook.providerPageId} is not a configured source (poll it first)`);
    deps.logger.info(
      { kind: webhook.kind, page: webhook.providerPageId, events: written },
      'statuspage webhook applied',
    );
    res.status(202).json({ accepted: true, events: written });
  });
  return router;
}
