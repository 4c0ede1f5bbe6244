import { createHash } from 'node:crypto';
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
  OverloadedError,
  RateLimitedError,
  rateLimit,
  toServiceError,
  UnsupportedMediaTypeError,
} from '@micro-oncall/service-kit';
import express, { type ErrorRequestHandler, type Request, Router } from 'express';
import type pg from 'pg';
import { matchAuthorizationHeader, type SharedCredential } from '../credentials.js';
import { EventDedup } from '../dedup.js';
import type { Config } from '../env.js';
import { clientAddressBucket, type EventLoopDelayGuard, FailureBudget, InFlightBudget } from '../limits.js';
import { type IngestMetrics, ignoredEventTypeLabel, rejectionReasonLabel } from '../metrics.js';

export interface WebhookRouterDeps {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  /** Publishes straight to Kafka: a webhook is answered 202 only once the broker acknowledged its events. */
  events: DirectPublisher;
  metrics: IngestMetrics;
  /** Refuses webhooks while the replica's event loop is behind (WEBHOOK_MAX_EVENT_LOOP_DELAY_MS). */
  loopDelay: EventLoopDelayGuard;
}

interface ProviderEndpoint {
  provider: Provider;
  /**
   * Which configured credential the request carries, named by position or kind (never by its
   * value): it is the request's rate-limit bucket. Undefined when it carries none. The function
   * itself is undefined when no credential is configured: the endpoint is switched off.
   */
  authenticate?: (req: Request, rawBody: Buffer) => string | undefined;
  normalise: (body: unknown, ctx: { receivedAt: string }) => NormaliseResult;
}

/** A client address refused for its unauthenticated failures: a 429 like any other, counted apart. */
class AddressRateLimitedError extends RateLimitedError {}

function sharedCredential(token: string | undefined, basic: string | undefined): SharedCredential | undefined {
  return token || basic ? { token, basic } : undefined;
}

function endpoints(config: Config): Record<string, ProviderEndpoint> {
  const opsgenie = sharedCredential(config.OPSGENIE_WEBHOOK_TOKEN, config.OPSGENIE_WEBHOOK_BASIC_AUTH);
  const alertmanager = sharedCredential(config.ALERTMANAGER_WEBHOOK_TOKEN, config.ALERTMANAGER_WEBHOOK_BASIC_AUTH);
  const pagerDutySecrets = config.PAGERDUTY_WEBHOOK_SECRETS;
  return {
    pagerduty: {
      provider: 'pagerduty',
      authenticate:
        pagerDutySecrets.length > 0
          ? (req, raw) => {
              const header = req.header('x-pagerduty-signature');
              // During a rotation each secret is its own sender: its own bucket, by position.
              const index = pagerDutySecrets.findIndex((secret) => verifyPagerDutySignature(raw, header, [secret]));
              return index < 0 ? undefined : `secret-${index + 1}`;
            }
          : undefined,
      normalise: normalisePagerDuty,
    },
    opsgenie: {
      provider: 'opsgenie',
      authenticate: opsgenie ? (req) => matchAuthorizationHeader(req.header('authorization'), opsgenie) : undefined,
      normalise: normaliseOpsgenie,
    },
    alertmanager: {
      provider: 'alertmanager',
      authenticate: alertmanager
        ? (req) => matchAuthorizationHeader(req.header('authorization'), alertmanager)
        : undefined,
      normalise: normaliseAlertmanager,
    },
  };
}

/** The bytes express.raw read (none for a request without a body). */
const rawBody = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

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
 * POST /v1/webhooks/{pagerduty,opsgenie,alertmanager}. Checks in order of cost: the replica's
 * load (503 overloaded while its event loop is over WEBHOOK_MAX_EVENT_LOOP_DELAY_MS behind or
 * beyond WEBHOOK_MAX_IN_FLIGHT webhooks in flight), the client address's budget of unauthenticated failures, content type, size (while reading), the
 * credential over the raw bytes, then the rate limit of that credential, JSON, schema. Junk
 * therefore only ever uses up its own address's budget: it cannot make a genuine sender's
 * deliveries answer 429. 202 only once Kafka acknowledged every new event; 503 + Retry-After
 * otherwise, so the provider retries and nothing acknowledged is lost.
 */
