import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, startFakeGoogleDirectory, startFakeGraph, startFakeOkta } from './idp-inventories.js';

const stops: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const fake of stops.splice(0)) await fake.stop();
});
function track<T extends { stop(): Promise<void> }>(fake: T): T {
  stops.push(fake);
  return fake;
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
}

describe(startFakeOkta.name, () => {
  it('serves a bare array paged with an opaque Link rel="next", behind SSWS', async () => {
    const fake = track(await startFakeOkta({ apps: [{ label: 'A' }, { label: 'B' }, { label: 'C', clientId: 'c1' }] }));
    const auth = { authorization: `SSWS ${fake.token}` };

    const first = await get(`${fake.url}/api/v1/apps?limit=2`, auth);
    expect(first.status).toBe(200);
    expect((first.body as unknown[]).length).toBe(2);
    expect(first.headers.get('x-rate-limit-reset')).toMatch(/^\d{10}$/);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')![1]!;
    expect(first.headers.get('link')).toContain('rel="self"');

    const second = await get(next, { authorization: `Bearer ${fake.token}` });
    expect(second.body).toEqual([
      expect.objectContaining({
        label: 'C',
        name: 'oidc_client',
        signOnMode: 'OPENID_CONNECT',
        credentials: expect.objectContaining({ oauthClient: expect.objectContaining({ client_id: 'c1' }) }),
      }),
    ]);
    expect(second.headers.get('link')).not.toContain('rel="next"');
  });

  it('refuses a wrong token, a limit above 200, a filter on lastUpdated and unknown parameters', async () => {
    const fake = track(await startFakeOkta());
    const auth = { authorization: `SSWS ${fake.token}` };

    expect(await get(`${fake.url}/api/v1/apps`, { authorization: 'SSWS nope' })).toMatchObject({
      status: 401,
      body: { errorCode: 'E0000011', errorSummary: 'Invalid token provided' },
    });
    expect((await get(`${fake.url}/api/v1/apps?limit=201`, auth)).status).toBe(400);
    const filter = encodeURIComponent('lastUpdated gt "2026-01-01T00:00:00.000Z"');
    expect(await get(`${fake.url}/api/v1/apps?filter=${filter}`, auth)).toMatchObject({
      status: 400,
      body: { errorCode: 'E0000031' },
    });
    expect((await get(`${fake.url}/api/v1/apps?status=ACTIVE`, auth)).status).toBe(400);
  });

  it('answers 429 with the documented body and an epoch X-Rate-Limit-Reset when throttled', async () => {
    const fake = track(await startFakeOkta());
    fake.throttleNext(5);

    const res = await get(`${fake.url}/api/v1/apps`, { authorization: `SSWS ${fake.token}` });

    expect(res).toMatchObject({ status: 429, body: { errorCode: 'E0000047', errorCauses: [] } });
    const reset = Number(res.headers.get('x-rate-limit-reset'));
    expect(reset * 1000 - Date.now()).toBeGreaterThan(3000);
  });
});

