import { ComponentStatus } from '@micro-oncall/incident-model';
import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';
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
    responses: { 202: { description: '{ jobId } — the poll runs as the durable poll-pages job' } },
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
];

export const openApiDocument = () =>
  buildOpenApiDocument({
    title: 'status-mapper',
    version: '0.1.0',
    description: 'External provider status mapped onto internal services',
    operations: OPERATIONS,
  });
