import {
  type ComponentStatus,
  componentStatusRank,
  componentStatusWords,
  type ProviderIncidentRef,
  type ProviderStatusChange,
} from '@micro-oncall/incident-model';
import type { ProviderNoteKind, ProviderStale } from './db/schema.js';

/*
 * The domain rule of provider conditions, pure: what escalation holds for each provider
 * component after a `provider-status` event, which internal services a change affects, and what
 * an incident of such a service notes in its timeline. Tested without a database
 * (provider-conditions.test.ts); the consumer (consumers/provider-status.ts) only loads, folds
 * and writes.
 */

/** What escalation holds for one provider component (a row of escalation.provider_components). */
export interface ComponentCondition {
  componentKey: string;
  provider: string;
  pageId: string;
  componentName: string;
  groupName: string | null;
  status: ComponentStatus;
  providerStatus: string | null;
  /** ISO 8601 or PostgreSQL's text form: compared as instants. */
  since: string;
  stale: ProviderStale | null;
  incidents: ProviderIncidentRef[];
  services: string[];
  changeId: string;
  observedAt: string;
}

const instant = (value: string) => new Date(value).getTime();

/**
 * The component's condition after `change`, or null when the change is older (by `observedAt`)
 * than the one already applied: events of one component apply in their time order, whatever
 * order they arrive in. A change observed at the same instant as the current one applies (the
 * topic keeps one component's events in the order they were written).
 */
export function applyProviderChange(
  current: ComponentCondition | null,
  change: ProviderStatusChange,
): ComponentCondition | null {
  if (current && instant(change.observedAt) < instant(current.observedAt)) return null;
  const stale = change.status.stale;
  const sameCondition =
    current !== null && current.status === change.status.to && Boolean(current.stale) === Boolean(stale);
  return {
    componentKey: change.component.key,
    provider: change.provider,
    pageId: change.page.id,
    componentName: change.component.name,
    groupName: change.component.group?.name ?? null,
    status: change.status.to,
    providerStatus: change.status.providerStatus,
    // Since when it has been in this condition: kept while the condition stays the same.
    since: sameCondition ? current.since : (stale?.since ?? change.observedAt),
    stale,
    incidents: change.incidents,
    services: [...new Set(change.services)].sort(),
    changeId: change.changeId,
    observedAt: change.observedAt,
  };
}

/** True when `condition` is a provider condition affecting `service` (anything but operational). */
export function affects(condition: ComponentCondition | null, service: string): condition is ComponentCondition {
  return condition !== null && condition.status !== 'operational' && condition.services.includes(service);
}

/**
 * The internal services whose provider context a change alters: those the component affected
 * before or affects after. Their live incidents are shown again (live feed) and noted.
 */
export function servicesTouched(before: ComponentCondition | null, after: ComponentCondition): string[] {
  const services = new Set<string>();
  for (const condition of [before, after]) {
    if (condition && condition.status !== 'operational') for (const s of condition.services) services.add(s);
  }
  return [...services].sort();
}

export interface ProviderNote {
  kind: ProviderNoteKind;
  /** The condition affecting the service before (null when it began). */
  from: ComponentStatus | null;
  /** The component's status after. */
  to: ComponentStatus;
}

/**
 * What a live incident on `service` notes about a change of one component: the condition began,
 * changed (another status, or a source turning stale) or ended (recovered, or no longer mapped to
 * the service); null when nothing changed for it.
 */
export function noteFor(
  service: string,
  before: ComponentCondition | null,
  after: ComponentCondition,
): ProviderNote | null {
  const was = affects(before, service) ? before : null;
  const is = affects(after, service) ? after : null;
  if (!was && !is) return null;
  if (!was) return { kind: 'began', from: null, to: after.status };
  if (!is) return { kind: 'ended', from: was.status, to: after.status };
  if (was.status === is.status && Boolean(was.stale) === Boolean(is.stale)) return null;
  return { kind: 'changed', from: was.status, to: is.status };
}

/** Worst first, then by provider and component. */
export function byWorst(a: ComponentCondition, b: ComponentCondition): number {
  return (
    componentStatusRank(b.status) - componentStatusRank(a.status) ||
    a.provider.localeCompare(b.provider) ||
    a.componentName.localeCompare(b.componentName) ||
    a.componentKey.localeCompare(b.componentKey)
  );
}

/** `08:01 UTC` (with the date when it is not `now`'s day). */
function utcTime(iso: string, now: Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hhmm = d.toISOString().slice(11, 16);
  return d.toISOString().slice(0, 10) === now.toISOString().slice(0, 10)
    ? `${hhmm} UTC`
    : `${d.toISOString().slice(0, 10)} ${hhmm} UTC`;
}

/**
 * One line for chat and logs: "Cloudflare — CDN Edge: major outage since 08:01 UTC (likely
 * related)"; a stale source reads "unknown — stale since 08:30 UTC". Times in UTC: the reader's
 * time zone is not known here (the dashboard shows local time).
 */
export function conditionText(c: ComponentCondition, now = new Date()): string {
  const what = c.stale
    ? `unknown — stale since ${utcTime(c.stale.since, now)}`
    : `${componentStatusWords(c.status)} since ${utcTime(c.since, now)}`;
  return `${c.provider} — ${c.componentName}: ${what} (likely related)`;
}
