import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalIssuer, startLocalIssuer } from './issuer.js';

/**
 * The development sign-in's "Sign in with a second factor": what the tokens say about how and
 * when the person signed in (`amr`, `auth_time`), at sign-in and after a refresh.
 */
describe('local issuer: sign-in evidence', () => {
  let issuer: LocalIssuer;
  const client = 'dev-client';
  const redirectUri = 'http://127.0.0.1:9/auth/callback';

  beforeAll(async () => {
    issuer = await startLocalIssuer();
  });

  afterAll(async () => {
    await issuer?.stop();
  });

  /** The authorization code flow as a browser and escalation run it, `extra` posted with the choice. */
  const signIn = async (user: string, extra: Record<string, string> = {}) => {
    const verifier = randomBytes(32).toString('base64url');
    const params = {
      response_type: 'code',
      client_id: client,
      redirect_uri: redirectUri,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 's1',
    };
    const page = await fetch(`${issuer.issuer}/authorize?${new URLSearchParams(params)}`);
    expect(await page.text()).toContain('<input type="checkbox" name="mfa" value="otp"> Sign in with a second factor');
    const chosen = await fetch(`${issuer.issuer}/authorize`, {
      method: 'POST',
      body: new URLSearchParams({ ...params, user, ...extra }),
      redirect: 'manual',
    });
    const code = new URL(chosen.headers.get('location')!).searchParams.get('code')!;
    return tokens({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
  };
  const tokens = async (form: Record<string, string>) => {
    const res = await fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ ...form, client_id: client }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; id_token: string; refresh_token: string };
    return { ...body, access: decodeJwt(body.access_token), id: decodeJwt(body.id_token) };
  };

  it('says amr pwd and otp after a sign-in with a second factor, and when it was, in both tokens', async () => {
    const before = Math.floor(Date.now() / 1000);
    const signedIn = await signIn('dev-admin', { mfa: 'otp' });
    for (const claims of [signedIn.access, signedIn.id]) {
      expect(claims.amr).toEqual(['pwd', 'otp']);
      expect(claims.auth_time).toBeGreaterThanOrEqual(before);
      expect(claims.auth_time).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    }
  });

  it('says amr pwd only without it', async () => {
    const signedIn = await signIn('dev-admin');
    expect(signedIn.access.amr).toEqual(['pwd']);
    expect(signedIn.id.amr).toEqual(['pwd']);
  });

  it('keeps the sign-in’s amr and auth_time on refresh: refreshing is not signing in again', async () => {
    const signedIn = await signIn('dev-admin', { mfa: 'otp' });
    await new Promise((r) => setTimeout(r, 1100));
    const refreshed = await tokens({ grant_type: 'refresh_token', refresh_token: signedIn.refresh_token });
    expect(refreshed.access.amr).toEqual(['pwd', 'otp']);
    expect(refreshed.access.auth_time).toBe(signedIn.access.auth_time);
    expect(refreshed.access.iat).toBeGreaterThan(signedIn.access.auth_time as number);

    const plain = await signIn('dev-responder');
    const plainRefreshed = await tokens({ grant_type: 'refresh_token', refresh_token: plain.refresh_token });
    expect(plainRefreshed.access.amr).toEqual(['pwd']);
  });
});
