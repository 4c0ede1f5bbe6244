import { ComponentStatus, ProviderStatusChange } from '@micro-oncall/incident-model';
import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { HealthEventBridgeEvent } from './aws-health.js';
import { ComponentsQuery } from './routes/status.js';
import { ComponentUpdateWebhook, IncidentUpdateWebhook } from './statuspage.js';

const Component = z.object({
  key: z.string(),
  pageId: z.string(),
  provider: z.string(),
  id: z.string(),
  name: z.string(),
  group: z.object({ id: z.string(), name: z.string() }).nullable(),
  status: ComponentStatus,
  since: z.string(),
  stale: z.object({ since: z.string(), reason: z.string().nullable(), lastKnown: ComponentStatus }).nullable(),
});

const InternalStatus = z.object({
  services: z.array(
    z.object({
      service: z.string(),
      status: ComponentStatus,
      since: z.string().nullable(),
      components: z.array(Component),
      incidents: z.array(
        z.object({
          pageId: z.string(),
          provider: z.string(),
          id: z.string(),
          name: z.string(),
          status: z.string(),
          impact: z.string(),
          shortlink: z.string().nullable(),
          latestUpdate: z.string().nullable(),
          components: z.array(z.string()),
        }),
      ),
    }),
  ),
});

const MappingAnswer = z.object({
  source: z.object({
    file: z.string().nullable(),
    hash: z.string().nullable().describe('sha256 (hex) of the file content in force'),
    loadedAt: z.string().nullable(),
    checkedAt: z.string().nullable(),
    lastReloadError: z
      .object({ at: z.string(), hash: z.string().nullable(), problems: z.array(z.string()) })
      .nullable()
      .describe('Set while the file on disk is rejected (the previous mapping stays in force); problems name the line'),
  }),
  rules: z.array(
    z.object({
      name: z.string(),
      page: z.string(),
      component: z.string().optional(),
      group: z.string().optional(),
      namePattern: z.string().optional(),
      aws: z
        .object({ service: z.string(), region: z.string().optional(), availabilityZone: z.string().optional() })
        .optional(),
      services: z.array(z.string()),
      components: z.number().int().describe('known provider components the rule matches'),
    }),
  ),
  unmapped: z.array(Component.pick({ key: true, pageId: true, provider: true, id: true, name: true, group: true })),
  unmatchedRules: z.array(z.string()),
  unknownServices: z
    .array(z.object({ service: z.string(), rules: z.array(z.string()) }))
    .nullable()
    .describe("Mapped services escalation's catalogue does not know; null when the catalogue could not be asked"),
  catalogue: z.union([
    z.object({ available: z.literal(true), fetchedAt: z.string(), services: z.number().int() }),
    z.object({ available: z.literal(false), reason: z.string() }),
  ]),
});

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/status/internal',
    summary: 'Per internal service: the worst provider condition affecting it, since when, and what is behind it',
    description:
      'Services come from the mapping file, worst first. A service none of whose components has been seen reads unknown. ' +
      'Weak ETag: send If-None-Match to get 304 when nothing changed.',
    role: 'viewer',
    responses: {
      200: { description: 'Internal services', schema: InternalStatus },
      304: { description: 'Not modified' },
    },
  },
  {
    method: 'get',
    path: '/status/v1/sources',
    summary: 'The configured status pages: last poll, failing since and why, stale since',
    role: 'viewer',
    responses: { 200: { description: '{ items: source[] }' } },
  },
  {
    method: 'post',
    path: '/status/v1/sources/poll',
    summary: 'Poll every configured page now (once), whatever its next time',
    role: 'responder',
    responses: { 202: { description: '{ jobId } — the poll runs as the durable poll-pages-now job' } },
  },
  {
    method: 'get',
    path: '/status/v1/components',
    summary: 'Every provider component with its condition and the internal services it maps to',
    description: '`unmapped=true` lists the components no mapping rule matches.',
    role: 'viewer',
    query: ComponentsQuery,
    responses: { 200: { description: '{ items: (component & { services: string[] })[] }' } },
  },
  {
    method: 'get',
    path: '/status/v1/mapping',
    summary:
      "The mapping in force: its source and reload state, its rules, what it leaves out, and services escalation's catalogue does not know",
    description:
      'The mapping file is reloaded without a restart; a rejected reload keeps the previous mapping and shows in ' +
      "`source.lastReloadError`. `unknownServices` is checked against escalation's GET /v1/services, asked with the " +
      "caller's own bearer token; when escalation cannot be asked, `catalogue.available` is false with the reason and " +
      '`unknownServices` is null.',
    role: 'viewer',
    responses: { 200: { description: 'The mapping report', schema: MappingAnswer } },
  },
  {
    method: 'get',
    path: '/status/v1/stream',
    summary:
      'Server-Sent Events: provider component condition changes as they are committed (event id = change position; send Last-Event-ID to catch up)',
    description:
      'Events: `change` (id = the change position; data = the ProviderStatusChange with `services`, the internal ' +
      'services the component maps to now), `ready` (caught up, `{ lastEventId }`), `reset` (more changes were missed ' +
      'than are replayed, or a position this server never had: re-read `reread` (/status/internal), then follow from ' +
      '`lastEventId`), `end` (`reason`: `credential_expired` when the bearer token expires). `: keep-alive` comments ' +
      'every STATUS_STREAM_HEARTBEAT_SECONDS. Changes committed by any replica reach the streams of every replica. ' +
      'A client that does not keep up is disconnected and reconnects with Last-Event-ID. Streams are capped per ' +
      'replica (503 with Retry-After) and per user (429 with Retry-After).',
    role: 'viewer',
    query: z.object({ since: z.string().regex(/^\d+$/).optional() }),
    headers: {
      'Last-Event-ID': {
        description: 'The id of the last event received: the stream first sends the changes after it',
      },
    },
    responses: {
      200: {
        description: "text/event-stream; the schema is each `change` event's data",
        contentType: 'text/event-stream',
        schema: ProviderStatusChange,
      },
      429: { description: 'too many streams of this user on this server; retry after Retry-After seconds' },
      503: { description: 'this server serves its maximum of streams; retry after Retry-After seconds' },
    },
  },
  {
    method: 'get',
    path: '/status/feed.atom',
    summary: 'Atom 1.0 feed of provider component changes and provider incident updates, newest first (100 entries)',
    description:
      'For feed readers and chat tools. Entry ids are stable (`urn:uuid:`, from the change id or the incident state), ' +
      'titles read "Cloudflare — CDN Edge: major outage", the text summary names the affected internal services. ' +
      "Read with a viewer bearer JWT or, for tools that cannot send one, `?token=` with the feed's read token " +
      '(STATUS_FEED_TOKEN; a wrong one is 401, also beside a valid JWT). Weak ETag: send If-None-Match to get 304.',
    role: 'viewer',
    query: z.object({
      token: z.string().optional().describe("The feed's read token, instead of a bearer JWT"),
    }),
    headers: { 'If-None-Match': { description: 'An ETag from an earlier answer: 304 while the feed is the same' } },
    responses: {
      200: { description: 'application/atom+xml; charset=utf-8', contentType: 'application/atom+xml' },
      304: { description: 'Not modified' },
    },
  },
  {
    method: 'post',
    path: '/status/v1/webhooks/statuspage',
    summary: 'Statuspage webhook subscription (component update or incident update)',
    description:
      'Authenticated by the secret token in the subscription URL (`?token=`) or `X-Webhook-Token`. ' +
      'Bad token 401, malformed payload or unknown page 400; nothing is stored then.',
    role: null,
    security: 'webhook',
    body: { schema: z.union([ComponentUpdateWebhook, IncidentUpdateWebhook]) },
    responses: {
      202: { description: '{ accepted: true, events: number } — events = provider-status changes written' },
      400: { description: 'Malformed payload or a page that is not a configured source' },
      401: { description: 'Missing or wrong token' },
      404: { description: 'Webhooks not configured' },
    },
  },
  {
    method: 'post',
    path: '/status/v1/webhooks/aws-health',
    summary: 'AWS Health Event delivered by an EventBridge API destination',
    description:
      "Authenticated by the API destination connection's credential: its API key in the configured header " +
      '(`X-Api-Key` by default) or Basic credentials. At least once: a redelivery, or an update older than the one ' +
      'held, changes nothing. Bad credential 401, malformed payload (the field named) or an account no aws-health ' +
      'source takes 400; nothing is stored then. A service or region no source watches: 202 with `ignored`.',
    role: null,
    security: 'webhook',
    body: { schema: HealthEventBridgeEvent },
    responses: {
      202: {
        description: '{ accepted: true, events: number, ignored?: string } — events = provider-status changes written',
      },
      400: { description: 'Malformed payload, or an account no aws-health source takes' },
      401: { description: 'Missing or wrong credential' },
      404: { description: 'AWS Health deliveries not configured' },
      413: { description: 'Larger than 256 KB' },
    },
  },
];

export const openApiDocument = () =>
  buildOpenApiDocument({
    title: 'status-mapper',
    version: '0.1.0',
    description: 'External provider status mapped onto internal services',
    operations: OPERATIONS,
  });
