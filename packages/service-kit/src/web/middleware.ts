import type { RequestHandler } from 'express';
import type { TokenVerifier } from '../auth.js';
import { AuthenticationError, NotAllowedError } from '../errors.js';
import { csrfMatches, type SessionCodec } from './session.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates API requests by bearer JWT (tools, other services) or by the browser's session
 * cookie. Cookie-authenticated requests that change state must carry the session's CSRF token
 * in `X-CSRF-Token`; bearer requests carry no ambient credential and need none.
 */
export function authenticateRequest(deps: { verifyToken: TokenVerifier; sessions: SessionCodec }): RequestHandler {
  return async (req, _res, next) => {
    const header = req.header('authorization');
    if (header !== undefined) {
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
      if (!match?.[1])
        throw new AuthenticationError('malformed Authorization header: send Authorization: Bearer <token>');
      req.principal = await deps.verifyToken(match[1]);
      next();
      return;
    }
    const session = await deps.sessions.read(req);
    if (!session) throw new AuthenticationError('sign in first (no valid session or bearer token)');
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session.csrf, req.header('x-csrf-token'))) {
      throw new NotAllowedError('missing or wrong X-CSRF-Token for a cookie-authenticated request');
    }
    req.principal = { subject: session.subject, name: session.name, email: session.email, roles: session.roles };
    next();
  };
}
