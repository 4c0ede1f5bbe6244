import { SEVERITY_LABELS } from '@micro-oncall/incident-model';
import type { Logger } from '@micro-oncall/service-kit';
import type { IncidentChange, IncidentRow } from './db/types.js';
import { type ComponentCondition, conditionText } from './provider-conditions.js';
import { createSlackNotifier } from './providers/slack.js';

/** Provider conditions named in one notice; more are summed up as "and N more". */
const MAX_CONDITIONS = 3;

/**
 * Optional Slack notices: a new critical or high incident (verified drills excluded), with the provider
 * conditions affecting its service at that moment (likely related), and every escalation made
 * from here. Failures are logged, never allowed to hold up the consumer or an action.
 */
export function createNotifications(opts: {
  slackWebhookUrl: string | undefined;
  publicUrl: string | undefined;
  logger: Logger;
  /** The provider conditions affecting a service now, worst first. */
  providerConditions?: (service: string) => Promise<ComponentCondition[]>;
}) {
  const slack = opts.slackWebhookUrl
    ? createSlackNotifier({ webhookUrl: opts.slackWebhookUrl, logger: opts.logger, dashboardUrl: opts.publicUrl ?? '' })
    : null;
  const link = (incident: IncidentRow) => (opts.publicUrl ? { url: `${opts.publicUrl}/incidents/${incident.id}` } : {});
  const send = (message: { title: string; text: string; url?: string }) => {
    slack?.notify(message).catch((error: unknown) => opts.logger.warn({ err: error }, 'Slack notice failed'));
  };
  /** " Likely related: …" lines, or nothing (also when they cannot be read: the notice goes without). */
  const providerContext = async (service: string) => {
    if (!opts.providerConditions) return '';
    try {
      const conditions = await opts.providerConditions(service);
      if (conditions.length === 0) return '';
      const more = conditions.length - MAX_CONDITIONS;
      const lines = conditions.slice(0, MAX_CONDITIONS).map((c) => `\n• ${conditionText(c)}`);
      return `\nProvider status:${lines.join('')}${more > 0 ? `\n• and ${more} more` : ''}`;
    } catch (error) {
      opts.logger.warn({ err: error, service }, 'provider conditions for a Slack notice could not be read');
      return '';
    }
  };
  return {
    onApplied(changes: IncidentChange[]) {
      for (const { before, after } of changes) {
        const urgent = after.severity === 'critical' || after.severity === 'high';
        // New, or a drill that turned out not to be one (drills.ts): unverified drill markers are notified.
        const news = !before || (before.drill && !after.drill);
        if (news && urgent && after.status === 'triggered' && !after.drill) {
          const priority = after.providerSeverity ? ` priority ${after.providerSeverity}` : '';
          void providerContext(after.service).then((context) =>
            send({
              title: `${SEVERITY_LABELS[after.severity]}: ${after.title}`,
              text: `New ${after.severity} incident on ${after.service} (${after.provider}${priority})${context}`,
              ...link(after),
            }),
          );
        }
      }
    },
    onEscalated(incident: IncidentRow, detail: string) {
      send({ title: `Escalated: ${incident.title}`, text: detail, ...link(incident) });
    },
  };
}
