import type { Principal } from './auth.js';

declare global {
  namespace Express {
    interface Request {
      /** Correlates logs, error bodies and audit rows; taken from X-Request-Id when sane. */
      id: string;
      principal?: Principal;
      /**
       * What authenticated the principal (set by authenticateRequest): a browser session, which
       * can be signed out or have its roles changed, or a bearer token, which expires.
       */
      credential?: { kind: 'session'; sessionId: string; expiresAt: Date } | { kind: 'bearer'; expiresAt: Date | null };
    }
  }
}
