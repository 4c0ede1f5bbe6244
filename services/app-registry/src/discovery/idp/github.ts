/**
 * GitHub App installations of an organization.
 *
 * Endpoint: `GET {url}/orgs/{org}/installations?per_page=100&page=N` with `Accept:
 * application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28` and a Bearer token of an
 * org owner (classic tokens need `admin:read`). Body `{total_count, installations[]}`; paging:
 * the `Link` header's `rel="next"` URL, followed as it is (only below the configured URL) until
 * there is none. 429: waits for `Retry-After` (else `X-RateLimit-Reset`) and retries.
 * Incremental: no "since" parameter, so the cursor (installation id → `updated_at`) keeps only
 * new and changed installations.
 *
 * Sighting: kind `idp-client`, action `registration`; `match.clientId` =
 * `github-app:<app_id>` (the numeric app id is stable when an app is renamed, unlike its slug;
 * the prefix keeps it apart from other providers' ids; register a GitHub App in the registry
 * with that client id to have it matched); `label` = `app_slug`; `at` = `created_at`; no actor
 * (the API does not say who installed it); `recordId` = `github:<installation id>@<updated_at>`.
 * Suspended installations are reported too (they are still installed); the evidence says so.
 */
import type { ReadError } from '../sighting.js';
import {
  dateOr,
  evidenceText,
  type IdpClientOptions,
  type IdpCursor,
  type IdpListing,
  type InventoryItem,
  inventoryListing,
  isRecord,
  nextLink,
  pagedItems,
  providerClient,
  registration,
  str,
} from './inventory.js';

export interface GitHubSource {
  /** The REST API's base URL: `https://api.github.com`, or `https://<host>/api/v3` for GitHub Enterprise Server. */
  url?: string;
  token: string;
  org: string;
}

export const GITHUB_API_URL = 'https://api.github.com';
export const GITHUB_API_VERSION = '2022-11-28';

/** What a GitHub App installation is matched by. */
export function githubAppClientId(appId: number | string): string {
  return `github-app:${appId}`;
}

export function listGitHubApps(source: GitHubSource, cursor: IdpCursor | null, options: IdpClientOptions): IdpListing {
  const base = source.url ?? GITHUB_API_URL;
  const http = providerClient(
    'GitHub',
    base,
    () => ({
      authorization: `Bearer ${source.token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': GITHUB_API_VERSION,
    }),
    options,
  );
  const now = options.now ?? (() => new Date());
  const endpoint = `github:/orgs/${source.org}/installations`;

  async function* items(): AsyncGenerator<InventoryItem | ReadError> {
    for await (const entry of pagedItems({
      provider: 'GitHub',
      endpoint,
      http,
      baseUrl: base,
      firstPath: `/orgs/${encodeURIComponent(source.org)}/installations?per_page=100&page=1`,
      headers: async () => ({}),
      secret: () => source.token,
      items: (body) => (isRecord(body) && Array.isArray(body.installations) ? body.installations : null),
      itemsName: 'installations[]',
      next: (_body, headers) => nextLink(headers.get('link')),
    })) {
      yield 'error' in entry ? entry.error : toItem(entry.item, endpoint, entry.line, now());
    }
  }
  return inventoryListing(cursor, items);
}

function toItem(installation: unknown, endpoint: string, line: number, now: Date): InventoryItem | ReadError {
  const id = isRecord(installation) ? installation.id : undefined;
  const appId = isRecord(installation) ? installation.app_id : undefined;
  if (!isRecord(installation) || typeof id !== 'number' || typeof appId !== 'number') {
    return { file: endpoint, line, message: 'GitHub installation without a numeric id and app_id' };
  }
  return registration({
    format: 'github',
    key: String(id),
    version: str(installation.updated_at) ?? str(installation.created_at) ?? '',
    clientId: githubAppClientId(appId),
    label: str(installation.app_slug) ?? githubAppClientId(appId),
    at: dateOr(installation.created_at, now),
    evidence: {
      file: endpoint,
      line,
      text: evidenceText({
        id,
        app_id: appId,
        app_slug: installation.app_slug,
        target_type: installation.target_type,
        repository_selection: installation.repository_selection,
        permissions: installation.permissions,
        events: installation.events,
        created_at: installation.created_at,
        updated_at: installation.updated_at,
        suspended_at: installation.suspended_at,
      }),
    },
  });
}
