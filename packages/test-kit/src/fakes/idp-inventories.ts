import { generateKeyPairSync, randomBytes, randomUUID, verify } from 'node:crypto';
import {
  type Answer,
  type Fault,
  header,
  type IncomingRequest,
  type RecordedRequest,
  startFakeServer,
} from './server.js';

/**
 * Identity-provider app inventories on loopback (providers-2.md, "Identity-provider app
 * inventories"): Okta's apps API, Microsoft Graph applications and servicePrincipals, the Google
 * Workspace Directory tokens API and GitHub's organization installations. See ./README.md for
 * the rules each one enforces.
 */

interface FakeBase {
  url: string;
  requests: RecordedRequest[];
  failNext(fault: Fault): void;
  /** At most this many items per page, whatever the client asked for (as providers may); 0 = no cap. */
  setPageSize(n: number): void;
  stop(): Promise<void>;
}

/** `<a>; rel="x", <b>; rel="y"` */
function linkHeader(links: [url: string, rel: string][]): string {
  return links.map(([url, rel]) => `<${url}>; rel="${rel}"`).join(', ');
}

/** Query parameter names outside `allowed`. */
function unknownParams(req: IncomingRequest, allowed: readonly string[]): string[] {
  return [...new Set(req.query.keys())].filter((k) => !allowed.includes(k));
}

function intParam(value: string | null, min: number, max: number): number | null | 'invalid' {
  if (value === null) return null;
  if (!/^\d+$/.test(value)) return 'invalid';
  const n = Number(value);
  return n < min || n > max ? 'invalid' : n;
}

function bearer(req: IncomingRequest): string | null {
  const match = /^Bearer (\S+)$/.exec(header(req, 'authorization') ?? '');
  return match ? match[1]! : null;
}

const iso = (d: Date) => d.toISOString();
const seconds = (d: Date) => `${iso(d).slice(0, 19)}Z`;

// ---------------------------------------------------------------- Okta

export interface FakeOktaApp {
  id?: string;
  /** `oidc_client` for a custom OIDC app (the default when `clientId` is given), else e.g. `bookmark`. */
  name?: string;
  label: string;
  status?: 'ACTIVE' | 'INACTIVE' | 'DELETED';
  signOnMode?: string;
  /** OIDC apps: `credentials.oauthClient.client_id`. */
  clientId?: string;
  redirectUris?: string[];
  created?: string;
  lastUpdated?: string;
}

export interface FakeOkta extends FakeBase {
  token: string;
  /** Adds an app (created and lastUpdated now unless given); returns it as listed. */
  addApp(app: FakeOktaApp): Record<string, unknown>;
  /** Changes an app's label or status and moves its `lastUpdated` on. */
  updateApp(id: string, changes: { label?: string; status?: FakeOktaApp['status'] }): void;
  /** The next `times` requests get the documented 429 with `X-Rate-Limit-Reset` `resetInSeconds` from now. */
  throttleNext(resetInSeconds: number, times?: number): void;
}

const OKTA_FILTER_FIELDS = ['id', 'status', 'name', 'credentials.signing.kid'];

function oktaError(status: number, code: string, summary: string, causes: string[] = []) {
  return {
    status,
    body: {
      errorCode: code,
      errorSummary: summary,
      errorLink: code,
      errorId: `oae${randomBytes(11).toString('base64url')}`,
      errorCauses: causes.map((errorSummary) => ({ errorSummary })),
    },
  };
}

