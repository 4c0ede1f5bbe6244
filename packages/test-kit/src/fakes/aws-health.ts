import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  type Answer,
  type Fault,
  header,
  type IncomingRequest,
  type RecordedRequest,
  startFakeServer,
} from './server.js';

/*
 * The AWS Health API (DescribeEvents, DescribeEventDetails) as the AWS SDK v3 Health client
 * speaks it: AWS JSON 1.1 over HTTP, SigV4-signed for service `health`
 * (/work/shared/reference/providers-2.md, "AWS Health DescribeEvents on the wire"). Point the SDK
 * at `url` (`new HealthClient({ region: 'us-east-1', endpoint: fake.url, credentials })`). It
 * also builds the EventBridge "AWS Health Event" deliveries of its events (providers.md).
 */

export const HEALTH_EVENT_TYPE_CATEGORIES = [
  'issue',
  'accountNotification',
  'scheduledChange',
  'investigation',
] as const;
export const HEALTH_EVENT_STATUS_CODES = ['open', 'closed', 'upcoming'] as const;
export type HealthEventTypeCategory = (typeof HEALTH_EVENT_TYPE_CATEGORIES)[number];
export type HealthEventStatusCode = (typeof HEALTH_EVENT_STATUS_CODES)[number];

export interface FakeHealthEvent {
  arn: string;
  service: string;
  eventTypeCode: string;
  eventTypeCategory: HealthEventTypeCategory;
  region: string;
  availabilityZone: string | null;
  statusCode: HealthEventStatusCode;
  eventScopeCode: 'PUBLIC' | 'ACCOUNT_SPECIFIC';
  /** Epoch milliseconds. */
  startTime: number;
  endTime: number | null;
  lastUpdatedTime: number;
  description: string;
}

export interface FakeAwsHealth {
  /** The endpoint to hand the SDK (`endpoint`). */
  url: string;
  /** The region requests must be signed for. */
  region: string;
  /** The keys requests must be signed with (generated per fake). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  requests: RecordedRequest[];
  /** Opens an event (statusCode `open` unless given) and returns it. */
  addEvent(input: {
    service: string;
    eventTypeCode: string;
    eventTypeCategory: HealthEventTypeCategory;
    region: string;
    availabilityZone?: string;
    statusCode?: HealthEventStatusCode;
    eventScopeCode?: 'PUBLIC' | 'ACCOUNT_SPECIFIC';
    description: string;
  }): FakeHealthEvent;
  /** Changes an event (its lastUpdatedTime moves on). */
  updateEvent(arn: string, change: { statusCode?: HealthEventStatusCode; description?: string }): FakeHealthEvent;
  /** Closes an event: statusCode `closed`, endTime now. */
  closeEvent(arn: string, description?: string): FakeHealthEvent;
  event(arn: string): FakeHealthEvent;
  /** The EventBridge "AWS Health Event" delivery of the event as it is now. */
  eventBridgePayload(arn: string, opts?: { account?: string }): Record<string, unknown>;
  /** Answers at most this many events per page, whatever maxResults says (AWS may send fewer too). */
  setPageSize(size: number): void;
  /** Without a Business, Enterprise On-Ramp or Enterprise Support plan every call fails. */
  setSubscription(on: boolean): void;
  /** The next request(s) answer ThrottlingException (HTTP 400). */
  throttleNext(times?: number): void;
  failNext(fault: Fault): void;
  stop(): Promise<void>;
}

const JSON_11 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'AWSHealth_20160804.';
const FILTER_KEYS = [
  'actionabilities',
  'eventArns',
  'eventTypeCodes',
  'services',
  'regions',
  'availabilityZones',
  'startTimes',
  'endTimes',
  'lastUpdatedTimes',
  'entityArns',
  'entityValues',
  'eventTypeCategories',
  'tags',
  'eventStatusCodes',
  'personas',
] as const;
const DATE_RANGE_KEYS = new Set(['startTimes', 'endTimes', 'lastUpdatedTimes']);
/** Signature validity window either side of X-Amz-Date (SigV4). */
const CLOCK_SKEW_MS = 15 * 60_000;

class HealthError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * A loopback AWS Health API. See ./README.md for the rules it enforces.
 */
