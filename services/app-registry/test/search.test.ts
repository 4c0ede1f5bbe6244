import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../src/db/schema.js';
import type { AppView } from '../src/model.js';
import { cursorFor, LIST_COLUMNS, orderOf, pageWhere, parseListQuery, tsQuery } from '../src/query.js';
import { viewOf } from '../src/views.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

/*
 * A one-word search sorted by name reads its matches from the word index (app_words, kept by
 * triggers on apps); several words, other letters or another sort take the GIN index on the
 * search vector. Both must find
 * exactly what the search vector matches, in the same order, and follow every change.
 */
describe('app-registry free-text search', () => {
  let h: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness();
    const apps = [
      anApp('invoice-approver', { team: { name: 'billing-ops', contact: 'billing@example.com' }, tags: ['invoices'] }),
      anApp('invoice-archive', { purpose: 'Keeps the café receipts', tags: ['archive'] }),
      anApp('payroll-sync', {
        owner: { name: 'Ines Invernizzi', contact: 'ines.inv@example.com' },
        endpoints: [{ host: 'salaries.internal.example.com' }],
      }),
      anApp('room-booking', { repository: 'https://git.example.com/facilities/rooms', tags: ['facilities'] }),
      anApp('visitor-badges', { purpose: 'Badges for visitors, invoiced monthly', costCentre: 'CC-9001' }),
    ];
    for (const app of apps) {
      const res = await h.json<Registered>('/apps/v1/apps', {
        method: 'POST',
        body: JSON.stringify(app),
        token: h.tokens.responder,
      });
      expect(res.status).toBe(201);
      ids[app.name] = res.body.app.id;
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  const list = async (query: string) => {
    const res = await h.json<{ items: AppView[]; nextCursor: string | null }>(`/apps/v1/apps?${query}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  /** What the search vector itself matches, in name order: the reference for every search. */
  const matching = async (text: string, order: 'asc' | 'desc' = 'asc') =>
    (
      await h.sql<{ name: string }>(
        `select name from app_registry.apps where state <> 'purged'
           and (search @@ to_tsquery('simple', $1) or id = $2) order by name ${order}, id ${order}`,
        [tsQuery(text) ?? '', text],
      )
    ).map((r) => r.name);

  it('finds by the beginning of any word of the name, purpose, owners, team, tags and hosts, in name order, as the search vector does', async () => {
    const cases: [string, string[]][] = [
      ['invoice', ['invoice-approver', 'invoice-archive', 'visitor-badges']],
      ['INV', ['invoice-approver', 'invoice-archive', 'payroll-sync', 'visitor-badges']],
      ['invoice appr', ['invoice-approver']],
      ['billing', ['invoice-approver']],
      ['salaries', ['payroll-sync']],
      ['ines', ['payroll-sync']],
      ['facilities', ['room-booking']],
      ['visitors', ['visitor-badges']],
      ['café', ['invoice-archive']],
      ['nothing-like-this', []],
    ];
    for (const [text, names] of cases) {
      expect(await matching(text), text).toEqual(names);
      const found = await list(`q=${encodeURIComponent(text)}`);
      expect(
        found.items.map((a) => a.name),
        text,
      ).toEqual(names);
      const desc = await list(`q=${encodeURIComponent(text)}&order=desc`);
      expect(
        desc.items.map((a) => a.name),
        `${text} desc`,
      ).toEqual(await matching(text, 'desc'));
    }
    // The id, typed whole, finds its app.
    const byId = await list(`q=${ids['room-booking']}`);
    expect(byId.items.map((a) => a.name)).toEqual(['room-booking']);
  });

  it('pages through the matches with a cursor, and keeps the other filters', async () => {
    const first = await list('q=inv&limit=3');
    expect(first.items.map((a) => a.name)).toEqual(['invoice-approver', 'invoice-archive', 'payroll-sync']);
    const rest = await list(`q=inv&limit=3&cursor=${first.nextCursor}`);
    expect(rest).toEqual({ items: [expect.objectContaining({ name: 'visitor-badges' })], nextCursor: null });
    const tagged = await list('q=invoice&tag=archive');
    expect(tagged.items.map((a) => a.name)).toEqual(['invoice-archive']);
  });

  it('follows a rename and a new purpose at once', async () => {
    const edit = await h.json<AppView>(`/apps/v1/apps/${ids['room-booking']}`, {
      method: 'PATCH',
      body: JSON.stringify({ name: 'desk-finder', purpose: 'Find a free desk' }),
      token: h.tokens.responder,
      headers: { 'if-match': '"v1"' },
    });
    expect(edit.status).toBe(200);
    expect((await list('q=booking')).items.map((a) => a.name)).toEqual([]);
    expect(await matching('booking')).toEqual([]);
    expect((await list('q=desk')).items.map((a) => a.name)).toEqual(['desk-finder']);
    expect((await list('q=free')).items.map((a) => a.name)).toEqual(await matching('free'));
    expect(await matching('free')).toEqual(['desk-finder']);
    // Still found by what did not change.
    expect((await list('q=facilities')).items.map((a) => a.name)).toEqual(['desk-finder']);
  });

  it("answers a page byte for byte as drizzle's select of the same statement, mapped to the view, would", async () => {
    const pool = new pg.Pool({ connectionString: h.databaseUrl, max: 1 });
    try {
      const db = drizzle(pool, { schema });
      const queries = ['', 'limit=2', 'q=invoice', 'q=inv%20app', 'sort=lastActivityAt&order=desc&limit=3'];
      const first = await h.api('/apps/v1/apps?limit=2');
      const next = ((await first.json()) as { nextCursor: string }).nextCursor;
      queries.push(`limit=2&cursor=${next}`);
      for (const query of queries) {
        const q = parseListQuery(Object.fromEntries(new URLSearchParams(query)));
        const rows = await db
          .select(LIST_COLUMNS)
          .from(schema.apps)
          .where(pageWhere(q))
          .orderBy(...orderOf(q))
          .limit(q.limit + 1);
        const items = rows.slice(0, q.limit);
        const last = items[items.length - 1];
        const expected = JSON.stringify({
          items: items.map(viewOf),
          nextCursor: rows.length > q.limit && last ? cursorFor(q, last) : null,
        });
        const res = await h.api(`/apps/v1/apps?${query}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        // No weak ETag hashed from the page: the list is always read afresh.
        expect(res.headers.get('etag')).toBeNull();
        expect(await res.text(), query).toBe(expected);
      }
    } finally {
      await pool.end();
    }
  });
});
