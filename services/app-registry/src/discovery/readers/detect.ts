import type { SourceFormat } from '../sighting.js';
import { detectCsv } from './csv.js';

/*
 * Which reader a file needs. An explicit `format` in the source config wins; otherwise the file
 * name decides when it is one the producer always uses, and else the start of the content:
 * - name: CloudTrail's `<account>_CloudTrail_<region>_<time>_<id>.json[.gz]` or a `/CloudTrail/`
 *   folder; GCP sink exports under `cloudaudit.googleapis.com/`; Azure exports under
 *   `insights-activity-logs/`;
 * - content (the first non-empty line, or more of the head for pretty-printed JSON): CloudTrail
 *   (`"Records"` wrapper or `eventVersion` + `eventSource`), GCP audit (`protoPayload`), Azure
 *   (`operationName` + `resourceId`), API Gateway (`requestId`), Envoy (`[ISO-time] "`), NGINX
 *   (`addr - user [time] "`), else a CSV header row: an invoice export (a vendor and an amount
 *   column) or a SaaS connector list (a connector column, or an app name with a domain or client
 *   id column); see saas-csv.ts for the column names.
 */

const CLOUDTRAIL_NAME =
  /(?:^|[/\\])(?:\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_\w+\.json(?:\.gz)?|.*[/\\]CloudTrail[/\\].*)$/;
const SKIPPED = /(?:^|[/\\])CloudTrail-(Digest|Insight)[/\\]/;

/** Why a file holds nothing to read (a CloudTrail digest or Insight file), or undefined. */
export function skippedFile(fileName: string): string | undefined {
  const m = SKIPPED.exec(fileName);
  return m ? `CloudTrail ${m[1] === 'Digest' ? 'digest' : 'Insights'} file: no management events` : undefined;
}

const ENVOY_LINE = /^\[\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})\] "/;
const NGINX_LINE = /^\S+ \S+ \S+ \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "/;

/** Whether a line starts JSON: an object, or an array (not Envoy's `[2026-…]` time stamp). */
export function startsJson(line: string): boolean {
  return line.startsWith('{') || /^\[\s*(?:[{[\]"]|$)/.test(line);
}

/**
 * The format of a file from its name and the start of its content (`firstLine`: the first
 * non-empty line, or more of the head), or undefined when neither tells.
 */
export function detectFormat(fileName: string, firstLine: string): SourceFormat | undefined {
  if (CLOUDTRAIL_NAME.test(fileName)) return 'cloudtrail';
  if (/cloudaudit\.googleapis\.com/.test(fileName)) return 'gcp-audit';
  if (/(?:^|[/\\])insights-activity-logs[/\\]/i.test(fileName)) return 'azure-activity';
  const head = firstLine.replace(/^\uFEFF/, '').trimStart();
  if (startsJson(head)) {
    if (/^\{\s*"Records"\s*:/.test(head) || (/"eventVersion"\s*:/.test(head) && /"eventSource"\s*:/.test(head)))
      return 'cloudtrail';
    if (/"protoPayload"\s*:/.test(head)) return 'gcp-audit';
    if (/"operationName"\s*:/.test(head) && /"resourceId"\s*:/i.test(head)) return 'azure-activity';
    if (/"(?:requestId|extendedRequestId)"\s*:/.test(head)) return 'apigateway';
    return undefined;
  }
  if (ENVOY_LINE.test(head)) return 'envoy';
  if (NGINX_LINE.test(head)) return 'nginx';
  return detectCsv(head);
}

/** Formats whose files are JSON (records per line, or one document); the others are text lines. */
export const JSON_FORMATS: ReadonlySet<SourceFormat> = new Set(['cloudtrail', 'gcp-audit', 'azure-activity']);

/** Formats whose files are CSV with a header row: read as files only, never as single raw lines. */
export const CSV_FORMATS: ReadonlySet<SourceFormat> = new Set(['invoices', 'saas-connectors']);
