import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Principal } from '../auth.js';
import { AuthenticationError, DependencyUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SessionStore, StoredSession } from './session-store.js';

/**
 * Cookie names. With Secure cookies (https) they carry the `__Host-` prefix, which browsers
 * accept only with Secure, Path=/ and no Domain: no sibling subdomain and no http page can set
 * or overwrite them. Browsers refuse `__Host-` cookies over plain http, so a development server
 * on http://127.0.0.1 uses the bare names.
 */
export function sessionCookieNames(secure: boolean): { session: string; login: string } {
  const prefix = secure ? '__Host-' : '';
  return { session: `${prefix}mo_session`, login: `${prefix}mo_login` };
}

/** A signed-in browser: who, with which roles, its CSRF token, and the store key streams follow. */
export type Session = Principal & {
  /** The store key (a hash of the cookie), never the cookie value itself. */
  id: string;
  csrf: string;
  expiresAt: Date;
};

/**
 * Why a session (or what hangs off it, like a live stream) ends: signed out, one of its
 * deadlines passed, the issuer refused to refresh it, its roles could not be re-checked
 * (sign in again), or its roles changed (the session goes on; streams opened with the old roles end).
 */
export type SessionEvent = {
  id: string;
  reason: 'signed_out' | 'expired' | 'revoked' | 'reauthenticate' | 'roles_changed';
};

/** Thrown by a RoleRefresher when the issuer refuses (invalid_grant): the session ends. */
export class RefreshRefusedError extends Error {}

/** A bearer access token the issuer gave for the user, and when it expires. */
export interface IssuedToken {
  value: string;
  expiresAt: Date;
}

/**
 * Reads the user's current principal from the issuer with a refresh token (see oidc.ts), with
 * the new refresh token when the issuer rotates them and the access token it gave.
 */
export type RoleRefresher = (
  refreshToken: string,
  subject: string,
) => Promise<{ principal: Principal; refreshToken?: string | undefined; accessToken?: IssuedToken | undefined }>;

