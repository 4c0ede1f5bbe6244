import { InputError } from '@micro-oncall/service-kit';
import {
  and,
  arrayContains,
  Column,
  eq,
  getTableColumns,
  gt,
  ilike,
  inArray,
  isNull,
  ne,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import { PgDialect, QueryBuilder } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { z } from 'zod';
import * as schema from './db/schema.js';
import { AppState, DataClass, Exposure, Impact, Origin, RiskTier, Runtime, Sla } from './model.js';
import type { Db } from './types.js';
import type { AppViewRow } from './views.js';

/*
 * GET /apps/v1/apps: free-text search, a filter on every listed field, a sort and keyset
 * ("seek") paging. The cursor carries the sort key, the direction, the last row's sort value and
 * id, so a page costs the same at any depth (an index on (sort, id) for each sort) and stays
 * stable while apps are added; a cursor used with another sort is refused.
 */

const a = schema.apps;
const aw = schema.appWords;

/**
 * What a list page selects: every column but the search text and its vector, which only the
 * WHERE reads (about 700 of a row's 2,000 bytes, which the service would fetch and drop).
 */
export const LIST_COLUMNS = (() => {
  const { search: _search, searchText: _searchText, ...columns } = getTableColumns(a);
  return columns;
})();

/**
 * `select <LIST_COLUMNS> from apps`, rendered once. Drizzle renders a selection on every call,
 * checking each of its 44 fields' kind through the prototype chain: that was about two thirds of
 * building a page's statement (docs/performance.md), for text that never changes.
 */
const LIST_SELECT = sql.raw(new QueryBuilder().select(LIST_COLUMNS).from(a).toSQL().sql);
/** The list's columns, in the order of LIST_SELECT: result key, column name, and the column that decodes its value. */
const LIST_FIELDS = Object.entries(LIST_COLUMNS).map(([key, column]) => ({ key, name: column.name, column }));
const dialect = new PgDialect();

/**
 * One page's statement (a page plus one row, to know there is more): the same text and
 * parameters as `select(LIST_COLUMNS).from(apps).where(pageWhere).orderBy(orderOf).limit(…)`
 * (query.test.ts compares them), with the selection rendered once.
 */
export function listSql(q: ListQuery): SQL {
  const where = pageWhere(q);
  return sql`${LIST_SELECT}${where ? sql` where ${where}` : sql``} order by ${sql.join(orderOf(q), sql`, `)} limit ${q.limit + 1}`;
}

/** listSql as text and parameters (what the database is sent). */
export function listQueryOf(q: ListQuery): { sql: string; params: unknown[] } {
  const { sql: text, params } = dialect.sqlToQuery(listSql(q));
  return { sql: text, params };
}

/**
 * pg's type parsers as drizzle's own select sets them: the date and time types stay PostgreSQL's
 * text (the columns' string mode), every other type gets pg's parser.
 */
const RAW_TEXT_TYPES = new Set<number>([
  pg.types.builtins.TIMESTAMPTZ,
  pg.types.builtins.TIMESTAMP,
  pg.types.builtins.DATE,
  pg.types.builtins.INTERVAL,
  1115, // timestamp[]
  1182, // date[]
  1185, // timestamptz[]
  1187, // interval[]
  1231, // numeric[]
]);
const asText = (value: string) => value;
const LIST_TYPES = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    RAW_TEXT_TYPES.has(oid) ? asText : pg.types.getTypeParser(oid, format ?? 'text'),
} as pg.CustomTypesConfig;

/**
 * Each list column's decoder, or null where drizzle's is the identity (text, numbers, booleans,
 * timestamps as text, jsonb already parsed by pg): what drizzle's select does, without a call per
 * value that returns its argument.
 */
const LIST_DECODERS = LIST_FIELDS.map(({ column }) =>
  column.mapFromDriverValue === Column.prototype.mapFromDriverValue
    ? null
    : (value: unknown) => column.mapFromDriverValue(value),
);

/**
 * A row of listSql's result in pg's array mode (values in LIST_COLUMNS order) as drizzle's select
 * returns it: field names as keys, every value that is not null decoded by its column.
 */
export function listRowOf(values: readonly unknown[]): AppViewRow {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < LIST_FIELDS.length; i += 1) {
    const value = values[i];
    const decode = LIST_DECODERS[i];
    row[LIST_FIELDS[i]!.key] = value === null || value === undefined ? null : decode ? decode(value) : value;
  }
  return row as AppViewRow;
}

/**
 * One page of the list (plus one row, to know there is more), read with pg in array mode: pg
 * builds no object with 42 keys per row, only the row as drizzle's select returns it is built
 * (listRowOf), on the pool behind the service's drizzle instance.
 */
