import { InputError } from '@micro-oncall/service-kit';
import Papa from 'papaparse';
import { isDecimal, parseDecimal } from './money.js';

/*
 * Cost files, read as a stream (Papa Parse, the fastest of the well-kept CSV parsers here): FinOps
 * FOCUS 1.2 CSV, the AWS Cost and Usage Report (legacy CSV, `lineItem/…` headers, one
 * `resourceTags/user:<Key>` column per activated tag) and AWS CUR 2.0 (a Data Exports CSV: a
 * fixed snake_case schema, `line_item_unblended_cost`, the tags as one JSON map column
 * `resource_tags`). The header is checked before any row is read: a file without a mandatory column is
 * refused whole, naming the column. A row that is not what the specification says (a decimal
 * that is none, a date that is none, an unknown currency code) refuses the whole file too, naming
 * the row and the column: nothing of it is imported. Each line's cost is its billed cost
 * (`BilledCost`; CUR `lineItem/UnblendedCost`): what the invoice says, so the costs of a period add
 * up to the invoice. A line's day is the UTC date its charge period starts.
 */

export type CostFormat = 'focus' | 'cur' | 'cur2';
export const COST_FORMATS = ['focus', 'cur', 'cur2'] as const satisfies readonly CostFormat[];

export interface CostLine {
  /** 1-based data row (the header is row 0). */
  row: number;
  /** YYYY-MM-DD (UTC) the charge period starts. */
  day: string;
  /** Billed cost in nano-units of `currency`. */
  cost: bigint;
  /** ISO 4217 code. */
  currency: string;
  resourceId: string | null;
  /** FOCUS ServiceCategory (CUR, CUR 2.0: from the product code, `Other` when unknown). */
  serviceCategory: string;
  serviceName: string | null;
  /** The billing account (FOCUS BillingAccountId; CUR bill/PayerAccountId or the usage account, CUR 2.0 the same in snake_case). */
  account: string;
  /**
   * Tag key → value (a FOCUS valueless key is `true`). CUR 2.0 spells a user tag's key as AWS
   * normalises it (`app-id` → `app_id`): attribution matches both spellings.
   */
  tags: Record<string, string>;
}

/** A cost file refused whole (400), with what is wrong and where: `column`, and `row` for a bad value. */
export class CostFileError extends InputError {
  constructor(message: string, where: { column?: string; row?: number; line?: number } = {}) {
    super(message, {
      issues: [
        {
          path: [where.row !== undefined ? `row ${where.row}` : null, where.column].filter(Boolean).join(' ') || 'file',
          message,
        },
      ],
      ...where,
    });
  }
}

/** FOCUS 1.2 mandatory columns (not null and nullable): a file without one of them is no FOCUS file. */
export const FOCUS_MANDATORY = [
  'BilledCost',
  'EffectiveCost',
  'ListCost',
  'ContractedCost',
  'BillingCurrency',
  'BillingAccountId',
  'BillingAccountName',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'ServiceCategory',
  'ServiceName',
  'ProviderName',
  'PublisherName',
  'InvoiceIssuerName',
  'PricingQuantity',
  'PricingUnit',
] as const;

export const FOCUS_CHARGE_CATEGORIES = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'];
export const FOCUS_SERVICE_CATEGORIES = [
  'AI and Machine Learning',
  'Analytics',
  'Business Applications',
  'Compute',
  'Databases',
  'Developer Tools',
  'Multicloud',
  'Identity',
  'Integration',
  'Internet of Things',
  'Management and Governance',
  'Media',
  'Migration',
  'Mobile',
  'Networking',
  'Security',
  'Storage',
  'Web',
  'Other',
];

/** CUR (legacy CSV) columns this reader needs; the resource id and tags are optional, as AWS makes them. */
export const CUR_MANDATORY = [
  'lineItem/UsageStartDate',
  'lineItem/UnblendedCost',
  'lineItem/CurrencyCode',
  'lineItem/LineItemType',
  'lineItem/ProductCode',
] as const;

const CUR_TAG_PREFIX = 'resourceTags/user:';

/**
 * AWS CUR 2.0 (Data Exports, table COST_AND_USAGE_REPORT) columns this reader needs. The schema is
 * fixed, but an export may select a subset of it: the resource id, the accounts, the product and
 * the tags are optional, as for the legacy CUR.
 */