/** Okta `GET /api/v1/apps`. */
export async function startFakeOkta(
  opts: { token?: string; apps?: FakeOktaApp[]; pageSize?: number } = {},
): Promise<FakeOkta> {
  const token = opts.token ?? `00${randomBytes(20).toString('base64url')}`;
  let pageSize = opts.pageSize ?? 0;
  const apps: Record<string, unknown>[] = [];
  let tick = Date.parse('2026-01-01T00:00:00Z');
  const later = () => {
    tick = Math.max(Date.now(), tick + 1000);
    return new Date(tick);
  };

  function addApp(app: FakeOktaApp): Record<string, unknown> {
    const at = later();
    const oidc = app.clientId !== undefined || app.name === 'oidc_client';
    const id = app.id ?? `0oa${randomBytes(10).toString('hex').slice(0, 17)}`;
    const listed: Record<string, unknown> = {
      id,
      name: app.name ?? (oidc ? 'oidc_client' : 'bookmark'),
      label: app.label,
      status: app.status ?? 'ACTIVE',
      signOnMode: app.signOnMode ?? (oidc ? 'OPENID_CONNECT' : 'BOOKMARK'),
      created: app.created ?? iso(at),
      lastUpdated: app.lastUpdated ?? app.created ?? iso(at),
      settings: oidc
        ? {
            oauthClient: {
              redirect_uris: app.redirectUris ?? [],
              grant_types: ['authorization_code'],
              application_type: 'web',
            },
          }
        : {},
      credentials: oidc
        ? {
            signing: { kid: randomBytes(8).toString('hex') },
            oauthClient: { client_id: app.clientId ?? id, token_endpoint_auth_method: 'client_secret_basic' },
          }
        : { signing: { kid: randomBytes(8).toString('hex') } },
      _links: {},
    };
    apps.push(listed);
    return listed;
  }
  for (const app of opts.apps ?? []) addApp(app);

  function matchesFilter(app: Record<string, unknown>, clauses: [string, string][]): boolean {
    return clauses.every(([field, value]) => {
      const actual = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], app);
      return actual === value;
    });
  }

  function handle(req: IncomingRequest): Answer {
    const presented = header(req, 'authorization') ?? '';
    if (presented !== `SSWS ${token}` && presented !== `Bearer ${token}`) {
      return oktaError(401, 'E0000011', 'Invalid token provided');
    }
    if (req.method !== 'GET' || req.path !== '/api/v1/apps') {
      return oktaError(404, 'E0000007', `Not found: Resource not found: ${req.path} (App)`);
    }
    const unknown = unknownParams(req, ['q', 'filter', 'limit', 'after']);
    if (unknown.length > 0) return oktaError(400, 'E0000001', 'Api validation failed: query', unknown);
    const limit = intParam(req.query.get('limit'), 1, 200);
    if (limit === 'invalid') return oktaError(400, 'E0000001', 'Api validation failed: limit', ['limit: 1 to 200']);
    const clauses: [string, string][] = [];
    const filter = req.query.get('filter');
    if (filter !== null) {
      for (const clause of filter.split(/\s+and\s+/)) {
        const m = /^\s*([a-zA-Z.]+)\s+eq\s+"([^"]*)"\s*$/.exec(clause);
        if (!m || !OKTA_FILTER_FIELDS.includes(m[1]!)) {
          return oktaError(400, 'E0000031', 'Invalid search criteria.', [`filter: ${clause}`]);
        }
        clauses.push([m[1]!, m[2]!]);
      }
    }
    const q = req.query.get('q')?.toLowerCase();
    const listed = apps.filter(
      (a) =>
        matchesFilter(a, clauses) &&
        (!q || String(a.name).toLowerCase().startsWith(q) || String(a.label).toLowerCase().startsWith(q)),
    );
    const after = req.query.get('after');
    let start = 0;
    if (after !== null) {
      const index = listed.findIndex((a) => a.id === after);
      if (index < 0) return oktaError(400, 'E0000001', 'Api validation failed: after', ['after: unknown cursor']);
      start = index + 1;
    }
    const size = Math.min(limit ?? 20, pageSize > 0 ? pageSize : 200);
    const page = listed.slice(start, start + size);
    const self = new URL(`${fake.url}/api/v1/apps`);
    for (const [k, v] of req.query) self.searchParams.append(k, v);
    const links: [string, string][] = [[self.toString(), 'self']];
    if (start + size < listed.length && page.length > 0) {
      const next = new URL(self);
      next.searchParams.set('after', String(page.at(-1)!.id));
      links.push([next.toString(), 'next']);
    }
    return { status: 200, headers: { link: linkHeader(links) }, body: page };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.').body
        : oktaError(status, 'E0000009', 'Internal Server Error').body,
    headers: () => ({
      'x-rate-limit-limit': '600',
      'x-rate-limit-remaining': '599',
      'x-rate-limit-reset': String(Math.ceil(Date.now() / 1000) + 60),
    }),
  });

  const fake: FakeOkta = {
    url: server.url,
    token,
    requests: server.requests,
    failNext: server.failNext,
    setPageSize(n) {
      pageSize = n;
    },
    addApp,
    updateApp(id, changes) {
      const app = apps.find((a) => a.id === id);
      if (!app) throw new Error(`fake Okta: no app ${id}`);
      if (changes.label !== undefined) app.label = changes.label;
      if (changes.status !== undefined) app.status = changes.status;
      app.lastUpdated = iso(later());
    },
    throttleNext(resetInSeconds, times = 1) {
      server.failNext({
        status: 429,
        times,
        headers: {
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
        },
      });
    },
    stop: server.stop,
  };
  return fake;
}

