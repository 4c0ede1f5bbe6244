import type { AppRegistryChange } from '@micro-oncall/incident-model';
import type * as schema from './db/schema.js';
import type { AppFields, AppView, DataClass } from './model.js';

/* Mapping between the stored row and what the API shows, the diff kept in the history, the search text. */

export type AppRow = typeof schema.apps.$inferSelect;
/** A row without its search text and vector (the list reads no more: they are most of a row's bytes). */
export type AppViewRow = Omit<AppRow, 'search' | 'searchText'>;

/** What PostgreSQL writes for a timestamptz in a UTC session: `2026-12-01 10:00:00.123456+00`. */
const PG_UTC = /^([1-9]\d{3}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * PostgreSQL's `2026-12-01 10:00:00+00` (mode 'string') as ISO 8601 UTC, to the millisecond
 * (the microseconds cut, as Date does). A UTC value is rearranged as text: a list page has
 * about 300 of them, and Date's parser for this format was a twentieth of the list's CPU time;
 * anything else (another session time zone, years before 1000) goes through Date as before.
 */
export const iso = (value: string) => {
  const utc = PG_UTC.exec(value);
  if (!utc) return new Date(value).toISOString();
  return `${utc[1]}T${utc[2]}.${`${utc[3] ?? ''}000`.slice(0, 3)}Z`;
};
export const isoOrNull = (value: string | null) => (value === null ? null : iso(value));

export function fieldsOf(row: AppViewRow): AppFields {
  return {
    name: row.name,
    purpose: row.purpose,
    owner: row.ownerName && row.ownerContact ? { name: row.ownerName, contact: row.ownerContact } : null,
    ownerSubject: row.ownerSubject,
    team: { name: row.teamName, contact: row.teamContact },
    runtime: row.runtime,
    environments: row.environments,
    repository: row.repository,
    endpoints: row.endpoints,
    idpClientIds: row.idpClientIds,
    cloudResourceIds: row.cloudResourceIds,
    dataClasses: row.dataClasses as DataClass[],
    impact: row.impact,
    exposure: row.exposure,
    namespace: row.namespace,
    dedicatedNamespace: row.dedicatedNamespace,
    publicStorage: row.publicStorage,
    costCentre: row.costCentre,
    tags: row.tags,
    template: row.template,
    sla: row.sla,
  };
}

/** The columns for `fields` (for insert and update). */
export function columnsOf(fields: AppFields) {
  return {
    name: fields.name,
    purpose: fields.purpose,
    ownerName: fields.owner?.name ?? null,
    ownerContact: fields.owner?.contact ?? null,
    ownerSubject: fields.ownerSubject,
    teamName: fields.team.name,
    teamContact: fields.team.contact,
    runtime: fields.runtime,
    environments: fields.environments,
    repository: fields.repository,
    endpoints: fields.endpoints,
    idpClientIds: fields.idpClientIds,
    cloudResourceIds: fields.cloudResourceIds,
    dataClasses: [...new Set(fields.dataClasses)].sort(),
    impact: fields.impact,
    exposure: fields.exposure,
    namespace: fields.namespace,
    dedicatedNamespace: fields.dedicatedNamespace,
    publicStorage: fields.publicStorage,
    costCentre: fields.costCentre,
    tags: fields.tags,
    template: fields.template,
    sla: fields.sla,
    searchText: searchTextOf(fields),
  };
}

/** What free-text search looks in: names, purpose, owners, tags, repository, hosts, cost centre, template. */
export function searchTextOf(fields: AppFields): string {
  return [
    fields.name,
    fields.purpose,
    fields.owner?.name,
    fields.owner?.contact,
    fields.team.name,
    fields.team.contact,
    ...fields.tags,
    fields.repository,
    ...fields.endpoints.map((e) => e.host),
    fields.costCentre,
    fields.template,
  ]
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .join(' ')
    .slice(0, 20_000);
}

export function viewOf(row: AppViewRow): AppView {
  return {
    id: row.id,
    ...fieldsOf(row),
    state: row.state,
    stateChangedAt: iso(row.stateChangedAt),
    tier: row.tier,
    riskScore: row.riskScore,
    decision: row.decision ?? null,
    openViolations: row.openViolations,
    approval:
      row.approvedTier && row.approvedBy && row.approvedAt
        ? { tier: row.approvedTier, by: row.approvedBy, at: iso(row.approvedAt) }
        : null,
    requestedBy: row.requestedBy,
    lifecycle: {
      lastActivityAt: iso(row.lastActivityAt),
      exemptUntil: isoOrNull(row.lifecycleExemptUntil),
      disabledAt: isoOrNull(row.disabledAt),
      archivedAt: isoOrNull(row.archivedAt),
      restorableUntil: row.state === 'archived' ? isoOrNull(row.purgeAfter) : null,
    },
    origin: { source: row.origin, ref: row.originRef },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    version: row.version,
  };
}

export type Diff = Record<string, { from: unknown; to: unknown }>;

/** Field-by-field changes from `before` to `after` (deep, by value); `before` null: every field is new. */
export function diff(before: Record<string, unknown> | null, after: Record<string, unknown>): Diff {
  const changes: Diff = {};
  for (const key of Object.keys(after)) {
    const from = before ? before[key] : null;
    const to = after[key];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from: from ?? null, to: to ?? null };
  }
  return changes;
}

/** The event's owner part for a row. */
export function ownerOf(row: AppRow): AppRegistryChange['owner'] {
  return {
    person: row.ownerName && row.ownerContact ? { name: row.ownerName, contact: row.ownerContact } : null,
    team: { name: row.teamName, contact: row.teamContact },
  };
}

/** Fields whose change needs a new policy decision. */
export const CLASSIFICATION_FIELDS = [
  'impact',
  'dataClasses',
  'exposure',
  'runtime',
  'dedicatedNamespace',
  'publicStorage',
  'template',
  'idpClientIds',
] as const satisfies readonly (keyof AppFields)[];
