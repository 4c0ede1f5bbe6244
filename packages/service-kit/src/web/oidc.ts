import { type Request, Router } from 'express';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { type Principal, principalFromClaims, type Role } from '../auth.js';
import { AuthenticationError, DependencyUnavailableError, InputError, NotAllowedError } from '../errors.js';
import type { Logger } from '../logger.js';
import { csrfMatches, type IssuedToken, RefreshRefusedError, type SessionManager } from './session.js';

export interface OidcLoginOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /**
   * Public base URL of this service, e.g. https://oncall.example.com; or a function of the
   * request (development only, where ports are chosen at start-up).
   */
  publicUrl: string | ((req: Request) => string);
  rolesClaim: string;
  roleMap: Record<string, Role>;
  /** Only for the local development issuer on http://127.0.0.1. */
  allowInsecureIssuer: boolean;
  /**
   * Scopes asked for at sign-in (default `openid profile email`). Some issuers (Okta, Auth0,
   * Entra ID) issue the refresh token that keeps roles current only for `offline_access`.
   */
  scopes?: string | undefined;
  sessions: SessionManager;
  /** Called after a successful sign-in / sign-out, e.g. to write an audit row. */
  onSignIn?: (principal: Principal, req: Request) => Promise<void>;
  onSignOut?: (principal: Principal, req: Request) => Promise<void>;
  logger: Logger;
}

/** Only same-site paths are valid return targets (no open redirects). */
export function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\')
    ? value
    : '/';
}

/**
 * The access token of a token endpoint answer, with when it expires (`expires_in`, else the
 * JWT's own `exp`); undefined when there is none or its lifetime cannot be told.
 */
function issuedAccessToken(
  tokens: { access_token?: string; expiresIn(): number | undefined },
  now = Date.now(),
): IssuedToken | undefined {
  const value = tokens.access_token;
  if (!value) return undefined;
  const seconds = tokens.expiresIn();
  if (seconds !== undefined) return { value, expiresAt: new Date(now + seconds * 1000) };
  try {
    const { exp } = decodeJwt(value);
    return typeof exp === 'number' ? { value, expiresAt: new Date(exp * 1000) } : undefined;
  } catch {
    return undefined; // an opaque token without expires_in: we cannot tell when to renew it
  }
}

/**
 * Authorization code flow with PKCE (S256) against any standard issuer, via openid-client:
 * GET /auth/login → the issuer; GET /auth/callback checks state, exchanges the code with the
 * verifier, validates the ID token (iss, aud, exp, nonce) and starts a server-side session;
 * POST /auth/logout ends it (CSRF-checked); GET /auth/me tells the UI who is signed in. The
 * issuer's refresh token lets the session re-read the user's roles (see session.ts): a role
 * removed at the issuer, or a user removed there, takes effect within the roles TTL.
 *
 * GET /auth/token (CSRF-checked) hands the signed-in user's own access token from the issuer to
 * the product's pages of other services, which call their APIs with it as a bearer token: one
 * sign-in for every service behind the product's host (docs/adr/0012-one-product-behind-one-host.md).
 */
