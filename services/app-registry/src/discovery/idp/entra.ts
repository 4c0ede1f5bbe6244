/**
 * Microsoft Entra ID app inventory, through Microsoft Graph v1.0.
 *
 * Endpoints (Bearer token with the Application.Read.All application permission, fetched with the
 * client-credentials grant by access-token.ts, or a static one): first
 * `GET /v1.0/applications?$top=999&$select=…&$expand=owners` (the app registrations of the
 * tenant), then `GET /v1.0/servicePrincipals?$top=999&$select=…` (enterprise apps: apps of
 * other tenants consented here, managed identities). Body `{value[], "@odata.nextLink"?}`;
 * paging: the nextLink, followed as it is (only below the configured URL) until absent. 429:
 * waits for `Retry-After` and retries. No delta query is used (the contract lists none), so the
 * cursor (`app:<id>` / `sp:<id>` → a hash of the fields read) keeps only new and changed items.
 *
 * Sighting, application: kind `idp-client`, action `registration`, `match.clientId` = `appId`,
 * `label` = `displayName`, `at` = `createdDateTime`, `actor` = the first owner's
 * `userPrincipalName` (else `mail`) from `$expand=owners`.
 * Service principal: the same with `at` = the time of the run (v1.0 gives no creation time);
 * skipped when its `appId` is one of this tenant's application registrations (the same app,
 * already reported) or when Microsoft's own tenants own it (the hundreds of first-party
 * principals every tenant has are not apps anyone here registered).
 * `recordId` = `entra:<key>@<version>`.
 */
import type { ReadError } from '../sighting.js';
import { type AccessToken, staticToken } from './access-token.js';
import {
  dateOr,
  evidenceText,
  type IdpClientOptions,
  type IdpCursor,
  type IdpListing,
  type InventoryItem,
  inventoryListing,
  isRecord,
  pagedItems,
  providerClient,
  registration,
  str,
  versionOf,
} from './inventory.js';

export interface EntraSource {
  /** Graph's base URL; `https://graph.microsoft.com` unless a national cloud. */
  url?: string;
  /** A Graph access token, or (in production) `entraClientCredentials(…)` which fetches and renews one. */
  token: string | AccessToken;
  /** Ask for owners with `$expand=owners` (needs the owners to be readable). Default true. */
  owners?: boolean;
}

export const GRAPH_URL = 'https://graph.microsoft.com';

/** Microsoft Services and Microsoft's corporate tenant: owners of first-party service principals. */
export const MICROSOFT_TENANTS: readonly string[] = [
  'f8cdef31-a31e-4b4a-93e4-5f571e91255a',
  '72f988bf-86f1-41af-91ab-2d7cd011db47',
];

const APPLICATION_SELECT = 'id,appId,displayName,createdDateTime,signInAudience,publisherDomain,web,spa,publicClient';
const SERVICE_PRINCIPAL_SELECT =
  'id,appId,displayName,appOwnerOrganizationId,servicePrincipalType,accountEnabled,replyUrls';

