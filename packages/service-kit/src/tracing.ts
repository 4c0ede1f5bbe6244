import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { RequestHandler } from 'express';

/*
 * Spans go through @opentelemetry/api: without an SDK registered they cost nothing; a
 * deployment that registers one (OTEL_* settings) gets real traces. The W3C propagator and an
 * AsyncLocalStorage context manager are installed so that `traceparent` crosses HTTP and Kafka
 * in either case: without a context manager `context.with` is a no-op and every trace would
 * stop at the first await.
 */
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

export const tracer = () => trace.getTracer('micro-oncall');

/** The current context's traceparent, for Kafka headers and the CloudEvents extension. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

export function contextFromTraceparent(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** Runs `fn` inside a span (child of `parent` when given), recording errors. */
export async function withSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes },
    opts.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: 2 });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export { SpanKind };

/**
 * Express middleware: the rest of the request runs in a SERVER span (named by method; the
 * route is an attribute once known) whose parent is the incoming `traceparent`, if any.
 */
export const serverSpan: RequestHandler = (req, res, next) => {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer().startSpan(
    `HTTP ${req.method}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } },
    parent,
  );
  res.once('finish', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (req.route?.path) span.setAttribute('http.route', `${req.baseUrl}${String(req.route.path)}`);
    if (res.statusCode >= 500) span.setStatus({ code: 2 });
    span.end();
  });
  context.with(trace.setSpan(parent, span), next);
};
