import type { RequestHandler } from 'express';
import { decodeJwt } from 'jose';
import type { TokenVerifier } from '../auth.js';
import { AuthenticationError, NotAllowedError } from '../errors.js';
import { csrfMatches, type SessionManager } from './session.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates API requests by bearer JWT (tools, other services) or by the browser's session
 * cookie. Cookie-authenticated requests that change state must carry the session's CSRF token
 * in `X-CSRF-Token`; bearer requests carry no ambient credential and need none. Sets
 * `req.principal`, and `req.credential` for whatever must end when the credential does (a live
 * stream).
 */
export function authenticateRequest(deps: { verifyToken: TokenVerifier; sessions: SessionManager }): RequestHandler {
  return async (req, res, next) => {
    const header = req.header('authorization');
    if (header !== undefined) {
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
      if (!match?.[1])
        throw new AuthenticationError('malformed Authorization header: send Authorization: Bearer <token>');
      req.principal = await deps.verifyToken(match[1]);
      // Verified above (signature, issuer, audience, and exp is required).
      const exp = decodeJwt(match[1]).exp;
      req.credential = { kind: 'bearer', expiresAt: typeof exp === 'number' ? new Date(exp * 1000) : null };
      next();
      return;
    }
    const session = await deps.sessions.read(req);
    if (!session) {
      if (deps.sessions.presented(req)) {
        // Signed out, expired, revoked or not ours: drop the cookie so the browser stops sending it.
        deps.sessions.clear(res);
        throw new AuthenticationError('your session has ended: sign in again');
      }
      throw new AuthenticationError('sign in first (no valid session or bearer token)');
    }
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session.csrf, req.header('x-csrf-token'))) {
      throw new NotAllowedError('missing or wrong X-CSRF-Token for a cookie-authenticated request');
    }
    req.principal = { subject: session.subject, name: session.name, email: session.email, roles: session.roles };
    req.credential = { kind: 'session', sessionId: session.id, expiresAt: session.expiresAt };
    next();
  };
}
