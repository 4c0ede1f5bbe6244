import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for a presented secret (a token in a URL or header, a password) and the
 * configured one: both are hashed first, so neither the content nor the length of the expected
 * value leaks through timing. The one comparison every service uses for shared secrets.
 */
export function secretsEqual(presented: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The `user:password` an `Authorization: Basic …` header carries (RFC 7617), or null when the
 * header is absent, of another scheme, or not base64. Compare the result with `secretsEqual`.
 */
export function basicCredentials(header: string | undefined): string | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : null;
}
