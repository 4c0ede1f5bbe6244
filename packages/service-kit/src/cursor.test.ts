import { PgDialect, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { keysetPaging, TimestampCursorKey } from './cursor.js';
import { InputError } from './errors.js';

const entries = pgTable('entries', {
  id: uuid('id').primaryKey(),
  at: timestamp('at', { withTimezone: true, mode: 'string' }).notNull(),
  title: text('title').notNull(),
});
type Entry = typeof entries.$inferSelect;

const paging = keysetPaging(entries, { sort: 'at', id: 'id' }, { sort: TimestampCursorKey, id: z.uuid() });
const query = z.object({ cursor: paging.param.optional() });
const dialect = new PgDialect();
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const ID_A = '0a7b7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d';
const ID_B = '9b2f7c1e-3d4a-4e5b-8c6d-7e8f9a0b1c2d';
const entry = (at: string, id: string): Entry => ({ id, at, title: `at ${at}` });

describe(keysetPaging.name, () => {
  it('round-trips a position through an opaque cursor in the format clients already hold', () => {
    const position = { at: '2025-11-21 10:02:00.123456+00', id: ID_A };
    const cursor = paging.encode(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    // The sort key first, under the column's key: cursors handed out before this helper still work.
    expect(cursor).toBe(base64url({ at: position.at, id: position.id }));
    expect(paging.decode(cursor)).toEqual(position);
    expect(query.parse({ cursor })).toEqual({ cursor: position });
  });

  it.each([
    ['not base64 JSON', 'abc'],
    ['JSON without the fields', base64url({ updatedAt: '2025-11-21 10:02:00+00', id: ID_A })],
    ['an id of the wrong shape', base64url({ at: '2025-11-21 10:02:00+00', id: 'inc_1' })],
    ['an impossible date', base64url({ at: '2025-02-30 10:02:00+00', id: ID_A })],
    ['a sort key that is not a timestamp', base64url({ at: 'last tuesday', id: ID_A })],
    ['a cursor longer than any we hand out', 'a'.repeat(201)],
  ])('refuses %s with a 400 naming the cursor parameter', (_what, cursor) => {
    let error: unknown;
    try {
      paging.decode(cursor);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).status).toBe(400);
    expect((error as InputError).message).toMatch(/^invalid query: cursor: /);

    const parsed = query.safeParse({ cursor });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['cursor']);
  });

  it('says what is wrong with a cursor that is not ours', () => {
    expect(() => paging.decode('abc')).toThrow('invalid query: cursor: not a cursor returned by this API');
  });

  it('selects the rows after the position: an older sort key, or the same one and a smaller id', () => {
    const where = dialect.sqlToQuery(paging.after({ at: '2025-11-21 10:02:00+00', id: ID_B }));
    expect(where.sql).toBe('("entries"."at" < $1 or ("entries"."at" = $2 and "entries"."id" < $3))');
    expect(where.params).toEqual(['2025-11-21 10:02:00+00', '2025-11-21 10:02:00+00', ID_B]);
  });

  it('orders newest first with the id breaking ties', () => {
    expect(paging.orderBy.map((part) => dialect.sqlToQuery(part).sql)).toEqual([
      '"entries"."at" desc',
      '"entries"."id" desc',
    ]);
  });

  it('cuts a limit + 1 fetch into a page and the cursor of the next one', () => {
    const rows = [
      entry('2025-11-21 10:03:00+00', ID_B),
      entry('2025-11-21 10:02:00+00', ID_B),
      entry('2025-11-21 10:02:00+00', ID_A),
    ];
    const page = paging.page(rows, 2);
    expect(page.items).toEqual(rows.slice(0, 2));
    expect(page.nextCursor).not.toBeNull();
    expect(paging.decode(page.nextCursor!)).toEqual({ at: '2025-11-21 10:02:00+00', id: ID_B });
  });

  it('has no next cursor on the last page or an empty one', () => {
    const rows = [entry('2025-11-21 10:03:00+00', ID_B), entry('2025-11-21 10:02:00+00', ID_A)];
    expect(paging.page(rows, 2)).toEqual({ items: rows, nextCursor: null });
    expect(paging.page([], 2)).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a column the table does not have', () => {
    expect(() => keysetPaging(entries, { sort: 'nope' as 'at', id: 'id' })).toThrow(/no column nope/);
  });
});

describe('TimestampCursorKey', () => {
  it.each([
    '2025-11-21 10:02:00+00',
    '2025-11-21 10:02:00.123456+00',
    '2025-11-21 15:32:00.5+05:30',
    '2025-11-21 05:02:00-05',
    '1883-11-18 12:00:00+00:01:15',
    '2025-11-21T10:02:00.123Z',
    '2024-02-29 00:00:00+00',
  ])('accepts %s, as PostgreSQL or ISO 8601 writes it', (value) => {
    expect(TimestampCursorKey.safeParse(value).success).toBe(true);
  });

  it.each([
    '',
    'yesterday',
    '2025-11-21',
    '2025-11-21 10:02:00',
    '2025-13-01 10:02:00+00',
    '2025-02-29 10:02:00+00',
    '2025-11-31 10:02:00+00',
    '2025-11-21 24:00:00+00',
    '2025-11-21 10:02:00.1234567+00',
  ])('refuses %j', (value) => {
    expect(TimestampCursorKey.safeParse(value).success).toBe(false);
  });
});
