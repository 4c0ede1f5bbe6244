import { ConfigError, createLogger, loadConfig } from '@micro-oncall/service-kit';
import {
  type FakeGitHub,
  type FakeGoogleDirectory,
  type FakeGraph,
  type FakeOkta,
  startFakeGitHub,
  startFakeGoogleDirectory,
  startFakeGraph,
  startFakeOkta,
} from '@micro-oncall/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../env.js';
import type { ReadError, Sighting } from '../sighting.js';
import {
  entraClientCredentials,
  googleServiceAccount,
  type IdpClientOptions,
  type IdpCursor,
  type IdpListing,
  idpSourcesFromConfig,
  isProviderFailure,
  isReadError,
  listEntraApps,
  listGitHubApps,
  listGoogleApps,
  listIdpApps,
  listOktaApps,
  MICROSOFT_TENANTS,
  parseIdpCursor,
} from './index.js';
import { nextLink, nextPath } from './inventory.js';

const options: IdpClientOptions = {
  logger: createLogger({ service: 'idp-test', level: 'silent' }),
  timeoutMs: 5000,
  retries: 2,
  maxRetryWaitMs: 5000,
  now: () => new Date('2026-12-01T12:00:00Z'),
};

async function drain(listing: IdpListing): Promise<{ sightings: Sighting[]; errors: ReadError[]; cursor: IdpCursor }> {
  const sightings: Sighting[] = [];
  const errors: ReadError[] = [];
  for await (const entry of listing.sightings) {
    if (isReadError(entry)) errors.push(entry);
    else sightings.push(entry);
  }
  return { sightings, errors, cursor: listing.cursor() };
}

const stops: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const fake of stops.splice(0)) await fake.stop();
});
async function running<T extends { stop(): Promise<void> }>(fake: Promise<T>): Promise<T> {
  const f = await fake;
  stops.push(f);
  return f;
}

describe('Okta', () => {
  async function okta(): Promise<FakeOkta> {
    return running(
      startFakeOkta({
        apps: [
          { label: 'Payroll', clientId: '0oapayroll', redirectUris: ['https://payroll.acme.test/cb'] },
          { label: 'Wiki', name: 'bookmark' },
          { label: 'Old CRM', clientId: '0oaoldcrm', status: 'DELETED' },
          { label: 'Grafana', clientId: '0oagrafana', status: 'INACTIVE' },
          { label: 'Billing', clientId: '0oabilling' },
        ],
      }),
    );
  }

  it('lists every app across three pages with an SSWS token, skipping deleted ones', async () => {
    const fake = await okta();
    fake.setPageSize(2);

    const { sightings, errors } = await drain(listOktaApps({ url: fake.url, token: fake.token }, null, options));

    expect(errors).toEqual([]);
    expect(fake.requests.map((r) => r.query.limit)).toEqual(['200', '200', '200']);
    expect(fake.requests[1]!.query.after).toBeDefined();
    expect(sightings.map((s) => s.label)).toEqual(['Payroll', 'Wiki', 'Grafana', 'Billing']);
    const payroll = sightings[0]!;
    expect(payroll).toMatchObject({
      format: 'okta',
      kind: 'idp-client',
      action: 'registration',
      match: { clientId: '0oapayroll' },
      evidence: { file: 'okta:/api/v1/apps', line: 1 },
    });
    expect(JSON.parse(payroll.evidence.text)).toMatchObject({ redirect_uris: ['https://payroll.acme.test/cb'] });
    // A bookmark app has no OAuth client: it is known by its app id.
    expect(sightings[1]!.match.clientId).toMatch(/^0oa/);
    expect(sightings[3]!.evidence.line).toBe(5);
  });

  it('waits for X-Rate-Limit-Reset after a 429 and then carries on', async () => {
    const fake = await okta();
    fake.throttleNext(2);

    const started = Date.now();
    const { sightings, errors } = await drain(listOktaApps({ url: fake.url, token: fake.token }, null, options));

    expect(errors).toEqual([]);
    expect(sightings).toHaveLength(4);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
    // The reset is 2 s ahead in whole epoch seconds: at least one second of waiting.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('reports only new and changed apps on the next run', async () => {
    const fake = await okta();
    const source = { url: fake.url, token: fake.token };
    const first = await drain(listOktaApps(source, null, options));
    expect(first.sightings).toHaveLength(4);

    const unchanged = await drain(listOktaApps(source, first.cursor, options));
    expect(unchanged.sightings).toEqual([]);

    fake.addApp({ label: 'Expenses', clientId: '0oaexpenses' });
    fake.updateApp(first.sightings[0]!.recordId!.slice('okta:'.length).split('@')[0]!, { label: 'Payroll (EU)' });
    const next = await drain(listOktaApps(source, unchanged.cursor, options));
    expect(next.sightings.map((s) => s.label).sort()).toEqual(['Expenses', 'Payroll (EU)']);
  });

  it('says Okta refused the token, without the token, and keeps the cursor', async () => {
    const fake = await okta();
    const wrong = '00wrongTokenValue0123456789';
    const previous: IdpCursor = { v: 1, seen: { '0oakept': '2026-01-01T00:00:00.000Z' } };

    const listing = listOktaApps({ url: fake.url, token: wrong }, previous, options);
    const { sightings, errors, cursor } = await drain(listing);

    expect(sightings).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.file).toBe('okta:/api/v1/apps');
    expect(errors[0]!.message).toMatch(/^Okta GET \/api\/v1\/apps page 1: Okta answered 401/);
    expect(errors[0]!.message).toContain('Invalid token provided');
    expect(errors[0]!.message).toContain('refused the credential');
    expect(JSON.stringify(errors)).not.toContain(wrong);
    expect(JSON.stringify(errors)).not.toContain(fake.token);
    expect(cursor).toEqual(previous);
  });
});