export function createOidcRouter(opts: OidcLoginOptions): Router {
  const router = Router();
  const baseUrl = (req: Request) => (typeof opts.publicUrl === 'string' ? opts.publicUrl : opts.publicUrl(req));
  const redirectUri = (req: Request) => new URL('/auth/callback', baseUrl(req)).toString();
  let config: Promise<oidc.Configuration> | null = null;
  const configuration = () => {
    config ??= oidc
      .discovery(
        new URL(opts.issuer),
        opts.clientId,
        opts.clientSecret,
        opts.clientSecret ? oidc.ClientSecretBasic(opts.clientSecret) : oidc.None(),
        opts.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        config = null;
        throw new DependencyUnavailableError('the identity provider cannot be reached; try again shortly', 10, {
          cause: error,
        });
      });
    return config;
  };

  // Re-reads the user at the issuer for the session's periodic role check.
  opts.sessions.setRoleRefresher(async (refreshToken, subject) => {
    const cfg = await configuration();
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(cfg, refreshToken);
    } catch (error) {
      // The issuer answered, and said no (invalid_grant: token revoked, user disabled or removed).
      if (error instanceof oidc.ResponseBodyError && error.status < 500) {
        throw new RefreshRefusedError(`${error.error}: ${error.error_description ?? 'refresh refused'}`);
      }
      throw error; // unreachable or unexpected: the session keeps its roles and asks again
    }
    const claims = tokens.claims();
    // Without a fresh ID token the roles cannot be confirmed: sign in again.
    if (!claims) throw new RefreshRefusedError('the issuer returned no ID token on refresh');
    if (claims.sub !== subject) throw new RefreshRefusedError('the refreshed ID token is for another subject');
    return {
      principal: principalFromClaims(claims, { rolesClaim: opts.rolesClaim, roleMap: opts.roleMap }),
      refreshToken: tokens.refresh_token,
      accessToken: issuedAccessToken(tokens),
    };
  });

  router.get('/auth/login', async (req, res) => {
    const cfg = await configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    await opts.sessions.issueLogin(res, { verifier, state, nonce, returnTo: safeReturnTo(req.query.returnTo) });
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri(req),
      scope: opts.scopes ?? 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    res.redirect(302, url.toString());
  });

  router.get('/auth/callback', async (req: Request, res) => {
    const login = await opts.sessions.readLogin(req);
    if (
      !login ||
      typeof login.verifier !== 'string' ||
      typeof login.state !== 'string' ||
      typeof login.nonce !== 'string'
    ) {
      throw new InputError('this sign-in has expired or was started in another browser: start again at /auth/login');
    }
    const cfg = await configuration();
    const current = new URL(req.originalUrl, baseUrl(req));
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(cfg, current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      opts.logger.warn({ err: error }, 'sign-in failed at the code exchange');
      throw new InputError(`sign-in failed: ${(error as Error).message.slice(0, 200)}`);
    }
    const claims = tokens.claims();
    if (!claims) throw new InputError('sign-in failed: the identity provider returned no ID token');
    // The same rules as for bearer tokens: mapped roles only, and only a verified email.
    const principal = principalFromClaims(claims, { rolesClaim: opts.rolesClaim, roleMap: opts.roleMap });
    // Signing in again replaces the browser's session: the old one must not live on in a copy.
    const previous = await opts.sessions.read(req);
    if (previous) await opts.sessions.revoke(previous.id);
    await opts.sessions.issue(res, principal, {
      refreshToken: tokens.refresh_token,
      accessToken: issuedAccessToken(tokens),
    });
    opts.sessions.clearLogin(res);
    await opts.onSignIn?.(principal, req);
    res.redirect(302, safeReturnTo(login.returnTo));
  });

  router.get('/auth/me', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const session = await opts.sessions.read(req);
    if (!session) {
      if (opts.sessions.presented(req)) opts.sessions.clear(res);
      throw new AuthenticationError('not signed in');
    }
    res.json({
      subject: session.subject,
      name: session.name,
      email: session.email,
      roles: session.roles,
      csrfToken: session.csrf,
    });
  });

  // The session's user, as a bearer token for the product's other services. A GET that needs the
  // CSRF token all the same: only the product's own pages (which read it from /auth/me) get one.
  router.get('/auth/token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const session = await opts.sessions.read(req);
    if (!session) {
      if (opts.sessions.presented(req)) opts.sessions.clear(res);
      throw new AuthenticationError('not signed in');
    }
    // Known from here on: a refusal is on record under this user's name.
    req.principal = { subject: session.subject, name: session.name, email: session.email, roles: session.roles };
    if (!csrfMatches(session.csrf, req.header('x-csrf-token'))) {
      throw new NotAllowedError('missing or wrong X-CSRF-Token');
    }
    const token = await opts.sessions.accessToken(session);
    res.json({ tokenType: 'Bearer', accessToken: token.value, expiresAt: token.expiresAt.toISOString() });
  });

  router.post('/auth/logout', async (req, res) => {
    const session = await opts.sessions.read(req);
    if (session) {
      if (!csrfMatches(session.csrf, req.header('x-csrf-token'))) {
        throw new NotAllowedError('missing or wrong X-CSRF-Token');
      }
      // Ends it for every copy of the cookie and every replica (streams included), not just here.
      await opts.sessions.revoke(session.id);
      await opts.onSignOut?.(session, req);
    }
    opts.sessions.clear(res);
    res.status(204).end();
  });

  return router;
}
