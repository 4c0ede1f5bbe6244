import { componentStatusWords } from '@micro-oncall/incident-model';
import type { MappableComponent } from './config/mapping.js';
import { type AtomEntry, type AtomFeed, type AtomLink, UUID_NAMESPACE_URL, uuidV5 } from './feed-atom.js';
import type { ChangeRecord, IncidentUpdateRecord } from './history.js';

/*
 * What the Atom feed says, pure: one entry per component condition change ("Cloudflare — CDN
 * Edge: major outage") and one per provider incident in its latest known state, newest first,
 * each naming the internal services it affects under the mapping in force. Everything in it that
 * came from a provider is text (the writer escapes it); links are kept only when they are http(s).
 */

/** Entries in the feed. */
export const FEED_ENTRIES = 100;

/** Namespace of the entry ids of provider incident updates (a v5 UUID of our own). */
const INCIDENT_UPDATE_NAMESPACE = uuidV5('urn:micro-oncall:status-mapper:incident-update', UUID_NAMESPACE_URL);

/** A provider-supplied link, only when it is an absolute http(s) URL (never `javascript:` and the like). */
export function httpUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** `2025-11-21T08:01:02.000Z` → `2025-11-21 08:01 UTC`. */
const minute = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

const list = (items: readonly string[]) => items.join(', ');

function affects(services: readonly string[]): string {
  return services.length > 0 ? `Affects internal services: ${list(services)}.` : 'No internal service is mapped to it.';
}

export function changeEntry(record: ChangeRecord, services: readonly string[]): AtomEntry {
  const { change } = record;
  const { component, status } = change;
  const name = component.group ? `${component.name} (${component.group.name})` : component.name;
  const to = componentStatusWords(status.to);
  const title = status.stale
    ? `${change.provider} — ${component.name}: unknown, stale since ${minute(status.stale.since)}`
    : `${change.provider} — ${component.name}: ${to}`;
  const lines: string[] = [];
  if (status.stale) {
    lines.push(
      `${change.provider}'s status page has not answered since ${minute(status.stale.since)} (${status.stale.reason}): ` +
        `${name} reads unknown${status.stale.lastKnown ? `; last reported ${componentStatusWords(status.stale.lastKnown)}` : ''}.`,
    );
  } else if (status.from === null) {
    lines.push(`${name} was first seen in ${to}.`);
  } else {
    lines.push(`${name} went from ${componentStatusWords(status.from)} to ${to}.`);
  }
  if (status.to === 'unknown' && !status.stale && status.providerStatus) {
    lines.push(`The provider said "${status.providerStatus}", a status we do not know.`);
  }
  lines.push(affects(services));
  for (const i of change.incidents) lines.push(`Provider incident: ${i.name} (${i.status}, ${i.impact} impact).`);
  const href = change.incidents.map((i) => httpUrl(i.shortlink)).find((u) => u !== null) ?? httpUrl(record.pageUrl);
  return {
    id: `urn:uuid:${change.changeId}`,
    title,
    updated: change.observedAt,
    summary: lines.join('\n'),
    ...(href ? { links: [{ rel: 'alternate', href }] } : {}),
    categories: [{ term: status.to, label: to }],
  };
}

export function incidentEntry(record: IncidentUpdateRecord, services: readonly string[]): AtomEntry {
  const components = record.components.map((c) => c.name);
  const lines = [
    record.latestUpdate ?? 'No update text.',
    '',
    `Impact: ${record.impact}.${components.length > 0 ? ` Components: ${list(components)}.` : ''}`,
    affects(services),
  ];
  const href = httpUrl(record.shortlink) ?? httpUrl(record.pageUrl);
  return {
    // One id per incident state: a new update (or its resolution) is a new entry for readers and chat tools.
    id: `urn:uuid:${uuidV5(`${record.pageId}/${record.incidentId}/${record.status}/${record.updatedAt}`, INCIDENT_UPDATE_NAMESPACE)}`,
    title: `${record.provider} — ${record.name}: ${record.status}`,
    updated: record.updatedAt,
    summary: lines.join('\n'),
    ...(href ? { links: [{ rel: 'alternate', href }] } : {}),
    categories: [{ term: 'incident', label: 'provider incident' }],
  };
}

export interface ProviderFeedInput {
  /** The feed's own URL (without any token): its permanent id and `self` link. */
  selfUrl: string;
  /** Where the current state is read (`/status/internal`). */
  currentUrl: string;
  changes: readonly ChangeRecord[];
  incidents: readonly IncidentUpdateRecord[];
  servicesFor: (component: MappableComponent) => string[];
  limit?: number;
}

export function providerFeed(input: ProviderFeedInput): AtomFeed {
  const limit = input.limit ?? FEED_ENTRIES;
  const dated: { updated: string; order: number; entry: AtomEntry }[] = [
    ...input.changes.map((r) => ({
      updated: r.change.observedAt,
      order: r.position,
      entry: changeEntry(r, input.servicesFor({ pageId: r.change.page.id, ...r.change.component })),
    })),
    ...input.incidents.map((r) => {
      const services = [...new Set(r.components.flatMap((c) => input.servicesFor({ pageId: r.pageId, ...c })))].sort();
      return { updated: r.updatedAt, order: 0, entry: incidentEntry(r, services) };
    }),
  ];
  // Newest first; ISO 8601 UTC strings sort in time order. Within one instant, later changes first.
  dated.sort((a, b) => (a.updated < b.updated ? 1 : a.updated > b.updated ? -1 : b.order - a.order));
  const entries = dated.slice(0, limit).map((d) => d.entry);
  const links: AtomLink[] = [
    { rel: 'self', type: 'application/atom+xml', href: input.selfUrl },
    { rel: 'alternate', type: 'application/json', href: input.currentUrl },
  ];
  return {
    id: input.selfUrl,
    title: 'Provider status',
    subtitle: "External providers' component changes and incidents, mapped onto our internal services",
    // The newest entry's time, so the document (and its ETag) only changes when an entry does.
    updated: dated[0]?.updated ?? '1970-01-01T00:00:00.000Z',
    links,
    author: { name: 'status-mapper' },
    generator: 'micro-oncall status-mapper',
    entries,
  };
}
