import { InputError } from '@micro-oncall/service-kit';
import { isMap, isSeq, LineCounter, parseAllDocuments, parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import { AppFields, type AppState, ImportableState, type RiskTier } from '../model.js';
import { CsvSyntaxError, csvValue, formatCsv, parseCsv } from './csv.js';

/*
 * Bulk import and export: CSV, YAML, and Backstage catalog entities (`catalog-info.yaml`, kinds
 * Component and System). An import is all or nothing: every row is checked first and the first
 * problems are reported with their row, line and field (400); nothing is written unless every
 * row is good. Export writes the same formats, so an export can be imported again.
 */

export type ImportFormat = 'csv' | 'yaml' | 'backstage';

/** One app of an import, validated. */
export interface ImportedApp {
  /** 1-based: the data row (CSV, header excluded), list item (YAML) or document (Backstage). */
  row: number;
  /** 1-based line of the file where it starts. */
  line: number;
  fields: AppFields;
  /** Applies to a new app only; an app already registered keeps its lifecycle. */
  state: z.infer<typeof ImportableState>;
  lastActivityAt: string | null;
  originRef: string | null;
}

export interface ImportParse {
  apps: ImportedApp[];
  /** Backstage entities of other kinds (API, Resource, Group, …), left alone. */
  skipped: { row: number; line: number; kind: string }[];
}

export interface ImportIssue {
  row: number | null;
  line: number | null;
  field: string | null;
  message: string;
}

const MAX_ISSUES = 20;
const MAX_ROWS = 5000;

/** The refusal of a whole import: the message names the first problem's row and field. */
export function importRefused(issues: ImportIssue[]): InputError {
  const shown = issues.slice(0, MAX_ISSUES);
  const where = (i: ImportIssue) =>
    [
      i.row !== null ? `row ${i.row}` : null,
      i.line !== null ? `(line ${i.line})` : null,
      i.field ? `field ${i.field}` : null,
    ]
      .filter(Boolean)
      .join(' ');
  const first = shown[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new InputError(
    `import refused, nothing was imported: ${first ? `${where(first)}: ${first.message}` : 'no apps'}${more}`,
    { issues: shown },
  );
}

const ImportRecord = AppFields.extend({
  state: ImportableState.default('active'),
  lastActivityAt: z.iso.datetime({ offset: true }).nullable().default(null),
}).strict();

/** Keys an export writes that an import accepts and ignores (they belong to the registry). */
const EXPORT_ONLY = [
  'id',
  'tier',
  'riskScore',
  'openViolations',
  'createdAt',
  'updatedAt',
  'stateChangedAt',
  'decision',
  'approval',
  'requestedBy',
  'lifecycle',
  'origin',
  'version',
];

function validate(
  raw: Record<string, unknown>,
  at: { row: number; line: number },
  fieldName: (path: (string | number)[]) => string,
  issues: ImportIssue[],
  originRef: string | null,
): ImportedApp | null {
  const parsed = ImportRecord.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      issues.push({ ...at, field: fieldName(issue.path as (string | number)[]), message: issue.message });
    }
    return null;
  }
  const { state, lastActivityAt, ...fields } = parsed.data;
  return {
    ...at,
    fields,
    state,
    lastActivityAt: lastActivityAt ? new Date(lastActivityAt).toISOString() : null,
    originRef,
  };
}

function finish(
  apps: (ImportedApp | null)[],
  issues: ImportIssue[],
  skipped: ImportParse['skipped'],
  nameField: string,
): ImportParse {
  const seen = new Map<string, number>();
  for (const app of apps) {
    if (!app) continue;
    const first = seen.get(app.fields.name);
    if (first !== undefined) {
      issues.push({
        row: app.row,
        line: app.line,
        field: nameField,
        message: `${app.fields.name} is already in row ${first} of this file`,
      });
    } else seen.set(app.fields.name, app.row);
  }
  if (issues.length > 0) throw importRefused(issues);
  const good = apps.filter((a): a is ImportedApp => a !== null);
  if (good.length === 0)
    throw importRefused([{ row: null, line: null, field: null, message: 'the file holds no apps' }]);
  if (good.length > MAX_ROWS) {
    throw importRefused([
      { row: null, line: null, field: null, message: `${good.length} apps: import at most ${MAX_ROWS} per file` },
    ]);
  }
  return { apps: good, skipped };
}