// ---------------------------------------------------------------- Microsoft Graph

export interface FakeGraphOwner {
  userPrincipalName?: string;
  mail?: string | null;
  displayName?: string;
  /** `#microsoft.graph.user` (default) or `#microsoft.graph.servicePrincipal`. */
  type?: 'user' | 'servicePrincipal';
}

export interface FakeGraphApplication {
  id?: string;
  appId?: string;
  displayName: string;
  createdDateTime?: string;
  signInAudience?: string;
  publisherDomain?: string;
  identifierUris?: string[];
  redirectUris?: string[];
  owners?: FakeGraphOwner[];
}

export interface FakeGraphServicePrincipal {
  id?: string;
  appId?: string;
  displayName: string;
  appOwnerOrganizationId?: string | null;
  servicePrincipalType?: 'Application' | 'ManagedIdentity' | 'Legacy';
  accountEnabled?: boolean;
  replyUrls?: string[];
  owners?: FakeGraphOwner[];
}

export interface FakeGraph extends FakeBase {
  token: string;
  /** The tenant the fake is (apps registered here have it as `appOwnerOrganizationId`). */
  tenantId: string;
  /** The app registration that may get `token` with the client-credentials grant at `${url}/${tenantId}/oauth2/v2.0/token`. */
  clientId: string;
  clientSecret: string;
  addApplication(app: FakeGraphApplication): Record<string, unknown>;
  addServicePrincipal(sp: FakeGraphServicePrincipal): Record<string, unknown>;
  /** The next `times` requests get 429 with `Retry-After: retryAfterSeconds`. */
  throttleNext(retryAfterSeconds: number, times?: number): void;
}

const APPLICATION_PROPERTIES = [
  'id',
  'appId',
  'displayName',
  'createdDateTime',
  'signInAudience',
  'publisherDomain',
  'identifierUris',
  'web',
  'spa',
  'publicClient',
  'description',
  'tags',
];
const SERVICE_PRINCIPAL_PROPERTIES = [
  'id',
  'appId',
  'displayName',
  'appOwnerOrganizationId',
  'servicePrincipalType',
  'accountEnabled',
  'replyUrls',
  'description',
  'tags',
];

function graphError(status: number, code: string, message: string): Answer {
  return {
    status,
    body: { error: { code, message, innerError: { 'request-id': randomUUID(), date: seconds(new Date()) } } },
  };
}

