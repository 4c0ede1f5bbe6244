import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface DevUser {
  sub: string;
  name: string;
  email: string;
  roles: string[];
}

/** The people offered on the development sign-in page. */
export const DEV_USERS: DevUser[] = [
  { sub: 'dev-responder', name: 'Ada Responder', email: 'ada@example.com', roles: ['responder'] },
  { sub: 'dev-viewer', name: 'Vic Viewer', email: 'vic@example.com', roles: ['viewer'] },
  { sub: 'dev-admin', name: 'Alex Admin', email: 'alex@example.com', roles: ['admin'] },
];

/** How a development user signed in: with the page's "second factor" choice or not, and when (Unix seconds). */
interface DevSignIn {
  mfa: boolean;
  at: number;
}

export interface LocalIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** Signs an access token for `sub` with the given roles (and any extra claims). */
  token(
    claims: { sub: string; roles?: string[]; name?: string; email?: string; [k: string]: unknown },
    opts?: { expiresIn?: string; audience?: string; issuer?: string },
  ): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A minimal OpenID issuer on loopback (discovery document + JWKS, RS256 keys generated at
 * start): for tests, and for the clearly labelled development sign-in of `npm start`.
 * It refuses to run when NODE_ENV is production.
 */
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16_384) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Redirects only back to loopback: this provider must never become an open redirector. */
function isLoopbackUrl(value: string | null): value is string {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

export async function startLocalIssuer(
  opts: { audience?: string; port?: number; users?: DevUser[] } = {},
): Promise<LocalIssuer> {
  const users = opts.users ?? DEV_USERS;
  const codes = new Map<
    string,
    {
      user: DevUser;
      signIn: DevSignIn;
      clientId: string;
      redirectUri: string;
      challenge: string;
      nonce: string | null;
      expires: number;
    }
  >();
  if (process.env.NODE_ENV === 'production') {
    throw new Error('the local development identity provider refuses to run with NODE_ENV=production');
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const audience = opts.audience ?? 'micro-oncall';
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let issuer = '';
  const sign = (claims: Record<string, unknown>, audience: string, expiresIn: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(privateKey);

  const authorize = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
    const redirectUri = params.get('redirect_uri');
    const problems = [
      params.get('response_type') !== 'code' && 'response_type must be code',
      params.get('code_challenge_method') !== 'S256' && 'code_challenge_method must be S256 (PKCE)',
      !/^[A-Za-z0-9_-]{43}$/.test(params.get('code_challenge') ?? '') && 'code_challenge missing',
      !params.get('client_id') && 'client_id missing',
      !isLoopbackUrl(redirectUri) && 'redirect_uri must be a loopback http URL',
    ].filter(Boolean);
    if (problems.length > 0)
      return sendJson(res, 400, { error: 'invalid_request', error_description: problems.join('; ') });
    if (req.method === 'POST') {
      const user = users.find((u) => u.sub === params.get('user'));
      if (!user) return sendJson(res, 400, { error: 'access_denied', error_description: 'unknown user' });
      const code = randomBytes(24).toString('base64url');
      codes.set(code, {
        user,
        signIn: { mfa: params.get('mfa') === 'otp', at: Math.floor(Date.now() / 1000) },
        clientId: params.get('client_id')!,
        redirectUri: redirectUri!,
        challenge: params.get('code_challenge')!,
        nonce: params.get('nonce'),
        expires: Date.now() + 60_000,
      });
      const back = new URL(redirectUri!);
      back.searchParams.set('code', code);
      const state = params.get('state');
      if (state) back.searchParams.set('state', state);
      back.searchParams.set('iss', issuer);
      res.writeHead(302, { location: back.toString() });
      res.end();
      return;
    }
    const hidden = [...params]
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('');
    const buttons = users
      .map(
        (u) =>
          `<button type="submit" name="user" value="${escapeHtml(u.sub)}">${escapeHtml(u.name)} <small>(${escapeHtml(u.roles.join(', '))})</small></button>`,
      )
      .join('');
    // A real identity provider asks for the second factor itself; here it is a choice, so that
    // approving a drill (which needs a multi-factor sign-in) can be tried locally.
    const mfa = `<p class="mfa"><label><input type="checkbox" name="mfa" value="otp"> Sign in with a second factor</label>
<small>Development only: the tokens then say <code>amr: ["pwd", "otp"]</code>, as an identity provider's multi-factor sign-in does; without it, <code>amr: ["pwd"]</code>.</small></p>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // Chromium applies form-action to the redirect that follows the POST as well, so the
      // (loopback-checked) client origin is allowed next to this page's own.
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${new URL(redirectUri!).origin}`,
    });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}.warn{background:#fff3cd;border:1px solid #c9a227;padding:.75rem 1rem;border-radius:6px}.mfa{border:1px dashed #c9a227;padding:.5rem 1rem;border-radius:6px}.mfa small{display:block;margin-top:.25rem}button{display:block;width:100%;margin:.5rem 0;padding:.7rem;font-size:1rem;text-align:left;cursor:pointer}</style></head>
<body><h1>Development sign-in</h1><p class="warn"><strong>DEVELOPMENT ONLY.</strong> This local identity provider signs anyone in with the role they pick. It refuses to run with NODE_ENV=production; real deployments use your organisation's OIDC issuer.</p>
<form method="post" action="/authorize">${hidden}${mfa}${buttons}</form></body></html>`);
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const form = await readForm(req);
    const basic = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8').split(':')[0]
      : undefined;
    const clientId = form.get('client_id') ?? (basic ? decodeURIComponent(basic) : null);
    if (form.get('grant_type') === 'refresh_token') return refresh(res, form.get('refresh_token'), clientId);
    const grant = codes.get(form.get('code') ?? '');
    if (form.get('grant_type') !== 'authorization_code' || !grant)
      return sendJson(res, 400, { error: 'invalid_grant' });
    codes.delete(form.get('code')!);
    const challenge = createHash('sha256')
      .update(form.get('code_verifier') ?? '')
      .digest('base64url');
    if (
      grant.expires < Date.now() ||
      grant.redirectUri !== form.get('redirect_uri') ||
      grant.clientId !== clientId ||
      challenge !== grant.challenge
    ) {
      return sendJson(res, 400, {
        error: 'invalid_grant',
        error_description: 'code expired, or redirect_uri, client_id or PKCE verifier does not match',
      });
    }
    await issueTokens(res, grant.user, grant.signIn, grant.clientId, grant.nonce);
  };

  const issueTokens = async (
    res: ServerResponse,
    user: DevUser,
    signIn: DevSignIn,
    clientId: string,
    nonce: string | null,
  ) => {
    // The development users' addresses are configured, not self-asserted: the issuer vouches for them.
    // How and when they signed in (`amr`, `auth_time`) in both tokens, as real issuers can be set to.
    const profile = {
      sub: user.sub,
      name: user.name,
      email: user.email,
      email_verified: true,
      roles: user.roles,
      amr: signIn.mfa ? ['pwd', 'otp'] : ['pwd'],
      auth_time: signIn.at,
    };
    sendJson(res, 200, {
      token_type: 'Bearer',
      expires_in: 3600,
      access_token: await sign(profile, audience, '1h'),
      id_token: await sign({ ...profile, ...(nonce ? { nonce } : {}) }, clientId, '10m'),
      refresh_token: refreshTokenFor(user, signIn, clientId),
    });
  };

  /**
   * Refresh tokens name the user, the client and the sign-in (whether with a second factor, and
   * when) and nothing else: a restarted issuer (`npm start` again) still honours the ones it gave
   * out, and a refresh answers with the user's roles as they are now (`users` may change while it
   * runs), or invalid_grant once the user is gone. Refreshed tokens keep the original sign-in's
   * `amr` and `auth_time`, as real issuers do: refreshing is not signing in again.
   * Unsigned on purpose: this issuer signs anyone in as anyone already.
   */
  const refreshTokenFor = (user: DevUser, signIn: DevSignIn, clientId: string) =>
    `dev.${Buffer.from(JSON.stringify({ sub: user.sub, clientId, mfa: signIn.mfa, at: signIn.at })).toString('base64url')}.${randomBytes(16).toString('base64url')}`;
  const refresh = async (res: ServerResponse, refreshToken: string | null, clientId: string | null) => {
    let claims: { sub?: unknown; clientId?: unknown; mfa?: unknown; at?: unknown } = {};
    try {
      const parsed: unknown = JSON.parse(Buffer.from(refreshToken?.split('.')[1] ?? '', 'base64url').toString('utf8'));
      if (parsed && typeof parsed === 'object') claims = parsed;
    } catch {
      // not one of ours: refused below
    }
    const user = users.find((u) => u.sub === claims.sub);
    if (!user || !clientId || claims.clientId !== clientId) {
      return sendJson(res, 400, {
        error: 'invalid_grant',
        error_description: 'unknown refresh token, or the user no longer exists',
      });
    }
    const signIn: DevSignIn = {
      mfa: claims.mfa === true,
      // A refresh token from before sign-ins were recorded: as if signed in now.
      at: typeof claims.at === 'number' ? claims.at : Math.floor(Date.now() / 1000),
    };
    await issueTokens(res, user, signIn, clientId, null);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    if (path === '/authorize') {
      authorize(req, res, url).catch(() => sendJson(res, 400, { error: 'invalid_request' }));
      return;
    }
    if (path === '/token' && req.method === 'POST') {
      token(req, res).catch(() => sendJson(res, 400, { error: 'invalid_request' }));
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/jwks`,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
          scopes_supported: ['openid', 'profile', 'email'],
          claims_supported: ['sub', 'name', 'email', 'email_verified', 'roles', 'amr', 'auth_time'],
        }),
      );
    } else if (path === '/jwks') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  issuer = `http://127.0.0.1:${port}`;
  const key: CryptoKey = privateKey;
  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    audience,
    async token(claims, tokenOpts = {}) {
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(tokenOpts.issuer ?? issuer)
        .setAudience(tokenOpts.audience ?? audience)
        .setSubject(claims.sub)
        .setIssuedAt()
        .setExpirationTime(tokenOpts.expiresIn ?? '1h')
        .sign(key);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
