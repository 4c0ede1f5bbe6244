import { sign } from 'node:crypto';

/**
 * Access tokens for the APIs whose tokens expire within the hour (Microsoft Graph, the Google
 * Admin SDK): fetched from the provider's OAuth 2.0 token endpoint when first needed, reused
 * until a minute before they expire. A configured static token is used as it is.
 *
 * - Entra ID: the client-credentials grant (RFC 6749 §4.4) at
 *   `{authority}/{tenant}/oauth2/v2.0/token`, scope `https://graph.microsoft.com/.default`; the
 *   app registration needs the Application.Read.All application permission.
 * - Google: a service account with domain-wide delegation, the JWT-bearer grant (RFC 7523) at its
 *   key's `token_uri`, impersonating an admin (`subject`), scope
 *   `https://www.googleapis.com/auth/admin.directory.user.security`.
 *
 * Errors name the endpoint's owner and its OAuth error code, never the secret or the token.
 */
export interface AccessToken {
  get(): Promise<string>;
  /** The last token handed out ('' before the first), to remove from error text. */
  last(): string;
}

export function staticToken(token: string): AccessToken {
  return { get: async () => token, last: () => token };
}

export interface EntraClientCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Default `https://login.microsoftonline.com`. */
  authorityUrl?: string;
}

export function entraClientCredentials(c: EntraClientCredentials, timeoutMs = 30_000): AccessToken {
  const authority = (c.authorityUrl ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  return cachedToken('Microsoft Entra ID token endpoint', timeoutMs, () => ({
    url: `${authority}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`,
    form: {
      grant_type: 'client_credentials',
      client_id: c.clientId,
      client_secret: c.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    },
    secrets: [c.clientSecret],
  }));
}

/** The fields of a Google service-account key file (JSON) that are used. */
export interface GoogleServiceAccountKey {
  client_email: string;
  private_key: string;
  /** Default `https://oauth2.googleapis.com/token`. */
  token_uri?: string;
}

export const GOOGLE_DIRECTORY_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.security';

export function googleServiceAccount(
  key: GoogleServiceAccountKey,
  /** The Workspace admin the service account acts as. */
  subject: string,
  timeoutMs = 30_000,
): AccessToken {
  const tokenUri = key.token_uri ?? 'https://oauth2.googleapis.com/token';
  return cachedToken('Google OAuth token endpoint', timeoutMs, () => {
    const now = Math.floor(Date.now() / 1000);
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({
      iss: key.client_email,
      sub: subject,
      scope: GOOGLE_DIRECTORY_SCOPE,
      aud: tokenUri,
      iat: now,
      exp: now + 3600,
    })}`;
    const signature = sign('sha256', Buffer.from(unsigned), key.private_key).toString('base64url');
    return {
      url: tokenUri,
      form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: `${unsigned}.${signature}` },
      secrets: [],
    };
  });
}

function cachedToken(
  who: string,
  timeoutMs: number,
  request: () => { url: string; form: Record<string, string>; secrets: string[] },
): AccessToken {
  let token = '';
  let expiresAt = 0;
  return {
    last: () => token,
    async get() {
      if (token && Date.now() < expiresAt) return token;
      const { url, form, secrets } = request();
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams(form),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
        });
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new Error(timedOut ? `${who} did not answer within ${timeoutMs} ms` : `${who} could not be reached`);
      }
      const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
      if (!res.ok || typeof body?.access_token !== 'string') {
        const code = typeof body?.error === 'string' ? `: ${body.error}` : '';
        const description =
          typeof body?.error_description === 'string'
            ? ` (${body.error_description.split(/\r?\n/)[0]!.slice(0, 200)})`
            : '';
        let message = `${who} answered ${res.status}${code}${description}`;
        for (const secret of secrets) message = message.split(secret).join('[redacted]');
        throw new Error(message);
      }
      token = body.access_token;
      const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 3600;
      expiresAt = Date.now() + Math.max(0, lifetime - 60) * 1000;
      return token;
    },
  };
}