export async function listRows(db: Db, q: ListQuery): Promise<AppViewRow[]> {
  const client = (db as Db & { $client?: Pick<pg.Pool, 'query'> }).$client;
  if (!client) throw new Error('the list needs the database pool behind drizzle (db.$client)');
  const { sql: text, params } = dialect.sqlToQuery(listSql(q));
  const res = await client.query<unknown[]>({ text, values: params, rowMode: 'array', types: LIST_TYPES });
  if (res.fields.length !== LIST_FIELDS.length)
    throw new Error(`the list read ${res.fields.length} columns, expected ${LIST_FIELDS.length}`);
  return res.rows.map(listRowOf);
}

const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).min(1).max(20));

export const SORTS = {
  name: { column: sql`${a.name}`, cast: 'text' },
  createdAt: { column: sql`${a.createdAt}`, cast: 'timestamptz' },
  updatedAt: { column: sql`${a.updatedAt}`, cast: 'timestamptz' },
  lastActivityAt: { column: sql`${a.lastActivityAt}`, cast: 'timestamptz' },
  riskScore: { column: sql`coalesce(${a.riskScore}, -1)`, cast: 'int' },
} as const;
type SortKey = keyof typeof SORTS;

const Cursor = z.object({
  s: z.enum(Object.keys(SORTS) as [SortKey, ...SortKey[]]),
  o: z.enum(['asc', 'desc']),
  v: z.string().max(300),
  id: z.string().max(64),
});
type Cursor = z.infer<typeof Cursor>;

export const ListQuery = z
  .object({
    q: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('free text: words of the name, purpose, owners, tags, repository, hosts (prefix match)'),
    state: csv(AppState).optional().describe('one or more, comma-separated (default: every state but purged)'),
    tier: csv(z.union([RiskTier, z.literal('none')]))
      .optional()
      .describe('low, medium, high, or none (no decision yet)'),
    runtime: csv(Runtime).optional(),
    impact: csv(Impact).optional(),
    exposure: csv(Exposure).optional(),
    sla: csv(Sla).optional(),
    origin: csv(Origin).optional(),
    dataClass: csv(DataClass).optional().describe('apps handling all of these data classes'),
    environment: z.string().trim().min(1).max(64).optional(),
    tag: z.string().trim().min(1).max(128).optional(),
    team: z.string().trim().min(1).max(256).optional().describe('team name, exact (case-insensitive)'),
    owner: z
      .string()
      .trim()
      .min(1)
      .max(320)
      .optional()
      .describe("owner's name or contact, exact (case-insensitive); `none` for apps without an owner"),
    costCentre: z.string().trim().min(1).max(128).optional(),
    template: z.string().trim().min(1).max(128).optional().describe('a template name, or `none`'),
    repository: z.string().trim().min(1).max(2048).optional(),
    host: z.string().trim().toLowerCase().min(1).max(253).optional().describe('an endpoint host'),
    idpClientId: z.string().trim().min(1).max(256).optional(),
    cloudResourceId: z.string().trim().min(1).max(2048).optional(),
    violations: z.enum(['true', 'false']).optional().describe('true: apps with an open violation; false: apps without'),
    sort: z.enum(Object.keys(SORTS) as [SortKey, ...SortKey[]]).default('name'),
    order: z.enum(['asc', 'desc']).optional().describe('default: asc for name, desc otherwise'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z
      .string()
      .max(600)
      .transform((value, ctx): Cursor => {
        try {
          return Cursor.parse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not a cursor returned by this API' });
          return z.NEVER;
        }
      })
      .optional(),
  })
  .strict();
export type ListQuery = z.infer<typeof ListQuery>;

export function parseListQuery(raw: unknown): ListQuery {
  const parsed = ListQuery.safeParse(raw);
  if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
  return parsed.data;
}

/** The words of a free-text query, in lower case, at most 10 (letters and digits only). */
export function queryWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 10);
}

/** `expense appro` → `expense:* & appro:*` (words only: nothing a user types can break the query). */
export function tsQuery(text: string): string | null {
  const words = queryWords(text);
  return words.length > 0 ? words.map((w) => `${w}:*`).join(' & ') : null;
}

/** The free-text condition: the words (prefixes) in the search vector, or the app's id. */
function textOf(text: string): SQL {
  const query = tsQuery(text);
  return query ? or(sql`${a.search} @@ to_tsquery('simple', ${query})`, eq(a.id, text))! : eq(a.id, text);
}

