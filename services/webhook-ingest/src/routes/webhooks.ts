import {
  type IncidentEvent,
  type NormaliseResult,
  normaliseAlertmanager,
  normaliseOpsgenie,
  normalisePagerDuty,
  type Provider,
  storable,
} from '@micro-oncall/incident-model';
import { verifyPagerDutySignature } from '@micro-oncall/incident-model/signatures';
import {
  AuthenticationError,
  DependencyUnavailableError,
  type DirectPublisher,
  InputError,
  isTransientDbError,
  type Logger,
  NotFoundError,
  rateLimit,
  toServiceError,
  UnsupportedMediaTypeError,
} from '@micro-oncall/service-kit';
import express, { type ErrorRequestHandler, type Request, Router } from 'express';
import type pg from 'pg';
import { type SharedCredential, verifyAuthorizationHeader } from '../credentials.js';
import type { Config } from '../env.js';
import type { IngestMetrics } from '../metrics.js';

export interface WebhookRouterDeps {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  /** Publishes straight to Kafka: a webhook is answered 202 only once the broker acknowledged its events. */
  events: DirectPublisher;
  metrics: IngestMetrics;
}

interface ProviderEndpoint {
  provider: Provider;
  /** Undefined when no credential is configured: the endpoint is switched off. */
  authenticate?: (req: Request, rawBody: Buffer) => boolean;
  normalise: (body: unknown, ctx: { receivedAt: string }) => NormaliseResult;
}

function sharedCredential(token: string | undefined, basic: string | undefined): SharedCredential | undefined {
  return token || basic ? { token, basic } : undefined;
}

