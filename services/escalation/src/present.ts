import { IncidentEventChange } from '@micro-oncall/incident-model';
import { z } from 'zod';
import type { ServiceCatalogue } from './catalogue.js';
import type { IncidentEventRow, IncidentRow } from './db/types.js';
import type { GroupSummary } from './grouping.js';
import type { IncidentHandling } from './handling.js';
import type { ProviderConditionView } from './provider-context.js';

function iso(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/**
 * The public shape of an incident in API answers and the live feed. `providerConditions`: the
 * provider conditions affecting its service while it is live (provider-context.ts), worst first.
 * `handling`: who acknowledged it and its escalation, from its events (handling.ts). `group`: the
 * group of related alerts it belongs to, summarised (grouping.ts, ADR 0019), null when on its own.
 */
export function presentIncident(
  row: IncidentRow,
  providerConditions: readonly ProviderConditionView[],
  handling: IncidentHandling,
  group: GroupSummary | null = null,
) {
  return {
    id: row.id,
    number: row.number,
    provider: row.provider,
    providerId: row.providerId,
    dedupKey: row.dedupKey,
    title: row.title,
    service: row.service,
    severity: row.severity,
    providerSeverity: row.providerSeverity,
    assignees: row.assignees,
    acknowledgedBy: handling.acknowledgedBy,
    escalation: handling.escalation,
    urgency: row.urgency,
    status: row.status,
    labels: row.labels,
    links: row.links,
    providerUrl: row.providerUrl,
    ...presentDrill(row),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    acknowledgedAt: iso(row.acknowledgedAt),
    resolvedAt: iso(row.resolvedAt),
    lastEventKind: row.lastEventKind,
    changeSeq: row.changeSeq,
    providerConditions,
    group,
  };
}

/** The simulator's page of a drill run (on the product's one host by path): the run's steps, incidents and report. */
export const drillRunPath = (runId: string) => `/drills/runs/${encodeURIComponent(runId)}`;

/**
 * Drill or real (drills.ts): `drill` only for a verified drill, with its run; a drill marker that
 * matched no active run is a real incident with `unverifiedDrillMarker` and the reason.
 */
function presentDrill(row: IncidentRow) {
  return {
    drill: row.drill,
    drillRun: row.drill && row.drillRunId ? { id: row.drillRunId, url: drillRunPath(row.drillRunId) } : null,
    drillRunId: row.drillRunId,
    unverifiedDrillMarker: row.unverifiedDrillMarker !== null,
    unverifiedDrillMarkerReason: row.unverifiedDrillMarker,
  };
}

/** An incident with who owns it, as listed and streamed. */
export function presentWithOwnership(
  row: IncidentRow,
  catalogue: ServiceCatalogue,
  providerConditions: readonly ProviderConditionView[],
  handling: IncidentHandling,
  group: GroupSummary | null = null,
) {
  return { ...presentIncident(row, providerConditions, handling, group), ownership: catalogue.lookup(row.service) };
}

/**
 * The parts of a stored envelope the timeline reads. Lenient: the history holds envelopes from
 * every version of the contract, and one that does not fit loses its detail, not the page.
 */
const StoredEnvelope = z.object({
  data: z.object({
    snapshot: z
      .object({
        providerSeverity: z.string().nullish().catch(undefined),
        labels: z.record(z.string(), z.string()).optional().catch(undefined),
      })
      .nullish()
      .catch(null),
    change: IncidentEventChange.optional().catch(undefined),
  }),
});

/**
 * The provider's priority at an event: what its snapshot says (null: no priority), undefined when
 * it has no snapshot. Envelopes from before ADR 0008 have the name in their labels only.
 */
function priorityAt(snapshot: z.infer<typeof StoredEnvelope>['data']['snapshot'], provider: string) {
  if (!snapshot) return undefined;
  if (snapshot.providerSeverity !== undefined) return snapshot.providerSeverity;
  const label = provider === 'pagerduty' ? 'priority' : provider === 'opsgenie' ? 'opsgenie_priority' : null;
  return (label && snapshot.labels?.[label]) || null;
}

/**
 * An incident's history as the timeline shows it, oldest first (`rows` in that order): each event
 * with what it changed. A priority change says from what to what even where the provider sends
 * only the new priority (PagerDuty): `from` is the priority at the event before.
 */
export function presentTimeline(rows: readonly IncidentEventRow[], provider: string) {
  let priority: string | null | undefined;
  return rows.map((row) => {
    const stored = StoredEnvelope.safeParse(row.envelope);
    const data = stored.success ? stored.data.data : { snapshot: null, change: undefined };
    const now = priorityAt(data.snapshot, provider);
    let change: IncidentEventChange | null = data.change ?? null;
    if (row.kind === 'priority_changed' && now !== undefined) {
      change = {
        ...change,
        priority: { from: change?.priority?.from ?? priority ?? null, to: change?.priority?.to ?? now },
      };
    }
    if (now !== undefined) priority = now;
    return {
      eventId: row.eventId,
      kind: row.kind,
      providerEventType: row.providerEventType,
      occurredAt: new Date(row.occurredAt).toISOString(),
      actor: row.actor,
      note: row.note,
      drill: row.drill,
      change,
    };
  });
}
