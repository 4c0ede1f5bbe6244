import type { Sighting } from '../sighting.js';
import { evidence, hostOf, LineError, lastSegment, type RecordOrigin } from './common.js';

/*
 * Non-technical signals, as CSV exports with a header row → `saas` sightings with action
 * `create` (someone bought it or connected it; that person is its creator, the suggested owner):
 *
 * - `invoices`: finance/invoice exports (an ERP's supplier invoice lines, a card-expense export):
 *   one purchase per row. Required: vendor, date, amount. Optional: product, domain, description,
 *   currency, cost centre, requester, approver, invoice number. The creator is the requester, else
 *   the approver; the time is the invoice date.
 * - `saas-connectors`: SaaS connector lists (a low-code platform's connections export, an OAuth
 *   grant or SaaS-management export): one connection or app per row. Required: app name; the
 *   connector (or vendor) or the domain; the created date or the last-used date. Optional: client
 *   id, owner, environment, connection id. The creator is the owner; the time is the last use,
 *   else the creation.
 *
 * Header names are matched case-insensitively, ignoring punctuation and spacing (`Cost_Centre`,
 * `cost-centre` and `Cost Centre` are one name), against the aliases below; the first column
 * with a name of a field is that field. What the candidate is keyed by, and so what a registered
 * app is matched by (match.ts), in this order:
 *   1. the client id (connector lists), matched to an app's `idpClientIds`;
 *   2. the domain (`https://www.Slack.com/` → `slack.com`; a leading `www.` is dropped), matched
 *      to an app's endpoint hosts (`*.slack.com` covers `acme.slack.com`), the same key gateway
 *      logs give, so an invoice and a connector of one domain are one candidate;
 *   3. else `saas:<vendor>[/<product>]` as the resource id (vendor: the invoice's vendor or the
 *      connection's connector; product: the invoice's product or the connection's app name),
 *      each lower-cased, legal suffixes such as `Inc.` or `GmbH` dropped, runs of other
 *      characters made `-`. Registering such a candidate adds that resource id to the app, so
 *      later invoices of it match the app.
 * Dates are ISO 8601 (`2026-11-03`, `2026-11-03T09:30:00Z`; a date alone is midnight UTC): a
 * `03/11/2026` could be either March or November, so it is refused rather than guessed.
 * The evidence text is the row as `{"<header>": "<value>", …}` (empty cells left out).
 */

export type CsvFormat = 'invoices' | 'saas-connectors';

interface FieldSpec {
  /** Header names (normalised: lower case, words separated by one space). */
  aliases: readonly string[];
}

