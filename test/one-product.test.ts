import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type LocalIssuer, startLocalIssuer, uniqueNamespace } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../scripts/lib/platform.js';
import { CATALOGUE_FILE, failOnServiceStop } from './helpers.js';

/**
 * One product behind one host (docs/adr/0012-one-product-behind-one-host.md), on the local
 * platform: the gateway routes every service's public paths as the Ingress does, the browser
 * signs in once (escalation's session), and status-mapper's API takes the access token that
 * session hands out. Everything here goes through the product's host, as a browser would.
 */

/** Signs `user` in through the development issuer with a cookie jar, as a browser does. */
async function signIn(host: string, user: string) {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1)) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      else jar.delete(pair.slice(0, eq));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const login = await fetch(`${host}/auth/login?returnTo=%2Fstatus%2F`, { redirect: 'manual' });
  keep(login);
  const authorize = new URL(login.headers.get('location') ?? '');
  const form = new URLSearchParams(authorize.searchParams);
  form.set('user', user);
  const chosen = await fetch(`${authorize.origin}/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(chosen.headers.get('location') ?? '', {
    headers: { cookie: cookie() },
    redirect: 'manual',
  });
  expect(callback.status).toBe(302);
  // Back to the page the sign-in started from, on the product's host.
  expect(callback.headers.get('location')).toBe('/status/');
  keep(callback);
  const me = (await (await fetch(`${host}/auth/me`, { headers: { cookie: cookie() } })).json()) as {
    csrfToken: string;
  };
  return { cookie, csrf: me.csrfToken };
}

describe('one product behind one host', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let dir: string;

  beforeAll(async () => {
    const stack = inject('stack');
    issuer = await startLocalIssuer();
    dir = mkdtempSync(join(tmpdir(), 'mo-one-product-'));
    const secret = join(dir, 'session-secret');
    writeFileSync(secret, randomBytes(32).toString('hex'), { mode: 0o600 });
    platform = await startPlatform({
      databaseUrl: await createTestDatabase(stack.databaseUrl, 'one_product'),
      kafkaBrokers: stack.kafkaBrokers,
      namespace: uniqueNamespace('one-product'),
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: { 'session-secret': secret },
      files: { 'service-catalogue': CATALOGUE_FILE },
      only: ['escalation', 'status-mapper'],
      logLevel: 'error',
      nodeEnv: 'test',
      onFatal: failOnServiceStop,
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await issuer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves every service's pages on the one host, in the shared look, with the one CSP", async () => {
    const dashboard = await fetch(`${platform.url}/`);
    const status = await fetch(`${platform.url}/status/`);
    for (const page of [dashboard, status]) {
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    expect(dashboard.headers.get('content-security-policy')).toBe(status.headers.get('content-security-policy'));
    expect(await status.text()).toContain('/status/ui/common/base.css');
    const [escalationCss, statusCss] = await Promise.all(
      ['/ui/common/base.css', '/status/ui/common/base.css'].map(async (p) =>
        (await fetch(`${platform.url}${p}`)).text(),
      ),
    );
    expect(statusCss).toBe(escalationCss);
    expect((await fetch(`${platform.url}/status`, { redirect: 'manual' })).headers.get('location')).toBe('/status/');
    // Inside-the-cluster paths are not on the product's host, as behind the Ingress.
    expect((await fetch(`${platform.url}/metrics`)).status).toBe(404);
  });

  it("signs in once: status-mapper's API takes the access token of escalation's session", async () => {
    expect((await fetch(`${platform.url}/status/internal`)).status).toBe(401);
    const vic = await signIn(platform.url, 'dev-viewer');
    // A cookie is not a credential for status-mapper: only the token is.
    expect((await fetch(`${platform.url}/status/internal`, { headers: { cookie: vic.cookie() } })).status).toBe(401);

    const answer = await fetch(`${platform.url}/auth/token`, {
      headers: { cookie: vic.cookie(), 'x-csrf-token': vic.csrf },
    });
    expect(answer.status).toBe(200);
    const { accessToken } = (await answer.json()) as { accessToken: string };
    const bearer = { authorization: `Bearer ${accessToken}` };
    const internal = await fetch(`${platform.url}/status/internal`, { headers: bearer });
    expect(internal.status).toBe(200);
    expect(await internal.json()).toEqual({ services: [] });
    expect((await fetch(`${platform.url}/status/v1/sources`, { headers: bearer })).status).toBe(200);
    // A viewer's token carries the viewer's roles: status-mapper refuses what needs a responder.
    const poll = await fetch(`${platform.url}/status/v1/sources/poll`, { method: 'POST', headers: bearer });
    expect(poll.status).toBe(403);
  });
});
