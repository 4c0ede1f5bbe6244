import { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/*
 * Spans go through @opentelemetry/api: without an SDK registered they cost nothing; a
 * deployment that registers one (OTEL_* settings) gets real traces. The W3C propagator is
 * installed so that `traceparent` crosses HTTP and Kafka in either case.
 */
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

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
