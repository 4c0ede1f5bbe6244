import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for secrets of any length: both sides are hashed first, so neither
 * the content nor the length of the expected value leaks through timing.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export interface SharedCredential {
  token?: string | undefined;
  /** `user:password` */
  basic?: string | undefined;
}

/**
 * Opsgenie and Alertmanager sign nothing: they send a configured `Authorization` header,
 * either `Bearer <token>` or HTTP basic auth. Answers which of the configured credentials the
 * header carries (it names the sender's rate-limit bucket), or undefined for none.
 */
export function matchAuthorizationHeader(
  header: string | undefined,
  credential: SharedCredential,
): 'token' | 'basic' | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && credential.token) return safeEqual(value, credential.token) ? 'token' : undefined;
  if (scheme === 'basic' && credential.basic) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return safeEqual(decoded, credential.basic) ? 'basic' : undefined;
  }
  return undefined;
}

export function verifyAuthorizationHeader(header: string | undefined, credential: SharedCredential): boolean {
  return matchAuthorizationHeader(header, credential) !== undefined;
}