// ---------------------------------------------------------------- CSV

type Column = {
  name: string;
  /** Where the value goes in the app (dots: nested). */
  path: string;
  kind: 'text' | 'nullable' | 'list' | 'bool' | 'endpoints';
};

const COLUMNS: Column[] = [
  { name: 'name', path: 'name', kind: 'text' },
  { name: 'purpose', path: 'purpose', kind: 'text' },
  { name: 'owner_name', path: 'owner.name', kind: 'text' },
  { name: 'owner_contact', path: 'owner.contact', kind: 'text' },
  { name: 'owner_subject', path: 'ownerSubject', kind: 'nullable' },
  { name: 'team_name', path: 'team.name', kind: 'text' },
  { name: 'team_contact', path: 'team.contact', kind: 'text' },
  { name: 'runtime', path: 'runtime', kind: 'text' },
  { name: 'environments', path: 'environments', kind: 'list' },
  { name: 'repository', path: 'repository', kind: 'nullable' },
  { name: 'endpoints', path: 'endpoints', kind: 'endpoints' },
  { name: 'idp_client_ids', path: 'idpClientIds', kind: 'list' },
  { name: 'cloud_resource_ids', path: 'cloudResourceIds', kind: 'list' },
  { name: 'data_classes', path: 'dataClasses', kind: 'list' },
  { name: 'impact', path: 'impact', kind: 'text' },
  { name: 'exposure', path: 'exposure', kind: 'text' },
  { name: 'namespace', path: 'namespace', kind: 'nullable' },
  { name: 'dedicated_namespace', path: 'dedicatedNamespace', kind: 'bool' },
  { name: 'public_storage', path: 'publicStorage', kind: 'bool' },
  { name: 'cost_centre', path: 'costCentre', kind: 'nullable' },
  { name: 'tags', path: 'tags', kind: 'list' },
  { name: 'template', path: 'template', kind: 'nullable' },
  { name: 'sla', path: 'sla', kind: 'text' },
  { name: 'state', path: 'state', kind: 'text' },
  { name: 'last_activity_at', path: 'lastActivityAt', kind: 'nullable' },
];
/** Written by the export, ignored by the import. */
const CSV_EXPORT_ONLY = ['id', 'tier', 'risk_score', 'open_violations', 'created_at', 'updated_at'];
const REQUIRED_COLUMNS = ['name', 'team_name', 'team_contact', 'runtime', 'impact', 'exposure'];

/** Lists inside a cell are separated by `;` (commas separate cells). */
const splitList = (cell: string) =>
  cell
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);

function cellValue(column: Column, cell: string): unknown {
  const value = csvValue(cell).trim();
  switch (column.kind) {
    case 'list':
      return splitList(value);
    case 'bool':
      if (/^(true|yes|1)$/i.test(value)) return true;
      if (/^(false|no|0)$/i.test(value)) return false;
      return value; // refused by the schema with the column named
    case 'endpoints':
      return splitList(value).map(endpointOf);
    default:
      return value;
  }
}

/** `host/path` (or `host`) → an endpoint. */
function endpointOf(text: string): { host: string; path?: string } {
  const slash = text.indexOf('/');
  return slash < 0 ? { host: text } : { host: text.slice(0, slash), path: text.slice(slash) };
}

const endpointText = (e: { host: string; path: string }) => (e.path === '/' ? e.host : `${e.host}${e.path}`);

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) target[head] = value;
  else target[head] = { ...((target[head] as Record<string, unknown> | undefined) ?? {}), [tail]: value };
}

