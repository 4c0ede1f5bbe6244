import type { ComponentStatus } from '@micro-oncall/incident-model';

/*
 * Conditions of provider components, worst last. `unknown` (a status we do not know, or a source
 * that stopped answering) ranks above maintenance and below any confirmed degradation: it must
 * never read as "operational", and it must not hide a real outage next to it either.
 */
const RANK: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 1,
  unknown: 2,
  degraded_performance: 3,
  partial_outage: 4,
  major_outage: 5,
};

const KNOWN = new Set<string>(Object.keys(RANK));

/** A provider's status word → ours; anything we do not know (or a missing one) is `unknown`. */
export function normaliseStatus(value: unknown): ComponentStatus {
  return typeof value === 'string' && KNOWN.has(value) ? (value as ComponentStatus) : 'unknown';
}

export function rank(status: ComponentStatus): number {
  return RANK[status];
}

/** The worst of `statuses`; `operational` for none. */
export function worstStatus(statuses: Iterable<ComponentStatus>): ComponentStatus {
  let worst: ComponentStatus = 'operational';
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** For people: `major_outage` → `major outage`. */
export function statusLabel(status: ComponentStatus): string {
  return status.replace(/_/g, ' ');
}
