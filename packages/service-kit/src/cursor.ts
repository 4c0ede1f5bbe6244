import {
  and,
  type Column,
  desc,
  eq,
  getTableColumns,
  type InferSelectModel,
  lt,
  or,
  type SQL,
  type Table,
} from 'drizzle-orm';
import { z } from 'zod';
import { InputError } from './errors.js';

/** Keys of a row whose values are strings: what a cursor can carry. */
type StringKeys<Row> = { [K in keyof Row]-?: Row[K] extends string ? K : never }[keyof Row] & string;

/** Where a page ends: the sort key and the id of its last row, under their column names. */
export type KeysetPosition<S extends string, I extends string> = { [K in S | I]: string };

export interface KeysetPaging<Row, S extends string, I extends string> {
  /**
   * The `cursor` query parameter inside a route's zod query schema: an opaque string in, the
   * position out. Anything this API did not hand out fails on the `cursor` path with
   * "not a cursor returned by this API", so `InputError.fromZod` names the parameter.
   */
  readonly param: z.ZodType<KeysetPosition<S, I>, string>;
  /** The opaque cursor for `position` (base64url JSON). */
  encode(position: KeysetPosition<S, I>): string;
  /** The position in `cursor`; an {@link InputError} naming the `cursor` parameter when it is not one of ours. */
  decode(cursor: string): KeysetPosition<S, I>;
  /** The rows after `position` in the list's order. */
  after(position: KeysetPosition<S, I>): SQL;
  /** The list's order: sort key descending, then id descending (the tie-breaker). */
  readonly orderBy: [SQL, SQL];
  /** The position of `row`, to continue after it. */
  positionOf(row: Row): KeysetPosition<S, I>;
  /**
   * One page from rows fetched with `limit + 1`: the first `limit` rows and the cursor of the
   * next page, null when there is none (the extra row is how we know there is one).
   */
  page(rows: Row[], limit: number): { items: Row[]; nextCursor: string | null };
}

/**
 * Keyset ("seek") paging over a table listed newest first: ordered by a string sort key
 * (a timestamp in `mode: 'string'`) descending, then by a unique id descending. A page is
 * `WHERE (sort, id) < (cursor's sort, cursor's id)`, so it stays stable while rows are added
 * and costs the same at any depth given an index on (sort, id).
 *
 * The cursor is opaque to clients: base64url of `{"<sort>":…,"<id>":…}` under the columns' keys
 * in the table. Those key names are part of the wire format: renaming one invalidates the
 * cursors clients hold. `validate` checks each half of a decoded cursor (default: any string)
 * so that a forged one is refused with a 400 instead of reaching the database.
 */
export function keysetPaging<
  T extends Table,
  S extends StringKeys<InferSelectModel<T>>,
  I extends StringKeys<InferSelectModel<T>>,
>(
  table: T,
  keys: { sort: S; id: I },
  validate: { sort?: z.ZodType<string>; id?: z.ZodType<string> } = {},
): KeysetPaging<InferSelectModel<T>, S, I> {
  type Position = KeysetPosition<S, I>;
  const columns = getTableColumns(table) as Record<string, Column>;
  const sortColumn = columns[keys.sort];
  const idColumn = columns[keys.id];
  if (!sortColumn || !idColumn) throw new Error(`keysetPaging: the table has no column ${keys.sort} or ${keys.id}`);
  const shape = z.object({ [keys.sort]: validate.sort ?? z.string(), [keys.id]: validate.id ?? z.string() });

  const param = z
    .string()
    .max(200)
    .transform((value, ctx): Position => {
      try {
        return shape.parse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))) as Position;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not a cursor returned by this API' });
        return z.NEVER;
      }
    });
  const encode = (position: Position) =>
    // Sort key first: the same bytes as the cursors handed out before this helper existed.
    Buffer.from(JSON.stringify({ [keys.sort]: position[keys.sort], [keys.id]: position[keys.id] })).toString(
      'base64url',
    );
  const positionOf = (row: InferSelectModel<T>) =>
    ({ [keys.sort]: row[keys.sort], [keys.id]: row[keys.id] }) as Position;

  return {
    param,
    encode,
    decode(cursor) {
      const parsed = z.object({ cursor: param }).safeParse({ cursor });
      if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
      return parsed.data.cursor;
    },
    after(position) {
      const sort = position[keys.sort];
      return or(lt(sortColumn, sort), and(eq(sortColumn, sort), lt(idColumn, position[keys.id])))!;
    },
    orderBy: [desc(sortColumn), desc(idColumn)],
    positionOf,
    page(rows, limit) {
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encode(positionOf(last)) : null };
    },
  };
}

const PG_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-]\d{2}(?::?[0-5]\d){0,2})$/;

/**
 * A timestamp as PostgreSQL writes one in `mode: 'string'` (`2025-11-21 10:02:00.123456+00`,
 * any offset) or as ISO 8601: the `sort` validation for a timestamp key, so that a forged
 * cursor cannot make the database fail on an impossible date.
 */
export const TimestampCursorKey = z.string().refine((value) => {
  const match = PG_TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return year >= 1 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}, 'not a timestamp');