export const CUR2_MANDATORY = [
  'line_item_usage_start_date',
  'line_item_unblended_cost',
  'line_item_currency_code',
  'line_item_line_item_type',
  'line_item_product_code',
] as const;

/** The CUR 2.0 map key of a user-defined cost allocation tag: `user_` + the key as AWS writes it. */
const CUR2_USER_TAG = 'user_';

/** FOCUS ServiceCategory of common AWS product codes (CUR has none); anything else is `Other`. */
const CUR_SERVICE_CATEGORY: Record<string, string> = {
  AWSLambda: 'Compute',
  AmazonEC2: 'Compute',
  AmazonECS: 'Compute',
  AmazonEKS: 'Compute',
  AWSAppRunner: 'Compute',
  AmazonS3: 'Storage',
  AmazonEFS: 'Storage',
  AmazonRDS: 'Databases',
  AmazonDynamoDB: 'Databases',
  AmazonElastiCache: 'Databases',
  AmazonApiGateway: 'Networking',
  AmazonCloudFront: 'Networking',
  AmazonVPC: 'Networking',
  AWSELB: 'Networking',
  AmazonCloudWatch: 'Management and Governance',
  AWSCloudTrail: 'Management and Governance',
  AWSSecretsManager: 'Security',
  awskms: 'Security',
  AmazonSQS: 'Integration',
  AmazonSNS: 'Integration',
  AmazonKinesis: 'Analytics',
  AmazonAthena: 'Analytics',
  AmazonSageMaker: 'AI and Machine Learning',
  AmazonBedrock: 'AI and Machine Learning',
};

/** The format a header says, or null when it is neither. */
export function detectFormat(header: readonly string[]): CostFormat | null {
  if (header.includes('BilledCost') || header.includes('ChargePeriodStart')) return 'focus';
  if (header.some((c) => c.startsWith('lineItem/'))) return 'cur';
  if (header.some((c) => c.startsWith('line_item_') || c.startsWith('bill_billing_'))) return 'cur2';
  return null;
}

const FORMAT_NAMES: Record<CostFormat, string> = {
  focus: 'FOCUS 1.2',
  cur: 'AWS Cost and Usage Report (CSV)',
  cur2: 'AWS CUR 2.0 (Data Exports CSV)',
};

/**
 * A copy of a string that holds nothing else alive. A CSV parser's cells are slices of the chunk
 * they were read from, and a slice keeps its whole chunk in memory: a daily row kept for the
 * import would keep, with its resource id, a part of the file it was first seen in.
 */
export const own = <T extends string | null>(text: T): T =>
  (text === null || text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8')) as T;

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]00:?00)?$/;

/** `YYYY-MM-DDTHH:mm:ssZ` (FOCUS; CUR writes the same) → the UTC day, or null when it is no such date. */
export function dayOf(text: string): string | null {
  // A file has few distinct times (its periods): each is checked once.
  let day = dayCache.get(text);
  if (day === undefined) {
    if (dayCache.size > 10_000) dayCache.clear();
    day = checkDay(text);
    dayCache.set(own(text), day);
  }
  return day;
}
const dayCache = new Map<string, string | null>();

function checkDay(text: string): string | null {
  const m = DATETIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (
    date.getUTCFullYear() !== Number(y) ||
    date.getUTCMonth() !== Number(mo) - 1 ||
    date.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  )
    return null;
  return `${y}-${mo}-${d}`;
}

const CURRENCY = /^[A-Z]{3}$/;

const EMPTY_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const tagsCache = new Map<string, Record<string, string> | null>();

/**
 * A JSON-object tags cell (FOCUS `Tags`, CUR 2.0 `resource_tags`), read once per distinct cell;
 * null when it is no JSON object.
 */
function tagsCell(
  text: string,
  cache: Map<string, Record<string, string> | null>,
  read: (text: string) => Record<string, string> | null,
): Record<string, string> | null {
  if (text.trim() === '') return EMPTY_TAGS;
  let tags = cache.get(text);
  if (tags === undefined) {
    if (cache.size > 10_000) cache.clear();
    tags = read(text);
    if (tags) Object.freeze(tags);
    cache.set(own(text), tags);
  }
  return tags;
}

/** A FOCUS `Tags` cell: a JSON object; valueless keys (null or true) become `true`. */
const focusTags = (text: string) => tagsCell(text, tagsCache, readTags);