export function parseCsvImport(text: string): ImportParse {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      throw importRefused([{ row: null, line: error.line, field: null, message: error.message }]);
    }
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) throw importRefused([{ row: null, line: null, field: null, message: 'the file is empty' }]);
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const issues: ImportIssue[] = [];
  const known = new Map(COLUMNS.map((c) => [c.name, c]));
  for (const name of names) {
    if (!known.has(name) && !CSV_EXPORT_ONLY.includes(name)) {
      issues.push({
        row: null,
        line: header.line,
        field: name,
        message: `unknown column ${JSON.stringify(name)}; the columns are ${COLUMNS.map((c) => c.name).join(', ')}`,
      });
    }
  }
  for (const required of REQUIRED_COLUMNS) {
    if (!names.includes(required)) {
      issues.push({
        row: null,
        line: header.line,
        field: required,
        message: `the required column ${required} is missing`,
      });
    }
  }
  if (issues.length > 0) throw importRefused(issues);
  const byPath = new Map(COLUMNS.map((c) => [c.path, c.name]));
  const fieldName = (path: (string | number)[]) => {
    const joined = path.filter((p) => typeof p === 'string').join('.');
    return byPath.get(joined) ?? byPath.get(String(path[0])) ?? (joined || 'row');
  };
  const apps = rows.map((record, index) => {
    const at = { row: index + 1, line: record.line };
    if (record.fields.length !== names.length) {
      issues.push({
        ...at,
        field: null,
        message: `${record.fields.length} cells where the header has ${names.length} (quote cells that contain commas)`,
      });
      return null;
    }
    const raw: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const column = known.get(name);
      const cell = record.fields[i] ?? '';
      if (!column) return;
      if (cell.trim() === '') {
        if (column.kind === 'nullable') setPath(raw, column.path, null);
        return; // absent: the default applies, or the schema names the missing field
      }
      setPath(raw, column.path, cellValue(column, cell));
    });
    // No owner columns filled in: no owner (an ownership task).
    if (raw.owner === undefined) raw.owner = null;
    return validate(raw, at, fieldName, issues, null);
  });
  return finish(apps, issues, [], 'name');
}

export interface ExportRow {
  id: string;
  fields: AppFields;
  state: AppState;
  tier: RiskTier | null;
  riskScore: number | null;
  openViolations: number;
  lastActivityAt: string;
  createdAt: string;
  updatedAt: string;
}

export function formatCsvExport(rows: ExportRow[]): string {
  const header = ['id', ...COLUMNS.map((c) => c.name), ...CSV_EXPORT_ONLY.slice(1)];
  const cell = (row: ExportRow, column: Column): string => {
    const f = row.fields as unknown as Record<string, unknown>;
    if (column.path === 'state') return row.state;
    if (column.path === 'lastActivityAt') return row.lastActivityAt;
    const [head, tail] = column.path.split('.') as [string, string | undefined];
    const value = tail === undefined ? f[head] : (f[head] as Record<string, unknown> | null)?.[tail];
    if (value === null || value === undefined) return '';
    if (column.kind === 'endpoints') {
      return (value as { host: string; path: string }[])
        .map((e) => (e.path === '/' ? e.host : `${e.host}${e.path}`))
        .join(';');
    }
    if (Array.isArray(value)) return value.join(';');
    return String(value);
  };
  return formatCsv(
    header,
    rows.map((row) => [
      row.id,
      ...COLUMNS.map((c) => cell(row, c)),
      row.tier ?? '',
      row.riskScore === null ? '' : String(row.riskScore),
      String(row.openViolations),
      row.createdAt,
      row.updatedAt,
    ]),
  );
}

// ---------------------------------------------------------------- YAML

function yamlProblem(error: { message: string; linePos?: [{ line: number }, ...unknown[]] }): ImportIssue {
  return {
    row: null,
    line: error.linePos?.[0]?.line ?? null,
    field: null,
    message: `not valid YAML: ${error.message.split('\n')[0]}`,
  };
}

