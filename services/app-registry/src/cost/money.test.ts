import { describe, expect, it } from 'vitest';
import { formatDecimal, parseDecimal } from './money.js';

describe('cost amounts', () => {
  it('reads plain and mEn decimals exactly, in nano-units', () => {
    expect(parseDecimal('12.5')).toBe(12_500_000_000n);
    expect(parseDecimal('-0.000001')).toBe(-1_000n);
    expect(parseDecimal('1.5e-3')).toBe(1_500_000n);
    expect(parseDecimal('2E2')).toBe(200_000_000_000n);
    expect(parseDecimal('.25')).toBe(250_000_000n);
    expect(parseDecimal('0')).toBe(0n);
  });

  it('rounds half to even below the ninth decimal', () => {
    expect(parseDecimal('0.0000000005')).toBe(0n);
    expect(parseDecimal('0.0000000015')).toBe(2n);
    expect(parseDecimal('0.00000000151')).toBe(2n);
  });

  it('refuses what is no decimal: separators, words, empty, absurd exponents', () => {
    for (const text of ['1,000.00', '12 EUR', '', 'NaN', '1e999', '--1', '1.2.3', '$5']) {
      expect(parseDecimal(text), text).toBeNull();
    }
  });

  it('sums a million tenth-of-a-cent lines to exactly a thousand', () => {
    let total = 0n;
    const line = parseDecimal('0.001')!;
    for (let i = 0; i < 1_000_000; i++) total += line;
    expect(formatDecimal(total)).toBe('1000');
  });

  it('formats nano-units back as plain decimals', () => {
    expect(formatDecimal(12_500_000_000n)).toBe('12.5');
    expect(formatDecimal(-1_000n)).toBe('-0.000001');
    expect(formatDecimal(3_000_000_000n, 2)).toBe('3.00');
  });
});
