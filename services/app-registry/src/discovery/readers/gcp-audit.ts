import type { Sighting, SightingKind } from '../sighting.js';
import { dateOf, evidence, hostOf, lastSegment, obj, type RecordOrigin, str } from './common.js';

/*
 * GCP Cloud Audit Logs → sightings.
 *
 * Accepted shapes: `LogEntry` objects with an `AuditLog` `protoPayload`, one per line (a log sink
 * export to Cloud Storage, `gcloud logging read --format=json` piped through `jq -c`, a Kafka
 * topic) or as one JSON array (`gcloud logging read --format=json`; records numbered 1, 2, …).
 *
 * Create and deploy methods (`protoPayload.methodName`):
 * | method                                                          | kind          | action |
 * | google.cloud.run.v1.Services.CreateService, …v2.Services.CreateService | container-app | create |
 * | google.cloud.run.v1.Services.ReplaceService, …v2.Services.UpdateService (v2's replace) | container-app | deploy |
 * | google.cloud.functions.v1.CloudFunctionsService.CreateFunction, …v2.FunctionService.CreateFunction | function | create |
 * | …CloudFunctionsService.UpdateFunction, …FunctionService.UpdateFunction | function | deploy |
 * An entry whose `protoPayload.status.code` is set and not 0 is a failure, not a sighting. A
 * long-running operation logs a first and a last entry: both are sightings of the same resource.
 *
 * resourceId: `protoPayload.resourceName` (`namespaces/<project>/services/<name>` for Cloud Run v1,
 * `projects/<p>/locations/<l>/services/<name>` for v2 and Functions). host: the service URL from the
 * response when logged. actor: `authenticationInfo.principalEmail`. recordId: `insertId`.
 */

const METHODS: { pattern: RegExp; kind: SightingKind; action: 'create' | 'deploy' }[] = [
  { pattern: /^google\.cloud\.run\.v[12]\.Services\.CreateService$/, kind: 'container-app', action: 'create' },
  {
    pattern: /^google\.cloud\.run\.v[12]\.Services\.(?:ReplaceService|UpdateService)$/,
    kind: 'container-app',
    action: 'deploy',
  },
  {
    pattern: /^google\.cloud\.functions\.v\d\w*\.(?:CloudFunctionsService|FunctionService)\.CreateFunction$/,
    kind: 'function',
    action: 'create',
  },
  {
    pattern: /^google\.cloud\.functions\.v\d\w*\.(?:CloudFunctionsService|FunctionService)\.UpdateFunction$/,
    kind: 'function',
    action: 'deploy',
  },
];

/** The URL Cloud Run answers on, from a v1 (`status.url`) or v2 (`uri`) response. */
function serviceHost(response: Record<string, unknown> | undefined): string | undefined {
  if (!response) return undefined;
  const url =
    str(obj(response.status)?.url) ?? str(response.uri) ?? str(obj(response.serviceConfig)?.uri) ?? str(response.url);
  return hostOf(url);
}

/** One Cloud Audit Log entry as a sighting, or undefined when it is not a successful create/deploy. */
export function gcpAuditSighting(record: unknown, origin: RecordOrigin): Sighting | undefined {
  const entry = obj(record);
  const payload = obj(entry?.protoPayload);
  if (!entry || !payload) return undefined;
  const method = str(payload.methodName);
  const rule = method ? METHODS.find((candidate) => candidate.pattern.test(method)) : undefined;
  if (!rule) return undefined;
  const code = obj(payload.status)?.code;
  if (code !== undefined && code !== null && code !== 0) return undefined;
  const resourceId = str(payload.resourceName);
  const at = dateOf(entry.timestamp) ?? dateOf(entry.receiveTimestamp);
  if (!resourceId || !at) return undefined;
  const host = serviceHost(obj(payload.response));
  const actor = str(obj(payload.authenticationInfo)?.principalEmail);
  const recordId = str(entry.insertId);
  return {
    format: 'gcp-audit',
    kind: rule.kind,
    action: rule.action,
    match: { resourceId, ...(host ? { host } : {}) },
    label: lastSegment(resourceId),
    at,
    ...(actor ? { actor } : {}),
    ...(recordId ? { recordId } : {}),
    evidence: evidence(origin),
  };
}
