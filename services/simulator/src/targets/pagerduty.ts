import { DRILL_RUN_ID_LABEL, type Severity } from '@micro-oncall/incident-model';
import { createHttpClient, type Logger } from '@micro-oncall/service-kit';
import type { DrillAlert, DrillTarget } from './types.js';

/** Our severity → the Events API's four (critical, error, warning, info). */
const PAGERDUTY_SEVERITY: Readonly<Record<Severity, 'critical' | 'error' | 'warning' | 'info'>> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
  info: 'info',
};

export interface PagerDutyTargetOptions {
  /** `https://events.pagerduty.com` (or the EU host). */
  url: string;
  /** The integration's routing key; sent in the body, never logged. */
  routingKey: string;
  timeoutMs: number;
  retries: number;
  logger: Logger;
}

/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`): trigger with the alert's dedup key (a second
 * trigger updates the open alert: a severity change), resolve with the same key. The run id is
 * in `custom_details` and in the dedup key. 400 is not retried; 429 and 5xx are, with backoff
 * (Retry-After when given). Posting an event twice does no harm, so timeouts are retried too.
 */
export function createPagerDutyTarget(opts: PagerDutyTargetOptions): DrillTarget {
  const client = createHttpClient({
    name: 'PagerDuty Events',
    baseUrl: opts.url,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    logger: opts.logger,
  });
  const enqueue = (body: Record<string, unknown>) =>
    client.request({
      method: 'POST',
      path: '/v2/enqueue',
      body: { routing_key: opts.routingKey, ...body },
      idempotent: true,
    });
  return {
    kind: 'pagerduty',
    async fire(alert: DrillAlert) {
      const runbook = alert.annotations.runbook_url;
      await enqueue({
        event_action: 'trigger',
        dedup_key: alert.dedupKey,
        payload: {
          summary: alert.annotations.summary,
          source: alert.service,
          severity: PAGERDUTY_SEVERITY[alert.severity],
          timestamp: alert.startsAt,
          component: alert.service,
          class: alert.labels.alertname,
          custom_details: {
            drill: true,
            [DRILL_RUN_ID_LABEL]: alert.runId,
            drill_scenario: alert.labels.drill_scenario,
            drill_alert: alert.key,
            environment: alert.labels.environment,
            severity: alert.severity,
            ...(alert.annotations.description ? { description: alert.annotations.description } : {}),
            labels: alert.labels,
          },
        },
        ...(runbook ? { links: [{ href: runbook, text: 'Runbook' }] } : {}),
        client: 'micro-oncall simulator',
      });
    },
    async resolve(alert: DrillAlert) {
      await enqueue({ event_action: 'resolve', dedup_key: alert.dedupKey });
    },
  };
}