/** `apps:` with a list of apps in the API's shape (plus `state` and `lastActivityAt`), or a bare list. */
export function parseYamlImport(text: string): ImportParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw importRefused(doc.errors.slice(0, MAX_ISSUES).map(yamlProblem));
  const root = doc.contents;
  const list = isMap(root) ? root.get('apps', true) : root;
  if (!isSeq(list)) {
    throw importRefused([
      { row: null, line: null, field: 'apps', message: 'expected `apps:` with a list of apps (or a list of apps)' },
    ]);
  }
  const issues: ImportIssue[] = [];
  const apps = list.items.map((item, index) => {
    const line =
      item && typeof item === 'object' && 'range' in item && item.range ? lines.linePos(item.range[0]).line : 0;
    const at = { row: index + 1, line };
    const value = (item as { toJSON?: () => unknown } | null)?.toJSON?.() ?? item;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      issues.push({ ...at, field: null, message: 'expected an app (a mapping of fields)' });
      return null;
    }
    const raw = { ...(value as Record<string, unknown>) };
    for (const key of EXPORT_ONLY) delete raw[key];
    return validate(raw, at, (path) => path.join('.') || 'app', issues, null);
  });
  return finish(apps, issues, [], 'name');
}

export function formatYamlExport(rows: ExportRow[]): string {
  return stringify({
    apps: rows.map((r) => ({
      id: r.id,
      ...r.fields,
      state: r.state,
      lastActivityAt: r.lastActivityAt,
      tier: r.tier,
      riskScore: r.riskScore,
      openViolations: r.openViolations,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    })),
  });
}

// ---------------------------------------------------------------- Backstage

/*
 * Backstage catalog entities (backstage.io/v1alpha1). Components and Systems become apps:
 * metadata.name → name, metadata.description → purpose, metadata.tags → tags, spec.owner → team
 * (a Group; a User owner becomes the owner person and needs a team annotation), spec.lifecycle
 * → impact (experimental → experimental, otherwise business_helpful) and, for a new app, its
 * state (deprecated → disabled, otherwise active). What Backstage does not describe comes from
 * `micro-oncall.io/*` annotations, else from cautious defaults (exposure authenticated_api,
 * data internal, runtime other), which the policy then judges like any answer: an app imported
 * without its classification shows the controls its defaults require.
 */

export const ANNOTATION = 'micro-oncall.io/';