/** Microsoft Graph `GET /v1.0/applications` and `GET /v1.0/servicePrincipals`. */
export async function startFakeGraph(
  opts: {
    token?: string;
    applications?: FakeGraphApplication[];
    servicePrincipals?: FakeGraphServicePrincipal[];
    pageSize?: number;
  } = {},
): Promise<FakeGraph> {
  const token = opts.token ?? `eyJ0eXAiOiJKV1QifQ.${randomBytes(24).toString('base64url')}`;
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = `fake~${randomBytes(18).toString('base64url')}`;
  let pageSize = opts.pageSize ?? 0;
  const collections = {
    applications: [] as { item: Record<string, unknown>; owners: Record<string, unknown>[] }[],
    servicePrincipals: [] as { item: Record<string, unknown>; owners: Record<string, unknown>[] }[],
  };
  const skipTokens = new Map<string, { collection: string; offset: number }>();

  const owners = (list: FakeGraphOwner[] = []) =>
    list.map((o) =>
      o.type === 'servicePrincipal'
        ? { '@odata.type': '#microsoft.graph.servicePrincipal', id: randomUUID(), displayName: o.displayName ?? 'sp' }
        : {
            '@odata.type': '#microsoft.graph.user',
            id: randomUUID(),
            displayName: o.displayName ?? o.userPrincipalName ?? null,
            userPrincipalName: o.userPrincipalName ?? null,
            mail: o.mail ?? null,
          },
    );

  function addApplication(app: FakeGraphApplication): Record<string, unknown> {
    const item = {
      id: app.id ?? randomUUID(),
      appId: app.appId ?? randomUUID(),
      displayName: app.displayName,
      createdDateTime: app.createdDateTime ?? seconds(new Date()),
      signInAudience: app.signInAudience ?? 'AzureADMyOrg',
      publisherDomain: app.publisherDomain ?? 'contoso.onmicrosoft.com',
      identifierUris: app.identifierUris ?? [],
      web: { redirectUris: app.redirectUris ?? [] },
      spa: { redirectUris: [] },
      publicClient: { redirectUris: [] },
      description: null,
      tags: [],
    };
    collections.applications.push({ item, owners: owners(app.owners) });
    return item;
  }
  function addServicePrincipal(sp: FakeGraphServicePrincipal): Record<string, unknown> {
    const item = {
      id: sp.id ?? randomUUID(),
      appId: sp.appId ?? randomUUID(),
      displayName: sp.displayName,
      appOwnerOrganizationId: sp.appOwnerOrganizationId === undefined ? tenantId : sp.appOwnerOrganizationId,
      servicePrincipalType: sp.servicePrincipalType ?? 'Application',
      accountEnabled: sp.accountEnabled ?? true,
      replyUrls: sp.replyUrls ?? [],
      description: null,
      tags: [],
    };
    collections.servicePrincipals.push({ item, owners: owners(sp.owners) });
    return item;
  }
  for (const app of opts.applications ?? []) addApplication(app);
  for (const sp of opts.servicePrincipals ?? []) addServicePrincipal(sp);

  /** The Microsoft identity platform's token endpoint, client-credentials grant only. */
  function issueToken(req: IncomingRequest): Answer {
    const form = new URLSearchParams(req.rawBody);
    const refuse = (status: number, error: string, description: string): Answer => ({
      status,
      body: { error, error_description: description, error_codes: [], timestamp: seconds(new Date()) },
    });
    if (!/^application\/x-www-form-urlencoded/.test(header(req, 'content-type') ?? '')) {
      return refuse(
        400,
        'invalid_request',
        'AADSTS900144: The request body must contain the following parameter: grant_type.',
      );
    }
    if (form.get('grant_type') !== 'client_credentials')
      return refuse(400, 'unsupported_grant_type', 'fake: client_credentials only');
    if (form.get('scope') !== 'https://graph.microsoft.com/.default')
      return refuse(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
    if (form.get('client_id') !== clientId)
      return refuse(400, 'unauthorized_client', 'AADSTS700016: Application not found in the directory.');
    if (form.get('client_secret') !== clientSecret)
      return refuse(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
  }

  function handle(req: IncomingRequest): Answer {
    if (req.method === 'POST' && req.path === `/${tenantId}/oauth2/v2.0/token`) return issueToken(req);
    const presented = bearer(req);
    if (presented === null) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    if (presented !== token) return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    const name =
      req.path === '/v1.0/applications'
        ? 'applications'
        : req.path === '/v1.0/servicePrincipals'
          ? 'servicePrincipals'
          : null;
    if (req.method !== 'GET' || name === null) {
      return graphError(400, 'BadRequest', `Resource not found for the segment '${req.segments.at(-1) ?? ''}'.`);
    }
    const type = name === 'applications' ? 'application' : 'servicePrincipal';
    const properties = name === 'applications' ? APPLICATION_PROPERTIES : SERVICE_PRINCIPAL_PROPERTIES;
    const unknown = unknownParams(req, [
      '$top',
      '$select',
      '$filter',
      '$orderby',
      '$search',
      '$count',
      '$expand',
      '$skiptoken',
    ]);
    if (unknown.length > 0) {
      return graphError(400, 'BadRequest', `Query option '${unknown[0]}' is not allowed.`);
    }
    if ((req.query.has('$search') || req.query.has('$count')) && header(req, 'consistencylevel') !== 'eventual') {
      return graphError(400, 'Request_BadRequest', 'This query requires the ConsistencyLevel header set to eventual.');
    }
    for (const option of ['$filter', '$orderby', '$search', '$count']) {
      if (req.query.has(option)) return graphError(400, 'Request_BadRequest', `fake Graph: ${option} is not modelled`);
    }
    const top = intParam(req.query.get('$top'), 1, 999);
    if (top === 'invalid') {
      return graphError(
        400,
        'Request_BadRequest',
        `Invalid page size specified: '${req.query.get('$top')}'. Must be between 1 and 999 inclusive.`,
      );
    }
    const select = req.query
      .get('$select')
      ?.split(',')
      .map((s) => s.trim());
    for (const property of select ?? []) {
      if (!properties.includes(property)) {
        return graphError(
          400,
          'Request_BadRequest',
          `Could not find a property named '${property}' on type 'microsoft.graph.${type}'.`,
        );
      }
    }
    const expand = req.query.get('$expand');
    if (expand !== null && expand !== 'owners') {
      return graphError(
        400,
        'Request_BadRequest',
        `Could not find a navigation property named '${expand}' on type 'microsoft.graph.${type}'.`,
      );
    }
    let offset = 0;
    const skip = req.query.get('$skiptoken');
    if (skip !== null) {
      const known = skipTokens.get(skip);
      if (!known || known.collection !== name) {
        return graphError(
          400,
          'Directory_ExpiredPageToken',
          'The specified page token value has expired and can no longer be included in your request.',
        );
      }
      offset = known.offset;
    }
    const size = Math.min(top ?? 100, pageSize > 0 ? pageSize : 999);
    const all = collections[name];
    const page = all.slice(offset, offset + size).map(({ item, owners: o }) => {
      const shown = select ? Object.fromEntries(select.map((p) => [p, item[p]])) : { ...item };
      return expand === 'owners' ? { ...shown, owners: o } : shown;
    });
    const body: Record<string, unknown> = {
      '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#${name}`,
      value: page,
    };
    if (offset + size < all.length) {
      const tokenId = randomBytes(16).toString('base64url');
      skipTokens.set(tokenId, { collection: name, offset: offset + size });
      const next = new URL(`${fake.url}${req.path}`);
      for (const [k, v] of req.query) if (k !== '$skiptoken') next.searchParams.append(k, v);
      next.searchParams.set('$skiptoken', tokenId);
      body['@odata.nextLink'] = next.toString();
    }
    return { status: 200, body };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? graphError(429, 'TooManyRequests', 'Too many requests.').body
        : graphError(status, 'UnknownError', 'An internal server error occurred.').body,
  });

  const fake: FakeGraph = {
    url: server.url,
    token,
    tenantId,
    clientId,
    clientSecret,
    requests: server.requests,
    failNext: server.failNext,
    setPageSize(n) {
      pageSize = n;
    },
    addApplication,
    addServicePrincipal,
    throttleNext(retryAfterSeconds, times = 1) {
      server.failNext({ status: 429, times, headers: { 'retry-after': String(retryAfterSeconds) } });
    },
    stop: server.stop,
  };
  return fake;
}

// ---------------------------------------------------------------- Google Workspace

export interface FakeGoogleToken {
  clientId: string;
  displayText: string;
  scopes?: string[];
  anonymous?: boolean;
  nativeApp?: boolean;
}

export interface FakeGoogleDirectory extends Omit<FakeBase, 'setPageSize'> {
  token: string;
  /**
   * A service-account key file whose JWT-bearer grant at `token_uri` (`${url}/token`) gets
   * `token`, when the assertion is signed with it, names `subject` as `sub` and asks for the
   * `admin.directory.user.security` scope.
   */
  serviceAccountKey: { type: 'service_account'; client_email: string; private_key: string; token_uri: string };
  /** The admin the service account must impersonate. */
  subject: string;
  /** Grants a token to a user (adds the user when new). */
  grant(userKey: string, token: FakeGoogleToken): void;
}

function googleError(status: number, reason: string, message: string, statusName: string): Answer {
  return {
    status,
    body: { error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: statusName } },
  };
}

