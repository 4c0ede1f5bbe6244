import { describe, expect, it } from 'vitest';
import { IsoDateTime, isoFromEpochMs, isoFromRfc3339 } from './time.js';

describe(isoFromRfc3339.name, () => {
  it.each([
    ['2025-11-20T09:14:03Z', '2025-11-20T09:14:03.000Z'],
    ['2025-11-20T09:14:03.5Z', '2025-11-20T09:14:03.500Z'],
    ['2025-11-20T09:14:03.123456789Z', '2025-11-20T09:14:03.123Z'],
    ['2025-11-20T10:14:03.123+01:00', '2025-11-20T09:14:03.123Z'],
    ['2025-11-20T00:14:03-05:30', '2025-11-20T05:44:03.000Z'],
    ['2024-02-29t09:14:03z', '2024-02-29T09:14:03.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('normalises %s to UTC', (input, expected) => {
    expect(isoFromRfc3339(input)).toBe(expected);
    expect(IsoDateTime.safeParse(expected).success).toBe(true);
  });

  it.each([
    '1',
    '2025-11-20',
    'Thu, 20 Nov 2025 09:14:03 GMT',
    '2025-02-29T00:00:00Z',
    '2025-11-31T00:00:00Z',
    '2025-11-20T24:00:00Z',
    '2025-11-20T09:14:60Z',
    '2025-11-20T09:14:03+24:00',
    '',
  ])('rejects %j', (input) => {
    expect(isoFromRfc3339(input)).toBeNull();
  });
});

describe(isoFromEpochMs.name, () => {
  it('renders epoch milliseconds', () => {
    expect(isoFromEpochMs(1_763_630_043_512)).toBe('2025-11-20T09:14:03.512Z');
  });

  it('refuses times that cannot be written as a four-digit year', () => {
    expect(isoFromEpochMs(1e17)).toBeNull();
    expect(isoFromEpochMs(-1e15)).toBeNull();
    expect(isoFromEpochMs(Number.NaN)).toBeNull();
  });
});
