import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * App-scoped tokens: what a pipeline posts an app's evidence and activity with. Issued per app,
 * shown once, stored as their sha256 only; a presented token is hashed and compared in constant
 * time with the app's live token. The prefix makes a leaked token recognisable to secret
 * scanners and in logs (it is never logged).
 */

export const TOKEN_PREFIX = 'moapp_';
const TOKEN = /^moapp_[A-Za-z0-9_-]{43}$/;

export function issueToken(): { token: string; sha256: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, sha256: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `presented` is a well-formed token whose hash equals `storedSha256` (constant time). */
export function tokenMatches(presented: string, storedSha256: string): boolean {
  const expected = Buffer.from(storedSha256, 'hex');
  // Hash even a malformed token, so that the time taken does not tell a bad shape from a bad secret.
  const actual = Buffer.from(hashToken(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual) && TOKEN.test(presented);
}

/** The token in `Authorization: Bearer <token>`, if it has the app-token shape. */
export function bearerAppToken(header: string | undefined): string | null {
  const match = header ? /^Bearer (moapp_\S+)$/.exec(header) : null;
  return match?.[1] ?? null;
}
