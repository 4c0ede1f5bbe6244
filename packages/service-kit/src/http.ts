import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import type { Registry } from 'prom-client';
import './express-augment.js';
import { type Component, checkAll } from './component.js';
import {
  AuthenticationError,
  DependencyUnavailableError,
  InputError,
  NotAllowedError,
  NotFoundError,
  OverloadedError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceError,
  UnsupportedMediaTypeError,
} from './errors.js';
import type { Logger } from './logger.js';
import { httpMetrics, registryText, renderedMetrics } from './metrics.js';
import { serverSpan } from './tracing.js';

export interface HttpAppOptions {
  logger: Logger;
  registry: Registry;
  /** Readiness is the aggregate of these components' health checks. */
  components: () => readonly Component[];
  /** Express `trust proxy` setting, so rate limits key on the client behind an ingress. */
  trustProxy?: boolean | number | string;
  /** Served at GET /openapi.json (built once, on first request). */
  openApi?: () => unknown;
  /** Told about every refused request (401, 403) before the refusal is sent, e.g. to audit it. */
  onRefused?: RefusalHook;
}

/**
 * Called by the error middleware for each request refused with AuthenticationError (401) or
 * NotAllowedError (403), whichever middleware or handler refused it (authentication, a role
 * check, a CSRF check). Awaited before the refusal is sent; if it fails, the failure is logged
 * and the refusal stands.
 */
export type RefusalHook = (req: Request, error: AuthenticationError | NotAllowedError) => Promise<void> | void;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The one way a service builds its HTTP app: request ids, access logs, metrics, health and
 * readiness, then the service's routes (`mount`), then 404 and the error middleware.
 * It never listens; main.ts does.
 */
export function createHttpApp(opts: HttpAppOptions, mount: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', opts.trustProxy ?? false);
  const metrics = httpMetrics(opts.registry);

  // Every request runs in a server span whose parent is the caller's `traceparent`, so what the
  // handler publishes to Kafka or sends to a provider continues the caller's trace.
  app.use(serverSpan);
  app.use((req, res, next) => {
    const incoming = req.header('x-request-id');
    req.id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // The route label is taken when the router matches a route: by the time the response
    // finishes, a router mounted under a prefix (`app.use('/v1', router)`) that passed an
    // error on has already restored req.baseUrl, which would drop the prefix from the label.
    let matchedRoute: string | undefined;
    let current: unknown = req.route;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (value: { path?: unknown } | undefined) => {
        current = value;
        if (value) matchedRoute = `${req.baseUrl}${String(value.path)}`;
      },
    });
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = matchedRoute ?? 'unmatched';
      metrics.requestDuration.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
      const quiet = req.path.startsWith('/health/') || req.path === '/metrics';
      opts.logger[quiet ? 'debug' : 'info'](
        {
          requestId: req.id,
          method: req.method,
          route,
          status: res.statusCode,
          durationMs: Math.round(seconds * 1000 * 10) / 10,
        },
        'request',
      );
    });
    next();
  });

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', async (req, res) => {
    const result = await checkAll(opts.components());
    let { checks } = result;
    // Through a proxy (an Ingress adds X-Forwarded-For) the caller may be anyone, and raw errors
    // name hosts and database users: it learns what failed, the log gets why.
    if (!result.healthy && (req.header('x-forwarded-for') || req.header('forwarded'))) {
      opts.logger.warn({ checks }, 'not ready (reasons withheld from a proxied request)');
      checks = Object.fromEntries(
        Object.entries(checks).map(([id, s]) => [id, s.healthy ? s : { healthy: false, reason: 'unavailable' }]),
      );
    }
    res.status(result.healthy ? 200 : 503).json({ status: result.healthy ? 'ready' : 'not_ready', checks });
  });
  app.get('/metrics', async (_req, res) => {
    const [text, rendered] = await Promise.all([registryText(opts.registry), renderedMetrics(opts.registry)]);
    res.setHeader('Content-Type', opts.registry.contentType);
    if (rendered.length === 0) {
      res.send(text);
      return;
    }
    // Sections a service renders itself (registerInfoMetric), after a blank line like prom-client's.
    res.write(`${text}\n`);
    for (const chunk of rendered) res.write(chunk);
    res.end();
  });

  if (opts.openApi) {
    let document: unknown;
    app.get('/openapi.json', (_req, res) => {
      document ??= opts.openApi!();
      res.json(document);
    });
  }

  mount(app);

  app.use((req, _res, next) => next(new NotFoundError(`no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(opts.logger, metrics.errors, opts.onRefused));
  return app;
}

/**
 * The typed error behind `error`: itself when it is one, or the mapping of the errors that
 * express's body parsers raise (they carry a `type`). Null for unexpected errors.
 */
export function toServiceError(error: unknown): ServiceError | null {
  if (error instanceof ServiceError) return error;
  const parserError = error as { type?: string; message?: string; status?: unknown };
  // The router's answer to a path parameter that is not valid percent-encoding: a client
  // mistake (its own path echoed back), not a 500.
  if (error instanceof URIError && parserError.status === 400) {
    return new InputError(`${error.message}: the path is not valid percent-encoding`);
  }
  switch (parserError.type) {
    case 'entity.too.large':
      return new PayloadTooLargeError('request body is larger than this endpoint accepts');
    case 'entity.parse.failed':
      return new InputError('request body is not valid JSON');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError(parserError.message ?? 'unsupported body encoding');
    case 'request.aborted':
      return new InputError('request aborted by the client');
    default:
      return null;
  }
}

/** Maps typed errors to JSON bodies `{ error: { code, message, details?, requestId } }`. */
export function errorHandler(
  logger: Logger,
  errorsCounter?: { inc(labels: Record<string, string>): void },
  onRefused?: RefusalHook,
): ErrorRequestHandler {
  return async (err, req, res, _next) => {
    const known = toServiceError(err);
    const status = known?.status ?? 500;
    const code = known?.code ?? 'internal_error';
    if (status >= 500) {
      logger.error({ err, requestId: req.id, method: req.method, path: req.path }, 'request failed');
    }
    if (onRefused && (known instanceof AuthenticationError || known instanceof NotAllowedError)) {
      try {
        await onRefused(req, known);
      } catch (hookError) {
        logger.error(
          { err: hookError, requestId: req.id, method: req.method, path: req.path, status },
          'recording a refused request failed',
        );
      }
    }
    if (
      err instanceof RateLimitedError ||
      err instanceof DependencyUnavailableError ||
      err instanceof OverloadedError
    ) {
      res.setHeader('Retry-After', String(err.retryAfterSeconds));
    }
    errorsCounter?.inc({ code, status_code: String(status) });
    if (res.headersSent) {
      // Part of the response is out: end the connection so the client sees a broken response
      // instead of waiting for the rest of it.
      res.destroy();
      return;
    }
    res.status(status).json({
      error: {
        code,
        // Unknown errors are not described to the client: their messages may carry internals.
        message: known?.message ?? 'internal error',
        ...(known?.details ? { details: known.details } : {}),
        requestId: req.id,
      },
    });
  };
}

/**
 * A per-route rate limit (fixed window, in memory: per replica). `key` picks the bucket,
 * e.g. the webhook source; the default is the client address.
 */
export function rateLimit(opts: { windowMs: number; limit: number; key?: (req: Request) => string }): RequestHandler {
  return expressRateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    ...(opts.key ? { keyGenerator: opts.key } : {}),
    handler: (_req, _res, next, options) =>
      next(new RateLimitedError('too many requests: slow down and retry later', Math.ceil(options.windowMs / 1000))),
  });
}