const Entity = z.object({
  apiVersion: z.string().regex(/^backstage\.io\/v1(alpha1|beta1)$/, 'backstage.io/v1alpha1'),
  kind: z.string().min(1),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    description: z.string().optional(),
    tags: z.array(z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.record(z.string(), z.unknown()).optional(),
});

/** `group:default/finance-tools`, `finance-tools`, `user:jdoe` → kind and name. */
function entityRef(ref: string, defaultKind: string): { kind: string; name: string } {
  const match = /^(?:([a-zA-Z]+):)?(?:[a-zA-Z0-9._-]+\/)?([a-zA-Z0-9._-]+)$/.exec(ref.trim());
  return { kind: (match?.[1] ?? defaultKind).toLowerCase(), name: match?.[2] ?? ref.trim() };
}

function repositoryOf(annotations: Record<string, string>): string | null {
  const source = annotations['backstage.io/source-location'];
  if (source?.startsWith('url:'))
    return source
      .slice(4)
      .replace(/\/(tree|blob)\/[^/]+\/?$/, '')
      .replace(/\/$/, '');
  const slug = annotations['github.com/project-slug'];
  return slug ? `https://github.com/${slug}` : null;
}

const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

export function parseBackstageImport(text: string): ImportParse {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true });
  if (!Array.isArray(docs)) throw importRefused([{ row: null, line: null, field: null, message: 'the file is empty' }]);
  const issues: ImportIssue[] = [];
  const skipped: ImportParse['skipped'] = [];
  const apps: (ImportedApp | null)[] = [];
  docs.forEach((doc, index) => {
    const row = index + 1;
    const line = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : lines.linePos(doc.range[0]).line;
    const at = { row, line };
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 5)) issues.push({ ...yamlProblem(e), row });
      return;
    }
    if (doc.contents === null) return; // an empty document between separators
    const parsed = Entity.safeParse(doc.toJSON());
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        issues.push({ ...at, field: i.path.join('.') || 'entity', message: i.message });
      return;
    }
    const entity = parsed.data;
    if (entity.kind !== 'Component' && entity.kind !== 'System') {
      skipped.push({ ...at, kind: entity.kind });
      return;
    }
    const a = entity.metadata.annotations ?? {};
    const spec = entity.spec ?? {};
    const ownerRef = typeof spec.owner === 'string' ? entityRef(spec.owner, 'group') : null;
    if (!ownerRef) {
      issues.push({ ...at, field: 'spec.owner', message: 'required: the Group (or User) that owns the entity' });
      return;
    }
    const lifecycle = typeof spec.lifecycle === 'string' ? spec.lifecycle : undefined;
    const teamName = ownerRef.kind === 'group' ? ownerRef.name : a[`${ANNOTATION}team`];
    const ownerName = a[`${ANNOTATION}owner`] ?? (ownerRef.kind === 'user' ? ownerRef.name : undefined);
    const ownerContact = a[`${ANNOTATION}owner-contact`];
    const raw: Record<string, unknown> = {
      name: entity.metadata.name,
      purpose: entity.metadata.description ?? '',
      owner: ownerName ? { name: ownerName, contact: ownerContact ?? ownerName } : null,
      team: teamName
        ? { name: teamName, contact: a[`${ANNOTATION}team-contact`] ?? `group:default/${teamName}` }
        : undefined,
      runtime: a[`${ANNOTATION}runtime`] ?? 'other',
      environments: list(a[`${ANNOTATION}environments`]) ?? [],
      repository: repositoryOf(a),
      endpoints: (list(a[`${ANNOTATION}endpoints`]) ?? []).map(endpointOf),
      idpClientIds: list(a[`${ANNOTATION}idp-client-ids`]) ?? [],
      cloudResourceIds: list(a[`${ANNOTATION}cloud-resource-ids`]) ?? [],
      dataClasses: list(a[`${ANNOTATION}data-classes`]) ?? ['internal'],
      impact: a[`${ANNOTATION}impact`] ?? (lifecycle === 'experimental' ? 'experimental' : 'business_helpful'),
      exposure: a[`${ANNOTATION}exposure`] ?? 'authenticated_api',
      namespace: a[`${ANNOTATION}namespace`] ?? null,
      dedicatedNamespace: a[`${ANNOTATION}dedicated-namespace`] === 'true',
      publicStorage: a[`${ANNOTATION}public-storage`] === 'true',
      costCentre: a[`${ANNOTATION}cost-centre`] ?? null,
      tags: entity.metadata.tags ?? [],
      template: a[`${ANNOTATION}template`] ?? null,
      sla: a[`${ANNOTATION}sla`] ?? 'best_effort',
      state: lifecycle === 'deprecated' ? 'disabled' : 'active',
    };
    const fieldName = (path: (string | number)[]) => {
      const key = String(path[0] ?? '');
      const direct: Record<string, string> = {
        name: 'metadata.name',
        purpose: 'metadata.description',
        tags: 'metadata.tags',
        repository: 'metadata.annotations["backstage.io/source-location"]',
        team: ownerRef.kind === 'group' ? 'spec.owner' : `metadata.annotations["${ANNOTATION}team"]`,
        state: 'spec.lifecycle',
      };
      const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return direct[key] ?? `metadata.annotations["${ANNOTATION}${kebab}"]`;
    };
    if (!teamName) {
      issues.push({
        ...at,
        field: `metadata.annotations["${ANNOTATION}team"]`,
        message: `owner ${spec.owner} is a ${ownerRef.kind}: name the team with this annotation`,
      });
      return;
    }
    apps.push(
      validate(
        raw,
        at,
        fieldName,
        issues,
        `${entity.kind.toLowerCase()}:${entity.metadata.namespace ?? 'default'}/${entity.metadata.name}`,
      ),
    );
  });
  return finish(apps, issues, skipped, 'metadata.name');
}