describe('Microsoft Entra ID (Graph)', () => {
  async function graph(): Promise<FakeGraph> {
    const fake = await running(
      startFakeGraph({
        applications: [
          { displayName: 'Payroll API', owners: [{ userPrincipalName: 'ana@acme.test' }] },
          { displayName: 'Billing', owners: [{ type: 'servicePrincipal' }, { userPrincipalName: 'bo@acme.test' }] },
          { displayName: 'Reports', owners: [{ mail: 'cy@acme.test' }] },
          { displayName: 'Intranet' },
          { displayName: 'Docs' },
        ],
      }),
    );
    // The tenant's own registration's principal, a first-party Microsoft one and a third-party app.
    const payroll = fake.addApplication({ displayName: 'Search' });
    fake.addServicePrincipal({ displayName: 'Search', appId: payroll.appId as string });
    fake.addServicePrincipal({ displayName: 'Microsoft Graph', appOwnerOrganizationId: MICROSOFT_TENANTS[0]! });
    fake.addServicePrincipal({ displayName: 'Zoom', appOwnerOrganizationId: 'a0b1c2d3-0000-4000-8000-000000000001' });
    return fake;
  }

  it('follows @odata.nextLink across three pages with $top=999 and names the first owner', async () => {
    const fake = await graph();
    fake.setPageSize(2);

    const { sightings, errors } = await drain(listEntraApps({ url: fake.url, token: fake.token }, null, options));

    expect(errors).toEqual([]);
    const appRequests = fake.requests.filter((r) => r.path === '/v1.0/applications');
    expect(appRequests).toHaveLength(3);
    expect(appRequests[0]!.query).toMatchObject({ $top: '999', $expand: 'owners' });
    expect(appRequests[2]!.query.$skiptoken).toBeDefined();
    expect(sightings.map((s) => s.label)).toEqual([
      'Payroll API',
      'Billing',
      'Reports',
      'Intranet',
      'Docs',
      'Search',
      'Zoom',
    ]);
    expect(sightings.map((s) => s.actor)).toEqual([
      'ana@acme.test',
      'bo@acme.test',
      'cy@acme.test',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(sightings[0]).toMatchObject({ format: 'entra', kind: 'idp-client', action: 'registration' });
    expect(sightings[0]!.match.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sightings[6]).toMatchObject({
      evidence: { file: 'entra:/v1.0/servicePrincipals' },
      at: new Date('2026-12-01T12:00:00Z'),
    });
  });

  it('waits for Retry-After after a 429 and then succeeds', async () => {
    const fake = await graph();
    fake.throttleNext(1);

    const started = Date.now();
    const { sightings, errors } = await drain(listEntraApps({ url: fake.url, token: fake.token }, null, options));

    expect(errors).toEqual([]);
    expect(sightings).toHaveLength(7);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('reports a new app registration on the next listing, and not the ones reported before', async () => {
    const fake = await graph();
    const source = { url: fake.url, token: fake.token };
    const first = await drain(listEntraApps(source, null, options));
    expect(first.sightings).toHaveLength(7);

    const created = fake.addApplication({
      displayName: 'Shadow analytics',
      createdDateTime: '2026-11-30T08:00:00Z',
      owners: [{ userPrincipalName: 'dee@acme.test' }],
    });
    const second = await drain(listEntraApps(source, first.cursor, options));

    expect(second.errors).toEqual([]);
    expect(second.sightings).toEqual([
      expect.objectContaining({
        label: 'Shadow analytics',
        match: { clientId: created.appId },
        actor: 'dee@acme.test',
        at: new Date('2026-11-30T08:00:00Z'),
      }),
    ]);
    const third = await drain(listEntraApps(source, second.cursor, options));
    expect(third.sightings).toEqual([]);
  });

  it('says Microsoft Graph refused the token, without the token; service principals are still tried', async () => {
    const fake = await graph();
    const wrong = 'eyJ0eXAiOiJKV1QifQ.not-the-right-one';

    const { sightings, errors } = await drain(listEntraApps({ url: fake.url, token: wrong }, null, options));

    expect(sightings).toEqual([]);
    expect(errors.map((e) => e.file)).toEqual(['entra:/v1.0/applications', 'entra:/v1.0/servicePrincipals']);
    // A refused credential: a discovery run reports the provider failed.
    expect(errors.every(isProviderFailure)).toBe(true);
    expect(errors[0]!.message).toMatch(
      /^Microsoft Graph GET \/v1.0\/applications page 1: Microsoft Graph answered 401/,
    );
    expect(errors[0]!.message).toContain('Access token validation failure');
    expect(JSON.stringify(errors)).not.toContain(wrong);
  });

  it('gets its token with the client-credentials grant once and uses it for every page', async () => {
    const fake = await graph();
    fake.setPageSize(3);
    const token = entraClientCredentials({
      authorityUrl: fake.url,
      tenantId: fake.tenantId,
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
    });

    const { sightings, errors } = await drain(listEntraApps({ url: fake.url, token }, null, options));

    expect(errors).toEqual([]);
    expect(sightings).toHaveLength(7);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /${fake.tenantId}/oauth2/v2.0/token`,
      'GET /v1.0/applications',
      'GET /v1.0/applications',
      'GET /v1.0/servicePrincipals',
    ]);
  });

  it('says the token endpoint refused a wrong client secret, without the secret', async () => {
    const fake = await graph();
    const wrongSecret = 'wrong~secret~0123456789abcdef';
    const token = entraClientCredentials({
      authorityUrl: fake.url,
      tenantId: fake.tenantId,
      clientId: fake.clientId,
      clientSecret: wrongSecret,
    });

    const { errors } = await drain(listEntraApps({ url: fake.url, token }, null, options));

    expect(errors[0]!.message).toBe(
      'Microsoft Graph GET /v1.0/applications page 1: Microsoft Entra ID token endpoint answered 401: invalid_client (AADSTS7000215: Invalid client secret provided.)',
    );
    expect(JSON.stringify(errors)).not.toContain(wrongSecret);
  });

  it('does not follow a next link to another host with the token', async () => {
    expect(nextPath('https://graph.microsoft.com', 'https://evil.test/v1.0/applications?$skiptoken=x')).toBeInstanceOf(
      Error,
    );
    expect(nextPath('https://graph.microsoft.com/', 'https://graph.microsoft.com/v1.0/applications?$skiptoken=x')).toBe(
      '/v1.0/applications?$skiptoken=x',
    );
    expect(
      nextPath('https://ghe.acme.test/api/v3', 'https://ghe.acme.test/orgs/acme/installations?page=2'),
    ).toBeInstanceOf(Error);
  });
});

describe('Google Workspace', () => {
  async function google(): Promise<FakeGoogleDirectory> {
    return running(
      startFakeGoogleDirectory({
        tokens: {
          'ana@acme.test': [
            { clientId: '1234-abc.apps.googleusercontent.com', displayText: 'Shadow CRM', scopes: ['openid', 'email'] },
            { clientId: '5678-def.apps.googleusercontent.com', displayText: 'Slides helper' },
          ],
          'bo@acme.test': [],
        },
      }),
    );
  }

  it("reports each user's grants with the user as the actor, and an unreadable user as an error only", async () => {
    const fake = await google();
    const source = { url: fake.url, token: fake.token, userKeys: ['ana@acme.test', 'gone@acme.test', 'bo@acme.test'] };

    const { sightings, errors } = await drain(listGoogleApps(source, null, options));

    expect(sightings).toEqual([
      expect.objectContaining({
        format: 'google',
        match: { clientId: '1234-abc.apps.googleusercontent.com' },
        label: 'Shadow CRM',
        actor: 'ana@acme.test',
      }),
      expect.objectContaining({ label: 'Slides helper', actor: 'ana@acme.test' }),
    ]);
    expect(errors).toEqual([
      {
        file: 'google:/admin/directory/v1/users/gone%40acme.test/tokens',
        line: 1,
        message: expect.stringMatching(
          /^Google Workspace GET \/admin\/directory\/v1\/users\/gone%40acme.test\/tokens: Google Workspace answered 404: Resource Not Found/,
        ),
      },
    ]);
    // A user that is gone is an error, not the provider failing.
    expect(isProviderFailure(errors[0]!)).toBe(false);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 404, 200]);
  });

  it('gets its token as a service account impersonating the admin', async () => {
    const fake = await google();
    const token = googleServiceAccount(fake.serviceAccountKey, fake.subject);

    const { sightings, errors } = await drain(
      listGoogleApps({ url: fake.url, token, userKeys: ['ana@acme.test', 'bo@acme.test'] }, null, options),
    );

    expect(errors).toEqual([]);
    expect(sightings).toHaveLength(2);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(fake.requests.filter((r) => r.path === '/token')).toHaveLength(1);

    const notAdmin = googleServiceAccount(fake.serviceAccountKey, 'someone@acme.test');
    const refused = await drain(
      listGoogleApps({ url: fake.url, token: notAdmin, userKeys: ['ana@acme.test', 'bo@acme.test'] }, null, options),
    );
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors[0]!.message).toContain('Google OAuth token endpoint answered 401: unauthorized_client');
  });

  it('reports a new grant on the next run only', async () => {
    const fake = await google();
    const source = { url: fake.url, token: fake.token, userKeys: ['ana@acme.test', 'bo@acme.test'] };
    const first = await drain(listGoogleApps(source, null, options));

    fake.grant('bo@acme.test', { clientId: '1234-abc.apps.googleusercontent.com', displayText: 'Shadow CRM' });
    const second = await drain(listGoogleApps(source, first.cursor, options));

    expect(second.sightings).toEqual([expect.objectContaining({ label: 'Shadow CRM', actor: 'bo@acme.test' })]);
  });
});

describe('GitHub', () => {
  async function github(): Promise<FakeGitHub> {
    return running(
      startFakeGitHub({
        org: 'acme',
        installations: [
          { app_id: 101, app_slug: 'renovate', created_at: '2026-03-01T10:00:00Z' },
          { app_id: 102, app_slug: 'codecov' },
          { app_id: 103, app_slug: 'slack' },
          { app_id: 104, app_slug: 'shadow-deployer', suspended_at: '2026-11-01T00:00:00Z' },
          { app_id: 105, app_slug: 'linear' },
        ],
      }),
    );
  }

  it('pages with per_page=100 and the documented headers, matching apps by github-app:<app_id>', async () => {
    const fake = await github();
    fake.setPageSize(2);

    const { sightings, errors } = await drain(
      listIdpApps(
        { name: 'github:acme', provider: 'github', url: fake.url, token: fake.token, org: 'acme' },
        null,
        options,
      ),
    );

    expect(errors).toEqual([]);
    expect(fake.requests.map((r) => [r.query.per_page, r.query.page])).toEqual([
      ['100', '1'],
      ['100', '2'],
      ['100', '3'],
    ]);
    expect(fake.requests[0]!.headers).toMatchObject({
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    });
    expect(sightings.map((s) => s.match.clientId)).toEqual([
      'github-app:101',
      'github-app:102',
      'github-app:103',
      'github-app:104',
      'github-app:105',
    ]);
    expect(sightings[0]).toMatchObject({ format: 'github', label: 'renovate', at: new Date('2026-03-01T10:00:00Z') });
  });

  it('says GitHub refused the token, without the token', async () => {
    const fake = await github();
    const wrong = 'ghp_notTheRightToken0000000000000000';

    const { errors } = await drain(listGitHubApps({ url: fake.url, token: wrong, org: 'acme' }, null, options));

    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(
      /^GitHub GET \/orgs\/acme\/installations page 1: GitHub answered 401: Bad credentials/,
    );
    expect(JSON.stringify(errors)).not.toContain(wrong);
  });
});

describe('configuration', () => {
  it('turns the DISCOVERY_* settings into one source per provider and per GitHub org', async () => {
    const google = await running(startFakeGoogleDirectory({ tokens: { 'ana@acme.test': [] } }));
    const sources = idpSourcesFromConfig({
      DISCOVERY_OKTA_URL: 'https://acme.okta.com',
      DISCOVERY_OKTA_TOKEN: '00secret',
      DISCOVERY_ENTRA_TENANT_ID: 'acme.onmicrosoft.com',
      DISCOVERY_ENTRA_CLIENT_ID: 'c1',
      DISCOVERY_ENTRA_CLIENT_SECRET: 's1',
      DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(google.serviceAccountKey),
      DISCOVERY_GOOGLE_ADMIN_SUBJECT: google.subject,
      DISCOVERY_GOOGLE_USER_KEYS: 'ana@acme.test, bo@acme.test',
      DISCOVERY_GITHUB_ORGS: 'acme,acme-labs',
      DISCOVERY_GITHUB_TOKEN: 'ghp_x',
    });

    expect(sources.map((s) => s.name)).toEqual(['okta', 'entra', 'google', 'github:acme', 'github:acme-labs']);
    expect(sources[2]).toMatchObject({ provider: 'google', userKeys: ['ana@acme.test', 'bo@acme.test'] });
    expect(idpSourcesFromConfig({})).toEqual([]);
  });

  it('names the missing setting', () => {
    expect(() => idpSourcesFromConfig({ DISCOVERY_OKTA_URL: 'https://acme.okta.com' })).toThrow(
      'DISCOVERY_OKTA_TOKEN is required with DISCOVERY_OKTA_URL',
    );
    expect(() => idpSourcesFromConfig({ DISCOVERY_GITHUB_ORGS: 'acme' })).toThrow(
      'DISCOVERY_GITHUB_TOKEN is required with DISCOVERY_GITHUB_ORGS',
    );
    expect(() =>
      idpSourcesFromConfig({
        DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY: '{"client_email":"x@y"}',
        DISCOVERY_GOOGLE_ADMIN_SUBJECT: 'admin@acme.test',
        DISCOVERY_GOOGLE_USER_KEYS: 'ana@acme.test',
      }),
    ).toThrow('DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY lacks client_email or private_key');
  });

  it("stops the service's start-up when a provider lacks its credential, naming it and quoting no value", () => {
    const base = {
      OIDC_ISSUER: 'https://login.example.com',
      OIDC_AUDIENCE: 'oncall',
      DATABASE_URL: 'postgres://app@db:5432/app',
      KAFKA_BROKERS: 'kafka:9092',
    };
    const refused = () =>
      loadConfig(configSchema, {
        ...base,
        DISCOVERY_ENTRA_TENANT_ID: 'acme.onmicrosoft.com',
        DISCOVERY_ENTRA_CLIENT_SECRET: 'the-client-secret',
      });
    expect(refused).toThrow(ConfigError);
    expect(refused).toThrow('DISCOVERY_ENTRA_CLIENT_ID is required with DISCOVERY_ENTRA_TENANT_ID');
    expect(refused).not.toThrow(/the-client-secret/);
    const config = loadConfig(configSchema, {
      ...base,
      DISCOVERY_GITHUB_ORGS: 'acme',
      DISCOVERY_GITHUB_TOKEN: 'ghp_x',
    });
    expect(idpSourcesFromConfig(config).map((s) => s.name)).toEqual(['github:acme']);
  });
});

describe('cursor and links', () => {
  it('reads the next link of a Link header whatever else it holds', () => {
    expect(nextLink('<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last"')).toBe(
      'https://a.test/x?page=2',
    );
    expect(nextLink('<https://a.test/self>; rel="self", <https://a.test/n?after=0oa1>; rel="next"')).toBe(
      'https://a.test/n?after=0oa1',
    );
    expect(nextLink('<https://a.test/self>; rel="self"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });

  it('accepts a stored cursor of its own shape only', () => {
    expect(parseIdpCursor({ v: 1, seen: { a: '1' } })).toEqual({ v: 1, seen: { a: '1' } });
    expect(parseIdpCursor({ v: 2, seen: {} })).toBeNull();
    expect(parseIdpCursor({ v: 1, seen: { a: 1 } })).toBeNull();
    expect(parseIdpCursor('x')).toBeNull();
  });

  it('refuses to give a cursor before the sightings have been read', () => {
    const listing = listOktaApps({ url: 'http://127.0.0.1:9', token: 'x' }, null, options);
    expect(() => listing.cursor()).toThrow(/once all sightings have been read/);
  });
});
