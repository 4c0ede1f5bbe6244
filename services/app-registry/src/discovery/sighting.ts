/**
 * A "sighting" is one piece of evidence, read from a discovery source file (a cloud audit log, a
 * gateway access log, an invoice export, a SaaS connector list or an identity-provider
 * inventory), that some app exists or is used. The readers in ./readers turn files into
 * sightings; discovery matches them against known apps.
 */
/** The formats of discovery source files (`.source.json` `format`). */
export const SOURCE_FORMATS = [
  'cloudtrail',
  'gcp-audit',
  'azure-activity',
  'apigateway',
  'nginx',
  'envoy',
  'invoices',
  'saas-connectors',
] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];
/** `saas`: a SaaS product someone bought or connected (invoice exports, connector lists). */
export type SightingKind =
  | 'function'
  | 'container-app'
  | 'api-gateway'
  | 'bucket'
  | 'cdn'
  | 'endpoint'
  | 'idp-client'
  | 'saas';
export interface Sighting {
  format: SourceFormat | 'okta' | 'entra' | 'google' | 'github';
  kind: SightingKind;
  /** 'create' | 'deploy' (audit logs), 'traffic' (access logs), 'registration' (identity providers) */
  action: 'create' | 'deploy' | 'traffic' | 'registration';
  /** What a known app is matched by: at least one is set. hosts lower-cased, no port. */
  match: { host?: string; resourceId?: string; clientId?: string };
  /** Human label, e.g. the function name or the host. */
  label: string;
  at: Date;
  /** Who created/deployed it (audit logs: user ARN/email/caller; invoices: the requester; connector lists: the owner), when known. */
  actor?: string;
  /** Who calls it (access logs: source IP or user), when known. */
  caller?: string;
  path?: string;
  status?: number;
  /** True when the create made the resource reachable without authentication (a Lambda function URL with authType NONE). */
  public?: boolean;
  /** Dedup key of the source record when the format has one (CloudTrail eventID, GCP insertId, Azure eventDataId, API Gateway requestId, invoice number, connection id). */
  recordId?: string;
  /** Where it came from: file (relative name), 1-based line (or record index for JSON documents), and the raw text (truncated to 2,000 chars). */
  evidence: { file: string; line: number; text: string };
}
export interface ReadError {
  file: string;
  line: number;
  message: string;
}
export interface ReadProgress {
  linesRead: number;
  bytesRead: number;
}
