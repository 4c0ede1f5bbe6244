import { randomBytes } from 'node:crypto';
import {
  type Answer,
  type FakeServer,
  type IncomingRequest,
  isJsonContentType,
  isPlainObject,
  startFakeServer,
  unknownKeys,
} from './server.js';

export const PAGERDUTY_EVENT_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutyEventSeverity = (typeof PAGERDUTY_EVENT_SEVERITIES)[number];

/** One accepted Events API v2 event, as sent. */
export interface FakePagerDutyEvent {
  routingKey: string;
  action: 'trigger' | 'acknowledge' | 'resolve';
  dedupKey: string;
  payload: Record<string, unknown> | null;
  receivedAt: string;
}

/** What the fake holds per (routing key, dedup key): PagerDuty's alert, as far as events make it. */
export interface FakePagerDutyAlert {
  routingKey: string;
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary: string;
  severity: PagerDutyEventSeverity;
  source: string;
  customDetails: Record<string, unknown> | null;
  /** Triggers received for the key (re-triggers of an open alert update it, as PagerDuty does). */
  triggers: number;
}

export interface FakePagerDutyEvents extends FakeServer {
  /** Accepted events in arrival order. */
  events: FakePagerDutyEvent[];
  /** The alert of `dedupKey` (under any routing key), undefined when none was triggered. */
  alert(dedupKey: string): FakePagerDutyAlert | undefined;
  alerts(): FakePagerDutyAlert[];
}

const ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
const EVENT_FIELDS = [
  'routing_key',
  'event_action',
  'dedup_key',
  'payload',
  'links',
  'images',
  'client',
  'client_url',
] as const;
const PAYLOAD_FIELDS = [
  'summary',
  'source',
  'severity',
  'timestamp',
  'component',
  'group',
  'class',
  'custom_details',
] as const;

const invalid = (...errors: string[]): Answer => ({
  status: 400,
  body: { status: 'invalid event', message: 'Event object is invalid', errors },
});

const isText = (value: unknown, max: number) => typeof value === 'string' && value.length > 0 && value.length <= max;

/**
 * A PagerDuty Events API v2 stand-in (`POST /v2/enqueue`) that enforces the documented event
 * contract and keeps the alert each dedup key names. `routingKeys` are the integration keys it
 * knows (32 characters each). See ./README.md for the rules.
 */
export async function startFakePagerDutyEvents(opts: { routingKeys: string[] }): Promise<FakePagerDutyEvents> {
  for (const key of opts.routingKeys) {
    if (key.length !== 32) throw new Error('fake PagerDuty Events: routing keys are 32 characters long');
  }
  const events: FakePagerDutyEvent[] = [];
  const alerts = new Map<string, FakePagerDutyAlert>();
  const id = (routingKey: string, dedupKey: string) => `${routingKey}\n${dedupKey}`;

  function handle(req: IncomingRequest): Answer {
    if (req.method !== 'POST' || req.path !== '/v2/enqueue') {
      return { status: 404, body: { status: 'not found', message: 'Not Found' } };
    }
    if (!isJsonContentType(req)) return invalid('Content-Type must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(req.rawBody);
    } catch {
      return invalid('Request body is not valid JSON');
    }
    const errors = validate(body, opts.routingKeys);
    if (errors.length > 0) return invalid(...errors);
    const event = body as {
      routing_key: string;
      event_action: FakePagerDutyEvent['action'];
      dedup_key?: string;
      payload?: Record<string, unknown>;
    };
    const dedupKey = event.dedup_key ?? randomBytes(16).toString('hex');
    events.push({
      routingKey: event.routing_key,
      action: event.event_action,
      dedupKey,
      payload: event.payload ? structuredClone(event.payload) : null,
      receivedAt: new Date().toISOString(),
    });
    const key = id(event.routing_key, dedupKey);
    const current = alerts.get(key);
    if (event.event_action === 'trigger') {
      const payload = event.payload!;
      const open = current && current.status !== 'resolved';
      alerts.set(key, {
        routingKey: event.routing_key,
        dedupKey,
        // A trigger for an open alert updates it; after a resolve it opens a new one.
        status: open ? current.status : 'triggered',
        summary: String(payload.summary),
        severity: payload.severity as PagerDutyEventSeverity,
        source: String(payload.source),
        customDetails: isPlainObject(payload.custom_details) ? structuredClone(payload.custom_details) : null,
        triggers: (current?.triggers ?? 0) + 1,
      });
    } else if (current && current.status !== 'resolved') {
      // Acknowledge and resolve of an unknown or resolved key are accepted and change nothing.
      current.status = event.event_action === 'acknowledge' ? 'acknowledged' : 'resolved';
    }
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? {
            status: 'throttle event',
            message: 'Requests for this service are arriving too quickly. Please retry later.',
          }
        : status === 400
          ? { status: 'invalid event', message: 'Event object is invalid', errors: ['Injected fault'] }
          : { status: 'error', message: 'Internal Server Error' },
  });
  const copy = (a: FakePagerDutyAlert) => structuredClone(a);
  return {
    ...server,
    events,
    alert(dedupKey) {
      const found = [...alerts.values()].find((a) => a.dedupKey === dedupKey);
      return found ? copy(found) : undefined;
    },
    alerts: () => [...alerts.values()].map(copy),
  };
}

