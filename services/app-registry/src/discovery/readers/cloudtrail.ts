import type { Sighting, SightingKind } from '../sighting.js';
import { dateOf, evidence, hostOf, obj, type RecordOrigin, str } from './common.js';

/*
 * AWS CloudTrail records → sightings.
 *
 * Accepted shapes (the file reader hands over one record at a time):
 * - log files as CloudTrail writes them to S3, `{"Records": [ {...}, ... ]}`, gzipped or not,
 *   named `AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz`
 *   (records are numbered 1, 2, … in the document: that number is the evidence line and the cursor);
 * - one record per line (CloudWatch Logs or a Kafka topic of raw events).
 * Digest and Insight files (`CloudTrail-Digest/`, `CloudTrail-Insight/`) hold no events and are skipped.
 *
 * Create and deploy events, matched by event source and by PREFIX of `eventName` (Lambda appends
 * an API version such as `CreateFunction20150331`):
 * | source                      | eventName                          | kind          | action |
 * | lambda.amazonaws.com        | CreateFunction*                    | function      | create |
 * | lambda.amazonaws.com        | CreateFunctionUrlConfig* (public when authType is NONE) | function | create |
 * | lambda.amazonaws.com        | UpdateFunctionCode*                | function      | deploy |
 * | apigateway.amazonaws.com    | CreateRestApi, CreateApi           | api-gateway   | create |
 * | apprunner / ecs             | CreateService                      | container-app | create |
 * | s3.amazonaws.com            | CreateBucket                       | bucket        | create |
 * | s3.amazonaws.com            | PutBucketPolicy                    | bucket        | deploy |
 * | cloudfront.amazonaws.com    | CreateDistribution*                | cdn           | create |
 * A failed call (`errorCode` set) is not a sighting; neither is any other event.
 *
 * resourceId: the ARN from `responseElements` when the service returns one, else built from the
 * request (`arn:aws:lambda:<region>:<account>:function:<name>`, `arn:aws:s3:::<bucket>`, …).
 * actor: `userIdentity.arn`, else the role session issuer's user name, the principal id, or the
 * AWS service that invoked the call. recordId: `eventID`.
 */

interface EventRule {
  source: string;
  prefix: string;
  kind: SightingKind;
  action: 'create' | 'deploy';
  read: (event: CloudTrailEvent) => Pick<Sighting, 'match' | 'label' | 'public'> | undefined;
}

interface CloudTrailEvent {
  region: string;
  account: string;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

/** Lambda accepts a name, a partial ARN or a full ARN as `functionName`. */
function functionName(value: unknown): string | undefined {
  const name = str(value);
  if (!name) return undefined;
  const m = /(?:^|:function:)([^:]+)(?::[^:]+)?$/.exec(name);
  return m?.[1] ?? name;
}

function lambdaFunction(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label' | 'public'> | undefined {
  const arn = str(event.response.functionArn);
  const name = str(event.response.functionName) ?? functionName(event.request.functionName) ?? functionName(arn);
  if (!name) return undefined;
  // The ARN of the function itself, without a version or alias qualifier.
  const resourceId = arn
    ? arn.replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):.*$/, '$1')
    : event.region && event.account
      ? `arn:aws:lambda:${event.region}:${event.account}:function:${name}`
      : undefined;
  return resourceId ? { match: { resourceId }, label: name } : undefined;
}

function functionUrl(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label' | 'public'> | undefined {
  const fn = lambdaFunction(event);
  if (!fn) return undefined;
  const url = str(event.response.functionUrl);
  const host = hostOf(url);
  const authType = str(event.response.authType) ?? str(event.request.authType);
  return {
    match: { ...fn.match, ...(host ? { host } : {}) },
    label: fn.label,
    ...(authType ? { public: authType.toUpperCase() === 'NONE' } : {}),
  };
}

function restApi(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const id = str(event.response.id) ?? str(event.response.restApiId);
  if (!id) return undefined;
  const label = str(event.response.name) ?? str(event.request.name) ?? id;
  const host = event.region ? `${id}.execute-api.${event.region}.amazonaws.com` : undefined;
  return {
    match: { resourceId: `arn:aws:apigateway:${event.region}::/restapis/${id}`, ...(host ? { host } : {}) },
    label,
  };
}

function httpApi(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const id = str(event.response.apiId);
  if (!id) return undefined;
  const label = str(event.response.name) ?? str(event.request.name) ?? id;
  const endpoint = str(event.response.apiEndpoint);
  const host = hostOf(endpoint);
  return { match: { resourceId: `arn:aws:apigateway:${event.region}::/apis/${id}`, ...(host ? { host } : {}) }, label };
}

function appRunnerService(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const service = obj(event.response.service) ?? {};
  const resourceId = str(service.serviceArn);
  const label = str(service.serviceName) ?? str(event.request.serviceName);
  if (!resourceId || !label) return undefined;
  const url = str(service.serviceUrl);
  const host = hostOf(url);
  return { match: { resourceId, ...(host ? { host } : {}) }, label };
}

