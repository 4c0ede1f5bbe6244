import { SEVERITY_LABELS } from '@micro-oncall/incident-model';
import type { Logger } from '@micro-oncall/service-kit';
import type { IncidentChange, IncidentRow } from './db/types.js';
import { createSlackNotifier } from './providers/slack.js';

/**
 * Optional Slack notices: a new critical or high incident (drills excluded) and every escalation made
 * from here. Failures are logged, never allowed to hold up the consumer or an action.
 */
export function createNotifications(opts: {
  slackWebhookUrl: string | undefined;
  publicUrl: string | undefined;
  logger: Logger;
}) {
  const slack = opts.slackWebhookUrl
    ? createSlackNotifier({ webhookUrl: opts.slackWebhookUrl, logger: opts.logger, dashboardUrl: opts.publicUrl ?? '' })
    : null;
  const link = (incident: IncidentRow) => (opts.publicUrl ? { url: `${opts.publicUrl}/incidents/${incident.id}` } : {});
  const send = (message: { title: string; text: string; url?: string }) => {
    slack?.notify(message).catch((error: unknown) => opts.logger.warn({ err: error }, 'Slack notice failed'));
  };
  return {
    onApplied(changes: IncidentChange[]) {
      for (const { before, after } of changes) {
        const urgent = after.severity === 'critical' || after.severity === 'high';
        if (!before && urgent && after.status === 'triggered' && !after.drill) {
          const priority = after.providerSeverity ? ` priority ${after.providerSeverity}` : '';
          send({
            title: `${SEVERITY_LABELS[after.severity]}: ${after.title}`,
            text: `New ${after.severity} incident on ${after.service} (${after.provider}${priority})`,
            ...link(after),
          });
        }
      }
    },
    onEscalated(incident: IncidentRow, detail: string) {
      send({ title: `Escalated: ${incident.title}`, text: detail, ...link(incident) });
    },
  };
}