/** The WHERE of the filters (no paging). */
export function filtersOf(q: ListQuery): SQL | undefined {
  const where: (SQL | undefined)[] = [];
  where.push(q.state ? inArray(a.state, q.state) : ne(a.state, 'purged'));
  if (q.q) where.push(textOf(q.q));
  if (q.tier) {
    const tiers = q.tier.filter((t) => t !== 'none');
    where.push(
      or(...(tiers.length ? [inArray(a.tier, tiers)] : []), ...(q.tier.includes('none') ? [isNull(a.tier)] : [])),
    );
  }
  if (q.runtime) where.push(inArray(a.runtime, q.runtime));
  if (q.impact) where.push(inArray(a.impact, q.impact));
  if (q.exposure) where.push(inArray(a.exposure, q.exposure));
  if (q.sla) where.push(inArray(a.sla, q.sla));
  if (q.origin) where.push(inArray(a.origin, q.origin));
  if (q.dataClass) where.push(arrayContains(a.dataClasses, q.dataClass));
  if (q.environment) where.push(arrayContains(a.environments, [q.environment]));
  if (q.tag) where.push(arrayContains(a.tags, [q.tag]));
  if (q.idpClientId) where.push(arrayContains(a.idpClientIds, [q.idpClientId]));
  if (q.cloudResourceId) where.push(arrayContains(a.cloudResourceIds, [q.cloudResourceId]));
  if (q.host) where.push(sql`${a.endpoints} @> ${JSON.stringify([{ host: q.host }])}::jsonb`);
  if (q.team) where.push(sql`lower(${a.teamName}) = lower(${q.team})`);
  if (q.owner) {
    where.push(
      q.owner === 'none'
        ? isNull(a.ownerName)
        : or(sql`lower(${a.ownerName}) = lower(${q.owner})`, sql`lower(${a.ownerContact}) = lower(${q.owner})`),
    );
  }
  if (q.costCentre) where.push(eq(a.costCentre, q.costCentre));
  if (q.template) where.push(q.template === 'none' ? isNull(a.template) : eq(a.template, q.template));
  if (q.repository) where.push(ilike(a.repository, q.repository.replace(/[%_\\]/g, '\\$&')));
  if (q.violations) where.push(q.violations === 'true' ? gt(a.openViolations, 0) : eq(a.openViolations, 0));
  return and(...where.filter((w): w is SQL => w !== undefined));
}

export function sortOf(q: ListQuery): { key: SortKey; order: 'asc' | 'desc'; expr: SQL; cast: string } {
  const key = q.sort;
  const order = q.order ?? (key === 'name' ? 'asc' : 'desc');
  return { key, order, expr: SORTS[key].column, cast: SORTS[key].cast };
}

/** The page's keyset condition: after the cursor's row in the list's order. */
export function afterCursor(q: ListQuery): SQL | undefined {
  if (!q.cursor) return undefined;
  const { key, order, expr, cast } = sortOf(q);
  if (q.cursor.s !== key || q.cursor.o !== order) {
    throw new InputError('the cursor belongs to another sort: start again without it', {
      issues: [{ path: 'cursor', message: `made for sort=${q.cursor.s}&order=${q.cursor.o}` }],
    });
  }
  const value = sql`${q.cursor.v}::${sql.raw(cast)}`;
  return order === 'asc'
    ? sql`(${expr}, ${a.id}) > (${value}, ${q.cursor.id})`
    : sql`(${expr}, ${a.id}) < (${value}, ${q.cursor.id})`;
}

/** Sorts with an index on (state, sort, id): a filter on several states reads each state in order. */
const STATE_SORTED: readonly SortKey[] = ['name', 'lastActivityAt'];

/**
 * The WHERE of one page (`SELECT … WHERE pageWhere ORDER BY orderOf LIMIT limit + 1`): the
 * filters and the cursor, plus the one condition that tells PostgreSQL which rows to read first
 * where walking an index in the sort's order would read most of the table:
 *
 * - one word sorted by name: the matches' (name, id) come from the word index (`app_words`,
 *   `firstByName`) sorted, then the apps by primary key in that order until a page passes the
 *   filters: a few hundred index pages, however many apps match. Matches cluster in name order
 *   (a word that begins names), so the planner's walk of the name index, filtering, could read
 *   200k rows; and reading the matches from the GIN index costs a table page per match (4,000
 *   for a word in 1.6% of 250,000 apps, rows of 2 kB scattered over the table). Several words
 *   (their common matches are few, and the GIN index intersects them before reading rows) and
 *   words with other letters than ASCII (which the word index does not answer for) take the GIN
 *   path, then sort the matches' (name, id). Other sorts keep the planner's choice: matches do
 *   not cluster by activity or date, and walking that index stops after about a page's worth of
 *   matches.
 * - several states: the page's first rows of each state, read through its (state, sort, id)
 *   index, merged (`UNION ALL`); PostgreSQL cannot merge an IN list over such an index itself,
 *   and walking the sort's index past the other states' rows (150k active apps are the most
 *   recent) is what it would do instead.
 *
 * The filters stay on the outer query too, so the rows and their order are exactly the filters'.
 */
