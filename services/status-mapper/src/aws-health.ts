import { createHash } from 'node:crypto';
import type { ComponentStatus } from '@micro-oncall/incident-model';
import { z } from 'zod';

/*
 * AWS Health, pure: the documented "AWS Health Event" EventBridge payload and DescribeEvents'
 * events (/work/shared/reference/providers.md, providers-2.md) read into one `HealthEvent`, the
 * provider components an event touches and the condition it puts them in.
 *
 * Components are `<service>/<region>` (`EC2/eu-west-1`) and, for an event that names an
 * availability zone, `<service>/<region>/<zone>` (`EC2/eu-west-1/eu-west-1a`); their key is
 * `<source id>/<component id>` (`aws/EC2/eu-west-1`), their group the region. A component's
 * condition is the worst of its open events' (`conditionOf`), operational when none is open:
 *
 *   eventTypeCategory   statusCode upcoming   statusCode open         statusCode closed
 *   issue               operational           degraded_performance    operational
 *   investigation       operational           degraded_performance    operational
 *   scheduledChange     operational           under_maintenance       operational
 *   accountNotification operational           operational             operational
 *   anything else       unknown               unknown                 operational
 *
 * AWS Health says that something is wrong, never how badly: an open issue reads
 * `degraded_performance` (the least severity that is still "not operational"), and the event's
 * description says the rest. Upcoming scheduled changes and account notifications are listed as
 * provider incidents on their component without changing its condition.
 */

export interface HealthEvent {
  arn: string;
  /** Health's service code (`EC2`). */
  service: string;
  eventTypeCode: string;
  /** issue | investigation | scheduledChange | accountNotification (others kept as sent). */
  category: string;
  /** PUBLIC | ACCOUNT_SPECIFIC (null when not sent). */
  scope: string | null;
  /** The impacted region (`eu-west-1`, or `global`). */
  region: string;
  /** Only DescribeEvents reports one; null when the event does not name a zone. */
  availabilityZone: string | null;
  /** open | upcoming | closed (others kept as sent). */
  statusCode: string;
  startTime: string | null;
  endTime: string | null;
  /** ISO 8601: orders updates of one event (EventBridge delivers at least once, in any order). */
  lastUpdatedTime: string;
  /** The latest description; null when this observation does not carry it (keep the last one). */
  description: string | null;
}

export interface AwsComponentRef {
  service: string;
  region: string;
  availabilityZone: string | null;
}

export function conditionOf(category: string, statusCode: string): ComponentStatus {
  if (statusCode === 'closed') return 'operational';
  const open = statusCode === 'open';
  if (!open && statusCode !== 'upcoming') return 'unknown';
  switch (category) {
    case 'issue':
    case 'investigation':
      return open ? 'degraded_performance' : 'operational';
    case 'scheduledChange':
      return open ? 'under_maintenance' : 'operational';
    case 'accountNotification':
      return 'operational';
    default:
      return 'unknown';
  }
}

export const isClosed = (statusCode: string) => statusCode === 'closed';

/** Service codes are kept upper-case, as Health spells them (`ec2` in a file is `EC2`). */
export const awsComponentId = (ref: AwsComponentRef): string =>
  [ref.service.toUpperCase(), ref.region, ...(ref.availabilityZone ? [ref.availabilityZone] : [])].join('/');

/** `EC2/eu-west-1[/eu-west-1a]` → its parts; null for anything else (a Statuspage component id). */
export function parseAwsComponentId(id: string): AwsComponentRef | null {
  const parts = id.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) return null;
  return { service: parts[0]!, region: parts[1]!, availabilityZone: parts[2] ?? null };
}

/** The component an event puts in a condition: its service in its zone when it names one, else in its region. */
export function awsComponentOf(event: Pick<HealthEvent, 'service' | 'region' | 'availabilityZone'>) {
  return awsComponent({ service: event.service, region: event.region, availabilityZone: event.availabilityZone });
}

