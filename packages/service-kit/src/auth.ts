import type { RequestHandler } from 'express';
import { createRemoteJWKSet, decodeJwt, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import { AuthenticationError, DependencyUnavailableError, NotAllowedError } from './errors.js';

export const Role = z.enum(['viewer', 'responder', 'approver', 'admin']);
export type Role = z.infer<typeof Role>;

export interface Principal {
  subject: string;
  name: string | null;
  /** Only an email the issuer marked verified (see verifiedEmail); null otherwise. */
  email: string | null;
  roles: Role[];
  /**
   * How and when the person signed in, from the token's `amr`, `acr` and `auth_time` claims
   * (OIDC Core, RFC 8176); present only when the token carries at least one of them. For
   * step-up checks such as "an approval needs a recent multi-factor sign-in".
   */
  signIn?: SignInEvidence;
}

export interface SignInEvidence {
  /** `amr`: the authentication methods used (`pwd`, `otp`, `hwk`, `mfa`, …); empty when absent. */
  methods: string[];
  /** `acr`: the authentication context class the issuer says was met; null when absent. */
  level: string | null;
  /** `auth_time`: when the person last actively signed in (Unix seconds); null when absent. */
  at: number | null;
}

/**
 * Roles are not a strict ladder: `responder` and `approver` both include `viewer`, and
 * `admin` includes every role.
 */
export function hasRole(principal: Pick<Principal, 'roles'>, required: Role): boolean {
  return principal.roles.some(
    (r) => r === required || r === 'admin' || (required === 'viewer' && (r === 'responder' || r === 'approver')),
  );
}

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Defaults to the `jwks_uri` of the issuer's discovery document. */
  jwksUrl?: string;
  algorithms?: string[];
  /** Claim holding role names (array or space-separated string); dots walk nested claims. */
  rolesClaim?: string;
  /** Maps the issuer's group names onto roles, e.g. { 'sre-oncall': 'responder' }. */
  roleMap?: Record<string, Role>;
  clockToleranceSeconds?: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

export async function discoverJwksUrl(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) }).catch((cause: unknown) => {
    throw new DependencyUnavailableError(`OIDC discovery at ${url} failed`, 5, { cause });
  });
  if (!res.ok) throw new DependencyUnavailableError(`OIDC discovery at ${url} answered ${res.status}`);
  const doc = z.object({ issuer: z.string(), jwks_uri: z.string().url() }).parse(await res.json());
  if (doc.issuer !== issuer) throw new DependencyUnavailableError(`OIDC discovery issuer mismatch: ${doc.issuer}`);
  return doc.jwks_uri;
}

function claimAt(payload: JWTPayload, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), payload);
}

/**
 * The roles named by the roles claim. Without a role map, names are taken literally (`admin` is
 * admin). With a role map, only the names it lists grant roles: whoever can create or join a
 * group called `admin` at the issuer must not become admin here. List `admin=admin` to keep a
 * literal name.
 */
export function rolesFromClaims(payload: JWTPayload, opts: Pick<JwtVerifierOptions, 'rolesClaim' | 'roleMap'>): Role[] {
  const raw = claimAt(payload, opts.rolesClaim ?? 'roles');
  const names = Array.isArray(raw)
    ? raw.filter((v): v is string => typeof v === 'string')
    : typeof raw === 'string'
      ? raw.split(' ')
      : [];
  const map = opts.roleMap && Object.keys(opts.roleMap).length > 0 ? opts.roleMap : undefined;
  const roles = new Set<Role>();
  for (const name of names) {
    // Own keys only: a group named `constructor` or `toString` must not pick up Object.prototype.
    const candidate = map ? (Object.hasOwn(map, name) ? map[name] : undefined) : name;
    const mapped = Role.safeParse(candidate);
    if (mapped.success) roles.add(mapped.data);
  }
  return [...roles];
}

/**
 * The `email` claim, only when the issuer vouches for it with `email_verified` (some issuers
 * send the string "true"). Many issuers let anyone put any address on an account; the email
 * names the actor at the providers (PagerDuty acts as the user whose login is `From`) and in
 * the audit log, so an unverified one counts as none.
 */
export function verifiedEmail(claims: JWTPayload): string | null {
  const verified = claims.email_verified === true || claims.email_verified === 'true';
  return verified && typeof claims.email === 'string' && claims.email.length > 0 ? claims.email : null;
}

