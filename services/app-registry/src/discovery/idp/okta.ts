/**
 * Okta apps inventory.
 *
 * Endpoint: `GET {OKTA_URL}/api/v1/apps?limit=200` with `Authorization: SSWS <API token>`
 * (providers-2.md, "Identity-provider app inventories"). The answer is a bare array.
 * Paging: the `Link` header's `rel="next"` URL, followed as it is (only below the configured
 * URL) until there is none. 429: waits for `X-Rate-Limit-Reset` (epoch seconds) and retries.
 * Incremental: the contract's `filter` allows only id, status, name and credentials.signing.kid
 * (no `lastUpdated`), so every run lists everything and the cursor (id → `lastUpdated`) keeps
 * only new and changed apps.
 *
 * Sighting: kind `idp-client`, action `registration`; `match.clientId` =
 * `credentials.oauthClient.client_id` for OIDC apps, else the app `id` (Okta's OIDC client ids
 * are app ids too, and a SAML or bookmark app is known by its id); `label` = `label` (else
 * `name`); `at` = `created`; no actor (the apps API does not say who created an app);
 * `recordId` = `okta:<id>@<lastUpdated>`. Apps with status DELETED are skipped.
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

export interface OktaSource {
  /** The org URL, e.g. `https://acme.okta.com`. */
  url: string;
  /** An API token (sent as `SSWS <token>`) of an admin with read access to apps. */
  token: string;
}

const ENDPOINT = 'okta:/api/v1/apps';

export function listOktaApps(source: OktaSource, cursor: IdpCursor | null, options: IdpClientOptions): IdpListing {
  const http = providerClient('Okta', source.url, () => ({ authorization: `SSWS ${source.token}` }), options);
  const now = options.now ?? (() => new Date());

  async function* items(): AsyncGenerator<InventoryItem | ReadError> {
    for await (const entry of pagedItems({
      provider: 'Okta',
      endpoint: ENDPOINT,
      http,
      baseUrl: source.url,
      firstPath: '/api/v1/apps?limit=200',
      headers: async () => ({ accept: 'application/json' }),
      secret: () => source.token,
      items: (body) => (Array.isArray(body) ? body : null),
      itemsName: 'array of apps',
      next: (_body, headers) => nextLink(headers.get('link')),
    })) {
      if ('error' in entry) yield entry.error;
      else {
        const item = toItem(entry.item, entry.line, now());
        if (item) yield item;
      }
    }
  }
  return inventoryListing(cursor, items);
}

function toItem(app: unknown, line: number, now: Date): InventoryItem | ReadError | null {
  if (!isRecord(app) || !str(app.id)) return { file: ENDPOINT, line, message: 'Okta app without an id' };
  if (app.status === 'DELETED') return null;
  const id = app.id as string;
  const credentials = isRecord(app.credentials) ? app.credentials : {};
  const oauthClient = isRecord(credentials.oauthClient) ? credentials.oauthClient : {};
  const settings = isRecord(app.settings) && isRecord(app.settings.oauthClient) ? app.settings.oauthClient : {};
  return registration({
    format: 'okta',
    key: id,
    version: str(app.lastUpdated) ?? str(app.created) ?? '',
    clientId: str(oauthClient.client_id) ?? id,
    label: str(app.label) ?? str(app.name) ?? id,
    at: dateOr(app.created, now),
    evidence: {
      file: ENDPOINT,
      line,
      text: evidenceText({
        id,
        name: app.name,
        label: app.label,
        status: app.status,
        signOnMode: app.signOnMode,
        created: app.created,
        lastUpdated: app.lastUpdated,
        client_id: oauthClient.client_id,
        redirect_uris: settings.redirect_uris,
      }),
    },
  });
}
