import { describe, expect, it } from 'vitest';
import { defaultMonth, money } from './cost.js';

describe('the Cost page', () => {
  it('shows amounts with two decimals and the currency', () => {
    expect(money('1234.5', 'EUR')).toBe('1,234.50 EUR');
    expect(money('0.000000001', 'USD')).toBe('0.00 USD');
  });

  it('opens on the month the latest import ends in, else the current month', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(defaultMonth([{ lastDay: '2026-11-30' }, { lastDay: '2026-10-31' }], now)).toBe('2026-11');
    expect(defaultMonth([], now)).toBe('2026-12');
  });
});
