import { z } from 'zod';
import { EVENT_SCHEMAS } from './events.js';
import { AlertmanagerWebhookPayload, OpsgenieWebhookPayload, PagerDutyWebhookPayload } from './normalise/index.js';

export type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema (draft 2020-12) of each topic's CloudEvents envelope, generated from the same zod
 * schemas producers and consumers validate with. Other teams validate against these.
 */
export function eventJsonSchemas(): Record<keyof typeof EVENT_SCHEMAS, JsonSchema> {
  return Object.fromEntries(
    Object.entries(EVENT_SCHEMAS).map(([kind, schema]) => [
      kind,
      z.toJSONSchema(schema, { io: 'output', target: 'draft-2020-12' }),
    ]),
  ) as Record<keyof typeof EVENT_SCHEMAS, JsonSchema>;
}

/** JSON Schema of the provider webhook bodies that webhook-ingest accepts (input side). */
export function webhookPayloadJsonSchemas(): Record<'pagerduty' | 'opsgenie' | 'alertmanager', JsonSchema> {
  const input = (schema: z.ZodType) =>
    z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    pagerduty: input(PagerDutyWebhookPayload),
    opsgenie: input(OpsgenieWebhookPayload),
    alertmanager: input(AlertmanagerWebhookPayload),
  };
}
