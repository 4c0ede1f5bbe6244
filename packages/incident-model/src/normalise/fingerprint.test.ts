import { describe, expect, it } from 'vitest';
import { alertmanagerFingerprint } from './fingerprint.js';

describe(alertmanagerFingerprint.name, () => {
  // Expected values from prometheus/common model tests (TestMetricToFingerprint), as decimal uint64.
  it('matches Prometheus for the empty label set', () => {
    expect(alertmanagerFingerprint({})).toBe(14695981039346656037n.toString(16).padStart(16, '0'));
    expect(alertmanagerFingerprint({})).toBe('cbf29ce484222325');
  });

  it('matches Prometheus for a two-label set', () => {
    const labels = { name: 'garland, briggs', fear: 'love is not enough' };
    expect(alertmanagerFingerprint(labels)).toBe(5799056148416392346n.toString(16).padStart(16, '0'));
  });

  it('does not depend on label order', () => {
    expect(alertmanagerFingerprint({ a: '1', b: '2', c: '3' })).toBe(
      alertmanagerFingerprint({ c: '3', a: '1', b: '2' }),
    );
  });

  it('separates names from values', () => {
    expect(alertmanagerFingerprint({ ab: 'c' })).not.toBe(alertmanagerFingerprint({ a: 'bc' }));
    expect(alertmanagerFingerprint({ a: '' })).not.toBe(alertmanagerFingerprint({}));
  });

  it('hashes UTF-8 bytes and sorts names bytewise like Go', () => {
    // U+FF5E sorts before U+1F600 by UTF-8 bytes (ef… < f0…) but after it by UTF-16 units (ff5e > d83d).
    const labels = { '\u{1F600}': 'x', '\uFF5E': 'y' };
    expect(alertmanagerFingerprint(labels)).toBe(fnv1a64(['\uFF5E', 'y', '\u{1F600}', 'x']));
    expect(alertmanagerFingerprint(labels)).not.toBe(fnv1a64(['\u{1F600}', 'x', '\uFF5E', 'y']));
  });

  it('agrees with a plain FNV-1a over name, 0xff, value, 0xff in sorted order', () => {
    const labels = { severity: 'critical', alertname: 'CheckoutHighErrorRate', job: 'checkout' };
    expect(alertmanagerFingerprint(labels)).toBe(
      fnv1a64(['alertname', 'CheckoutHighErrorRate', 'job', 'checkout', 'severity', 'critical']),
    );
  });
});

/** Reference FNV-1a 64 over the UTF-8 bytes of `parts`, each followed by 0xff. */
function fnv1a64(parts: string[]): string {
  let hash = 0xcbf29ce484222325n;
  for (const part of parts) {
    for (const byte of [...Buffer.from(part, 'utf8'), 0xff]) {
      hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
    }
  }
  return hash.toString(16).padStart(16, '0');
}
