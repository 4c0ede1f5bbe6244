import { randomBytes } from 'node:crypto';
import { createJwtVerifier } from '@micro-oncall/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEscalation, type TestEscalation } from './support.js';
import { signInAs } from './web.js';

/**
 * GET /auth/token: the product's one sign-in for the pages of other services. The browser's
 * session (escalation's) gets the user's own access token from the issuer, which other services
 * verify like any bearer token (docs/adr/0012-one-product-behind-one-host.md).
 */
describe('escalation GET /auth/token', () => {
  let esc: TestEscalation;
  let url: string;

  beforeAll(async () => {
    esc = await startTestEscalation('access-token', () => ({
      OIDC_CLIENT_ID: 'escalation-test',
      SESSION_SECRET: randomBytes(32).toString('hex'),
    }));
    url = esc.service.url;
  });

  afterAll(async () => {
    await esc?.stop();
  });

  const token = (headers: Record<string, string>) => fetch(`${url}/auth/token`, { headers });

  it('answers 401 without a session, and clears a cookie that names no session', async () => {
    const none = await token({});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    const unknown = await token({ cookie: `mo_session=${randomBytes(32).toString('base64url')}` });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.getSetCookie().some((c) => c.startsWith('mo_session=;'))).toBe(true);
  });

  it("gives the signed-in user's own access token, which a service verifying the issuer's JWTs accepts", async () => {
    const vic = await signInAs(url, 'dev-viewer');
    const res = await token({ cookie: vic.cookie(), 'x-csrf-token': vic.csrf });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.getSetCookie()).toEqual([]);
    const body = (await res.json()) as { tokenType: string; accessToken: string; expiresAt: string };
    expect(body.tokenType).toBe('Bearer');
    // What status-mapper (and every service) does with a bearer token.
    const verify = createJwtVerifier({ issuer: esc.issuer.issuer, audience: esc.issuer.audience });
    expect(await verify(body.accessToken)).toMatchObject({ subject: 'dev-viewer', roles: ['viewer'] });
    const expiresIn = Date.parse(body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(50 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000);
    // The same token again until it nearly expires: the issuer is not asked on every page load.
    const again = (await (await token({ cookie: vic.cookie(), 'x-csrf-token': vic.csrf })).json()) as typeof body;
    expect(again.accessToken).toBe(body.accessToken);
    // Signing out ends it: no more tokens for this cookie.
    await fetch(`${url}/auth/logout`, { method: 'POST', headers: { cookie: vic.cookie(), 'x-csrf-token': vic.csrf } });
    expect((await token({ cookie: vic.cookie(), 'x-csrf-token': vic.csrf })).status).toBe(401);
  });

  it("hands on how and when the user signed in at the issuer (amr, auth_time): a multi-factor sign-in's evidence reaches the services", async () => {
    const verify = createJwtVerifier({ issuer: esc.issuer.issuer, audience: esc.issuer.audience });
    const signedInAfter = Math.floor(Date.now() / 1000);
    const tokenOf = async (who: Awaited<ReturnType<typeof signInAs>>) => {
      const res = await token({ cookie: who.cookie(), 'x-csrf-token': who.csrf });
      expect(res.status).toBe(200);
      return verify(((await res.json()) as { accessToken: string }).accessToken);
    };

    // What the simulator checks before an approval (services/simulator/src/policy.ts).
    const withMfa = await tokenOf(await signInAs(url, 'dev-admin', { secondFactor: true }));
    expect(withMfa.subject).toBe('dev-admin');
    expect(withMfa.signIn?.methods).toEqual(['pwd', 'otp']);
    expect(withMfa.signIn?.at).toBeGreaterThanOrEqual(signedInAfter);
    expect(withMfa.signIn?.at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));

    // A password-only sign-in says so: nothing in the session adds a factor that was not used.
    const passwordOnly = await tokenOf(await signInAs(url, 'dev-admin'));
    expect(passwordOnly.signIn?.methods).toEqual(['pwd']);
  });

  it('refuses a request without the session CSRF token and audits it as denied, under the user', async () => {
    const ada = await signInAs(url, 'dev-responder');
    const missing = await token({ cookie: ada.cookie() });
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      'missing or wrong X-CSRF-Token',
    );
    expect((await token({ cookie: ada.cookie(), 'x-csrf-token': `${ada.csrf}x` })).status).toBe(403);

    const admin = await esc.issuer.token({ sub: 'auditor', roles: ['admin'] });
    const audit = await esc.get('/v1/audit?outcome=denied&actor=dev-responder&limit=100', admin);
    const rows = (audit.body as { items: { action: string; detail: string; actorName: string | null }[] }).items;
    expect(rows.filter((r) => r.action === 'access_token')).toEqual([
      expect.objectContaining({ detail: 'GET /auth/token refused: missing or wrong X-CSRF-Token' }),
      expect.objectContaining({ detail: 'GET /auth/token refused: missing or wrong X-CSRF-Token' }),
    ]);
  });
});
