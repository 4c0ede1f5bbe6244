import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

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
export async function startLocalIssuer(opts: { audience?: string; port?: number } = {}): Promise<LocalIssuer> {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('the local development identity provider refuses to run with NODE_ENV=production');
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
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
  const audience = opts.audience ?? 'micro-oncall';
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
