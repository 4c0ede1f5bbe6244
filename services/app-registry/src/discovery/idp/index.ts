/**
 * Identity-provider app inventories for discovery: one listing per configured provider per run.
 *
 * ```ts
 * const listing = listIdpApps(source, await loadCursor(source.name), { logger });
 * for await (const entry of listing.sightings) isReadError(entry) ? report(entry) : match(entry);
 * await saveCursor(source.name, listing.cursor());
 * ```
 * A failure of one provider is a ReadError in its own listing (a `ProviderFailure` when the
 * provider could not be read on); the others are unaffected.
 *
 * Every discovery run lists each provider configured in env.ts (`IdpEnv`, built by
 * `idpSourcesFromConfig`) as the source `idp:<name>` (../idp-source.ts): its sightings go through
 * the run's sink (../sink.ts) and its cursor is stored in `discovery_idp_cursors` in the
 * transaction of its results.
 */
import type { IdpSource } from './config.js';
import { listEntraApps } from './entra.js';
import { listGitHubApps } from './github.js';
import { listGoogleApps } from './google.js';
import type { IdpClientOptions, IdpCursor, IdpListing, IdpProvider } from './inventory.js';
import { listOktaApps } from './okta.js';

export {
  type AccessToken,
  type EntraClientCredentials,
  entraClientCredentials,
  GOOGLE_DIRECTORY_SCOPE,
  type GoogleServiceAccountKey,
  googleServiceAccount,
  staticToken,
} from './access-token.js';
export { type IdpEnv, type IdpSource, idpSourcesFromConfig } from './config.js';
export { type EntraSource, GRAPH_URL, listEntraApps, MICROSOFT_TENANTS } from './entra.js';
export { GITHUB_API_URL, type GitHubSource, githubAppClientId, listGitHubApps } from './github.js';
export { GOOGLE_ADMIN_URL, type GoogleSource, listGoogleApps } from './google.js';
export {
  type IdpClientOptions,
  type IdpCursor,
  type IdpListing,
  type IdpProvider,
  isProviderFailure,
  isReadError,
  type ProviderFailure,
} from './inventory.js';
export { listOktaApps, type OktaSource } from './okta.js';

export function listIdpApps(source: IdpSource, cursor: IdpCursor | null, options: IdpClientOptions): IdpListing {
  switch (source.provider) {
    case 'okta':
      return listOktaApps(source, cursor, options);
    case 'entra':
      return listEntraApps(source, cursor, options);
    case 'google':
      return listGoogleApps(source, cursor, options);
    case 'github':
      return listGitHubApps(source, cursor, options);
  }
}

/** The cursor as stored (JSON), or null (list everything) when it is absent or not one of ours. */
export function parseIdpCursor(value: unknown): IdpCursor | null {
  if (value === null || typeof value !== 'object') return null;
  const { v, seen } = value as { v?: unknown; seen?: unknown };
  if (v !== 1 || seen === null || typeof seen !== 'object' || Array.isArray(seen)) return null;
  const entries = Object.entries(seen as Record<string, unknown>);
  if (!entries.every(([, version]) => typeof version === 'string')) return null;
  return { v: 1, seen: Object.fromEntries(entries) as Record<string, string> };
}

export const IDP_PROVIDERS: readonly IdpProvider[] = ['okta', 'entra', 'google', 'github'];
