import { describe, expect, it } from 'vitest';
import { parseListQuery, tsQuery } from './query.js';

describe('tsQuery', () => {
  it('turns words into prefix terms and drops everything else', () => {
    expect(tsQuery('Expense appro')).toBe('expense:* & appro:*');
    expect(tsQuery("x' | !(y) & :*")).toBe('x:* & y:*');
    expect(tsQuery('!!!')).toBeNull();
  });
});

describe('parseListQuery', () => {
  it('reads comma-separated filters and refuses unknown values and parameters by name', () => {
    expect(parseListQuery({ state: 'active,idle', tier: 'high,none' })).toMatchObject({
      state: ['active', 'idle'],
      tier: ['high', 'none'],
      sort: 'name',
      limit: 50,
    });
    expect(() => parseListQuery({ state: 'sleeping' })).toThrow(/state/);
    expect(() => parseListQuery({ colour: 'red' })).toThrow(/colour/);
    expect(() => parseListQuery({ cursor: 'bm90IGEgY3Vyc29y' })).toThrow(/cursor: not a cursor returned by this API/);
  });
});