describe(startFakeGraph.name, () => {
  it('pages with @odata.nextLink, honours $select and $expand=owners', async () => {
    const fake = track(
      await startFakeGraph({
        applications: [{ displayName: 'A', owners: [{ userPrincipalName: 'a@x.test' }] }, { displayName: 'B' }],
      }),
    );
    const auth = { authorization: `Bearer ${fake.token}` };

    const first = await get(`${fake.url}/v1.0/applications?$top=1&$select=appId,displayName&$expand=owners`, auth);
    const body = first.body as { value: Record<string, unknown>[]; '@odata.nextLink': string };
    expect(body.value).toEqual([
      {
        appId: expect.any(String),
        displayName: 'A',
        owners: [expect.objectContaining({ userPrincipalName: 'a@x.test' })],
      },
    ]);
    const second = await get(body['@odata.nextLink'], auth);
    expect(second.body).toMatchObject({ value: [{ displayName: 'B' }] });
    expect(second.body).not.toHaveProperty('@odata.nextLink');
  });

  it('refuses a missing or wrong token, $top outside 1–999, unknown properties and foreign skip tokens', async () => {
    const fake = track(await startFakeGraph());
    const auth = { authorization: `Bearer ${fake.token}` };

    expect(await get(`${fake.url}/v1.0/applications`)).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } },
    });
    expect((await get(`${fake.url}/v1.0/applications`, { authorization: 'Bearer x' })).status).toBe(401);
    expect((await get(`${fake.url}/v1.0/applications?$top=1000`, auth)).status).toBe(400);
    expect((await get(`${fake.url}/v1.0/servicePrincipals?$select=createdDateTime`, auth)).status).toBe(400);
    expect((await get(`${fake.url}/v1.0/applications?$skiptoken=made-up`, auth)).status).toBe(400);
    expect((await get(`${fake.url}/v1.0/applications?$count=true`, auth)).status).toBe(400);
  });

  it('answers 429 with Retry-After and the Graph error body when throttled', async () => {
    const fake = track(await startFakeGraph());
    fake.throttleNext(3);

    const res = await get(`${fake.url}/v1.0/applications`, { authorization: `Bearer ${fake.token}` });

    expect(res).toMatchObject({ status: 429, body: { error: { code: 'TooManyRequests' } } });
    expect(res.headers.get('retry-after')).toBe('3');
  });
});

describe(startFakeGoogleDirectory.name, () => {
  it("lists a user's tokens unpaged, omits items when there are none, and 404s an unknown user", async () => {
    const fake = track(
      await startFakeGoogleDirectory({
        tokens: { 'a@x.test': [{ clientId: 'c1', displayText: 'App' }], 'b@x.test': [] },
      }),
    );
    const auth = { authorization: `Bearer ${fake.token}` };

    expect((await get(`${fake.url}/admin/directory/v1/users/a%40x.test/tokens`, auth)).body).toMatchObject({
      kind: 'admin#directory#tokenList',
      items: [{ kind: 'admin#directory#token', clientId: 'c1', displayText: 'App', userKey: 'a@x.test' }],
    });
    expect((await get(`${fake.url}/admin/directory/v1/users/b@x.test/tokens`, auth)).body).not.toHaveProperty('items');
    expect((await get(`${fake.url}/admin/directory/v1/users/c@x.test/tokens`, auth)).status).toBe(404);
    expect((await get(`${fake.url}/admin/directory/v1/users/a@x.test/tokens`)).status).toBe(401);
  });
});

describe(startFakeGitHub.name, () => {
  const headers = (token: string) => ({
    authorization: `Bearer ${token}`,
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
  });

  it('pages with per_page and page, with next and last links', async () => {
    const fake = track(
      await startFakeGitHub({
        org: 'acme',
        installations: [1, 2, 3].map((n) => ({ app_id: n, app_slug: `app-${n}` })),
      }),
    );

    const first = await get(`${fake.url}/orgs/acme/installations?per_page=2`, headers(fake.token));
    expect(first.body).toMatchObject({ total_count: 3, installations: [{ app_id: 1 }, { app_id: 2 }] });
    expect(first.headers.get('link')).toMatch(/page=2>; rel="next", <[^>]+page=2>; rel="last"/);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link')!)![1]!;
    const second = await get(next, headers(fake.token));
    expect(second.body).toMatchObject({ installations: [{ app_id: 3, app_slug: 'app-3', suspended_at: null }] });
    expect(second.headers.get('link')).not.toContain('rel="next"');
  });

  it('refuses a wrong token, a missing API version, per_page above 100 and another org', async () => {
    const fake = track(await startFakeGitHub({ org: 'acme' }));
    const ok = headers(fake.token);

    expect(await get(`${fake.url}/orgs/acme/installations`, { ...ok, authorization: 'Bearer nope' })).toMatchObject({
      status: 401,
      body: { message: 'Bad credentials' },
    });
    expect((await get(`${fake.url}/orgs/acme/installations`, { ...ok, 'x-github-api-version': '' })).status).toBe(400);
    expect((await get(`${fake.url}/orgs/acme/installations?per_page=101`, ok)).status).toBe(422);
    expect((await get(`${fake.url}/orgs/other/installations`, ok)).status).toBe(404);
  });
});