/** The documented event rules; an empty list means valid. */
function validate(body: unknown, routingKeys: string[]): string[] {
  if (!isPlainObject(body)) return ['Event must be a JSON object'];
  const errors = unknownKeys(body, EVENT_FIELDS).map((k) => `Unknown field '${k}'`);
  const routingKey = body.routing_key;
  if (typeof routingKey !== 'string' || routingKey.length === 0) errors.push("'routing_key' is missing or blank");
  else if (routingKey.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  else if (!routingKeys.includes(routingKey)) errors.push("'routing_key' is not a known integration key");
  const action = body.event_action;
  if (!(ACTIONS as readonly unknown[]).includes(action)) {
    errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  }
  if (body.dedup_key !== undefined && !isText(body.dedup_key, 255)) {
    errors.push("'dedup_key' must be a non-empty string of at most 255 characters");
  }
  if ((action === 'acknowledge' || action === 'resolve') && body.dedup_key === undefined) {
    errors.push(`'dedup_key' is required to ${action}`);
  }
  if (action === 'trigger') {
    const payload = body.payload;
    if (!isPlainObject(payload)) errors.push("'payload' is required to trigger");
    else {
      errors.push(...unknownKeys(payload, PAYLOAD_FIELDS).map((k) => `Unknown field 'payload.${k}'`));
      if (!isText(payload.summary, 1024)) errors.push("'payload.summary' is missing or longer than 1024 characters");
      if (!isText(payload.source, 255)) errors.push("'payload.source' is missing or blank");
      if (!(PAGERDUTY_EVENT_SEVERITIES as readonly unknown[]).includes(payload.severity)) {
        errors.push("'payload.severity' must be one of critical, error, warning, info");
      }
      if (payload.timestamp !== undefined && Number.isNaN(Date.parse(String(payload.timestamp)))) {
        errors.push("'payload.timestamp' must be an ISO 8601 date");
      }
      for (const field of ['component', 'group', 'class'] as const) {
        if (payload[field] !== undefined && typeof payload[field] !== 'string') {
          errors.push(`'payload.${field}' must be a string`);
        }
      }
      if (payload.custom_details !== undefined && !isPlainObject(payload.custom_details)) {
        errors.push("'payload.custom_details' must be an object");
      }
    }
  } else if (body.payload !== undefined && !isPlainObject(body.payload)) {
    errors.push("'payload' must be an object");
  }
  if (body.links !== undefined) {
    const ok =
      Array.isArray(body.links) &&
      body.links.every(
        (l) => isPlainObject(l) && isText(l.href, 2048) && (l.text === undefined || typeof l.text === 'string'),
      );
    if (!ok) errors.push("'links' must be a list of { href, text? }");
  }
  if (body.images !== undefined) {
    const ok =
      Array.isArray(body.images) &&
      body.images.every((i) => isPlainObject(i) && typeof i.src === 'string' && i.src.startsWith('https://'));
    if (!ok) errors.push("'images' must be a list of { src (https), href?, alt? }");
  }
  for (const field of ['client', 'client_url'] as const) {
    if (body[field] !== undefined && typeof body[field] !== 'string') errors.push(`'${field}' must be a string`);
  }
  return errors;
}
