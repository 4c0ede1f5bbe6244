import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalIssuer, startLocalIssuer } from '@micro-oncall/test-kit';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticate,
  createJwtVerifier,
  hasRole,
  type Principal,
  principalFromClaims,
  type Role,
  requireRole,
  rolesFromClaims,
  signInEvidence,
  type TokenVerifier,
  verifiedEmail,
} from './auth.js';
import { AuthenticationError, DependencyUnavailableError } from './errors.js';
import { createHttpApp } from './http.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

let issuer: LocalIssuer;
let verify: TokenVerifier;

beforeAll(async () => {
  issuer = await startLocalIssuer({ audience: 'micro-oncall-test' });
  verify = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl });
});
afterAll(async () => {
  await issuer?.stop();
});

/** A server that answers every request with `status` (an identity provider having a bad day). */
async function failingServer(status: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.statusCode = status;
    res.end('upstream trouble');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** A JWKS endpoint for a key generated here, to sign tokens the local issuer would never issue. */
async function startKeyServer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/jwks`,
    sign: (payload: Record<string, unknown>) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'test-key' }).sign(privateKey),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe(createJwtVerifier.name, () => {
  it('turns a valid token into a principal with its roles', async () => {
    const token = await issuer.token({
      sub: 'user-1',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      email_verified: true,
      roles: ['responder', 'not-a-role'],
    });
    await expect(verify(token)).resolves.toEqual({
      subject: 'user-1',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      roles: ['responder'],
    } satisfies Principal);
  });

  it.each([
    ['without email_verified', {}],
    ['with email_verified false', { email_verified: false }],
    ['with email_verified "false"', { email_verified: 'false' }],
  ])('leaves out an email the issuer did not verify (%s)', async (_what, claims) => {
    // Otherwise anyone who can put the on-call lead's address on an account acts as them at PagerDuty.
    const token = await issuer.token({ sub: 'user-3', email: 'lead@example.com', roles: ['responder'], ...claims });
    expect(await verify(token)).toMatchObject({ subject: 'user-3', email: null, roles: ['responder'] });
  });

  it('keeps an email verified as the string "true" (as some issuers send it)', async () => {
    const token = await issuer.token({ sub: 'user-4', email: 'grace@example.com', email_verified: 'true' });
    expect((await verify(token)).email).toBe('grace@example.com');
  });

  it('finds the key set through the issuer discovery document when no JWKS URL is given', async () => {
    const discovering = createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience });
    const principal = await discovering(await issuer.token({ sub: 'user-2', roles: ['viewer'] }));
    expect(principal).toMatchObject({ subject: 'user-2', name: null, email: null, roles: ['viewer'] });
  });

  it.each([
    ['expired', () => issuer.token({ sub: 'u', roles: ['admin'] }, { expiresIn: '-10 minutes' }), /ERR_JWT_EXPIRED/],
    [
      'for another audience',
      () => issuer.token({ sub: 'u', roles: ['admin'] }, { audience: 'another-app' }),
      /ERR_JWT_CLAIM_VALIDATION_FAILED/,
    ],
    [
      'from another issuer',
      () => issuer.token({ sub: 'u', roles: ['admin'] }, { issuer: 'https://evil.example' }),
      /ERR_JWT_CLAIM_VALIDATION_FAILED/,
    ],
  ])('rejects a token %s with AuthenticationError', async (_what, makeToken, reason) => {
    const error = await verify(await makeToken()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toMatch(reason);
  });

  it('rejects a token signed by a key the issuer did not publish, even under its key id', async () => {
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: { kid: string }[] };
    const kid = jwks.keys[0]!.kid;
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await expect(verify(forged)).rejects.toThrow(AuthenticationError);
    await expect(verify(forged)).rejects.toThrow(/SIGNATURE_VERIFICATION_FAILED/);

    const otherIssuer = await startLocalIssuer({ audience: issuer.audience });
    try {
      const otherKeyToken = await otherIssuer.token({ sub: 'mallory', roles: ['admin'] }, { issuer: issuer.issuer });
      await expect(verify(otherKeyToken)).rejects.toThrow(AuthenticationError);
    } finally {
      await otherIssuer.stop();
    }
  });

  it('rejects an unsigned alg "none" token', async () => {
    const claims = {
      sub: 'mallory',
      roles: ['admin'],
      iss: issuer.issuer,
      aud: issuer.audience,
      exp: nowSeconds() + 600,
    };
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    await expect(verify(unsigned)).rejects.toThrow(AuthenticationError);
  });

  it('rejects an HS256 token, even one keyed with the published public key', async () => {
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Record<string, string>[] };
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]!.kid })
      .setIssuer(issuer.issuer)
      .setAudience(issuer.audience)
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await expect(verify(forged)).rejects.toThrow(AuthenticationError);
  });

  it.each(['garbage', 'a.b.c', '', `${b64url({ alg: 'RS256' })}.not-json.sig`])(
    'rejects the malformed token %j with AuthenticationError',
    async (token) => {
      await expect(verify(token)).rejects.toThrow(AuthenticationError);
    },
  );

  it.each([
    ['an expiry', { sub: 'u', roles: ['admin'] }],
    ['a subject', { roles: ['admin'], exp: nowSeconds() + 600 }],
  ])('rejects a token without %s', async (_what, claims) => {
    const keys = await startKeyServer();
    try {
      const v = createJwtVerifier({ issuer: 'https://idp.example', audience: 'app', jwksUrl: keys.jwksUrl });
      const complete = await keys.sign({ sub: 'u', exp: nowSeconds() + 600, iss: 'https://idp.example', aud: 'app' });
      await expect(v(complete)).resolves.toMatchObject({ subject: 'u' });
      const token = await keys.sign({ ...claims, iss: 'https://idp.example', aud: 'app' });
      await expect(v(token)).rejects.toThrow(AuthenticationError);
    } finally {
      await keys.close();
    }
  });

  it.each([['HS256'], ['HS512'], ['none']])('refuses %s in the algorithm list at construction', (alg) => {
    expect(() =>
      createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, algorithms: ['RS256', alg] }),
    ).toThrow(/asymmetric/);
  });

  it('answers DependencyUnavailableError, not 401, when the key set cannot be fetched', async () => {
    const token = await issuer.token({ sub: 'u', roles: ['viewer'] });
    const down = await failingServer(503);
    try {
      const unavailable = createJwtVerifier({
        issuer: issuer.issuer,
        audience: issuer.audience,
        jwksUrl: `${down.url}/jwks`,
      });
      await expect(unavailable(token)).rejects.toThrow(DependencyUnavailableError);
    } finally {
      await down.close();
    }
    const closed = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUrl: `${down.url}/jwks`,
    });
    await expect(closed(token)).rejects.toThrow(DependencyUnavailableError);
  });

  it('answers DependencyUnavailableError when discovery fails', async () => {
    const down = await failingServer(500);
    try {
      const discovering = createJwtVerifier({ issuer: down.url, audience: issuer.audience });
      await expect(discovering(await issuer.token({ sub: 'u' }))).rejects.toThrow(DependencyUnavailableError);
    } finally {
      await down.close();
    }
  });

  describe('roles', () => {
    it('reads a space-separated roles claim', async () => {
      const token = await issuer.token({ sub: 'u', roles: undefined, scope_roles: 'viewer  approver bogus' });
      const v = createJwtVerifier({ ...issuerOpts(), rolesClaim: 'scope_roles' });
      expect((await v(token)).roles.sort()).toEqual(['approver', 'viewer']);
    });

    it('walks a nested claim path', async () => {
      const token = await issuer.token({ sub: 'u', realm_access: { roles: ['admin'] } });
      const v = createJwtVerifier({ ...issuerOpts(), rolesClaim: 'realm_access.roles' });
      expect((await v(token)).roles).toEqual(['admin']);
    });

    it('maps group names onto roles', async () => {
      const token = await issuer.token({ sub: 'u', groups: ['sre-oncall', 'sre-leads', 'finance'] });
      const v = createJwtVerifier({
        ...issuerOpts(),
        rolesClaim: 'groups',
        roleMap: { 'sre-oncall': 'responder', 'sre-leads': 'approver' },
      });
      expect((await v(token)).roles.sort()).toEqual(['approver', 'responder']);
    });

    it('grants no role for a group the map does not list, even one named like a role', async () => {
      const token = await issuer.token({ sub: 'u', groups: ['admin', 'approver', 'sre-oncall'] });
      const v = createJwtVerifier({ ...issuerOpts(), rolesClaim: 'groups', roleMap: { 'sre-oncall': 'responder' } });
      expect((await v(token)).roles).toEqual(['responder']);
    });

    it('gives no roles when the claim is missing or of another type', async () => {
      const v = createJwtVerifier({ ...issuerOpts(), rolesClaim: 'groups' });
      expect((await v(await issuer.token({ sub: 'u' }))).roles).toEqual([]);
      expect((await v(await issuer.token({ sub: 'u', groups: 42 }))).roles).toEqual([]);
      expect((await v(await issuer.token({ sub: 'u', groups: { admin: true } }))).roles).toEqual([]);
    });
  });
});

function issuerOpts() {
  return { issuer: issuer.issuer, audience: issuer.audience, jwksUrl: issuer.jwksUrl };
}

describe(rolesFromClaims.name, () => {
  it('keeps only known role names and drops duplicates', () => {
    expect(rolesFromClaims({ roles: ['viewer', 'viewer', 'root', 7, 'admin'] }, {})).toEqual(['viewer', 'admin']);
  });

  it('takes role names literally when no role map is configured (an empty map is none)', () => {
    expect(rolesFromClaims({ groups: ['admin', 'ops'] }, { rolesClaim: 'groups' })).toEqual(['admin']);
    expect(rolesFromClaims({ groups: ['admin', 'ops'] }, { rolesClaim: 'groups', roleMap: {} })).toEqual(['admin']);
  });

  it('with a role map, grants only mapped names: a self-made group called admin grants nothing', () => {
    const roleMap = { 'sre-oncall': 'responder', 'sre-leads': 'admin' } as const;
    expect(rolesFromClaims({ groups: ['admin', 'viewer', 'responder'] }, { rolesClaim: 'groups', roleMap })).toEqual(
      [],
    );
    expect(rolesFromClaims({ groups: ['admin', 'sre-leads'] }, { rolesClaim: 'groups', roleMap })).toEqual(['admin']);
    // A literal role name is kept by listing it.
    expect(rolesFromClaims({ roles: ['admin'] }, { roleMap: { admin: 'admin' } })).toEqual(['admin']);
  });

  it('never turns Object.prototype members into roles', () => {
    const roles = rolesFromClaims(
      { groups: ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'oncall'] },
      { rolesClaim: 'groups', roleMap: { oncall: 'responder' } },
    );
    expect(roles).toEqual(['responder']);
  });
});

describe(principalFromClaims.name, () => {
  // The web sign-in (web/oidc.ts) builds its session principal from the ID token with this.
  it('applies the role map and keeps only a verified email', () => {
    const claims = { sub: 'u-1', name: 'Mallory', email: 'lead@example.com', groups: ['admin', 'sre-oncall'] };
    const opts = { rolesClaim: 'groups', roleMap: { 'sre-oncall': 'responder' as const } };
    expect(principalFromClaims(claims, opts)).toEqual({
      subject: 'u-1',
      name: 'Mallory',
      email: null,
      roles: ['responder'],
    } satisfies Principal);
    expect(principalFromClaims({ ...claims, email_verified: true }, opts).email).toBe('lead@example.com');
  });
});

describe(signInEvidence.name, () => {
  it('reads amr, acr and auth_time as the issuer sent them', () => {
    expect(
      signInEvidence({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:okta:loa:2fa:any', auth_time: 1_764_000_000 }),
    ).toEqual({ methods: ['pwd', 'otp', 'mfa'], level: 'urn:okta:loa:2fa:any', at: 1_764_000_000 });
  });

  it('is absent from a token that says nothing about the sign-in', () => {
    expect(signInEvidence({ sub: 'u-1' })).toBeUndefined();
    expect(principalFromClaims({ sub: 'u-1' }, {})).not.toHaveProperty('signIn');
  });

  it('takes one amr string as one method and ignores values of the wrong type', () => {
    expect(signInEvidence({ amr: 'hwk', acr: 1, auth_time: '1764000000' })).toEqual({
      methods: ['hwk'],
      level: null,
      at: null,
    });
    expect(signInEvidence({ amr: [42, '', 'otp', 'otp'] })?.methods).toEqual(['otp']);
  });

  it('reaches the principal of a verified token', () => {
    const principal = principalFromClaims({ sub: 'u-2', amr: ['mfa'], auth_time: 1_764_000_100 }, {});
    expect(principal.signIn).toEqual({ methods: ['mfa'], level: null, at: 1_764_000_100 });
  });
});

describe(verifiedEmail.name, () => {
  it.each([
    [{ email: 'a@example.com', email_verified: true }, 'a@example.com'],
    [{ email: 'a@example.com', email_verified: 'true' }, 'a@example.com'],
    [{ email: 'a@example.com' }, null],
    [{ email: 'a@example.com', email_verified: false }, null],
    [{ email: 'a@example.com', email_verified: 1 }, null],
    [{ email: '', email_verified: true }, null],
    [{ email: ['a@example.com'], email_verified: true }, null],
  ])('%j → %s', (claims, expected) => {
    expect(verifiedEmail(claims)).toBe(expected);
  });
});

describe(hasRole.name, () => {
  const matrix: [Role, Role, boolean][] = [
    ['admin', 'viewer', true],
    ['admin', 'responder', true],
    ['admin', 'approver', true],
    ['admin', 'admin', true],
    ['responder', 'viewer', true],
    ['responder', 'responder', true],
    ['responder', 'approver', false],
    ['responder', 'admin', false],
    ['approver', 'viewer', true],
    ['approver', 'approver', true],
    ['approver', 'responder', false],
    ['approver', 'admin', false],
    ['viewer', 'viewer', true],
    ['viewer', 'responder', false],
    ['viewer', 'approver', false],
    ['viewer', 'admin', false],
  ];
  it.each(matrix)('a %s has the %s role: %s', (held, required, expected) => {
    expect(hasRole({ roles: [held] }, required)).toBe(expected);
  });

  it('gives nothing to a principal without roles', () => {
    expect(hasRole({ roles: [] }, 'viewer')).toBe(false);
  });

  it('combines roles', () => {
    expect(hasRole({ roles: ['viewer', 'approver'] }, 'approver')).toBe(true);
  });
});

describe(`${authenticate.name} and ${requireRole.name}`, () => {
  const app = () =>
    createHttpApp(
      {
        logger: createLogger({ service: 'auth-test', level: 'silent' }),
        registry: createMetricsRegistry('auth-test'),
        components: () => [],
      },
      (a) => {
        a.use('/v1', authenticate(verify));
        a.get('/v1/incidents', requireRole('viewer'), (req, res) => {
          res.json({ subject: req.principal?.subject });
        });
        a.post('/v1/incidents/:id/acknowledge', requireRole('responder'), (_req, res) => {
          res.status(204).end();
        });
        a.get('/open', requireRole('viewer'), (_req, res) => {
          res.json({});
        });
      },
    );

  it('lets a token with the needed role through, with the principal set', async () => {
    const token = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    const res = await request(app()).get('/v1/incidents').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ subject: 'viewer-1' });
  });

  it('answers 401 without an Authorization header', async () => {
    const res = await request(app()).get('/v1/incidents');
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'unauthenticated' });
  });

  it.each([
    ['Basic', async () => `Basic ${Buffer.from('user:password').toString('base64')}`],
    ['no scheme', async () => issuer.token({ sub: 'u', roles: ['admin'] })],
    ['Token', async () => `Token ${await issuer.token({ sub: 'u', roles: ['admin'] })}`],
    ['Bearer with nothing', async () => 'Bearer '],
  ])('answers 401 for the wrong scheme (%s)', async (_what, header) => {
    const res = await request(app())
      .get('/v1/incidents')
      .set('Authorization', await header());
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('answers 401 for an invalid token', async () => {
    const expired = await issuer.token({ sub: 'u', roles: ['admin'] }, { expiresIn: '-10 minutes' });
    const res = await request(app()).get('/v1/incidents').set('Authorization', `Bearer ${expired}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('answers 403 when the principal lacks the role', async () => {
    const viewer = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    const res = await request(app()).post('/v1/incidents/inc_1/acknowledge').set('Authorization', `Bearer ${viewer}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'forbidden', message: 'this action needs the responder role' });

    const none = await issuer.token({ sub: 'nobody', roles: [] });
    expect((await request(app()).get('/v1/incidents').set('Authorization', `Bearer ${none}`)).status).toBe(403);
  });

  it('answers 401 from requireRole on a route nothing authenticated', async () => {
    expect((await request(app()).get('/open')).status).toBe(401);
  });
});