const cur2TagsCache = new Map<string, Record<string, string> | null>();
/**
 * A CUR 2.0 `resource_tags` cell: a JSON map of string values whose keys are `user_<key>` for the
 * cost allocation tags users made (kept, without the prefix) and `aws_<key>` for AWS's own (left
 * out, as the legacy CUR reader leaves out its `resourceTags/aws:` columns).
 */
const cur2Tags = (text: string) =>
  tagsCell(text, cur2TagsCache, (cell) => {
    const all = readTags(cell);
    if (!all) return null;
    const tags: Record<string, string> = {};
    for (const [key, value] of Object.entries(all)) {
      if (key.startsWith(CUR2_USER_TAG) && value !== '') tags[key.slice(CUR2_USER_TAG.length)] = value;
    }
    return tags;
  });

function readTags(text: string): Record<string, string> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    tags[key] = value === null || value === true ? 'true' : typeof value === 'string' ? value : JSON.stringify(value);
  }
  return tags;
}

type RowReader = (cells: string[], row: number) => CostLine;

function columnIndex(header: readonly string[]) {
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (index.has(name)) throw new CostFileError(`the header names column ${name} twice`, { column: name });
    index.set(name, i);
  });
  return index;
}

function requireColumns(index: Map<string, number>, mandatory: readonly string[], what: string) {
  const missing = mandatory.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new CostFileError(
      `not a ${what} file: mandatory column ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing from the header`,
      { column: missing[0]! },
    );
  }
}

function cellReader(index: Map<string, number>) {
  const cell = (cells: string[], column: string) => {
    const i = index.get(column);
    return i === undefined ? '' : (cells[i] ?? '');
  };
  const bad = (row: number, column: string, why: string, value: string): never => {
    throw new CostFileError(`row ${row}, column ${column}: ${why} (${JSON.stringify(value.slice(0, 60))})`, {
      row,
      column,
    });
  };
  const required = (cells: string[], row: number, column: string) => {
    const value = cell(cells, column).trim();
    if (value === '') bad(row, column, 'must not be empty', value);
    return value;
  };
  const decimal = (cells: string[], row: number, column: string) => {
    const value = required(cells, row, column);
    return parseDecimal(value) ?? bad(row, column, 'not a decimal (plain or mEn, no separators)', value);
  };
  /** A decimal column that is checked, not summed. */
  const checkDecimal = (cells: string[], row: number, column: string) => {
    const value = required(cells, row, column);
    if (!isDecimal(value)) bad(row, column, 'not a decimal (plain or mEn, no separators)', value);
  };
  const day = (cells: string[], row: number, column: string) => {
    const value = required(cells, row, column);
    return dayOf(value) ?? bad(row, column, 'not a UTC date-time (YYYY-MM-DDTHH:mm:ssZ)', value);
  };
  const currency = (cells: string[], row: number, column: string) => {
    const value = required(cells, row, column);
    return CURRENCY.test(value) ? value : bad(row, column, 'not an ISO 4217 currency code', value);
  };
  const optional = (cells: string[], column: string) => cell(cells, column).trim() || null;
  return { cell, bad, required, decimal, checkDecimal, day, currency, optional };
}

function focusReader(header: readonly string[]): RowReader {
  const index = columnIndex(header);
  requireColumns(index, FOCUS_MANDATORY, FORMAT_NAMES.focus);
  const c = cellReader(index);
  return (cells, row) => {
    const cost = c.decimal(cells, row, 'BilledCost');
    for (const column of ['EffectiveCost', 'ListCost', 'ContractedCost']) c.checkDecimal(cells, row, column);
    const day = c.day(cells, row, 'ChargePeriodStart');
    for (const column of ['ChargePeriodEnd', 'BillingPeriodStart', 'BillingPeriodEnd']) c.day(cells, row, column);
    const chargeCategory = c.required(cells, row, 'ChargeCategory');
    if (!FOCUS_CHARGE_CATEGORIES.includes(chargeCategory))
      c.bad(row, 'ChargeCategory', `not one of ${FOCUS_CHARGE_CATEGORIES.join(', ')}`, chargeCategory);
    const serviceCategory = c.required(cells, row, 'ServiceCategory');
    if (!FOCUS_SERVICE_CATEGORIES.includes(serviceCategory))
      c.bad(row, 'ServiceCategory', 'not a FOCUS 1.2 service category', serviceCategory);
    const tags = focusTags(c.cell(cells, 'Tags'));
    if (tags === null) c.bad(row, 'Tags', 'not a JSON object', c.cell(cells, 'Tags'));
    return {
      row,
      day,
      cost,
      currency: c.currency(cells, row, 'BillingCurrency'),
      resourceId: c.optional(cells, 'ResourceId'),
      serviceCategory,
      serviceName: c.required(cells, row, 'ServiceName'),
      account: c.required(cells, row, 'BillingAccountId'),
      tags: tags ?? {},
    };
  };
}