/** Google Workspace Admin SDK Directory `GET /admin/directory/v1/users/{userKey}/tokens`. */
export async function startFakeGoogleDirectory(
  opts: { token?: string; tokens?: Record<string, FakeGoogleToken[]>; subject?: string } = {},
): Promise<FakeGoogleDirectory> {
  const token = opts.token ?? `ya29.${randomBytes(24).toString('base64url')}`;
  const users = new Map<string, FakeGoogleToken[]>(Object.entries(opts.tokens ?? {}));
  const subject = opts.subject ?? 'admin@acme.test';
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'discovery@fake-project.iam.gserviceaccount.com';

  /** Google's OAuth token endpoint, JWT-bearer grant only (RFC 7523). */
  function issueToken(req: IncomingRequest): Answer {
    const refuse = (description: string): Answer => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: description },
    });
    const form = new URLSearchParams(req.rawBody);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('Invalid grant_type');
    const [head, claims, signature] = (form.get('assertion') ?? '').split('.');
    if (!head || !claims || !signature) return refuse('Invalid JWT');
    const signed = verify(
      'sha256',
      Buffer.from(`${head}.${claims}`),
      keys.publicKey,
      Buffer.from(signature, 'base64url'),
    );
    if (!signed) return refuse('Invalid JWT Signature.');
    let c: Record<string, unknown>;
    try {
      c = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return refuse('Invalid JWT');
    }
    const now = Date.now() / 1000;
    if (c.iss !== clientEmail || c.aud !== `${server.url}/token`) return refuse('Invalid JWT: iss or aud');
    if (
      typeof c.exp !== 'number' ||
      typeof c.iat !== 'number' ||
      c.exp < now ||
      c.iat > now + 60 ||
      c.exp - c.iat > 3600
    ) {
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    if (c.sub !== subject)
      return {
        status: 401,
        body: {
          error: 'unauthorized_client',
          error_description:
            'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        },
      };
    if (!String(c.scope).split(' ').includes('https://www.googleapis.com/auth/admin.directory.user.security')) {
      return refuse('Invalid scope');
    }
    return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
  }

  function handle(req: IncomingRequest): Answer {
    if (req.method === 'POST' && req.path === '/token') return issueToken(req);
    const presented = bearer(req);
    if (presented !== token) {
      return googleError(
        401,
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        'UNAUTHENTICATED',
      );
    }
    const [a, b, c, d, userKey, tokens, ...rest] = req.segments;
    if (
      req.method !== 'GET' ||
      `${a}/${b}/${c}/${d}` !== 'admin/directory/v1/users' ||
      tokens !== 'tokens' ||
      rest.length > 0 ||
      !userKey
    ) {
      return googleError(404, 'notFound', 'Not Found', 'NOT_FOUND');
    }
    const unknown = unknownParams(req, ['fields', 'prettyPrint']);
    if (unknown.length > 0)
      return googleError(400, 'invalidParameter', `Invalid parameter: ${unknown[0]}`, 'INVALID_ARGUMENT');
    const granted = users.get(userKey);
    if (!granted) return googleError(404, 'notFound', 'Resource Not Found: userKey', 'NOT_FOUND');
    const body: Record<string, unknown> = {
      kind: 'admin#directory#tokenList',
      etag: `"${randomBytes(8).toString('hex')}"`,
    };
    // Like the real API, a user without tokens gets no `items` at all.
    if (granted.length > 0) {
      body.items = granted.map((t) => ({
        kind: 'admin#directory#token',
        etag: `"${randomBytes(8).toString('hex')}"`,
        clientId: t.clientId,
        displayText: t.displayText,
        scopes: t.scopes ?? ['openid', 'https://www.googleapis.com/auth/userinfo.email'],
        userKey,
        anonymous: t.anonymous ?? false,
        nativeApp: t.nativeApp ?? false,
      }));
    }
    return { status: 200, body };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? googleError(429, 'rateLimitExceeded', 'Quota exceeded for quota metric.', 'RESOURCE_EXHAUSTED').body
        : googleError(status, 'backendError', 'Backend Error', 'INTERNAL').body,
  });
  return {
    url: server.url,
    token,
    serviceAccountKey: {
      type: 'service_account',
      client_email: clientEmail,
      private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: `${server.url}/token`,
    },
    subject,
    requests: server.requests,
    failNext: server.failNext,
    grant(userKey, t) {
      users.set(userKey, [...(users.get(userKey) ?? []), t]);
    },
    stop: server.stop,
  };
}

