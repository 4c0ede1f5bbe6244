import type { Principal } from './auth.js';

declare global {
  namespace Express {
    interface Request {
      /** Correlates logs, error bodies and audit rows; taken from X-Request-Id when sane. */
      id: string;
      principal?: Principal;
    }
  }
}
