import {
  AuthenticationError,
  basicCredentials,
  InputError,
  type Logger,
  NotFoundError,
  rateLimit,
  secretsEqual,
} from '@micro-oncall/service-kit';
import express, { Router } from 'express';
import { fromEventBridge, HealthEventBridgeEvent, isWatched } from '../aws-health.js';
import type { AwsHealthSource } from '../config/sources.js';
import type { Store } from '../store.js';

/** How an EventBridge API destination's connection authenticates (its API_KEY or BASIC authorization). */
export interface EventBridgeAuth {
  /** API_KEY: the connection's ApiKeyName (a header name) and ApiKeyValue. */
  apiKey?: { header: string; value: string };
  /** BASIC: the connection's Username and Password (`Authorization: Basic …`). */
  basic?: { username: string; password: string };
}

/**
 * POST /status/v1/webhooks/aws-health: "AWS Health Event" deliveries from an EventBridge rule
 * whose target is an API destination. Its connection authenticates with an API key header or
 * Basic credentials (secrets from mounted files, compared in constant time, never logged).
 * Missing or wrong credential → 401; not the documented payload → 400 naming the field; an
 * account no aws-health source takes → 400; nothing is stored in those cases. An event for a
 * service or region no source watches is accepted and ignored (202, `ignored`). EventBridge
 * delivers at least once: a redelivery changes nothing and publishes nothing.
 */
export function createAwsHealthWebhookRouter(deps: {
  auth: EventBridgeAuth;
  sources: readonly AwsHealthSource[];
  store: Store;
  logger: Logger;
}): Router {
  const router = Router();
  const { apiKey, basic } = deps.auth;
  const authenticate: express.RequestHandler = (req, _res, next) => {
    if (!apiKey && !basic) {
      throw new NotFoundError(
        'AWS Health deliveries are not configured (AWS_HEALTH_WEBHOOK_API_KEY or AWS_HEALTH_WEBHOOK_BASIC_PASSWORD)',
      );
    }
    const key = apiKey ? req.get(apiKey.header) : undefined;
    const credentials = basic ? basicCredentials(req.get('authorization')) : null;
    const ok =
      (apiKey !== undefined && key !== undefined && secretsEqual(key, apiKey.value)) ||
      (basic !== undefined && credentials !== null && secretsEqual(credentials, `${basic.username}:${basic.password}`));
    if (!ok) throw new AuthenticationError('missing or wrong EventBridge connection credential');
    next();
  };
  // EventBridge events are at most 256 KB; the credential is checked before the body is read.
  const body = express.json({ limit: '256kb', type: () => true });
  const limit = rateLimit({ windowMs: 60_000, limit: 600, key: () => 'aws-health' });

  router.post('/status/v1/webhooks/aws-health', limit, authenticate, body, async (req, res) => {
    const parsed = HealthEventBridgeEvent.safeParse(req.body);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'AWS Health Event');
    const { account, event } = fromEventBridge(parsed.data);
    const takers = deps.sources.filter((s) => !s.accounts || s.accounts.includes(account));
    if (takers.length === 0) {
      throw new InputError(`account ${account} is not taken by any aws-health source (sources file: accounts)`);
    }
    const watching = takers.filter((s) => isWatched(s, event));
    if (watching.length === 0) {
      deps.logger.info({ account, service: event.service, region: event.region }, 'aws health event not watched');
      res.status(202).json({
        accepted: true,
        events: 0,
        ignored: `${event.service} in ${event.region} is not watched by an aws-health source`,
      });
      return;
    }
    let written = 0;
    for (const source of watching) written += await deps.store.applyHealthEvents(source.id, [event], null);
    deps.logger.info(
      {
        account,
        eventArn: event.arn,
        statusCode: event.statusCode,
        sources: watching.map((s) => s.id),
        events: written,
      },
      'aws health event applied',
    );
    res.status(202).json({ accepted: true, events: written });
  });
  return router;
}
