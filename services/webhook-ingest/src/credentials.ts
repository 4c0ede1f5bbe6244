import { basicCredentials, secretsEqual } from '@micro-oncall/service-kit';

export interface SharedCredential {
  token?: string | undefined;
  /** `user:password` */
  basic?: string | undefined;
}

/**
 * Opsgenie and Alertmanager sign nothing: they send a configured `Authorization` header,
 * either `Bearer <token>` or HTTP basic auth. Answers which of the configured credentials the
 * header carries (it names the sender's rate-limit bucket), or undefined for none.
 */
export function matchAuthorizationHeader(
  header: string | undefined,
  credential: SharedCredential,
): 'token' | 'basic' | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  if (scheme === 'bearer' && credential.token) {
    return secretsEqual(header.slice(space + 1).trim(), credential.token) ? 'token' : undefined;
  }
  if (scheme === 'basic' && credential.basic) {
    const decoded = basicCredentials(header);
    return decoded !== null && secretsEqual(decoded, credential.basic) ? 'basic' : undefined;
  }
  return undefined;
}

export function verifyAuthorizationHeader(header: string | undefined, credential: SharedCredential): boolean {
  return matchAuthorizationHeader(header, credential) !== undefined;
}
