import type { Sighting } from './sighting.js';

/*
 * Which registered app a sighting belongs to: by identity-provider client id, then by cloud
 * resource id, then by endpoint host (an app's `*.example.com` covers its sub-domains). Built
 * once per run from the apps that are not purged.
 */

export interface MatchableApp {
  id: string;
  idpClientIds: string[];
  cloudResourceIds: string[];
  endpoints: { host: string }[];
}

/** A host without its port, lower-cased. */
export const bareHost = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/:\d{1,5}$/, '');

export interface Matcher {
  /** The matched app's id, or null. */
  match(sighting: Pick<Sighting, 'match'>): string | null;
  readonly size: number;
}

export function createMatcher(apps: Iterable<MatchableApp>): Matcher {
  const clients = new Map<string, string>();
  const resources = new Map<string, string>();
  const hosts = new Map<string, string>();
  /** `*.example.com` → `.example.com` */
  const wildcards: { suffix: string; id: string }[] = [];
  let size = 0;
  for (const app of apps) {
    size += 1;
    for (const c of app.idpClientIds) clients.set(c, app.id);
    // Resource ids (ARNs, GCP and Azure resource names) are matched case-insensitively: Azure's are.
    for (const r of app.cloudResourceIds) resources.set(r.toLowerCase(), app.id);
    for (const e of app.endpoints) {
      const host = bareHost(e.host);
      if (host.startsWith('*.')) wildcards.push({ suffix: host.slice(1), id: app.id });
      else hosts.set(host, app.id);
    }
  }
  // The longest suffix wins: `*.a.example.com` before `*.example.com`.
  wildcards.sort((a, b) => b.suffix.length - a.suffix.length);

  return {
    size,
    match({ match }) {
      if (match.clientId) {
        const id = clients.get(match.clientId);
        if (id) return id;
      }
      if (match.resourceId) {
        const id = resources.get(match.resourceId.toLowerCase());
        if (id) return id;
      }
      if (match.host) {
        const host = bareHost(match.host);
        const id = hosts.get(host);
        if (id) return id;
        for (const w of wildcards) if (host.endsWith(w.suffix)) return w.id;
      }
      return null;
    },
  };
}

/**
 * A candidate's identity: what a registered app would be matched by, most specific first
 * (`client:…`, `resource:…`, `host:…`). Null when the sighting carries nothing to match.
 */
export function candidateKey(sighting: Pick<Sighting, 'match'>): string | null {
  const { clientId, resourceId, host } = sighting.match;
  if (clientId) return `client:${clientId}`;
  if (resourceId) return `resource:${resourceId}`;
  if (host) return `host:${bareHost(host)}`;
  return null;
}