/** The columns of an AWS CUR line, as the legacy CUR and CUR 2.0 spell them. */
interface AwsColumns {
  start: string;
  cost: string;
  currency: string;
  type: string;
  product: string;
  resource: string;
  payer: string;
  usageAccount: string;
}

const CUR_COLUMNS: AwsColumns = {
  start: 'lineItem/UsageStartDate',
  cost: 'lineItem/UnblendedCost',
  currency: 'lineItem/CurrencyCode',
  type: 'lineItem/LineItemType',
  product: 'lineItem/ProductCode',
  resource: 'lineItem/ResourceId',
  payer: 'bill/PayerAccountId',
  usageAccount: 'lineItem/UsageAccountId',
};

const CUR2_COLUMNS: AwsColumns = {
  start: 'line_item_usage_start_date',
  cost: 'line_item_unblended_cost',
  currency: 'line_item_currency_code',
  type: 'line_item_line_item_type',
  product: 'line_item_product_code',
  resource: 'line_item_resource_id',
  payer: 'bill_payer_account_id',
  usageAccount: 'line_item_usage_account_id',
};

/** A line of either CUR: the same fields under their spelling; tags and the product's name as each format has them. */
function awsLine(
  c: ReturnType<typeof cellReader>,
  columns: AwsColumns,
  cells: string[],
  row: number,
  extra: { tags: Record<string, string>; productName: string | null },
): CostLine {
  const product = c.required(cells, row, columns.product);
  c.required(cells, row, columns.type);
  return {
    row,
    day: c.day(cells, row, columns.start),
    cost: c.decimal(cells, row, columns.cost),
    currency: c.currency(cells, row, columns.currency),
    resourceId: c.optional(cells, columns.resource),
    serviceCategory: CUR_SERVICE_CATEGORY[product] ?? 'Other',
    serviceName: extra.productName ?? product,
    account: c.optional(cells, columns.payer) ?? c.optional(cells, columns.usageAccount) ?? 'aws',
    tags: extra.tags,
  };
}

function curReader(header: readonly string[]): RowReader {
  const index = columnIndex(header);
  requireColumns(index, CUR_MANDATORY, FORMAT_NAMES.cur);
  const c = cellReader(index);
  const tagColumns = header
    .filter((name) => name.startsWith(CUR_TAG_PREFIX))
    .map((name) => [name.slice(CUR_TAG_PREFIX.length), index.get(name)!] as const);
  return (cells, row) => {
    const tags: Record<string, string> = {};
    for (const [key, i] of tagColumns) {
      const value = (cells[i] ?? '').trim();
      if (value !== '') tags[key] = value;
    }
    return awsLine(c, CUR_COLUMNS, cells, row, { tags, productName: c.optional(cells, 'product/ProductName') });
  };
}

function cur2Reader(header: readonly string[]): RowReader {
  const index = columnIndex(header);
  requireColumns(index, CUR2_MANDATORY, FORMAT_NAMES.cur2);
  const c = cellReader(index);
  const productName = productNameOf(index, c);
  return (cells, row) => {
    const tags = cur2Tags(c.cell(cells, 'resource_tags'));
    if (tags === null)
      c.bad(row, 'resource_tags', 'not a JSON object (a map of tag keys to values)', c.cell(cells, 'resource_tags'));
    return awsLine(c, CUR2_COLUMNS, cells, row, { tags: tags ?? {}, productName: productName(cells) });
  };
}

/**
 * The product's name in a CUR 2.0 row: the `product` map's `product_name` (a JSON cell, read once
 * per distinct cell), or a flat `product_product_name` column when the export selected one.
 */
