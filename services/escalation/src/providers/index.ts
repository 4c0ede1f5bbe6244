import {
  type AlertmanagerActions,
  type AlertmanagerActionsOptions,
  createAlertmanagerActions,
} from './alertmanager.js';
import { createOpsgenieActions, type OpsgenieActionsOptions } from './opsgenie.js';
import { createPagerDutyActions, type PagerDutyActionsOptions } from './pagerduty.js';
import type { ProviderActions } from './types.js';

export {
  type AlertmanagerActions,
  type AlertmanagerActionsOptions,
  type AlertmanagerAuth,
  createAlertmanagerActions,
  DEFAULT_SILENCE_MINUTES,
  MAX_SILENCE_MINUTES,
  silenceMatchers,
} from './alertmanager.js';
export {
  createOpsgenieActions,
  OPSGENIE_API_URL,
  OPSGENIE_EU_API_URL,
  type OpsgenieActionsOptions,
} from './opsgenie.js';
export { createPagerDutyActions, PAGERDUTY_API_URL, type PagerDutyActionsOptions } from './pagerduty.js';
export {
  createSlackNotifier,
  escapeMrkdwn,
  type SlackMessage,
  type SlackNotifier,
  type SlackNotifierOptions,
} from './slack.js';
export * from './targets.js';
export * from './types.js';

export interface ProviderRegistry {
  /** The actions for an incident's provider; null when it has no action API (generic) or none is configured. */
  forProvider(provider: string): ProviderActions | null;
  /** The Alertmanager adapter when one is configured (expires silences when alerts resolve). */
  readonly alertmanager: AlertmanagerActions | null;
}

export function createProviderRegistry(opts: {
  pagerduty?: PagerDutyActionsOptions;
  opsgenie?: OpsgenieActionsOptions;
  alertmanager?: AlertmanagerActionsOptions;
}): ProviderRegistry {
  const pagerduty = opts.pagerduty ? createPagerDutyActions(opts.pagerduty) : null;
  const opsgenie = opts.opsgenie ? createOpsgenieActions(opts.opsgenie) : null;
  const alertmanager = opts.alertmanager ? createAlertmanagerActions(opts.alertmanager) : null;
  return {
    alertmanager,
    forProvider(provider) {
      if (provider === 'pagerduty') return pagerduty;
      if (provider === 'opsgenie') return opsgenie;
      if (provider === 'alertmanager') return alertmanager;
      return null;
    },
  };
}