export function awsComponent(ref: AwsComponentRef): {
  id: string;
  name: string;
  group: { id: string; name: string };
} {
  return {
    id: awsComponentId(ref),
    name: `${ref.service.toUpperCase()} ${ref.availabilityZone ?? ref.region}`,
    group: { id: ref.region, name: ref.region },
  };
}

const ARN = /^arn:aws(?:-[a-z]+(?:-[a-z]+)?)?:health:([^:]*):[^:]*:event\/[\w-]+\/[\w-]+\/([\w-]+)$/;

/**
 * Our id of a Health event: `<region>/<EVENT_TYPE_PLUS_ID>` from its ARN (unique per region,
 * readable, within the 128 characters the `provider-status` contract allows); the full ARN is
 * kept beside it. A longer one becomes `<region>/<sha-256 of the ARN>`.
 */
export function healthIncidentId(arn: string): string {
  const match = ARN.exec(arn);
  const region = match?.[1] || 'global';
  const id = match ? `${region}/${match[2]}` : arn;
  return id.length <= 128 ? id : `${region}/${createHash('sha256').update(arn).digest('hex')}`;
}

/** `AWS_EC2_OPERATIONAL_ISSUE` in eu-west-1 → `EC2 operational issue (eu-west-1)`. */
export function healthIncidentName(
  event: Pick<HealthEvent, 'service' | 'eventTypeCode' | 'region' | 'availabilityZone'>,
) {
  const prefix = `AWS_${event.service.toUpperCase()}_`;
  const code = event.eventTypeCode.toUpperCase().startsWith(prefix)
    ? event.eventTypeCode.slice(prefix.length)
    : event.eventTypeCode.replace(/^AWS_/i, '');
  const words = code.replace(/_/g, ' ').toLowerCase();
  return `${event.service} ${words} (${event.availabilityZone ?? event.region})`.slice(0, 512);
}

/** The source watches the event's service and region (service codes compare case-insensitively). */
export function isWatched(
  source: { services: readonly string[]; regions: readonly string[] },
  event: Pick<HealthEvent, 'service' | 'region'>,
): boolean {
  const service = event.service.toUpperCase();
  return source.services.some((s) => s.toUpperCase() === service) && source.regions.includes(event.region);
}

// ---- EventBridge: the "AWS Health Event" envelope -------------------------------------------

const isDate = (value: string) => !Number.isNaN(Date.parse(value));
/** detail's times are RFC 1123 strings (`Fri, 27 Jan 2023 06:02:51 GMT`); ISO 8601 is read too. */
const Time = z.string().min(1).max(64).refine(isDate, 'not a date (e.g. Fri, 27 Jan 2023 06:02:51 GMT)');
const Region = z.string().regex(/^[a-z0-9-]{2,32}$/, 'an AWS region such as eu-west-1 (or global)');

export const HealthEventBridgeEvent = z.object({
  version: z.string().max(16),
  id: z.string().min(1).max(128),
  'detail-type': z.literal('AWS Health Event', { error: 'must be "AWS Health Event"' }),
  source: z.literal('aws.health', { error: 'must be "aws.health"' }),
  account: z.string().regex(/^\d{12}$/, 'an AWS account id (12 digits)'),
  time: Time,
  /** The region the notification was delivered to (not the impacted one: that is detail.eventRegion). */
  region: Region,
  resources: z.array(z.string().max(2048)).max(1000).optional(),
  detail: z.object({
    eventArn: z
      .string()
      .max(1600)
      .regex(ARN, 'an AWS Health event ARN (arn:aws:health:<region>::event/<SERVICE>/<CODE>/<ID>)'),
    service: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an AWS Health service code such as EC2'),
    eventTypeCode: z.string().min(1).max(256),
    eventTypeCategory: z.string().min(1).max(64),
    eventScopeCode: z.string().max(32).optional(),
    communicationId: z.string().max(512).optional(),
    startTime: Time.optional(),
    endTime: Time.optional(),
    lastUpdatedTime: Time.optional(),
    statusCode: z.string().min(1).max(32),
    eventRegion: Region.optional(),
    eventDescription: z
      .array(z.object({ language: z.string().max(32).optional(), latestDescription: z.string().max(100_000) }))
      .max(50)
      .optional(),
    affectedEntities: z
      .array(z.object({ entityValue: z.string().max(2048).optional() }))
      .max(10_000)
      .optional(),
    affectedAccount: z.string().max(32).optional(),
  }),
});
export type HealthEventBridgeEvent = z.infer<typeof HealthEventBridgeEvent>;