export interface SessionManagerOptions {
  store: SessionStore;
  /** Seals the login cookie and the refresh tokens at rest; 32+ characters. */
  secret: string;
  /** Absolute lifetime of a session. */
  ttlSeconds: number;
  /** A session nobody used for this long ends. */
  idleSeconds: number;
  /**
   * Roles are trusted this long, then re-read from the issuer with the refresh token; without
   * one (or when the issuer refuses it) the user signs in again.
   */
  rolesTtlSeconds: number;
  secureCookies: boolean;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/** An unreachable issuer is asked again after this long, meanwhile the roles stand. */
const ROLE_CHECK_RETRY_MS = 30_000;
/** An access token is handed out only with at least this long left; otherwise a fresh one is fetched. */
const ACCESS_TOKEN_MARGIN_MS = 60_000;
/**
 * How long one refresh at the issuer may take. A session whose refresh started less than this
 * long ago (by another request or replica) waits for the token that refresh stores instead of
 * spending the refresh token again: issuers that rotate refresh tokens revoke the whole session
 * when one is used twice.
 */
const REFRESH_LEASE_MS = 15_000;
const LEASE_POLL_MS = 200;

/** What asking the issuer about a session came to. */
type IssuerCheck =
  /** Asked just now: roles, refresh token and access token are fresh. */
  | { outcome: 'fresh'; session: StoredSession }
  /** Another request or replica is asking right now. */
  | { outcome: 'busy' }
  /** The issuer cannot be reached: the session stands as it was, asked again in 30 s. */
  | { outcome: 'unreachable'; session: StoredSession }
  /** The session ended (the issuer refused, or there is nothing to refresh with). */
  | { outcome: 'ended' };

/** One cookie's value; undefined when absent or not valid percent-encoding. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');
const deriveKey = (purpose: string, secret: string) =>
  createHash('sha256').update(`micro-oncall ${purpose}\n${secret}`).digest();

/**
 * Browser sessions with a server-side record (see session-store.ts): the cookie holds only a
 * random id, so signing out, a refused refresh or an expiry ends the session everywhere at once,
 * and a copied cookie dies with it. Each session has an absolute lifetime and an idle timeout;
 * its roles are re-read from the issuer every `rolesTtlSeconds`. In-flight sign-ins (PKCE
 * verifier, state, nonce) live in a separate, short-lived encrypted cookie. Cookies are HttpOnly,
 * SameSite=Lax and, over https, Secure with the `__Host-` prefix.
 */
export function createSessionManager(opts: SessionManagerOptions) {
  const now = opts.now ?? Date.now;
  const names = sessionCookieNames(opts.secureCookies);
  const loginKey = deriveKey('login v2', opts.secret);
  const refreshKey = deriveKey('refresh token v1', opts.secret);
  const accessKey = deriveKey('access token v1', opts.secret);
  const listeners = new Set<(event: SessionEvent) => void>();
  const checking = new Map<string, Promise<IssuerCheck>>();
  let refresher: RoleRefresher | undefined;
  const touchEveryMs = Math.min(60_000, (opts.idleSeconds * 1000) / 10);

  const emit = (event: SessionEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        opts.logger?.warn({ err: error }, 'session listener failed');
      }
    }
  };

  const cookieOptions = (maxAgeMs?: number) => ({
    httpOnly: true,
    secure: opts.secureCookies,
    sameSite: 'lax' as const,
    path: '/',
    ...(maxAgeMs !== undefined ? { maxAge: maxAgeMs } : {}),
  });

  /** AES-256-GCM with a key derived for one purpose: a token sealed for one use cannot open as another. */
  const seal = (key: Buffer, token: string) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  };
  const open = (key: Buffer, sealed: string): string | null => {
    try {
      const raw = Buffer.from(sealed, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null; // sealed with another SESSION_SECRET: the user signs in again at the next role check
    }
  };
  const sealRefreshToken = (token: string) => seal(refreshKey, token);
  const openRefreshToken = (sealed: string) => open(refreshKey, sealed);
  const sealedAccessToken = (token: IssuedToken | undefined) =>
    token ? { accessToken: seal(accessKey, token.value), accessTokenExpiresAt: token.expiresAt } : {};

  const toSession = (s: StoredSession): Session => ({
    id: s.idHash,
    subject: s.subject,
    name: s.name,
    email: s.email,
    roles: s.roles,
    csrf: s.csrf,
    expiresAt: s.expiresAt,
  });

  const end = async (idHash: string, reason: SessionEvent['reason']) => {
    await opts.store.delete(idHash);
    emit({ id: idHash, reason });
  };

  /**
   * Asks the issuer about the session with its refresh token: its roles, name and email now, a
   * new refresh token when the issuer rotates them, a fresh access token. One request per session
   * does so at a time across replicas: the check is claimed with a compare-and-set on
   * `rolesCheckedAt`.
   */
  const askIssuer = async (s: StoredSession, at: number): Promise<IssuerCheck> => {
    const sealed = s.refreshToken;
    const refreshToken = sealed ? openRefreshToken(sealed) : null;
    if (!refreshToken || !refresher) {
      await end(s.idHash, 'reauthenticate');
      return { outcome: 'ended' };
    }
    if (!(await opts.store.claimRoleCheck(s.idHash, s.rolesCheckedAt, new Date(at)))) return { outcome: 'busy' };
    try {
      const fresh = await refresher(refreshToken, s.subject);
      if (fresh.principal.subject !== s.subject)
        throw new RefreshRefusedError('the issuer answered for another subject');
      const changes = {
        name: fresh.principal.name,
        email: fresh.principal.email,
        roles: fresh.principal.roles,
        rolesCheckedAt: new Date(at),
        refreshToken: fresh.refreshToken ? sealRefreshToken(fresh.refreshToken) : sealed,
        ...sealedAccessToken(fresh.accessToken),
      };
      await opts.store.update(s.idHash, changes);
      const rolesChanged = [...s.roles].sort().join() !== [...changes.roles].sort().join();
      if (rolesChanged) {
        opts.logger?.info(
          { subject: s.subject, from: s.roles, to: changes.roles },
          'session roles changed at the issuer',
        );
        emit({ id: s.idHash, reason: 'roles_changed' });
      }
      return { outcome: 'fresh', session: { ...s, ...changes } };
    } catch (error) {
      if (error instanceof RefreshRefusedError) {
        opts.logger?.info({ subject: s.subject, reason: error.message }, 'the issuer ended a session');
        await end(s.idHash, 'revoked');
        return { outcome: 'ended' };
      }
      // The issuer is unreachable: keep the roles we have and ask again shortly.
      opts.logger?.warn({ err: error, subject: s.subject }, 'cannot re-check session roles at the issuer; retrying');
      const retryAt = new Date(at - opts.rolesTtlSeconds * 1000 + ROLE_CHECK_RETRY_MS);
      await opts.store.update(s.idHash, { rolesCheckedAt: retryAt });
      return { outcome: 'unreachable', session: { ...s, rolesCheckedAt: retryAt } };
    }
  };

  /** Asks the issuer once per session in this process: concurrent callers share the answer. */
  const askIssuerOnce = (s: StoredSession, at: number): Promise<IssuerCheck> => {
    let pending = checking.get(s.idHash);
    if (!pending) {
      pending = askIssuer(s, at).finally(() => checking.delete(s.idHash));
      checking.set(s.idHash, pending);
    }
    return pending;
  };

  /** Re-reads the roles from the issuer; null when the session ended instead. */
  const checkRoles = async (s: StoredSession, at: number): Promise<StoredSession | null> => {
    const check = await askIssuerOnce(s, at);
    switch (check.outcome) {
      case 'fresh':
      case 'unreachable':
        return check.session;
      case 'busy':
        // Another request or replica is asking the issuer right now: go on with what is stored.
        return opts.store.find(s.idHash);
      case 'ended':
        return null;
    }
  };

  /** The live session behind a store key, after deadlines and the role check; null when it ended. */
  const resolve = async (idHash: string, touch: boolean): Promise<Session | null> => {
    let s = await opts.store.find(idHash);
    if (!s) return null;
    const at = now();
    if (s.expiresAt.getTime() <= at || s.idleExpiresAt.getTime() <= at) {
      await end(idHash, 'expired');
      return null;
    }
    if (at - s.rolesCheckedAt.getTime() >= opts.rolesTtlSeconds * 1000) {
      s = await checkRoles(s, at);
      if (!s) return null;
    }
    if (touch && at - (s.idleExpiresAt.getTime() - opts.idleSeconds * 1000) >= touchEveryMs) {
      const idleExpiresAt = new Date(Math.min(at + opts.idleSeconds * 1000, s.expiresAt.getTime()));
      await opts.store.touch(idHash, idleExpiresAt);
      s = { ...s, idleExpiresAt };
    }
    return toSession(s);
  };

  const sealLogin = (claims: Record<string, unknown>, ttlSeconds: number) =>
    new EncryptJWT({ ...claims, purpose: 'login' })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(loginKey);

  return {
    cookieNames: names,

    /**
     * Starts a session for `principal` and sets its cookie. The issuer's refresh and access
     * tokens (from the sign-in's code exchange) are kept sealed in the store, never in the cookie.
     */
    async issue(
      res: Response,
      principal: Principal,
      extra: { refreshToken?: string | undefined; accessToken?: IssuedToken | undefined } = {},
    ) {
      const at = now();
      const id = randomBytes(32).toString('base64url');
      const record: StoredSession = {
        idHash: hashId(id),
        subject: principal.subject,
        name: principal.name,
        email: principal.email,
        roles: principal.roles,
        csrf: randomBytes(24).toString('base64url'),
        createdAt: new Date(at),
        expiresAt: new Date(at + opts.ttlSeconds * 1000),
        idleExpiresAt: new Date(at + Math.min(opts.idleSeconds, opts.ttlSeconds) * 1000),
        rolesCheckedAt: new Date(at),
        refreshToken: extra.refreshToken ? sealRefreshToken(extra.refreshToken) : null,
        ...sealedAccessToken(extra.accessToken),
      };
      await opts.store.create(record);
      res.cookie(names.session, id, cookieOptions(opts.ttlSeconds * 1000));
      // Sign-ins are rare next to requests: a good moment to drop what expired.
      opts.store
        .deleteExpired(new Date(at))
        .catch((error: unknown) => opts.logger?.warn({ err: error }, 'pruning expired sessions failed'));
      return toSession(record);
    },

    /**
     * The request's session, or null (no cookie, a malformed or unknown one, or one that ended).
     * Counts as activity for the idle timeout.
     */
    async read(req: Request): Promise<Session | null> {
      const id = readCookie(req, names.session);
      if (!id || !SESSION_ID.test(id)) return null;
      return resolve(hashId(id), true);
    },

    /** Whether the request carries a session cookie at all (valid or not). */
    presented(req: Request): boolean {
      return (req.headers.cookie ?? '').split(';').some((part) => part.trim().startsWith(`${names.session}=`));
    },

    /** The session behind a store key as it is now (for long-lived streams; not activity). */
    current(id: string): Promise<Session | null> {
      return resolve(id, false);
    },

    /**
     * A bearer access token for the session's user, for the product's other services (GET
     * /auth/token): the one the issuer last gave while it has more than a minute left, else a
     * fresh one from the issuer with the session's refresh token (which also re-reads the roles).
     * Tokens are kept sealed in the store, so every replica hands out the same one and the
     * refresh token is spent once per token, not once per replica.
     *
     * @throws AuthenticationError when the session ended or has nothing to get a token with (sign in again)
     * @throws DependencyUnavailableError when the issuer cannot be reached
     */
    async accessToken(session: Session): Promise<IssuedToken> {
      const waitUntil = now() + REFRESH_LEASE_MS + LEASE_POLL_MS;
      for (;;) {
        const s = await opts.store.find(session.id);
        if (!s) throw new AuthenticationError('your session has ended: sign in again');
        const at = now();
        const expiresAt = s.accessTokenExpiresAt;
        if (s.accessToken && expiresAt && expiresAt.getTime() - at > ACCESS_TOKEN_MARGIN_MS) {
          const value = open(accessKey, s.accessToken);
          if (value) return { value, expiresAt };
        }
        if (!s.refreshToken || !refresher) {
          throw new AuthenticationError('sign in again: the identity provider gave this session no refresh token');
        }
        const inProcess = checking.get(s.idHash);
        // A refresh started moments ago (here or on another replica) is about to store a token.
        if (inProcess || at - s.rolesCheckedAt.getTime() < REFRESH_LEASE_MS) {
          if (now() > waitUntil) {
            throw new DependencyUnavailableError(
              'the identity provider has not answered a token refresh; try again',
              5,
            );
          }
          if (inProcess) await inProcess;
          else await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
          continue;
        }
        const check = await askIssuerOnce(s, at);
        if (check.outcome === 'ended') throw new AuthenticationError('your session has ended: sign in again');
        if (check.outcome === 'unreachable') {
          throw new DependencyUnavailableError('the identity provider cannot be reached for a token; try again', 30);
        }
        if (check.outcome === 'fresh') {
          const { accessToken, accessTokenExpiresAt } = check.session;
          const value = accessToken ? open(accessKey, accessToken) : null;
          if (!value || !accessTokenExpiresAt) {
            throw new DependencyUnavailableError(
              'the identity provider refreshed the session but gave no access token',
            );
          }
          return { value, expiresAt: accessTokenExpiresAt };
        }
        // busy: another request or replica just claimed the refresh; its token lands in the store.
      }
    },

    /** Ends the session everywhere (sign-out). */
    async revoke(id: string): Promise<void> {
      await end(id, 'signed_out');
    },

    clear(res: Response) {
      res.clearCookie(names.session, cookieOptions());
    },

    /** Hears every session that ended, or whose roles changed, in this process. */
    subscribe(listener: (event: SessionEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** How roles are re-read (set by the sign-in router, which knows the issuer). */
    setRoleRefresher(fn: RoleRefresher) {
      refresher = fn;
    },

    /** The short-lived state of one sign-in (PKCE verifier, state, nonce, where to return). */
    async issueLogin(res: Response, login: Record<string, string>) {
      res.cookie(names.login, await sealLogin(login, 600), cookieOptions(600_000));
    },
    async readLogin(req: Request): Promise<Record<string, unknown> | null> {
      const token = readCookie(req, names.login);
      if (!token) return null;
      try {
        const { payload } = await jwtDecrypt(token, loginKey, {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        });
        return payload.purpose === 'login' ? payload : null;
      } catch {
        return null;
      }
    },
    clearLogin(res: Response) {
      res.clearCookie(names.login, cookieOptions());
    },
  };
}

export type SessionManager = ReturnType<typeof createSessionManager>;

export function csrfMatches(expected: string, provided: string | undefined): boolean {
  if (!provided) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(provided).digest();
  return timingSafeEqual(a, b);
}
