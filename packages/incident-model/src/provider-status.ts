import { z } from 'zod';
import { ServiceSlug } from './incident.js';
import { IsoDateTime } from './time.js';

/*
 * Payload of `provider-status`: one external provider component changed condition (status-mapper).
 * Statuspage's documented component statuses plus `unknown`: a value the provider sent that we do
 * not know, or no answer from the provider for several intervals (then `stale` says since when).
 */

export const ComponentStatus = z.enum([
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'unknown',
]);
export type ComponentStatus = z.infer<typeof ComponentStatus>;

/**
 * Conditions, worst last. `unknown` (a status we do not know, or a source that stopped
 * answering) ranks above maintenance and below any confirmed degradation: it must never read as
 * "operational", and it must not hide a real outage next to it either. (The pages' copy:
 * packages/web-ui/ui/common/conditions.js.)
 */
const COMPONENT_STATUS_RANK: Readonly<Record<ComponentStatus, number>> = {
  operational: 0,
  under_maintenance: 1,
  unknown: 2,
  degraded_performance: 3,
  partial_outage: 4,
  major_outage: 5,
};

/** Where a condition stands, worst highest. */
export function componentStatusRank(status: ComponentStatus): number {
  return COMPONENT_STATUS_RANK[status];
}

/** The worst of `statuses`; `operational` for none. */
export function worstComponentStatus(statuses: Iterable<ComponentStatus>): ComponentStatus {
  let worst: ComponentStatus = 'operational';
  for (const s of statuses) if (COMPONENT_STATUS_RANK[s] > COMPONENT_STATUS_RANK[worst]) worst = s;
  return worst;
}

/** A provider's status word → ours; anything we do not know (or a missing one) is `unknown`. */
export function toComponentStatus(value: unknown): ComponentStatus {
  return typeof value === 'string' && Object.hasOwn(COMPONENT_STATUS_RANK, value)
    ? (value as ComponentStatus)
    : 'unknown';
}

/** For people: `major_outage` → `major outage`. */
export function componentStatusWords(status: ComponentStatus): string {
  return status.replace(/_/g, ' ');
}

export const ProviderStatusSource = z.enum(['poll', 'webhook', 'aws']);

export const PROVIDER_STATUS_LIMITS = {
  /** Internal services one component maps to, as the event carries them. */
  services: 500,
} as const;
export type ProviderStatusSource = z.infer<typeof ProviderStatusSource>;

const Text = (max: number) => z.string().min(1).max(max);

export const ProviderIncidentRef = z.object({
  id: Text(128),
  name: z.string().max(512),
  /** investigating|identified|monitoring|resolved|postmortem (others kept as sent). */
  status: Text(64),
  /** none|minor|major|critical (others kept as sent). */
  impact: Text(64),
  shortlink: z.string().max(2048).nullable(),
});
export type ProviderIncidentRef = z.infer<typeof ProviderIncidentRef>;

export const ProviderStatusChange = z.object({
  /** Unique per change: the consumers' idempotency key. */
  changeId: z.uuid(),
  /** Display name of the provider (`Cloudflare`). */
  provider: Text(128),
  page: z.object({
    /** Our source id from the sources file (`cloudflare`). */
    id: Text(64),
    /** The provider's page id (Statuspage `page.id`), once known. */
    providerPageId: z.string().max(128).nullable(),
    name: z.string().max(256).nullable(),
  }),
  component: z.object({
    /** `<page id>/<component id>`: the event subject and Kafka key. */
    key: Text(256),
    id: Text(128),
    name: z.string().max(512),
    group: z.object({ id: Text(128), name: z.string().max(512) }).nullable(),
  }),
  status: z.object({
    /** Null when the component is seen for the first time. */
    from: ComponentStatus.nullable(),
    to: ComponentStatus,
    /** The provider's own word for `to` (kept when it maps to `unknown`); null when stale. */
    providerStatus: z.string().max(64).nullable(),
    /** Set when `to` is unknown because the source has been failing: since when, why, and the last good status. */
    stale: z
      .object({ since: IsoDateTime, reason: z.string().max(500), lastKnown: ComponentStatus.nullable() })
      .nullable(),
  }),
  /** Unresolved provider incidents that name this component. */
  incidents: z.array(ProviderIncidentRef).max(50),
  /**
   * The internal services the component maps to when the change was written (status-mapper's
   * mapping file at that moment): sorted, no duplicates, empty when unmapped. Consumers act on
   * this list, not on a mapping of their own.
   *
   * Optional on the wire, read as empty: events already on the topic before the field existed
   * (in Kafka or in status-mapper's outbox at a deploy) must still validate, or every consumer
   * would dead-letter them. An event without the field maps to no service; the component's next
   * change carries its services. Producers always send it.
   */
  services: z.array(ServiceSlug).max(PROVIDER_STATUS_LIMITS.services).default([]),
  observedAt: IsoDateTime,
  source: ProviderStatusSource,
});
export type ProviderStatusChange = z.infer<typeof ProviderStatusChange>;

export const PROVIDER_STATUS_TYPE_PREFIX = 'io.microoncall.provider-status.';
