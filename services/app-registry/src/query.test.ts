import { QueryBuilder } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import * as schema from './db/schema.js';
import { LIST_COLUMNS, listQueryOf, listRowOf, orderOf, pageWhere, parseListQuery, tsQuery } from './query.js';

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

describe('listQueryOf', () => {
  it('sends exactly the statement drizzle builds for the page, for every kind of list', () => {
    const cursor = (s: string, o: string, v: string) =>
      Buffer.from(JSON.stringify({ s, o, v, id: 'app_1' })).toString('base64url');
    const lists: Record<string, string>[] = [
      {},
      { state: 'active' },
      { state: 'active', tier: 'high,none', runtime: 'wasm', limit: '10' },
      { state: 'idle,disabled', sort: 'lastActivityAt' },
      { team: 'HR-3', owner: 'none', tag: 'x', host: 'A.example.com', violations: 'true' },
      { q: 'campaign' },
      { q: 'campaign tracker', order: 'desc' },
      { q: 'café' },
      { q: 'refund', sort: 'lastActivityAt' },
      { cursor: cursor('name', 'asc', 'b') },
      { state: 'active', sort: 'lastActivityAt', cursor: cursor('lastActivityAt', 'desc', '2026-01-01T00:00:00Z') },
      { sort: 'riskScore', order: 'asc', repository: 'https://git/x_y%' },
    ];
    for (const params of lists) {
      const q = parseListQuery(params);
      const drizzle = new QueryBuilder()
        .select(LIST_COLUMNS)
        .from(schema.apps)
        .where(pageWhere(q))
        .orderBy(...orderOf(q))
        .limit(q.limit + 1)
        .toSQL();
      expect(listQueryOf(q), JSON.stringify(params)).toEqual({ sql: drizzle.sql, params: drizzle.params });
    }
  });
});

describe('listRowOf', () => {
  it("names an array-mode row's values by field and decodes them as drizzle's select does", () => {
    const keys = Object.keys(LIST_COLUMNS);
    const values: unknown[] = keys.map((key) =>
      key === 'dataClasses'
        ? '{pii,internal}'
        : key === 'environments'
          ? ['dev', 'prod']
          : key === 'riskScore'
            ? 42
            : null,
    );
    values[keys.indexOf('name')] = 'expense-bot';
    const row = listRowOf(values) as unknown as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(keys);
    // An enum array comes from pg as PostgreSQL's text; drizzle's column parses it.
    expect(row.dataClasses).toEqual(['pii', 'internal']);
    expect(row.environments).toEqual(['dev', 'prod']);
    expect(row.riskScore).toBe(42);
    expect(row.name).toBe('expense-bot');
    expect(row.ownerName).toBeNull();
  });
});
