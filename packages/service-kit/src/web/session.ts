import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { z } from 'zod';
import { type Principal, Role } from '../auth.js';

export const SESSION_COOKIE = 'mo_session';
export const LOGIN_COOKIE = 'mo_login';

const SessionClaims = z.object({
  sub: z.string().min(1),
  name: z.string().nullable(),
  email: z.string().nullable(),
  roles: z.array(Role),
  csrf: z.string().min(20),
});
export type Session = Principal & { csrf: string };

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Sessions and in-flight logins live in encrypted, authenticated cookies (JWE, A256GCM with a
 * key derived from SESSION_SECRET): no server-side session store, nothing readable or forgeable
 * by the browser. Cookies are HttpOnly, SameSite=Lax, and Secure outside development.
 */
export function createSessionCodec(opts: { secret: string; ttlSeconds: number; secureCookies: boolean }) {
  const key = createHash('sha256').update(`micro-oncall session v1\n${opts.secret}`).digest();

  const seal = (claims: Record<string, unknown>, ttlSeconds: number) =>
    new EncryptJWT(claims)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(key);

  const open = async (token: string | undefined): Promise<Record<string, unknown> | null> => {
    if (!token) return null;
    try {
      const { payload } = await jwtDecrypt(token, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      return payload;
    } catch {
      return null;
    }
  };

  const setCookie = (res: Response, name: string, value: string, maxAgeSeconds: number, path = '/') => {
    res.cookie(name, value, {
      httpOnly: true,
      secure: opts.secureCookies,
      sameSite: 'lax',
      path,
      maxAge: maxAgeSeconds * 1000,
    });
  };

  return {
    async issue(res: Response, principal: Principal): Promise<Session> {
      const session: Session = { ...principal, csrf: randomBytes(24).toString('base64url') };
      const token = await seal(
        { sub: session.subject, name: session.name, email: session.email, roles: session.roles, csrf: session.csrf },
        opts.ttlSeconds,
      );
      setCookie(res, SESSION_COOKIE, token, opts.ttlSeconds);
      return session;
    },
    async read(req: Request): Promise<Session | null> {
      const parsed = SessionClaims.safeParse(await open(readCookie(req, SESSION_COOKIE)));
      if (!parsed.success) return null;
      const c = parsed.data;
      return { subject: c.sub, name: c.name, email: c.email, roles: c.roles, csrf: c.csrf };
    },
    clear(res: Response) {
      res.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: opts.secureCookies, sameSite: 'lax', path: '/' });
    },
    /** The short-lived state of one sign-in (PKCE verifier, state, nonce, where to return). */
    async issueLogin(res: Response, login: Record<string, string>) {
      setCookie(res, LOGIN_COOKIE, await seal(login, 600), 600, '/auth');
    },
    async readLogin(req: Request): Promise<Record<string, unknown> | null> {
      return open(readCookie(req, LOGIN_COOKIE));
    },
    clearLogin(res: Response) {
      res.clearCookie(LOGIN_COOKIE, { httpOnly: true, secure: opts.secureCookies, sameSite: 'lax', path: '/auth' });
    },
  };
}

export type SessionCodec = ReturnType<typeof createSessionCodec>;

export function csrfMatches(expected: string, provided: string | undefined): boolean {
  if (!provided) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(provided).digest();
  return timingSafeEqual(a, b);
}