function ecsService(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const service = obj(event.response.service) ?? {};
  const label = str(service.serviceName) ?? str(event.request.serviceName);
  if (!label) return undefined;
  const cluster = str(event.request.cluster) ?? 'default';
  const resourceId =
    str(service.serviceArn) ??
    (event.region && event.account
      ? `arn:aws:ecs:${event.region}:${event.account}:service/${cluster.replace(/^.*:cluster\//, '')}/${label}`
      : undefined);
  return resourceId ? { match: { resourceId }, label } : undefined;
}

function bucket(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const name = str(event.request.bucketName);
  return name ? { match: { resourceId: `arn:aws:s3:::${name}` }, label: name } : undefined;
}

function distribution(event: CloudTrailEvent): Pick<Sighting, 'match' | 'label'> | undefined {
  const dist = obj(event.response.distribution) ?? {};
  const id = str(dist.id);
  const arn = str(dist.aRN) ?? str(dist.ARN) ?? str(dist.arn);
  const resourceId =
    arn ?? (id && event.account ? `arn:aws:cloudfront::${event.account}:distribution/${id}` : undefined);
  if (!resourceId) return undefined;
  const domain = str(dist.domainName)?.toLowerCase();
  // An alias (CNAME) is the name people use; the cloudfront.net name is what always exists.
  const config =
    obj(dist.distributionConfig) ??
    obj(obj(event.request.distributionConfigWithTags)?.distributionConfig) ??
    obj(event.request.distributionConfig);
  const aliases = obj(config?.aliases)?.items;
  const alias = Array.isArray(aliases) ? str(aliases[0]) : undefined;
  return { match: { resourceId, ...(domain ? { host: domain } : {}) }, label: alias ?? domain ?? id ?? resourceId };
}

const RULES: EventRule[] = [
  // CreateFunctionUrlConfig must come before CreateFunction: both start with "CreateFunction".
  { source: 'lambda', prefix: 'CreateFunctionUrlConfig', kind: 'function', action: 'create', read: functionUrl },
  { source: 'lambda', prefix: 'CreateFunction', kind: 'function', action: 'create', read: lambdaFunction },
  { source: 'lambda', prefix: 'UpdateFunctionCode', kind: 'function', action: 'deploy', read: lambdaFunction },
  { source: 'apigateway', prefix: 'CreateRestApi', kind: 'api-gateway', action: 'create', read: restApi },
  { source: 'apigateway', prefix: 'CreateApi', kind: 'api-gateway', action: 'create', read: httpApi },
  { source: 'apprunner', prefix: 'CreateService', kind: 'container-app', action: 'create', read: appRunnerService },
  { source: 'ecs', prefix: 'CreateService', kind: 'container-app', action: 'create', read: ecsService },
  { source: 's3', prefix: 'CreateBucket', kind: 'bucket', action: 'create', read: bucket },
  { source: 's3', prefix: 'PutBucketPolicy', kind: 'bucket', action: 'deploy', read: bucket },
  { source: 'cloudfront', prefix: 'CreateDistribution', kind: 'cdn', action: 'create', read: distribution },
];

function actorOf(identity: Record<string, unknown> | undefined): string | undefined {
  if (!identity) return undefined;
  const issuer = obj(obj(identity.sessionContext)?.sessionIssuer);
  return (
    str(identity.arn) ??
    str(issuer?.userName) ??
    str(identity.principalId) ??
    str(identity.invokedBy) ??
    str(identity.userName)
  );
}

/** One CloudTrail record as a sighting, or undefined when it is not a successful create/deploy. */
export function cloudTrailSighting(record: unknown, origin: RecordOrigin): Sighting | undefined {
  const r = obj(record);
  if (!r || str(r.errorCode)) return undefined;
  const name = str(r.eventName);
  const source = str(r.eventSource)?.replace(/\.amazonaws\.com$/, '');
  if (!name || !source) return undefined;
  const rule = RULES.find((candidate) => candidate.source === source && name.startsWith(candidate.prefix));
  if (!rule) return undefined;
  const identity = obj(r.userIdentity);
  const event: CloudTrailEvent = {
    region: str(r.awsRegion) ?? '',
    account: str(r.recipientAccountId) ?? str(identity?.accountId) ?? '',
    request: obj(r.requestParameters) ?? {},
    response: obj(r.responseElements) ?? {},
  };
  const found = rule.read(event);
  const at = dateOf(r.eventTime);
  if (!found || !at) return undefined;
  const actor = actorOf(identity);
  const recordId = str(r.eventID);
  return {
    format: 'cloudtrail',
    kind: rule.kind,
    action: rule.action,
    ...found,
    at,
    ...(actor ? { actor } : {}),
    ...(recordId ? { recordId } : {}),
    evidence: evidence(origin),
  };
}