const iso = (value: string | undefined | null) => (value ? new Date(value).toISOString() : null);

/** A validated EventBridge delivery → the event it reports, and the account it was sent to. */
export function fromEventBridge(envelope: HealthEventBridgeEvent): { account: string; event: HealthEvent } {
  const { detail } = envelope;
  const descriptions = detail.eventDescription ?? [];
  const description =
    descriptions.find((d) => d.language?.toLowerCase().replace('-', '_') === 'en_us') ?? descriptions[0];
  const arnRegion = ARN.exec(detail.eventArn)?.[1];
  return {
    account: envelope.account,
    event: {
      arn: detail.eventArn,
      service: detail.service,
      eventTypeCode: detail.eventTypeCode,
      category: detail.eventTypeCategory,
      scope: detail.eventScopeCode ?? null,
      region: detail.eventRegion ?? (arnRegion || 'global'),
      // The EventBridge detail documents no zone: such an event is read at region level (a
      // zone learned from DescribeEvents for the same event is kept; see the store).
      availabilityZone: null,
      statusCode: detail.statusCode,
      startTime: iso(detail.startTime),
      endTime: iso(detail.endTime),
      lastUpdatedTime: iso(detail.lastUpdatedTime ?? envelope.time)!,
      description: description?.latestDescription ?? null,
    },
  };
}

// ---- DescribeEvents ----------------------------------------------------------------------------

/** The SDK's `Event` (every member optional there) as far as we read it. */
export interface DescribedEvent {
  arn?: string | undefined;
  service?: string | undefined;
  eventTypeCode?: string | undefined;
  eventTypeCategory?: string | undefined;
  region?: string | undefined;
  availabilityZone?: string | undefined;
  startTime?: Date | undefined;
  endTime?: Date | undefined;
  lastUpdatedTime?: Date | undefined;
  statusCode?: string | undefined;
  eventScopeCode?: string | undefined;
}

/** A DescribeEvents event → a HealthEvent; null when it lacks what we key on (ARN, service, region). */
export function fromDescribedEvent(e: DescribedEvent, description: string | null): HealthEvent | null {
  if (!e.arn || !e.service || !e.region) return null;
  const time = (d: Date | undefined) => (d && !Number.isNaN(d.getTime()) ? d.toISOString() : null);
  return {
    arn: e.arn,
    service: e.service,
    eventTypeCode: e.eventTypeCode ?? 'UNKNOWN',
    category: e.eventTypeCategory ?? 'unknown',
    scope: e.eventScopeCode ?? null,
    region: e.region,
    availabilityZone: e.availabilityZone || null,
    statusCode: e.statusCode ?? 'unknown',
    startTime: time(e.startTime),
    endTime: time(e.endTime),
    lastUpdatedTime: time(e.lastUpdatedTime) ?? time(e.startTime) ?? new Date().toISOString(),
    description,
  };
}

/**
 * A mapping rule's `aws: { service, region?, availabilityZone? }` against a component id: the
 * service (case-insensitively) in the region (any when not given); a rule naming a zone matches
 * that zone's component and the region-wide one, not the other zones'.
 */
export function awsRuleMatches(
  rule: { service: string; region?: string | undefined; availabilityZone?: string | undefined },
  componentId: string,
): boolean {
  const c = parseAwsComponentId(componentId);
  if (!c || c.service.toUpperCase() !== rule.service.toUpperCase()) return false;
  if (rule.region !== undefined && c.region !== rule.region) return false;
  return (
    rule.availabilityZone === undefined || c.availabilityZone === null || c.availabilityZone === rule.availabilityZone
  );
}