export function pageWhere(q: ListQuery): SQL | undefined {
  const where = and(filtersOf(q), afterCursor(q));
  if (q.q && q.sort === 'name') {
    const [word, ...more] = queryWords(q.q);
    if (word && more.length === 0 && ASCII_WORD.test(word)) {
      return and(where, sql`${a.id} = any(array(${firstByName(q, word)}))`);
    }
  }
  if (q.q && tsQuery(q.q) && q.sort === 'name') {
    // Several words, or a word with other letters: the matches from the GIN index, which reads
    // each match's row. Apps matching every one of several words are few, and the GIN index
    // intersects the words' lists before reading any row, where the word index would read each
    // word's whole range (a common word's 12,000 entries).
    // OFFSET 0 keeps PostgreSQL from walking the name index through the subquery: it reads the
    // matches (GIN), keeps the first page's ids in name order, and the page reads only those.
    const order = sql.raw(sortOf(q).order);
    const matches = new QueryBuilder().select({ id: a.id, name: a.name }).from(a).where(where);
    return and(
      where,
      sql`${a.id} = any(array(select hits.id from (${matches} offset 0) hits order by hits.name ${order}, hits.id ${order} limit ${q.limit + 1}))`,
    );
  }
  if (q.state && q.state.length > 1 && STATE_SORTED.includes(q.sort)) {
    const perState = q.state.map(
      (state) =>
        sql`${new QueryBuilder()
          .select({ id: a.id })
          .from(a)
          .where(and(filtersOf({ ...q, state: [state] }), afterCursor(q)))
          .orderBy(...orderOf(q))
          .limit(q.limit + 1)}`,
    );
    return and(where, sql`${a.id} = any(array(${sql.join(perState, sql` union all `)}))`);
  }
  return where;
}

/** Words the word index answers exactly: ASCII letters and digits (the parser keeps them whole). */
const ASCII_WORD = /^[a-z0-9]+$/;

/**
 * The ids of the page of a one-word search sorted by name, from `app_words`. The index holds
 * (word, name, id) sorted, so each distinct word beginning with the one typed has its apps in name
 * order already: the distinct words are found by skipping through the index (one probe each,
 * however many apps carry them), then each word's first page of apps that pass the other filters
 * and the cursor is read in order, and those few pages merged (an app carrying two of the words is
 * counted once). Each word's first page holds every app of the overall page that carries it, so
 * the merge is exact. Reading every match and sorting them instead cost a word in a seventh of
 * the apps (`report` at 250,000 apps: 36,000 matches) ~55 ms, most of it the sort. The app whose
 * id was typed joins the merge. The text condition is not repeated here (every candidate matches
 * it; the page's WHERE checks it again), so that nothing tempts PostgreSQL into the GIN index and
 * a read of every match.
 */
function firstByName(q: ListQuery, word: string): SQL {
  const order = sql.raw(sortOf(q).order);
  const others = and(filtersOf({ ...q, q: undefined }), afterCursor(q));
  const limit = q.limit + 1;
  const words = sql`with recursive words (w) as (
      (select ${aw.word} collate "C" from ${aw} where ${aw.word} collate "C" ^@ ${word} order by 1 limit 1)
      union all
      select (select ${aw.word} collate "C" from ${aw} where ${aw.word} collate "C" > words.w
        and ${aw.word} collate "C" ^@ ${word} order by 1 limit 1)
      from words where words.w is not null
    )`;
  const perWord = sql`select p.name, p.id from words cross join lateral (
      select ${aw.name} as name, ${aw.appId} as id from ${aw} join ${a} on ${a.id} = ${aw.appId}
      where ${aw.word} collate "C" = words.w and ${others}
      order by ${aw.name} ${order}, ${aw.appId} ${order} limit ${limit}) p
    where words.w is not null`;
  const typedId = sql`select ${a.name}, ${a.id} from ${a} where ${a.id} = ${q.q} and ${others}`;
  return sql`${words} select hits.id from (${perWord} union ${typedId}) hits (name, id)
    order by hits.name ${order}, hits.id ${order} limit ${limit}`;
}

export function orderOf(q: ListQuery): SQL[] {
  const { order, expr } = sortOf(q);
  return order === 'asc' ? [sql`${expr} asc`, sql`${a.id} asc`] : [sql`${expr} desc`, sql`${a.id} desc`];
}

/** The sort value of a row as the cursor keeps it. */
export function cursorFor(q: ListQuery, row: AppViewRow): string {
  const { key, order } = sortOf(q);
  const v =
    key === 'riskScore'
      ? String(row.riskScore ?? -1)
      : key === 'name'
        ? row.name
        : key === 'createdAt'
          ? row.createdAt
          : key === 'updatedAt'
            ? row.updatedAt
            : row.lastActivityAt;
  return Buffer.from(JSON.stringify({ s: key, o: order, v, id: row.id })).toString('base64url');
}
