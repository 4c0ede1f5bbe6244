import { and, desc, inArray, ne } from 'drizzle-orm';
import type { ServiceOwnership } from './catalogue.js';
import * as schema from './db/schema.js';
import type { EscalationDb } from './db/types.js';

/*
 * Ownership drift: escalation's service catalogue and the app-registry (its `app-registry`
 * events) disagree about who owns a service of the same name. They disagree when the teams
 * differ (case-insensitively), or when the registry names an owner whom none of the catalogue's
 * owners match (by contact or name). An app the registry has no owner for (an ownership task is
 * open there) is compared by team only.
 */

export type RegistryOwnerRow = typeof schema.registryOwners.$inferSelect;

export interface OwnershipDrift {
  /** What differs: `team`, `owner`. */
  differs: ('team' | 'owner')[];
  catalogue: { team: string | null; owners: string[] };
  registry: {
    appId: string;
    team: { name: string; contact: string };
    owner: { name: string; contact: string } | null;
    state: string;
    updatedAt: string;
  };
}

const same = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();

export function driftOf(catalogue: ServiceOwnership, registry: RegistryOwnerRow | undefined): OwnershipDrift | null {
  if (!catalogue.owned || !registry) return null;
  const differs: OwnershipDrift['differs'] = [];
  if (!same(catalogue.team, registry.team.name)) differs.push('team');
  const person = registry.ownerPerson;
  if (person && !catalogue.owners.some((o) => same(o, person.contact) || same(o, person.name))) differs.push('owner');
  if (differs.length === 0) return null;
  return {
    differs,
    catalogue: { team: catalogue.team, owners: catalogue.owners },
    registry: {
      appId: registry.appId,
      team: registry.team,
      owner: person,
      state: registry.state,
      updatedAt: new Date(registry.occurredAt).toISOString(),
    },
  };
}

/** The registry's owners of the apps named `names` (not purged), by name; the latest change wins a shared name. */
export async function registryOwnersByName(
  db: Pick<EscalationDb, 'select'>,
  names: string[],
): Promise<Map<string, RegistryOwnerRow>> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return new Map();
  const rows = await db
    .select()
    .from(schema.registryOwners)
    .where(and(inArray(schema.registryOwners.name, unique), ne(schema.registryOwners.state, 'purged')))
    .orderBy(desc(schema.registryOwners.occurredAt));
  const byName = new Map<string, RegistryOwnerRow>();
  for (const row of rows) if (!byName.has(row.name)) byName.set(row.name, row);
  return byName;
}

/** The drift of `service` (its catalogue slug, or the name an incident carries). */
export function driftFor(
  ownership: ServiceOwnership,
  service: string,
  owners: Map<string, RegistryOwnerRow>,
): OwnershipDrift | null {
  return driftOf(ownership, owners.get(ownership.service) ?? owners.get(service));
}
