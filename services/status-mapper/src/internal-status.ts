import { type ComponentStatus, componentStatusRank, worstComponentStatus } from '@micro-oncall/incident-model';
import type { Mapping } from './config/mapping.js';

/*
 * The view behind GET /status/internal, pure: per internal service named in the mapping, the
 * worst condition of the provider components mapped to it, since when, the components and the
 * open provider incidents behind it. A service none of whose components has been seen yet
 * reads `unknown`, never `operational`.
 */

export interface ComponentState {
  key: string;
  pageId: string;
  provider: string;
  id: string;
  name: string;
  group: { id: string; name: string } | null;
  status: ComponentStatus;
  since: string;
  /** Set while the component's page is stale. */
  stale: { since: string; reason: string | null; lastKnown: ComponentStatus } | null;
}

export interface IncidentState {
  pageId: string;
  provider: string;
  id: string;
  name: string;
  status: string;
  impact: string;
  shortlink: string | null;
  latestUpdate: string | null;
  componentIds: string[];
}

export interface InternalServiceStatus {
  service: string;
  status: ComponentStatus;
  /** When the service entered its current condition (null when nothing is known yet). */
  since: string | null;
  /** The mapped components, worst first. */
  components: ComponentState[];
  /** Open provider incidents naming any of those components. */
  incidents: (Omit<IncidentState, 'componentIds'> & { components: string[] })[];
}

export function internalStatus(
  mapping: Mapping,
  components: readonly ComponentState[],
  incidents: readonly IncidentState[],
): InternalServiceStatus[] {
  const byService = new Map<string, ComponentState[]>(mapping.services().map((s) => [s, []]));
  for (const c of components) {
    for (const service of mapping.servicesFor({ pageId: c.pageId, id: c.id, name: c.name, group: c.group })) {
      byService.get(service)?.push(c);
    }
  }
  return [...byService.entries()]
    .map(([service, mapped]) => {
      const sorted = [...mapped].sort(
        (a, b) => componentStatusRank(b.status) - componentStatusRank(a.status) || a.key.localeCompare(b.key),
      );
      const status = sorted.length === 0 ? 'unknown' : worstComponentStatus(sorted.map((c) => c.status));
      const atWorst = sorted.filter((c) => c.status === status).map((c) => c.since);
      // ISO 8601 UTC strings sort in time order.
      const since = atWorst.length === 0 ? null : (atWorst.sort()[0] ?? null);
      const related = incidents
        .map(({ componentIds, ...i }) => ({
          ...i,
          components: sorted.filter((c) => c.pageId === i.pageId && componentIds.includes(c.id)).map((c) => c.key),
        }))
        .filter((i) => i.components.length > 0);
      return { service, status, since, components: sorted, incidents: related };
    })
    .sort(
      (a, b) => componentStatusRank(b.status) - componentStatusRank(a.status) || a.service.localeCompare(b.service),
    );
}
