import { createHttpClient, type Logger } from '@micro-oncall/service-kit';
import type { DrillAlert, DrillTarget } from './types.js';

export interface AlertmanagerTargetOptions {
  /** Alertmanager's base URL (`http://alertmanager:9093`). */
  url: string;
  /** `user:password` or a bearer token, when the Alertmanager sits behind auth. */
  basicAuth?: string;
  bearerToken?: string;
  /** How often the simulator sends firing alerts again (the resend job's interval). */
  resendSeconds: number;
  timeoutMs: number;
  retries: number;
  logger: Logger;
}

/**
 * Prometheus Alertmanager API v2 (`POST /api/v2/alerts`), as a real client: an alert is its
 * label set; a firing alert is sent with `endsAt` a few resend intervals ahead (as Prometheus
 * does: 4×), and sent again before that passes, so alerts of a simulator that stopped for good
 * resolve by themselves; a resolve sends `endsAt` = now. A severity change is a new label set:
 * the old one is resolved in the same request.
 */
export function createAlertmanagerTarget(opts: AlertmanagerTargetOptions): DrillTarget {
  const authorization = opts.basicAuth
    ? `Basic ${Buffer.from(opts.basicAuth).toString('base64')}`
    : opts.bearerToken
      ? `Bearer ${opts.bearerToken}`
      : undefined;
  const client = createHttpClient({
    name: 'Alertmanager',
    baseUrl: opts.url,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    logger: opts.logger,
    ...(authorization ? { defaultHeaders: () => ({ authorization }) } : {}),
  });
  const validityMs = 4 * opts.resendSeconds * 1000;
  const post = (alerts: unknown[]) =>
    client.request({ method: 'POST', path: '/api/v2/alerts', body: alerts, idempotent: true });
  const firing = (alert: DrillAlert, now: number) => ({
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    endsAt: new Date(now + validityMs).toISOString(),
  });
  const ended = (alert: DrillAlert, now: number) => ({
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    endsAt: new Date(Math.max(now, Date.parse(alert.startsAt))).toISOString(),
  });
  return {
    kind: 'alertmanager',
    async fire(alert, previous) {
      const now = Date.now();
      await post([...(previous ? [ended(previous, now)] : []), firing(alert, now)]);
    },
    async resolve(alert, previous) {
      const now = Date.now();
      await post([...(previous ? [ended(previous, now)] : []), ended(alert, now)]);
    },
    async refresh(alerts) {
      if (alerts.length === 0) return;
      const now = Date.now();
      await post(alerts.map((a) => firing(a, now)));
    },
  };
}
