import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Provider webhook signatures, both ways: webhook-ingest verifies them, and whatever sends
 * webhooks as a provider would (the benchmarks' ceiling, drills) signs them. Pure: no I/O.
 * Imported as `@micro-oncall/incident-model/signatures`, so a process that only needs these
 * does not load the schemas.
 */

/** PagerDuty v3 `X-PagerDuty-Signature` for `rawBody` signed with one subscription secret. */
export function signPagerDuty(rawBody: string | Buffer, secret: string): string {
  return `v1=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
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