// ---------------------------------------------------------------- GitHub

export interface FakeGitHubInstallation {
  id?: number;
  app_id: number;
  app_slug: string;
  repository_selection?: 'all' | 'selected';
  permissions?: Record<string, 'read' | 'write' | 'admin'>;
  events?: string[];
  created_at?: string;
  suspended_at?: string | null;
}

export interface FakeGitHub extends FakeBase {
  token: string;
  org: string;
  addInstallation(installation: FakeGitHubInstallation): Record<string, unknown>;
}

export const GITHUB_API_VERSION = '2022-11-28';

/** GitHub REST `GET /orgs/{org}/installations`. */
export async function startFakeGitHub(
  opts: { token?: string; org?: string; installations?: FakeGitHubInstallation[]; pageSize?: number } = {},
): Promise<FakeGitHub> {
  const token = opts.token ?? `ghp_${randomBytes(18).toString('hex')}`;
  const org = opts.org ?? 'acme';
  let pageSize = opts.pageSize ?? 0;
  const installations: Record<string, unknown>[] = [];
  let nextId = 40_000_001;
  const docs = 'https://docs.github.com/rest/orgs/orgs#list-app-installations-for-an-organization';

  function addInstallation(i: FakeGitHubInstallation): Record<string, unknown> {
    const created = i.created_at ?? seconds(new Date());
    const id = i.id ?? nextId++;
    const item = {
      id,
      account: { login: org, id: 9_000_001, type: 'Organization' },
      repository_selection: i.repository_selection ?? 'all',
      access_tokens_url: `https://api.github.com/app/installations/${id}/access_tokens`,
      app_id: i.app_id,
      app_slug: i.app_slug,
      target_id: 9_000_001,
      target_type: 'Organization',
      permissions: i.permissions ?? { metadata: 'read' },
      events: i.events ?? [],
      created_at: created,
      updated_at: created,
      single_file_name: null,
      suspended_by: null,
      suspended_at: i.suspended_at ?? null,
    };
    installations.push(item);
    return item;
  }
  for (const i of opts.installations ?? []) addInstallation(i);

  function handle(req: IncomingRequest): Answer {
    if (bearer(req) !== token)
      return {
        status: 401,
        body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
      };
    if (header(req, 'accept') !== 'application/vnd.github+json') {
      return {
        status: 415,
        body: {
          message: 'Unsupported "Accept" header (fake: application/vnd.github+json required)',
          documentation_url: docs,
        },
      };
    }
    if (header(req, 'x-github-api-version') !== GITHUB_API_VERSION) {
      return {
        status: 400,
        body: {
          message: `API version '${header(req, 'x-github-api-version') ?? ''}' is not supported.`,
          documentation_url: docs,
        },
      };
    }
    const [orgs, name, what, ...rest] = req.segments;
    if (req.method !== 'GET' || orgs !== 'orgs' || what !== 'installations' || rest.length > 0 || name !== org) {
      return { status: 404, body: { message: 'Not Found', documentation_url: docs, status: '404' } };
    }
    const unknown = unknownParams(req, ['per_page', 'page']);
    const perPage = intParam(req.query.get('per_page'), 1, 100);
    const pageNo = intParam(req.query.get('page'), 1, 1_000_000);
    if (unknown.length > 0 || perPage === 'invalid' || pageNo === 'invalid') {
      return { status: 422, body: { message: 'Validation Failed', documentation_url: docs, status: '422' } };
    }
    const size = Math.min(perPage ?? 30, pageSize > 0 ? pageSize : 100);
    const page = pageNo ?? 1;
    const last = Math.max(1, Math.ceil(installations.length / size));
    const at = (p: number) => {
      const u = new URL(`${fake.url}${req.path}`);
      u.searchParams.set('per_page', String(perPage ?? 30));
      u.searchParams.set('page', String(p));
      return u.toString();
    };
    const links: [string, string][] = [];
    if (page > 1) links.push([at(page - 1), 'prev']);
    if (page < last) links.push([at(page + 1), 'next'], [at(last), 'last']);
    if (page > 1) links.push([at(1), 'first']);
    return {
      status: 200,
      headers: links.length > 0 ? { link: linkHeader(links) } : {},
      body: { total_count: installations.length, installations: installations.slice((page - 1) * size, page * size) },
    };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429 || status === 403
        ? {
            message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url: docs,
          }
        : { message: 'Server Error' },
    headers: () => ({ 'x-github-api-version-selected': GITHUB_API_VERSION }),
  });
  const fake: FakeGitHub = {
    url: server.url,
    token,
    org,
    requests: server.requests,
    failNext: server.failNext,
    setPageSize(n) {
      pageSize = n;
    },
    addInstallation,
    stop: server.stop,
  };
  return fake;
}
