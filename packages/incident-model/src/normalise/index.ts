import { normaliseAlertmanager } from './alertmanager.js';
import { normaliseOpsgenie } from './opsgenie.js';
import { normalisePagerDuty } from './pagerduty.js';
import type { Normaliser } from './types.js';

export { AlertmanagerWebhookPayload, normaliseAlertmanager } from './alertmanager.js';
export { alertmanagerFingerprint } from './fingerprint.js';
export { normaliseOpsgenie, OPSGENIE_ACTION_KINDS, OPSGENIE_DRILL_TAGS, OpsgenieWebhookPayload } from './opsgenie.js';
export { normalisePagerDuty, PAGERDUTY_INCIDENT_EVENT_KINDS, PagerDutyWebhookPayload } from './pagerduty.js';
export type { NormaliseContext, NormaliseResult, Normaliser, ValidationIssue } from './types.js';
export { storable, truncate } from './util.js';

/** The normaliser for each provider that sends webhooks in its own format. */
export const NORMALISERS = {
  pagerduty: normalisePagerDuty,
  opsgenie: normaliseOpsgenie,
  alertmanager: normaliseAlertmanager,
} as const satisfies Record<'pagerduty' | 'opsgenie' | 'alertmanager', Normaliser>;