export function listEntraApps(source: EntraSource, cursor: IdpCursor | null, options: IdpClientOptions): IdpListing {
  const base = source.url ?? GRAPH_URL;
  const auth = typeof source.token === 'string' ? staticToken(source.token) : source.token;
  const http = providerClient('Microsoft Graph', base, () => ({}), options);
  const now = options.now ?? (() => new Date());

  /** Every object of a collection, page by page, following `@odata.nextLink`. */
  const collection = (endpoint: string, query: URLSearchParams) =>
    pagedItems({
      provider: 'Microsoft Graph',
      endpoint,
      http,
      baseUrl: base,
      firstPath: `${endpoint.replace(/^entra:/, '')}?${query}`,
      headers: async () => ({ accept: 'application/json', authorization: `Bearer ${await auth.get()}` }),
      secret: () => auth.last(),
      items: (body) => (isRecord(body) && Array.isArray(body.value) ? body.value : null),
      itemsName: 'value[]',
      next: (body) => (isRecord(body) ? (str(body['@odata.nextLink']) ?? null) : null),
    });

  /** The item, or an error when it lacks what every item has. */
  const checked = (endpoint: string, what: string, entry: { item: unknown; line: number }): Checked => {
    const { item, line } = entry;
    if (isRecord(item) && str(item.id) && str(item.appId)) {
      return { item, id: item.id as string, appId: item.appId as string, line };
    }
    return { error: { file: endpoint, line, message: `Microsoft Graph ${what} without id or appId` } };
  };

  async function* items(): AsyncGenerator<InventoryItem | ReadError> {
    const appIds = new Set<string>();
    const appEndpoint = 'entra:/v1.0/applications';
    const applications = new URLSearchParams({ $top: '999', $select: APPLICATION_SELECT });
    if (source.owners ?? true) applications.set('$expand', 'owners');
    for await (const entry of collection(appEndpoint, applications)) {
      const app = 'error' in entry ? entry : checked(appEndpoint, 'application', entry);
      if ('error' in app) {
        yield app.error;
        continue;
      }
      appIds.add(app.appId);
      const owners = Array.isArray(app.item.owners) ? app.item.owners.filter(isRecord) : [];
      const text = evidenceText({
        id: app.id,
        appId: app.appId,
        displayName: app.item.displayName,
        createdDateTime: app.item.createdDateTime,
        signInAudience: app.item.signInAudience,
        publisherDomain: app.item.publisherDomain,
        redirectUris: redirectUris(app.item),
        owners: owners.map((o) => str(o.userPrincipalName) ?? str(o.mail) ?? str(o.displayName) ?? str(o.id)),
      });
      yield registration({
        format: 'entra',
        key: `app:${app.id}`,
        version: versionOf(text),
        clientId: app.appId,
        label: str(app.item.displayName) ?? app.appId,
        at: dateOr(app.item.createdDateTime, now()),
        actor: owners.map((o) => str(o.userPrincipalName) ?? str(o.mail)).find((o) => o !== undefined),
        evidence: { file: appEndpoint, line: app.line, text },
      });
    }

    const spEndpoint = 'entra:/v1.0/servicePrincipals';
    const principals = new URLSearchParams({ $top: '999', $select: SERVICE_PRINCIPAL_SELECT });
    for await (const entry of collection(spEndpoint, principals)) {
      const sp = 'error' in entry ? entry : checked(spEndpoint, 'service principal', entry);
      if ('error' in sp) {
        yield sp.error;
        continue;
      }
      const ownerTenant = str(sp.item.appOwnerOrganizationId);
      if (appIds.has(sp.appId) || (ownerTenant && MICROSOFT_TENANTS.includes(ownerTenant))) continue;
      const text = evidenceText({
        id: sp.id,
        appId: sp.appId,
        displayName: sp.item.displayName,
        appOwnerOrganizationId: sp.item.appOwnerOrganizationId,
        servicePrincipalType: sp.item.servicePrincipalType,
        accountEnabled: sp.item.accountEnabled,
        replyUrls: sp.item.replyUrls,
      });
      yield registration({
        format: 'entra',
        key: `sp:${sp.id}`,
        version: versionOf(text),
        clientId: sp.appId,
        label: str(sp.item.displayName) ?? sp.appId,
        at: now(),
        evidence: { file: spEndpoint, line: sp.line, text },
      });
    }
  }
  return inventoryListing(cursor, items);
}

type Checked = { item: Record<string, unknown>; id: string; appId: string; line: number } | { error: ReadError };

function redirectUris(app: Record<string, unknown>): string[] {
  return ['web', 'spa', 'publicClient'].flatMap((k) => {
    const v = app[k];
    return isRecord(v) && Array.isArray(v.redirectUris) ? v.redirectUris.filter((u) => typeof u === 'string') : [];
  });
}
