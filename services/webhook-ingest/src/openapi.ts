import { webhookPayloadJsonSchemas } from '@micro-oncall/incident-model';
import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';
import { z } from 'zod';

const Accepted = z.union([
  z.object({
    status: z.literal('accepted'),
    events: z.array(z.object({ id: z.string(), incidentId: z.string(), kind: z.string() })),
    duplicates: z
      .number()
      .int()
      .describe('events of this delivery that were accepted before and were not published again'),
  }),
  z.object({ status: z.literal('ignored'), eventType: z.string(), reason: z.string() }),
]);

const PROVIDERS = {
  pagerduty: 'PagerDuty Webhooks v3. Authenticated by X-PagerDuty-Signature (v1=HMAC-SHA256 of the raw body).',
  opsgenie: 'Opsgenie outgoing webhook. Authenticated by Authorization: Bearer <token> or basic auth.',
  alertmanager: 'Alertmanager webhook receiver payload (version 4); one event per alert. Bearer or basic auth.',
} as const;

/** OpenAPI 3.1 of webhook-ingest, served at /openapi.json and written to docs/api/. */
export function openApiDocument() {
  const payloads = webhookPayloadJsonSchemas();
  const operations: ApiOperation[] = Object.entries(PROVIDERS).map(([provider, description]) => ({
    method: 'post',
    path: `/v1/webhooks/${provider}`,
    summary: `Receive a ${provider} webhook`,
    description: `${description} Answers 202 only after Kafka acknowledged every new event; 503 with Retry-After when it could not be stored.`,
    role: null,
    body: { schema: payloads[provider as keyof typeof payloads] },
    responses: {
      202: {
        description: 'accepted (or an authentic event type that is not modelled, kept and ignored)',
        schema: Accepted,
      },
      401: { description: 'missing or wrong credential' },
      404: { description: 'unknown provider, or no credential configured for it' },
      413: { description: 'body larger than WEBHOOK_BODY_LIMIT_BYTES' },
      415: { description: 'not application/json' },
    },
  }));
  return buildOpenApiDocument({
    title: 'micro-oncall webhook-ingest',
    version: '1.0.0',
    description: 'Receives provider webhooks and publishes incident events to <ns>.incident-events.v1.',
    operations,
  });
}
