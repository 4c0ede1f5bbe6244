import { entraClientCredentials, type GoogleServiceAccountKey, googleServiceAccount } from './access-token.js';
import type { EntraSource } from './entra.js';
import type { GitHubSource } from './github.js';
import type { GoogleSource } from './google.js';
import type { OktaSource } from './okta.js';

/** A configured identity provider; `name` keys its cursor (e.g. `okta`, or `github:acme` for several orgs). */
export type IdpSource = { name: string } & (
  | ({ provider: 'okta' } & OktaSource)
  | ({ provider: 'entra' } & EntraSource)
  | ({ provider: 'google' } & GoogleSource)
  | ({ provider: 'github' } & GitHubSource)
);

/**
 * The identity providers discovery lists, from the service's configuration (env.ts; secrets
 * through `*_FILE`). A provider is on when its URL / tenant / org is set; what it then lacks is
 * an error naming the variable.
 */
export interface IdpEnv {
  /** Okta org URL, e.g. https://acme.okta.com. */
  DISCOVERY_OKTA_URL?: string;
  /** Okta API token (SSWS) of a read-only admin. */
  DISCOVERY_OKTA_TOKEN?: string;
  /** Entra ID tenant (id or domain); with the app registration's client id and secret. */
  DISCOVERY_ENTRA_TENANT_ID?: string;
  DISCOVERY_ENTRA_CLIENT_ID?: string;
  DISCOVERY_ENTRA_CLIENT_SECRET?: string;
  /** Default https://graph.microsoft.com (a national cloud has its own). */
  DISCOVERY_ENTRA_GRAPH_URL?: string;
  /** Default https://login.microsoftonline.com. */
  DISCOVERY_ENTRA_AUTHORITY_URL?: string;
  /** The service-account key file's JSON (domain-wide delegation). */
  DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY?: string;
  /** The Workspace admin the service account acts as. */
  DISCOVERY_GOOGLE_ADMIN_SUBJECT?: string;
  /** Whose grants are read, comma-separated emails or ids. */
  DISCOVERY_GOOGLE_USER_KEYS?: string;
  /** Default https://admin.googleapis.com. */
  DISCOVERY_GOOGLE_URL?: string;
  /** GitHub organizations, comma-separated. */
  DISCOVERY_GITHUB_ORGS?: string;
  DISCOVERY_GITHUB_TOKEN?: string;
  /** Default https://api.github.com; GitHub Enterprise Server: https://<host>/api/v3. */
  DISCOVERY_GITHUB_API_URL?: string;
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function idpSourcesFromConfig(env: IdpEnv): IdpSource[] {
  const sources: IdpSource[] = [];
  const need = (name: keyof IdpEnv, why: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required with ${why}`);
    return value;
  };

  if (env.DISCOVERY_OKTA_URL) {
    sources.push({
      name: 'okta',
      provider: 'okta',
      url: env.DISCOVERY_OKTA_URL,
      token: need('DISCOVERY_OKTA_TOKEN', 'DISCOVERY_OKTA_URL'),
    });
  }
  if (env.DISCOVERY_ENTRA_TENANT_ID) {
    sources.push({
      name: 'entra',
      provider: 'entra',
      url: env.DISCOVERY_ENTRA_GRAPH_URL,
      token: entraClientCredentials({
        tenantId: env.DISCOVERY_ENTRA_TENANT_ID,
        clientId: need('DISCOVERY_ENTRA_CLIENT_ID', 'DISCOVERY_ENTRA_TENANT_ID'),
        clientSecret: need('DISCOVERY_ENTRA_CLIENT_SECRET', 'DISCOVERY_ENTRA_TENANT_ID'),
        authorityUrl: env.DISCOVERY_ENTRA_AUTHORITY_URL,
      }),
    });
  }
  if (env.DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY) {
    const why = 'DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY';
    const userKeys = list(need('DISCOVERY_GOOGLE_USER_KEYS', why));
    sources.push({
      name: 'google',
      provider: 'google',
      url: env.DISCOVERY_GOOGLE_URL,
      token: googleServiceAccount(
        serviceAccountKey(env.DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY),
        need('DISCOVERY_GOOGLE_ADMIN_SUBJECT', why),
      ),
      userKeys,
    });
  }
  const orgs = list(env.DISCOVERY_GITHUB_ORGS);
  if (orgs.length > 0) {
    const token = need('DISCOVERY_GITHUB_TOKEN', 'DISCOVERY_GITHUB_ORGS');
    for (const org of orgs) {
      sources.push({ name: `github:${org}`, provider: 'github', url: env.DISCOVERY_GITHUB_API_URL, token, org });
    }
  }
  return sources;
}

function serviceAccountKey(json: string): GoogleServiceAccountKey {
  let key: unknown;
  try {
    key = JSON.parse(json);
  } catch {
    throw new Error('DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY is not JSON (a service-account key file)');
  }
  const k = key as Partial<GoogleServiceAccountKey> | null;
  if (typeof k?.client_email !== 'string' || typeof k.private_key !== 'string') {
    throw new Error(
      'DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY lacks client_email or private_key (a service-account key file)',
    );
  }
  return {
    client_email: k.client_email,
    private_key: k.private_key,
    ...(typeof k.token_uri === 'string' ? { token_uri: k.token_uri } : {}),
  };
}