/**
 * The sign-in evidence of a token (`amr`, `acr`, `auth_time`), or undefined when it carries none.
 * Values of the wrong type count as absent; some issuers send `amr` as one string.
 */
export function signInEvidence(claims: JWTPayload): SignInEvidence | undefined {
  const { amr, acr, auth_time: authTime } = claims as { amr?: unknown; acr?: unknown; auth_time?: unknown };
  if (amr === undefined && acr === undefined && authTime === undefined) return undefined;
  const methods = (Array.isArray(amr) ? amr : typeof amr === 'string' ? [amr] : []).filter(
    (m): m is string => typeof m === 'string' && m.length > 0 && m.length <= 64,
  );
  return {
    methods: [...new Set(methods)].slice(0, 32),
    level: typeof acr === 'string' && acr.length > 0 && acr.length <= 256 ? acr : null,
    at: typeof authTime === 'number' && Number.isFinite(authTime) && authTime > 0 ? Math.floor(authTime) : null,
  };
}

/** The principal a verified token or ID token describes (`sub` must be present). */
export function principalFromClaims(
  claims: JWTPayload & { sub: string },
  opts: Pick<JwtVerifierOptions, 'rolesClaim' | 'roleMap'>,
): Principal {
  const signIn = signInEvidence(claims);
  return {
    subject: String(claims.sub),
    name: typeof claims.name === 'string' ? claims.name : null,
    email: verifiedEmail(claims),
    roles: rolesFromClaims(claims, opts),
    ...(signIn ? { signIn } : {}),
  };
}

/** Verifies bearer JWTs against the issuer's JWKS: issuer, audience, expiry and algorithm. */
export function createJwtVerifier(opts: JwtVerifierOptions): TokenVerifier {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const algorithms = opts.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA'];
  if (algorithms.some((a) => a.toLowerCase() === 'none' || a.startsWith('HS'))) {
    throw new Error('JWT algorithms must be asymmetric; none and HS* are refused');
  }
  return async (token) => {
    jwks ??= createRemoteJWKSet(new URL(opts.jwksUrl ?? (await discoverJwksUrl(opts.issuer))), {
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5000,
    });
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms,
        clockTolerance: opts.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp'],
      });
      // requiredClaims guarantees `sub`.
      return principalFromClaims(payload as JWTPayload & { sub: string }, opts);
    } catch (error) {
      // The key set could not be fetched (timeout, network, a non-200 answer or a body that is
      // not a key set): the identity provider is unavailable, the token is not known to be bad.
      // jose raises the base JOSEError (code ERR_JOSE_GENERIC) only for a failed JWKS fetch.
      if (
        !(error instanceof joseErrors.JOSEError) ||
        error instanceof joseErrors.JWKSTimeout ||
        error instanceof joseErrors.JWKSInvalid ||
        error.code === joseErrors.JOSEError.code
      ) {
        throw new DependencyUnavailableError('the identity provider keys could not be fetched', 5, { cause: error });
      }
      // The reason is useful to the caller (expired, wrong audience) and reveals no secret.
      const reason = error.code;
      throw new AuthenticationError(`invalid bearer token (${reason})`);
    }
  };
}

/** Sets req.principal (and req.credential) from `Authorization: Bearer <jwt>`; 401 when absent or invalid. */
export function authenticate(verify: TokenVerifier): RequestHandler {
  return async (req, _res, next) => {
    const header = req.header('authorization');
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
    if (!match?.[1]) {
      next(new AuthenticationError('missing bearer token: send Authorization: Bearer <token>'));
      return;
    }
    req.principal = await verify(match[1]);
    // Verified above (exp is required): what ends with the token (a live stream) follows it.
    const exp = decodeJwt(match[1]).exp;
    req.credential = { kind: 'bearer', expiresAt: typeof exp === 'number' ? new Date(exp * 1000) : null };
    next();
  };
}

/** 403 unless the authenticated principal holds `role` (see hasRole). */
export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    if (!req.principal) {
      next(new AuthenticationError('authentication required'));
      return;
    }
    if (!hasRole(req.principal, role)) {
      next(new NotAllowedError(`this action needs the ${role} role`));
      return;
    }
    next();
  };
}
