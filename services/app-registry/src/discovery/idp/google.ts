/**
 * Google Workspace third-party OAuth grants, through the Admin SDK Directory API.
 *
 * Endpoint: `GET {url}/admin/directory/v1/users/{userKey}/tokens` with a Bearer token of scope
 * `admin.directory.user.security` (a service account's, impersonating an admin: access-token.ts),
 * for each configured user key (an email or user id). Not
 * paged: `{kind, items[]}` (no `items` when the user granted nothing). 429: retried after the
 * provider's wait (`Retry-After` when given, else backoff). A user who cannot be read (deleted,
 * unknown) is an error for that user; the other users are still read. No "changed since" exists,
 * so the cursor (`<userKey>:<clientId>` → a hash of the grant) keeps only new and changed grants.
 *
 * Sighting: kind `idp-client`, action `registration`; `match.clientId` = `clientId`; `label` =
 * `displayText` (else the client id); `actor` = the user key (the person who granted the app
 * access); `at` = the time of the run (a token carries no grant time); `recordId` =
 * `google:<userKey>:<clientId>@<version>`. Evidence: client id, display text, scopes, and
 * whether it is a native or anonymous client.
 */
import type { ReadError } from '../sighting.js';
import { type AccessToken, staticToken } from './access-token.js';
import {
  evidenceText,
  type IdpClientOptions,
  type IdpCursor,
  type IdpListing,
  type InventoryItem,
  inventoryListing,
  isRecord,
  providerClient,
  registration,
  requestError,
  str,
  versionOf,
} from './inventory.js';

export interface GoogleSource {
  /** The Admin SDK's base URL; `https://admin.googleapis.com` by default. */
  url?: string;
  /** An access token, or (in production) `googleServiceAccount(…)` which fetches and renews one. */
  token: string | AccessToken;
  /** Whose grants to read: emails or user ids. */
  userKeys: string[];
}

export const GOOGLE_ADMIN_URL = 'https://admin.googleapis.com';

export function listGoogleApps(source: GoogleSource, cursor: IdpCursor | null, options: IdpClientOptions): IdpListing {
  const auth = typeof source.token === 'string' ? staticToken(source.token) : source.token;
  const http = providerClient('Google Workspace', source.url ?? GOOGLE_ADMIN_URL, () => ({}), options);
  const now = options.now ?? (() => new Date());

  async function* items(): AsyncGenerator<InventoryItem | ReadError> {
    for (const userKey of source.userKeys) {
      const path = `/admin/directory/v1/users/${encodeURIComponent(userKey)}/tokens`;
      const endpoint = `google:${path}`;
      let bearer: string;
      try {
        bearer = await auth.get();
      } catch (error) {
        // No token, no user can be read: one error for the listing, not one per user.
        yield requestError('Google Workspace', endpoint, null, 1, error, auth.last());
        return;
      }
      let body: unknown;
      try {
        const headers = { accept: 'application/json', authorization: `Bearer ${bearer}` };
        body = (await http.request<unknown>({ method: 'GET', path, headers })).body;
      } catch (error) {
        yield requestError('Google Workspace', endpoint, null, 1, error, auth.last());
        continue;
      }
      const tokens = isRecord(body) && Array.isArray(body.items) ? body.items : [];
      let line = 0;
      for (const granted of tokens) {
        line += 1;
        const clientId = isRecord(granted) ? str(granted.clientId) : undefined;
        if (!isRecord(granted) || !clientId) {
          yield { file: endpoint, line, message: 'Google Workspace token without a clientId' };
          continue;
        }
        const text = evidenceText({
          clientId,
          displayText: granted.displayText,
          scopes: granted.scopes,
          userKey: granted.userKey ?? userKey,
          nativeApp: granted.nativeApp,
          anonymous: granted.anonymous,
        });
        yield registration({
          format: 'google',
          key: `${userKey}:${clientId}`,
          version: versionOf(text),
          clientId,
          label: str(granted.displayText) ?? clientId,
          at: now(),
          actor: userKey,
          evidence: { file: endpoint, line, text },
        });
      }
    }
  }
  return inventoryListing(cursor, items);
}
