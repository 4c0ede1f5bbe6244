import type { z } from 'zod';

/**
 * The small set of errors handlers throw. One error middleware maps them to status codes
 * (see http.ts); handlers never write 4xx/5xx responses by hand.
 */
export class ServiceError extends Error {
  readonly status: number = 500;
  readonly code: string = 'internal_error';
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class InputError extends ServiceError {
  override readonly status = 400;
  override readonly code = 'invalid_input';

  /** Turns zod issues into one InputError that names each field path. */
  static fromZod(error: z.ZodError, what = 'request'): InputError {
    const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return new InputError(`invalid ${what}: ${summary}`, { issues });
  }
}
export class AuthenticationError extends ServiceError {
  override readonly status = 401;
  override readonly code = 'unauthenticated';
}
export class NotAllowedError extends ServiceError {
  override readonly status = 403;
  override readonly code = 'forbidden';
}
export class NotFoundError extends ServiceError {
  override readonly status = 404;
  override readonly code = 'not_found';
}
export class ConflictError extends ServiceError {
  override readonly status = 409;
  override readonly code = 'conflict';
}
export class PayloadTooLargeError extends ServiceError {
  override readonly status = 413;
  override readonly code = 'payload_too_large';
}
export class UnsupportedMediaTypeError extends ServiceError {
  override readonly status = 415;
  override readonly code = 'unsupported_media_type';
}
export class RateLimitedError extends ServiceError {
  override readonly status = 429;
  override readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** This server is at a capacity limit of its own (e.g. open streams): retry later, maybe on another replica. */
export class OverloadedError extends ServiceError {
  override readonly status = 503;
  override readonly code = 'overloaded';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** A dependency (Kafka, PostgreSQL, a provider API) is unavailable: retry later. */
export class DependencyUnavailableError extends ServiceError {
  override readonly status = 503;
  override readonly code = 'dependency_unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
    options?: { cause?: unknown },
  ) {
    super(message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
