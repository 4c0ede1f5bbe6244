import type { Sighting, SightingKind } from '../sighting.js';
import { dateOf, evidence, lastSegment, obj, type RecordOrigin, str } from './common.js';

/*
 * Azure Activity Log → sightings.
 *
 * Accepted shapes:
 * - REST events (`az monitor activity-log list`, the Monitor REST API): `operationName{value}`,
 *   `status{value}`, `caller`, `resourceId`, `eventTimestamp`, `eventDataId`; one object per line,
 *   or a document `{"value": [...]}` (records numbered 1, 2, …);
 * - the flat export of diagnostic settings to Storage/Event Hubs: `{"records": [{time, resourceId,
 *   operationName, resultType, identity, properties, …}]}` as a document, or one record per line
 *   (how `insights-activity-logs/…/PT1H.json` blobs are written).
 *
 * Operations (matched exactly, case-insensitive; sub-resource writes such as
 * `Microsoft.Web/sites/config/write` are not sightings):
 * | operation                               | kind                                              |
 * | Microsoft.Web/sites/write               | function when the request says kind functionapp, else container-app |
 * | Microsoft.App/containerApps/write       | container-app                                     |
 * | Microsoft.ApiManagement/service/write   | api-gateway                                       |
 * | Microsoft.Storage/storageAccounts/write | bucket                                            |
 * A write is a PUT, create or update, and the log does not say which: the action is `create`.
 * Only `Succeeded` (flat export: `Success`/`Succeeded`) events are sightings, so the start event
 * of a write (`Started`/`Accepted`) and failures are not.
 *
 * resourceId: `resourceId` lower-cased (Azure resource ids are case-insensitive and logged in
 * varying case). actor: `caller`, else the identity's UPN/name claim or principal id. recordId:
 * `eventDataId`.
 */

const OPERATIONS: Record<string, SightingKind> = {
  'microsoft.web/sites/write': 'container-app',
  'microsoft.app/containerapps/write': 'container-app',
  'microsoft.apimanagement/service/write': 'api-gateway',
  'microsoft.storage/storageaccounts/write': 'bucket',
};

const SUCCEEDED = new Set(['succeeded', 'success']);

function textOf(field: unknown): string | undefined {
  return str(field) ?? str(obj(field)?.value);
}

function actorOf(event: Record<string, unknown>): string | undefined {
  const identity = obj(event.identity);
  const claims = obj(identity?.claims);
  const evidence = obj(obj(identity?.authorization)?.evidence);
  return (
    str(event.caller) ??
    str(obj(event.properties)?.caller) ??
    str(claims?.['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn']) ??
    str(claims?.name) ??
    str(claims?.appid) ??
    str(evidence?.principalId)
  );
}

/** Whether a `Microsoft.Web/sites/write` created a function app (the request body is logged as a string). */
function isFunctionApp(event: Record<string, unknown>): boolean {
  const properties = obj(event.properties);
  const body = str(properties?.requestbody) ?? str(properties?.requestBody) ?? '';
  return /"kind"\s*:\s*"[^"]*functionapp/i.test(body);
}

/** One Activity Log event as a sighting, or undefined when it is not a successful app write. */
export function azureActivitySighting(record: unknown, origin: RecordOrigin): Sighting | undefined {
  const event = obj(record);
  if (!event) return undefined;
  const operation = textOf(event.operationName)?.toLowerCase();
  let kind = operation ? OPERATIONS[operation] : undefined;
  if (!kind) return undefined;
  const status = textOf(event.status) ?? textOf(event.resultType);
  if (!status || !SUCCEEDED.has(status.toLowerCase())) return undefined;
  const resourceId = str(event.resourceId);
  const at = dateOf(event.eventTimestamp) ?? dateOf(event.time);
  if (!resourceId || !at) return undefined;
  if (operation === 'microsoft.web/sites/write' && isFunctionApp(event)) kind = 'function';
  const actor = actorOf(event);
  const recordId = str(event.eventDataId) ?? str(obj(event.properties)?.eventDataId);
  return {
    format: 'azure-activity',
    kind,
    action: 'create',
    match: { resourceId: resourceId.toLowerCase() },
    label: lastSegment(resourceId),
    at,
    ...(actor ? { actor } : {}),
    ...(recordId ? { recordId } : {}),
    evidence: evidence(origin),
  };
}