const BACKSTAGE_NAME = /^[a-z0-9A-Z]([a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const BACKSTAGE_TAG = /^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$/;

export function formatBackstageExport(rows: ExportRow[]): string {
  const docs = rows.map((r) => {
    const f = r.fields;
    const team = BACKSTAGE_NAME.test(f.team.name)
      ? f.team.name
      : f.team.name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
    const annotations: Record<string, string> = {
      [`${ANNOTATION}app-id`]: r.id,
      [`${ANNOTATION}state`]: r.state,
      [`${ANNOTATION}runtime`]: f.runtime,
      [`${ANNOTATION}impact`]: f.impact,
      [`${ANNOTATION}exposure`]: f.exposure,
      [`${ANNOTATION}data-classes`]: f.dataClasses.join(','),
      [`${ANNOTATION}team-contact`]: f.team.contact,
      [`${ANNOTATION}sla`]: f.sla,
    };
    const optional: [string, string | null | undefined][] = [
      ['tier', r.tier],
      ['owner', f.owner?.name],
      ['owner-contact', f.owner?.contact],
      ['template', f.template],
      ['cost-centre', f.costCentre],
      ['namespace', f.namespace],
      ['environments', f.environments.join(',') || null],
      ['endpoints', f.endpoints.map(endpointText).join(',') || null],
      ['idp-client-ids', f.idpClientIds.join(',') || null],
      ['cloud-resource-ids', f.cloudResourceIds.join(',') || null],
      ['dedicated-namespace', f.dedicatedNamespace ? 'true' : null],
      ['public-storage', f.publicStorage ? 'true' : null],
    ];
    for (const [key, value] of optional) if (value) annotations[`${ANNOTATION}${key}`] = value;
    if (f.repository) annotations['backstage.io/source-location'] = `url:${f.repository}`;
    const tags = f.tags.filter((t) => BACKSTAGE_TAG.test(t));
    return {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name: f.name,
        ...(f.purpose ? { description: f.purpose } : {}),
        ...(tags.length > 0 ? { tags } : {}),
        annotations,
      },
      spec: {
        type: f.runtime === 'saas_connector' || f.runtime === 'low_code' ? 'other' : 'service',
        lifecycle:
          r.state === 'disabled' || r.state === 'archived' || r.state === 'purged'
            ? 'deprecated'
            : f.impact === 'experimental'
              ? 'experimental'
              : 'production',
        owner: `group:default/${team}`,
      },
    };
  });
  return docs.map((d) => `---\n${stringify(d)}`).join('');
}

/** The format of an import body, from the query (`?format=`) or the content type. */
export function importFormat(queryFormat: string | undefined, contentType: string | undefined): ImportFormat {
  if (queryFormat === 'csv' || queryFormat === 'yaml' || queryFormat === 'backstage') return queryFormat;
  if (queryFormat !== undefined) {
    throw new InputError(`format ${JSON.stringify(queryFormat)} is not one of csv, yaml, backstage`, {
      issues: [{ path: 'format', message: 'one of csv, yaml, backstage' }],
    });
  }
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') return 'yaml';
  throw new InputError('send text/csv or application/yaml, or say ?format=csv|yaml|backstage', {
    issues: [{ path: 'content-type', message: 'text/csv or application/yaml' }],
  });
}

export function parseImport(format: ImportFormat, text: string): ImportParse {
  if (format === 'csv') return parseCsvImport(text);
  if (format === 'backstage') return parseBackstageImport(text);
  // A YAML body whose first document is a Backstage entity is read as one.
  if (/^\s*(---\s*\n)?\s*apiVersion:\s*backstage\.io\//m.test(text.slice(0, 2000))) return parseBackstageImport(text);
  return parseYamlImport(text);
}