function endpoints(config: Config): Record<string, ProviderEndpoint> {
  const opsgenie = sharedCredential(config.OPSGENIE_WEBHOOK_TOKEN, config.OPSGENIE_WEBHOOK_BASIC_AUTH);
  const alertmanager = sharedCredential(config.ALERTMANAGER_WEBHOOK_TOKEN, config.ALERTMANAGER_WEBHOOK_BASIC_AUTH);
  return {
    pagerduty: {
      provider: 'pagerduty',
      authenticate:
        config.PAGERDUTY_WEBHOOK_SECRETS.length > 0
          ? (req, raw) =>
              verifyPagerDutySignature(raw, req.header('x-pagerduty-signature'), config.PAGERDUTY_WEBHOOK_SECRETS)
          : undefined,
      normalise: normalisePagerDuty,
    },
    opsgenie: {
      provider: 'opsgenie',
      authenticate: opsgenie ? (req) => verifyAuthorizationHeader(req.header('authorization'), opsgenie) : undefined,
      normalise: normaliseOpsgenie,
    },
    alertmanager: {
      provider: 'alertmanager',
      authenticate: alertmanager
        ? (req) => verifyAuthorizationHeader(req.header('authorization'), alertmanager)
        : undefined,
      normalise: normaliseAlertmanager,
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new InputError('request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * POST /v1/webhooks/{pagerduty,opsgenie,alertmanager}. The order of checks is the order of
 * cost: rate limit, content type, size (while reading), credentials over the raw bytes, JSON,
 * schema. 202 only once Kafka acknowledged every new event; 503 + Retry-After otherwise, so
 * the provider retries and nothing acknowledged is lost.
 */
export function createWebhookRouter(deps: WebhookRouterDeps): Router {
  const router = Router();
  const byName = endpoints(deps.config);
  for (const [name, endpoint] of Object.entries(byName)) {
    if (!endpoint.authenticate)
      deps.logger.warn({ provider: name }, 'no webhook credential configured: endpoint disabled');
  }

  router.post(
    '/v1/webhooks/:provider',
    (req, _res, next) => {
      const provider = String(req.params.provider);
      const endpoint = byName[provider];
      if (!endpoint) return next(new NotFoundError(`unknown webhook provider '${provider}'`));
      if (!endpoint.authenticate)
        return next(new NotFoundError(`the ${provider} webhook is not configured on this server`));
      next();
    },
    rateLimit({
      windowMs: 60_000,
      limit: deps.config.WEBHOOK_RATE_LIMIT_PER_MINUTE,
      key: (req) => `webhook:${String(req.params.provider)}`,
    }),
    (req, _res, next) => {
      if (!req.is('application/json')) {
        return next(new UnsupportedMediaTypeError('send the webhook as Content-Type: application/json'));
      }
      next();
    },
    express.raw({ type: () => true, limit: deps.config.WEBHOOK_BODY_LIMIT_BYTES }),
    async (req, res) => {
      const endpoint = byName[String(req.params.provider)]!;
      const provider = endpoint.provider;
      const stopTimer = deps.metrics.duration.startTimer({ provider });
      try {
        const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (!endpoint.authenticate!(req, raw)) {
          throw new AuthenticationError(
            provider === 'pagerduty'
              ? 'X-PagerDuty-Signature is missing or matches no configured secret'
              : 'missing or wrong Authorization credential',
          );
        }
        const body = parseJson(raw);
        const result = endpoint.normalise(body, { receivedAt: new Date().toISOString() });
        if (result.outcome === 'invalid') {
          throw new InputError(
            `invalid ${provider} webhook: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
            {
              issues: result.issues,
            },
          );
        }
        if (result.outcome === 'ignored') {
          await recordIgnored(deps.pool, provider, result, body, req.header('x-webhook-id') ?? req.id);
          deps.metrics.ignored.inc({ provider, event_type: result.eventType.slice(0, 64) });
          deps.logger.info(
            { provider, eventType: result.eventType, reason: result.reason, requestId: req.id },
            'webhook ignored',
          );
          res.status(202).json({ status: 'ignored', eventType: result.eventType, reason: result.reason });
          return;
        }
        const { published, duplicates } = await publishNew(deps, provider, result.events);
        deps.metrics.accepted.inc({ provider }, published.length);
        if (duplicates > 0) deps.metrics.duplicates.inc({ provider }, duplicates);
        res.status(202).json({
          status: 'accepted',
          events: published.map((e) => ({ id: e.eventId, incidentId: e.incidentId, kind: e.kind })),
          duplicates,
        });
      } finally {
        stopTimer();
      }
    },
  );
  // Counts every rejection, including those raised before the handler (415, 413, 429).
  router.use('/v1/webhooks/:provider', ((error, req, _res, next) => {
    const provider = String(req.params.provider);
    if (byName[provider]) {
      deps.metrics.rejected.inc({ provider, reason: toServiceError(error)?.code ?? 'internal_error' });
    }
    next(error);
  }) satisfies ErrorRequestHandler);
  return router;
}

function dbUnavailable(error: unknown): never {
  if (isTransientDbError(error)) {
    throw new DependencyUnavailableError('the ingest database is unavailable; retry later', 5, { cause: error });
  }
  throw error;
}

async function recordIgnored(
  pool: pg.Pool,
  provider: Provider,
  result: { eventType: string; reason: string },
  body: unknown,
  id: string,
) {
  await pool
    .query(
      `insert into ingest.ignored_events (id, provider, event_type, reason, payload)
       values ($1, $2, $3, $4, $5::jsonb) on conflict (id) do nothing`,
      // PostgreSQL's jsonb refuses \u0000, which JSON allows: stored as U+FFFD.
      [`${provider}:${id}`, provider, result.eventType.slice(0, 256), result.reason, JSON.stringify(storable(body))],
    )
    .catch(dbUnavailable);
}

/**
 * Publishes the events whose ids were not accepted before, then records their ids. A crash
 * between the two may publish an event twice; consumers are idempotent by event id.
 */
async function publishNew(deps: WebhookRouterDeps, provider: Provider, events: IncidentEvent[]) {
  const ids = events.map((e) => e.eventId);
  const seen = await deps.pool
    .query<{ event_id: string }>('select event_id from ingest.received_events where event_id = any($1::text[])', [ids])
    .catch(dbUnavailable);
  const known = new Set(seen.rows.map((r) => r.event_id));
  const fresh = new Map<string, IncidentEvent>();
  for (const event of events) if (!known.has(event.eventId)) fresh.set(event.eventId, event);
  const published = [...fresh.values()];
  if (published.length > 0) {
    // The normalisers validated every event they emitted: the envelope is not validated twice.
    await deps.events.publishNow('incident-events', published, {
      source: `/webhook-ingest/${provider}`,
      prevalidated: true,
    });
    await deps.pool
      .query(
        `insert into ingest.received_events (event_id, provider, incident_id)
         select * from unnest($1::text[], $2::ingest.provider[], $3::text[]) on conflict (event_id) do nothing`,
        [published.map((e) => e.eventId), published.map(() => provider), published.map((e) => e.incidentId)],
      )
      .catch(dbUnavailable);
  }
  return { published, duplicates: events.length - published.length };
}
