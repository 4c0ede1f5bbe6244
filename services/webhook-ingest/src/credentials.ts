import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality for secrets of any length: both sides are hashed first, so neither
 * the content nor the length of the expected value leaks through timing.
 */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * PagerDuty v3: `X-PagerDuty-Signature` lists one or more `v1=<hex>` entries, each the
 * HMAC-SHA256 of the raw body with a subscription secret. During rotation several entries and
 * several configured secrets may exist: any match is enough. Every pair is compared, so the
 * time taken does not depend on which one matched.
 */
export function verifyPagerDutySignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
): boolean {
  if (!header || secrets.length === 0) return false;
  const provided = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('v1='))
    .map((entry) => entry.slice(3))
    .filter((hex) => /^[0-9a-f]{64}$/i.test(hex))
    .map((hex) => Buffer.from(hex, 'hex'));
  if (provided.length === 0) return false;
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    for (const candidate of provided) {
      matched = timingSafeEqual(expected, candidate) || matched;
    }
  }
  return matched;
}

export interface SharedCredential {
  token?: string | undefined;
  /** `user:password` */
  basic?: string | undefined;
}

/**
 * Opsgenie and Alertmanager sign nothing: they send a configured `Authorization` header,
 * either `Bearer <token>` or HTTP basic auth.
 */
export function verifyAuthorizationHeader(header: string | undefined, credential: SharedCredential): boolean {
  if (!header) return false;
  const space = header.indexOf(' ');
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && credential.token) return safeEqual(value, credential.token);
  if (scheme === 'basic' && credential.basic) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return safeEqual(decoded, credential.basic);
  }
  return false;
}