/**
 * The body size a webhook counts against the byte budget before its body is read: its
 * Content-Length, or the body limit when it declares none (chunked) or more (it is refused with
 * 413 while reading, and held no more than the limit until then).
 */
function declaredBodyBytes(req: Request, limit: number): number {
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
}

export function createWebhookRouter(deps: WebhookRouterDeps): Router {
  const router = Router();
  // No prototype: a path like /v1/webhooks/constructor names no provider (404 unknown provider).
  const byName: Record<string, ProviderEndpoint> = Object.assign(Object.create(null), endpoints(deps.config));
  for (const [name, endpoint] of Object.entries(byName)) {
    if (!endpoint.authenticate)
      deps.logger.warn({ provider: name }, 'no webhook credential configured: endpoint disabled');
  }
  const failures = new FailureBudget({ limit: deps.config.WEBHOOK_AUTH_FAILURES_PER_MINUTE, windowMs: 60_000 });
  const inFlight = new InFlightBudget(deps.config.WEBHOOK_MAX_IN_FLIGHT, deps.config.WEBHOOK_MAX_IN_FLIGHT_BYTES);
  /** Per request past the address check: its address bucket, and its credential once authenticated. */
  const admitted = new WeakMap<Request, { client: string; credential?: string }>();
  const dedup = receivedEvents(deps.pool);

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
    (req, res, next) => {
      if (deps.loopDelay.overloaded()) {
        return next(new OverloadedError('this replica is behind on its work: retry in a second', 1));
      }
      const leave = inFlight.tryEnter(declaredBodyBytes(req, deps.config.WEBHOOK_BODY_LIMIT_BYTES));
      if (typeof leave !== 'function') {
        return next(
          new OverloadedError(
            leave === 'bytes'
              ? 'this replica is at its limit of webhook bytes in flight: retry in a second'
              : 'this replica is at its limit of webhooks in flight: retry in a second',
            1,
          ),
        );
      }
      deps.metrics.inFlight.set(inFlight.current);
      // 'close' comes after the answer is sent and also when the client goes away first.
      res.once('close', () => {
        leave();
        deps.metrics.inFlight.set(inFlight.current);
      });
      next();
    },
    (req, _res, next) => {
      // The address is the one the proxy in front reports (trust proxy: one hop).
      const client = clientAddressBucket(req.ip);
      if (failures.exhausted(client)) {
        return next(
          new AddressRateLimitedError(
            'too many unauthenticated webhooks from this address: check the credential, then retry later',
            failures.retryAfterSeconds(),
          ),
        );
      }
      admitted.set(req, { client });
      next();
    },
    (req, _res, next) => {
      if (!req.is('application/json')) {
        return next(new UnsupportedMediaTypeError('send the webhook as Content-Type: application/json'));
      }
      next();
    },
    express.raw({ type: () => true, limit: deps.config.WEBHOOK_BODY_LIMIT_BYTES }),
    (req, res, next) => {
      const endpoint = byName[String(req.params.provider)]!;
      const stopTimer = deps.metrics.duration.startTimer({ provider: endpoint.provider });
      res.once('finish', () => stopTimer());
      const credential = endpoint.authenticate!(req, rawBody(req));
      if (credential === undefined) {
        return next(
          new AuthenticationError(
            endpoint.provider === 'pagerduty'
              ? 'X-PagerDuty-Signature is missing or matches no configured secret'
              : 'missing or wrong Authorization credential',
          ),
        );
      }
      admitted.get(req)!.credential = `${endpoint.provider}:${credential}`;
      next();
    },
    rateLimit({
      windowMs: 60_000,
      limit: deps.config.WEBHOOK_RATE_LIMIT_PER_MINUTE,
      key: (req) => `webhook:${admitted.get(req)?.credential}`,
    }),
    async (req, res) => {
      const endpoint = byName[String(req.params.provider)]!;
      const provider = endpoint.provider;
      const raw = rawBody(req);
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
        await recordIgnored(deps.pool, provider, result, body, raw);
        deps.metrics.ignored.inc({ provider, event_type: ignoredEventTypeLabel(provider, result.eventType) });
        deps.logger.info(
          { provider, eventType: result.eventType, reason: result.reason, requestId: req.id },
          'webhook ignored',
        );
        res.status(202).json({ status: 'ignored', eventType: result.eventType, reason: result.reason });
        return;
      }
      const { published, duplicates } = await publishNew(deps, dedup, provider, result.events);
      deps.metrics.accepted.inc({ provider }, published.length);
      if (duplicates > 0) deps.metrics.duplicates.inc({ provider }, duplicates);
      // Every event of an Alertmanager notification carries its truncatedAlerts: counted once.
      const truncated = result.events[0]?.change?.truncatedAlerts ?? 0;
      if (truncated > 0 && published.length > 0) deps.metrics.truncatedAlerts.inc(truncated);
      res.status(202).json({
        status: 'accepted',
        events: published.map((e) => ({ id: e.eventId, incidentId: e.incidentId, kind: e.kind })),
        duplicates,
      });
    },
  );
  // Counts every rejection, including those raised before the handler (415, 413, 429); a
  // rejection before the request authenticated uses up its address's failure budget.
  router.use('/v1/webhooks/:provider', ((error, req, _res, next) => {
    const endpoint = byName[String(req.params.provider)];
    const state = admitted.get(req);
    if (state && state.credential === undefined) failures.fail(state.client);
    if (endpoint) {
      const reason =
        error instanceof AddressRateLimitedError
          ? 'address_rate_limited'
          : rejectionReasonLabel(toServiceError(error)?.code ?? 'internal_error');
      deps.metrics.rejected.inc({ provider: endpoint.provider, reason });
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

/**
 * Keeps an ignored webhook for inspection (pruned after IGNORED_EVENTS_RETENTION_HOURS). Keyed
 * by the hash of the authenticated bytes, not by a header the signature does not cover: a
 * retry or a replay of the same delivery, whatever its X-Webhook-Id, is one row.
 */
async function recordIgnored(
  pool: pg.Pool,
  provider: Provider,
  result: { eventType: string; reason: string },
  body: unknown,
  raw: Buffer,
) {
  const id = `${provider}:${createHash('sha256').update(raw).digest('hex')}`;
  await pool
    .query(
      `insert into ingest.ignored_events (id, provider, event_type, reason, payload)
       values ($1, $2, $3, $4, $5::jsonb) on conflict (id) do nothing`,
      // PostgreSQL's jsonb refuses \u0000, which JSON allows: stored as U+FFFD.
      [id, provider, result.eventType.slice(0, 256), result.reason, JSON.stringify(storable(body))],
    )
    .catch(dbUnavailable);
}

/**
 * The replica's dedup (ADR 0021): the id checks of every webhook in flight go to PostgreSQL as one
 * `select … = any($1)`, their records, after Kafka acknowledged, as one `insert … unnest`.
 */
function receivedEvents(pool: pg.Pool): EventDedup<IncidentEvent> {
  return new EventDedup<IncidentEvent>({
    async known(ids) {
      const { rows } = await pool
        .query<{ event_id: string }>('select event_id from ingest.received_events where event_id = any($1::text[])', [
          ids,
        ])
        .catch(dbUnavailable);
      return rows.map((r) => r.event_id);
    },
    async record(events) {
      await pool
        .query(
          `insert into ingest.received_events (event_id, provider, incident_id)
           select * from unnest($1::text[], $2::ingest.provider[], $3::text[]) on conflict (event_id) do nothing`,
          [events.map((e) => e.eventId), events.map((e) => e.provider), events.map((e) => e.incidentId)],
        )
        .catch(dbUnavailable);
    },
  });
}

/**
 * Publishes the events whose ids were not accepted before, then records their ids; resolves once
 * they are recorded. A crash between the two may publish an event twice; consumers are
 * idempotent by event id.
 */
function publishNew(
  deps: WebhookRouterDeps,
  dedup: EventDedup<IncidentEvent>,
  provider: Provider,
  events: IncidentEvent[],
) {
  // One validation pass: the normalisers build each event from the payload their schema parsed,
  // and their unit and property tests check every event they emit against IncidentEvent.
  return dedup.publishNew(events, (fresh) =>
    deps.events.publishNow('incident-events', fresh, { source: `/webhook-ingest/${provider}`, prevalidated: true }),
  );
}
