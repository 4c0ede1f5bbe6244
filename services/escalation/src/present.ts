import type { ServiceCatalogue } from './catalogue.js';
import type { IncidentRow } from './db/types.js';

function iso(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/** The public shape of an incident in API answers and the live feed. */
export function presentIncident(row: IncidentRow) {
  return {
    id: row.id,
    provider: row.provider,
    providerId: row.providerId,
    dedupKey: row.dedupKey,
    title: row.title,
    service: row.service,
    severity: row.severity,
    urgency: row.urgency,
    status: row.status,
    labels: row.labels,
    links: row.links,
    providerUrl: row.providerUrl,
    drill: row.drill,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    acknowledgedAt: iso(row.acknowledgedAt),
    resolvedAt: iso(row.resolvedAt),
    lastEventKind: row.lastEventKind,
    changeSeq: row.changeSeq,
  };
}

/** An incident with who owns it, as listed and streamed. */
export function presentWithOwnership(row: IncidentRow, catalogue: ServiceCatalogue) {
  return { ...presentIncident(row), ownership: catalogue.lookup(row.service) };
}