export async function startFakeAwsHealth(opts: { region?: string; pageSize?: number } = {}): Promise<FakeAwsHealth> {
  const region = opts.region ?? 'us-east-1';
  const credentials = {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  const events: FakeHealthEvent[] = [];
  let pageSize = opts.pageSize ?? 100;
  let subscribed = true;
  let clock = 0;
  /** Strictly increasing milliseconds, so that every change has its own lastUpdatedTime. */
  const tick = () => {
    clock = Math.max(Date.now(), clock + 1);
    return clock;
  };

  const find = (arn: string) => {
    const event = events.find((e) => e.arn === arn);
    if (!event) throw new Error(`fake AWS Health: no event ${arn}`);
    return event;
  };

  const wire = (e: FakeHealthEvent) => ({
    arn: e.arn,
    service: e.service,
    eventTypeCode: e.eventTypeCode,
    eventTypeCategory: e.eventTypeCategory,
    region: e.region,
    ...(e.availabilityZone ? { availabilityZone: e.availabilityZone } : {}),
    startTime: e.startTime / 1000,
    ...(e.endTime !== null ? { endTime: e.endTime / 1000 } : {}),
    lastUpdatedTime: e.lastUpdatedTime / 1000,
    statusCode: e.statusCode,
    eventScopeCode: e.eventScopeCode,
  });

  function authenticate(req: IncomingRequest): void {
    const authorization = header(req, 'authorization');
    if (!authorization)
      throw new HealthError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const match =
      /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!match) {
      throw new HealthError(
        400,
        'IncompleteSignatureException',
        'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256)',
      );
    }
    const [, keyId, date, scopeRegion, service, signedList, signature] = match as unknown as string[];
    const amzDate = header(req, 'x-amz-date') ?? '';
    if (!/^\d{8}T\d{6}Z$/.test(amzDate)) {
      throw new HealthError(400, 'IncompleteSignatureException', 'X-Amz-Date must be yyyyMMddTHHmmssZ');
    }
    if (date !== amzDate.slice(0, 8)) {
      throw new HealthError(403, 'InvalidSignatureException', 'Credential date does not match X-Amz-Date');
    }
    if (scopeRegion !== region) {
      throw new HealthError(
        403,
        'InvalidSignatureException',
        `Credential should be scoped to a valid region: '${region}'`,
      );
    }
    if (service !== 'health') {
      throw new HealthError(
        403,
        'InvalidSignatureException',
        "Credential should be scoped to correct service: 'health'",
      );
    }
    const signedAt = Date.parse(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    if (Math.abs(Date.now() - signedAt) > CLOCK_SKEW_MS) {
      throw new HealthError(403, 'InvalidSignatureException', 'Signature expired');
    }
    const signed = signedList!.split(';');
    const sorted = [...signed].sort();
    const mustSign = ['host', ...Object.keys(req.headers).filter((h) => h.startsWith('x-amz-'))];
    if (signed.join(';') !== sorted.join(';') || mustSign.some((h) => !signed.includes(h))) {
      throw new HealthError(
        403,
        'InvalidSignatureException',
        'SignedHeaders must be sorted and include host and every x-amz-* header',
      );
    }
    if (keyId !== credentials.accessKeyId) {
      throw new HealthError(
        403,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    // The signature itself (SigV4): canonical request → string to sign → HMAC chain.
    const canonicalHeaders = signed.map((h) => `${h}:${(header(req, h) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = [req.method, req.path, '', canonicalHeaders, signed.join(';'), sha256(req.rawBody)].join(
      '\n',
    );
    const scope = `${date}/${region}/health/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date!), region), 'health'), 'aws4_request');
    const expected = hmac(key, stringToSign);
    if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
      throw new HealthError(
        403,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
  }

  const validation = (message: string) => new HealthError(400, 'ValidationException', message);

  function readFilter(filter: unknown): (e: FakeHealthEvent) => boolean {
    if (filter === undefined) return () => true;
    if (!isObject(filter)) throw validation('filter must be an object');
    const unknown = Object.keys(filter).filter((k) => !(FILTER_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) throw validation(`filter: unknown member(s) ${unknown.join(', ')}`);
    const tests: ((e: FakeHealthEvent) => boolean)[] = [];
    for (const [key, value] of Object.entries(filter)) {
      if (!Array.isArray(value)) throw validation(`filter.${key} must be a list`);
      if (value.length < 1 || value.length > 10) {
        throw validation(`filter.${key} takes 1 to 10 members`);
      }
      if (DATE_RANGE_KEYS.has(key)) {
        const ranges = (value as unknown[]).map((r) => {
          if (!isObject(r) || Object.keys(r).some((k) => k !== 'from' && k !== 'to')) {
            throw validation(`filter.${key}: each range is {from?, to?}`);
          }
          for (const bound of ['from', 'to'] as const) {
            if (r[bound] !== undefined && typeof r[bound] !== 'number') {
              throw validation(`filter.${key}.${bound} must be epoch seconds (a number)`);
            }
          }
          return { from: r.from as number | undefined, to: r.to as number | undefined };
        });
        const field = key === 'startTimes' ? 'startTime' : key === 'endTimes' ? 'endTime' : 'lastUpdatedTime';
        tests.push((e) => {
          const at = e[field];
          return (
            at !== null &&
            ranges.some(
              (r) => (r.from === undefined || at / 1000 >= r.from) && (r.to === undefined || at / 1000 <= r.to),
            )
          );
        });
        continue;
      }
      if (key === 'tags') continue; // account-specific entity tags: not modelled (accepted, matches all)
      const values = value as unknown[];
      if (values.some((v) => typeof v !== 'string' || v === '')) throw validation(`filter.${key}: strings only`);
      const strings = values as string[];
      if (
        key === 'eventStatusCodes' &&
        strings.some((s) => !(HEALTH_EVENT_STATUS_CODES as readonly string[]).includes(s))
      ) {
        throw validation(`filter.eventStatusCodes: one of ${HEALTH_EVENT_STATUS_CODES.join(', ')}`);
      }
      if (
        key === 'eventTypeCategories' &&
        strings.some((s) => !(HEALTH_EVENT_TYPE_CATEGORIES as readonly string[]).includes(s))
      ) {
        throw validation(`filter.eventTypeCategories: one of ${HEALTH_EVENT_TYPE_CATEGORIES.join(', ')}`);
      }
      const field = (
        {
          eventArns: 'arn',
          eventTypeCodes: 'eventTypeCode',
          services: 'service',
          regions: 'region',
          availabilityZones: 'availabilityZone',
          eventTypeCategories: 'eventTypeCategory',
          eventStatusCodes: 'statusCode',
        } as Record<string, keyof FakeHealthEvent>
      )[key];
      // entityArns, entityValues, actionabilities, personas: accepted, not modelled (match all).
      if (field) tests.push((e) => strings.includes(String(e[field])));
    }
    return (e) => tests.every((t) => t(e));
  }

  function describeEvents(body: Record<string, unknown>): unknown {
    const unknown = Object.keys(body).filter((k) => !['filter', 'nextToken', 'maxResults', 'locale'].includes(k));
    if (unknown.length > 0) throw validation(`unknown member(s) ${unknown.join(', ')}`);
    checkLocale(body.locale);
    const max = body.maxResults ?? 10;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 10 || max > 100) {
      throw validation('maxResults must be an integer from 10 to 100');
    }
    const filterKey = sha256(JSON.stringify(body.filter ?? null)).slice(0, 16);
    let offset = 0;
    if (body.nextToken !== undefined) {
      const token = decodeToken(body.nextToken);
      if (!token || token.filter !== filterKey) {
        throw new HealthError(400, 'InvalidPaginationToken', 'The specified pagination token is invalid.');
      }
      offset = token.offset;
    }
    const matching = events.filter(readFilter(body.filter)).sort((a, b) => b.lastUpdatedTime - a.lastUpdatedTime);
    const size = Math.min(max, pageSize);
    const page = matching.slice(offset, offset + size);
    const next = offset + size < matching.length ? encodeToken({ offset: offset + size, filter: filterKey }) : null;
    return { events: page.map(wire), ...(next ? { nextToken: next } : {}) };
  }

  function describeEventDetails(body: Record<string, unknown>): unknown {
    const unknown = Object.keys(body).filter((k) => !['eventArns', 'locale'].includes(k));
    if (unknown.length > 0) throw validation(`unknown member(s) ${unknown.join(', ')}`);
    checkLocale(body.locale);
    const arns = body.eventArns;
    if (!Array.isArray(arns) || arns.length < 1 || arns.length > 10 || arns.some((a) => typeof a !== 'string')) {
      throw validation('eventArns must list 1 to 10 event ARNs');
    }
    const successfulSet: unknown[] = [];
    const failedSet: unknown[] = [];
    for (const arn of arns as string[]) {
      const event = events.find((e) => e.arn === arn);
      if (event) {
        successfulSet.push({
          event: wire(event),
          eventDescription: { latestDescription: event.description },
          eventMetadata: {},
        });
      } else {
        failedSet.push({ eventArn: arn, errorName: 'NotFoundException', errorMessage: `no event ${arn}` });
      }
    }
    return { successfulSet, failedSet };
  }

  function handle(req: IncomingRequest): Answer {
    try {
      if (req.method !== 'POST' || req.path !== '/') {
        throw new HealthError(404, 'UnknownOperationException', 'POST / only');
      }
      const contentType = header(req, 'content-type') ?? '';
      if (!new RegExp(`^${JSON_11.replace(/[.]/g, '\\.')}\\s*(;|$)`, 'i').test(contentType)) {
        throw new HealthError(400, 'SerializationException', `Content-Type must be ${JSON_11}`);
      }
      const target = header(req, 'x-amz-target') ?? '';
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : null;
      if (operation !== 'DescribeEvents' && operation !== 'DescribeEventDetails') {
        throw new HealthError(400, 'UnknownOperationException', `unknown X-Amz-Target ${JSON.stringify(target)}`);
      }
      authenticate(req);
      let body: unknown;
      try {
        body = req.rawBody === '' ? {} : JSON.parse(req.rawBody);
      } catch {
        throw new HealthError(400, 'SerializationException', 'body is not JSON');
      }
      if (!isObject(body)) throw new HealthError(400, 'SerializationException', 'body must be a JSON object');
      if (!subscribed) {
        throw new HealthError(
          400,
          'SubscriptionRequiredException',
          'The AWS Health API requires a Business, Enterprise On-Ramp or Enterprise Support plan.',
        );
      }
      const answer = operation === 'DescribeEvents' ? describeEvents(body) : describeEventDetails(body);
      return { status: 200, headers: responseHeaders(), body: answer };
    } catch (error) {
      if (!(error instanceof HealthError)) throw error;
      return {
        status: error.status,
        headers: responseHeaders(),
        body: { __type: `com.amazonaws.health#${error.type}`, message: error.message },
      };
    }
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 400
        ? { __type: 'ThrottlingException', message: 'Rate exceeded' }
        : { __type: 'InternalFailure', message: 'The request processing has failed because of an unknown error.' },
  });

  const fake: FakeAwsHealth = {
    url: server.url,
    region,
    credentials,
    requests: server.requests,
    addEvent(input) {
      const at = tick();
      const id = randomUUID();
      const event: FakeHealthEvent = {
        arn: `arn:aws:health:${input.region}::event/${input.service}/${input.eventTypeCode}/${input.eventTypeCode}_${id}`,
        service: input.service,
        eventTypeCode: input.eventTypeCode,
        eventTypeCategory: input.eventTypeCategory,
        region: input.region,
        availabilityZone: input.availabilityZone ?? null,
        statusCode: input.statusCode ?? 'open',
        eventScopeCode: input.eventScopeCode ?? 'PUBLIC',
        startTime: at,
        endTime: null,
        lastUpdatedTime: at,
        description: input.description,
      };
      events.push(event);
      return { ...event };
    },
    updateEvent(arn, change) {
      const event = find(arn);
      if (change.statusCode !== undefined) event.statusCode = change.statusCode;
      if (change.description !== undefined) event.description = change.description;
      event.lastUpdatedTime = tick();
      return { ...event };
    },
    closeEvent(arn, description) {
      const event = find(arn);
      event.statusCode = 'closed';
      if (description !== undefined) event.description = description;
      event.lastUpdatedTime = tick();
      event.endTime = event.lastUpdatedTime;
      return { ...event };
    },
    event: (arn) => ({ ...find(arn) }),
    eventBridgePayload(arn, o = {}) {
      const e = find(arn);
      const account = o.account ?? '123456789012';
      const rfc1123 = (ms: number) => new Date(ms).toUTCString();
      return {
        version: '0',
        id: randomUUID(),
        'detail-type': 'AWS Health Event',
        source: 'aws.health',
        account,
        time: new Date(e.lastUpdatedTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        // The delivery region; global events are delivered in us-east-1.
        region: e.region === 'global' ? 'us-east-1' : e.region,
        resources: [],
        detail: {
          eventArn: e.arn,
          service: e.service,
          eventTypeCode: e.eventTypeCode,
          eventTypeCategory: e.eventTypeCategory,
          eventScopeCode: e.eventScopeCode,
          communicationId: `${sha256(`${e.arn}${e.lastUpdatedTime}`).slice(0, 40)}-1`,
          startTime: rfc1123(e.startTime),
          ...(e.endTime !== null ? { endTime: rfc1123(e.endTime) } : {}),
          lastUpdatedTime: rfc1123(e.lastUpdatedTime),
          statusCode: e.statusCode,
          eventRegion: e.region,
          eventDescription: [{ language: 'en_US', latestDescription: e.description }],
          affectedEntities: [],
          page: '1',
          totalPages: '1',
          affectedAccount: account,
        },
      };
    },
    setPageSize(size) {
      pageSize = Math.max(1, size);
    },
    setSubscription(on) {
      subscribed = on;
    },
    throttleNext(times = 1) {
      server.failNext({
        status: 400,
        times,
        headers: responseHeaders(),
        body: { __type: 'ThrottlingException', message: 'Rate exceeded' },
      });
    },
    failNext: server.failNext,
    stop: server.stop,
  };
  return fake;
}

function responseHeaders(): Record<string, string> {
  return { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID() };
}

function checkLocale(locale: unknown): void {
  if (locale !== undefined && locale !== 'en') {
    throw new HealthError(400, 'UnsupportedLocale', 'The specified locale is not supported.');
  }
}

function encodeToken(token: { offset: number; filter: string }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(value: unknown): { offset: number; filter: string } | null {
  if (typeof value !== 'string') return null;
  try {
    const token = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
    if (isObject(token) && Number.isInteger(token.offset) && typeof token.filter === 'string') {
      return { offset: token.offset as number, filter: token.filter };
    }
  } catch {
    // not ours
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