/** Lower case, every run of characters other than letters and digits one space, trimmed. */
export function normaliseHeader(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export const INVOICE_FIELDS = {
  vendor: { aliases: ['vendor', 'vendor name', 'supplier', 'supplier name', 'payee', 'merchant', 'merchant name'] },
  date: {
    aliases: ['date', 'invoice date', 'transaction date', 'posting date', 'bill date', 'document date', 'expense date'],
  },
  amount: {
    aliases: ['amount', 'total', 'total amount', 'net amount', 'gross amount', 'invoice amount', 'line amount', 'cost'],
  },
  currency: { aliases: ['currency', 'currency code', 'ccy'] },
  description: { aliases: ['description', 'line description', 'item description', 'memo', 'details'] },
  product: { aliases: ['product', 'product name', 'saas product', 'application', 'app', 'app name', 'service'] },
  domain: { aliases: ['domain', 'vendor domain', 'saas domain', 'website', 'vendor website', 'url'] },
  costCentre: { aliases: ['cost centre', 'cost center', 'cost centre code', 'cost center code', 'department'] },
  requester: {
    aliases: ['requester', 'requestor', 'requested by', 'purchaser', 'buyer', 'cardholder', 'employee', 'submitted by'],
  },
  approver: { aliases: ['approver', 'approved by'] },
  invoiceNumber: { aliases: ['invoice number', 'invoice no', 'invoice id', 'invoice', 'document number'] },
} as const satisfies Record<string, FieldSpec>;

export const CONNECTOR_FIELDS = {
  name: {
    aliases: ['app name', 'app', 'application', 'application name', 'connection name', 'display name', 'name'],
  },
  connector: {
    aliases: ['connector', 'connector name', 'connector id', 'vendor', 'publisher', 'integration', 'api', 'saas'],
  },
  domain: { aliases: ['domain', 'app domain', 'website', 'url', 'homepage'] },
  clientId: { aliases: ['client id', 'oauth client id'] },
  owner: {
    aliases: ['owner', 'owner email', 'created by', 'creator', 'granted by', 'authorized by', 'installed by', 'user'],
  },
  environment: { aliases: ['environment', 'environment name', 'env', 'workspace'] },
  created: {
    aliases: ['created', 'created date', 'created at', 'created on', 'created time', 'date created', 'granted at'],
  },
  lastUsed: {
    aliases: ['last used', 'last used date', 'last used at', 'last activity', 'last seen', 'last accessed'],
  },
  connectionId: { aliases: ['connection id', 'id', 'grant id'] },
} as const satisfies Record<string, FieldSpec>;

type InvoiceField = keyof typeof INVOICE_FIELDS;
type ConnectorField = keyof typeof CONNECTOR_FIELDS;

/**
 * Columns a file must have: every group needs one of its fields (`vendor`; `connector` or
 * `domain`). The error names the first alias of each field of the group.
 */
const REQUIRED: { [F in CsvFormat]: readonly (readonly (F extends 'invoices' ? InvoiceField : ConnectorField)[])[] } = {
  invoices: [['vendor'], ['date'], ['amount']],
  'saas-connectors': [['name'], ['connector', 'domain'], ['lastUsed', 'created']],
};

const FIELDS = { invoices: INVOICE_FIELDS, 'saas-connectors': CONNECTOR_FIELDS } as const;
const WHAT: Record<CsvFormat, string> = { invoices: 'an invoice export', 'saas-connectors': 'a SaaS connector list' };

/** Field → column index, for the fields the header has (the first column of each wins). */
export type ColumnMap = Partial<Record<string, number>>;

function columnsOf(format: CsvFormat, header: readonly string[]): ColumnMap {
  const byAlias = new Map<string, string>();
  for (const [field, spec] of Object.entries(FIELDS[format]) as [string, FieldSpec][])
    for (const alias of spec.aliases) byAlias.set(alias, field);
  const columns: ColumnMap = {};
  header.forEach((name, i) => {
    const field = byAlias.get(normaliseHeader(name));
    if (field && columns[field] === undefined) columns[field] = i;
  });
  return columns;
}

/** Which CSV format a header row is, or undefined: an amount column with a vendor is an invoice export. */
export function detectCsvFormat(header: readonly string[]): CsvFormat | undefined {
  const invoice = columnsOf('invoices', header);
  if (invoice.vendor !== undefined && invoice.amount !== undefined) return 'invoices';
  const connector = columnsOf('saas-connectors', header);
  if (
    connector.connector !== undefined ||
    (connector.name !== undefined && (connector.domain !== undefined || connector.clientId !== undefined))
  )
    return 'saas-connectors';
  return undefined;
}

const quoteAliases = (aliases: readonly string[]) => aliases.map((a) => `"${a}"`).join(', ');

/**
 * The row reader for a header, or a `LineError` naming the missing column (with the names it
 * may have) when the header lacks a required one.
 */
export function csvRowReader(format: CsvFormat, header: readonly string[]): CsvRowReader {
  const columns = columnsOf(format, header);
  const fields = FIELDS[format] as Record<string, FieldSpec>;
  for (const group of REQUIRED[format] as readonly (readonly string[])[]) {
    if (group.some((field) => columns[field] !== undefined)) continue;
    const named = group.map((field) => `${field} (${quoteAliases(fields[field]!.aliases)})`).join(' or ');
    throw new LineError(
      `not ${WHAT[format]}: required column ${named} is missing from the header (${header.map((h) => JSON.stringify(h)).join(', ')})`,
    );
  }
  return format === 'invoices' ? invoiceRow(columns, header) : connectorRow(columns, header);
}

/** One data row (its cells, as many as the header has) → a sighting; throws `LineError` for a bad row. */
export type CsvRowReader = (cells: readonly string[], origin: Omit<RecordOrigin, 'text'>) => Sighting;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO 8601 date or date-time (a date alone, or a time without offset, is UTC), or undefined. */
export function isoDate(text: string): Date | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, hh = '00', mm = '00', ss = '00', fraction = '', zone = 'Z'] = m;
  // The calendar day must exist: 2026-02-31 is refused, not rolled over into March.
  const month = Number(mo);
  if (month < 1 || month > 12 || new Date(Date.UTC(Number(y), month - 1, Number(d))).getUTCDate() !== Number(d))
    return undefined;
  const offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const ms = fraction.padEnd(3, '0').slice(0, 3);
  const date = new Date(`${y}-${mo}-${d}T${hh}:${mm}:${ss}.${ms}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** `Inc.`, `Pty Ltd`, `S.L.`, `GmbH`, …: dropped from the end of a vendor's name, repeatedly. */
const LEGAL_SUFFIX =
  /[\s,]+(?:inc|incorporated|llc|l\.l\.c|ltd|limited|plc|gmbh|corp|corporation|co|company|pty|oy|ab|as|kk|a\.?g|s\.?a|s\.?a\.?s|s\.?a\.?r\.?l|s\.?l|s\.?r\.?l|s\.?p\.?a|b\.?v|n\.?v)\.?$/i;

/** A vendor, product or connector name as a key part: lower case, legal suffixes dropped, other characters `-`. */
export function slugOf(name: string): string {
  let text = name.trim();
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text.replace(LEGAL_SUFFIX, '').trim();
  }
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

/** A domain, website or URL cell → its host without `www.`; throws `LineError` when it is none. */
export function domainOf(value: string): string {
  const host = hostOf(value)?.replace(/^www\./, '');
  if (!host || !HOST_NAME.test(host)) throw new LineError(`domain ${JSON.stringify(value)} is not a host name`);
  return host;
}

/** The match and key of a SaaS sighting: client id, else domain, else `saas:<vendor>[/<product>]`. */
export function saasMatch(parts: { clientId?: string; domain?: string; vendor?: string; product?: string }) {
  if (parts.clientId) return { clientId: parts.clientId };
  if (parts.domain) return { host: parts.domain };
  const vendor = parts.vendor ? slugOf(parts.vendor) : '';
  const product = parts.product ? slugOf(parts.product) : '';
  if (!vendor && !product) throw new LineError('the row names no vendor, product or domain to identify the SaaS by');
  return { resourceId: `saas:${vendor || product}${vendor && product && product !== vendor ? `/${product}` : ''}` };
}

/** Reads cells by field: trimmed, empty as undefined. */
function cellsOf(columns: ColumnMap, cells: readonly string[]) {
  return (field: string): string | undefined => {
    const i = columns[field];
    const value = i === undefined ? undefined : cells[i]?.trim();
    return value ? value : undefined;
  };
}

function required(value: string | undefined, field: string): string {
  if (value === undefined) throw new LineError(`required field ${field} is empty`);
  return value;
}

function dateField(value: string, field: string): Date {
  const date = isoDate(value);
  if (!date) throw new LineError(`${field} ${JSON.stringify(value)} is not an ISO 8601 date (YYYY-MM-DD)`);
  return date;
}

/** The row as `{"<header>": "<value>"}`, empty cells left out: readable without the header. */
function rowText(header: readonly string[], cells: readonly string[]): string {
  const out: Record<string, string> = {};
  header.forEach((name, i) => {
    const value = cells[i]?.trim();
    if (value) out[name.replace(/^\uFEFF/, '').trim() || `column ${i + 1}`] = value;
  });
  return JSON.stringify(out);
}

const AMOUNT = /^[(+-]?\s*[^\d\s]{0,4}\s*[+-]?\d[\d\s.,']*\s*[^\d\s]{0,4}\s*\)?$/u;

function invoiceRow(columns: ColumnMap, header: readonly string[]): CsvRowReader {
  return (cells, origin) => {
    const cell = cellsOf(columns, cells);
    const vendor = required(cell('vendor'), 'vendor');
    const at = dateField(required(cell('date'), 'date'), 'date');
    const amount = required(cell('amount'), 'amount');
    if (!AMOUNT.test(amount)) throw new LineError(`amount ${JSON.stringify(amount)} is not an amount`);
    const product = cell('product');
    const domain = cell('domain');
    const sighting: Sighting = {
      format: 'invoices',
      kind: 'saas',
      action: 'create',
      match: saasMatch({ vendor, product, domain: domain ? domainOf(domain) : undefined }),
      label: product && slugOf(product) !== slugOf(vendor) ? `${product} (${vendor})` : vendor,
      at,
      evidence: evidence({ ...origin, text: rowText(header, cells) }),
    };
    const actor = cell('requester') ?? cell('approver');
    if (actor) sighting.actor = actor;
    const invoice = cell('invoiceNumber');
    if (invoice) sighting.recordId = `${slugOf(vendor)}:${invoice}`;
    return sighting;
  };
}

/** A Power Platform connector id (`/providers/Microsoft.PowerApps/apis/shared_salesforce`) → `salesforce`. */
export function connectorName(value: string): string {
  return value.includes('/') ? lastSegment(value).replace(/^shared_/, '') : value.replace(/^shared_/, '');
}

function connectorRow(columns: ColumnMap, header: readonly string[]): CsvRowReader {
  return (cells, origin) => {
    const cell = cellsOf(columns, cells);
    const name = required(cell('name'), 'app name');
    const rawConnector = cell('connector');
    const domain = cell('domain');
    if (!rawConnector && !domain) throw new LineError('required field connector (or domain) is empty');
    const lastUsed = cell('lastUsed');
    const created = cell('created');
    if (!lastUsed && !created) throw new LineError('required field last used (or created) is empty');
    // Both dates are checked, whichever is used.
    const createdAt = created ? dateField(created, 'created') : undefined;
    const at = lastUsed ? dateField(lastUsed, 'last used') : createdAt!;
    const connector = rawConnector ? connectorName(rawConnector) : undefined;
    const sighting: Sighting = {
      format: 'saas-connectors',
      kind: 'saas',
      action: 'create',
      match: saasMatch({
        clientId: cell('clientId'),
        domain: domain ? domainOf(domain) : undefined,
        vendor: connector,
        product: name,
      }),
      label: connector && slugOf(connector) !== slugOf(name) ? `${name} (${connector})` : name,
      at,
      evidence: evidence({ ...origin, text: rowText(header, cells) }),
    };
    const owner = cell('owner');
    if (owner) sighting.actor = owner;
    const id = cell('connectionId');
    if (id) sighting.recordId = id;
    return sighting;
  };
}