function productNameOf(index: Map<string, number>, c: ReturnType<typeof cellReader>) {
  if (index.has('product_product_name')) return (cells: string[]) => c.optional(cells, 'product_product_name');
  if (!index.has('product')) return () => null;
  const names = new Map<string, string | null>();
  return (cells: string[]) => {
    const text = c.cell(cells, 'product');
    let name = names.get(text);
    if (name === undefined) {
      if (names.size > 10_000) names.clear();
      const product = readTags(text);
      name = product?.product_name?.trim() || null;
      names.set(own(text), name);
    }
    return name;
  };
}

/** A row reader for a header: the format given, or the one the header says. Refuses a wrong header whole. */
export function readerFor(header: readonly string[], format?: CostFormat): { format: CostFormat; read: RowReader } {
  const chosen = format ?? detectFormat(header);
  if (!chosen) {
    throw new CostFileError(
      'unknown cost file format: the header has neither FOCUS columns (BilledCost, ChargePeriodStart, …) nor AWS CUR columns (lineItem/…, or CUR 2.0 line_item_…)',
      { column: header[0] ?? '' },
    );
  }
  const read = chosen === 'focus' ? focusReader(header) : chosen === 'cur' ? curReader(header) : cur2Reader(header);
  return { format: chosen, read };
}

/**
 * The input as text. Bytes are decoded as UTF-8 with what the previous chunk left of a character
 * carried over, so a multi-byte character split between two chunks (as an upload's chunks split
 * anywhere) arrives whole, never as two replacement characters.
 */
async function* utf8Text(input: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/** The line break of a file from its first one (`\r\n`, `\n` or `\r`), or undefined while none is whole yet. */
function lineBreakOf(text: string, final: boolean): '\r\n' | '\n' | '\r' | undefined {
  const at = text.search(/[\r\n]/);
  if (at === -1) return final ? '\n' : undefined;
  if (text[at] === '\n') return '\n';
  if (at + 1 < text.length) return text[at + 1] === '\n' ? '\r\n' : '\r';
  return final ? '\r' : undefined;
}

/**
 * Reads a cost file as a stream, handing each line to `onLine` (the header checked first). Throws
 * CostFileError at the first thing wrong; the caller keeps nothing of a file that throws. A row
 * with more or fewer cells than the header (a stray comma, an unclosed quote) is refused too.
 * Each chunk of the input is parsed whole (Papa Parse's parser, the unfinished last record kept
 * for the next chunk) and its records read synchronously; when `onLine` returns a promise (a
 * batch being written), reading waits for it before the next record, and the input (an upload)
 * is not read meanwhile: memory holds a chunk, not the file.
 */
export async function readCostFile(
  input: NodeJS.ReadableStream | AsyncIterable<Buffer | string>,
  onLine: (line: CostLine) => void | Promise<void>,
  opts: { format?: CostFormat } = {},
): Promise<{ format: CostFormat; rows: number }> {
  let reader: { format: CostFormat; read: RowReader } | null = null;
  let columns = 0;
  let rows = 0;
  const record = (cells: string[]): void | Promise<void> => {
    if (cells.length === 1 && cells[0]!.trim() === '') return; // an empty line
    if (!reader) {
      const header = cells.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
      reader = readerFor(header, opts.format);
      columns = header.length;
      return;
    }
    rows += 1;
    if (cells.length !== columns) {
      throw new CostFileError(
        `row ${rows}: ${cells.length} cells where the header has ${columns} (a stray comma or an unclosed quote?)`,
        { row: rows },
      );
    }
    return onLine(reader.read(cells, rows));
  };
  let parser: Papa.Parser | null = null;
  /** The text after the last whole record: an unfinished record, completed by the next chunk. */
  let rest = '';
  const parse = async (text: string, final: boolean) => {
    if (!parser) {
      const newline = lineBreakOf(text, final);
      if (newline === undefined) return text;
      parser = new Papa.Parser({ delimiter: ',', newline, quoteChar: '"' });
    }
    const parsed = parser.parse(text, 0, !final);
    for (const cells of parsed.data as string[][]) {
      const written = record(cells);
      if (written) await written;
    }
    return final ? '' : text.slice(parsed.meta.cursor);
  };
  for await (const text of utf8Text(input as AsyncIterable<Buffer | string>)) {
    rest = await parse(rest + text, false);
  }
  if (rest !== '') await parse(rest, true);
  if (!reader) throw new CostFileError('the file is empty: no header', {});
  return { format: (reader as { format: CostFormat }).format, rows };
}
