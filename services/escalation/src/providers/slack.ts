import { createHttpClient, type Logger } from '@micro-oncall/service-kit';
import type { ProviderHttpOptions } from './types.js';

export interface SlackNotifierOptions {
  /** The incoming-webhook URL. It is the credential: it is never logged nor put in an error. */
  webhookUrl: string;
  logger: Logger;
  /** Where the message links to when it has no `url` of its own; relative `url`s resolve against it. */
  dashboardUrl: string;
  http?: ProviderHttpOptions;
}

export interface SlackMessage {
  title: string;
  text: string;
  url?: string;
}

export interface SlackNotifier {
  /** Resolves when Slack answered `ok`; throws UpstreamError (Slack's error text) or DependencyUnavailableError. */
  notify(message: SlackMessage): Promise<void>;
}

const MAX_TEXT = 2500;
const MAX_TITLE = 200;

/** Posts notices to a Slack incoming webhook as Block Kit with a plain-text fallback. */
export function createSlackNotifier(opts: SlackNotifierOptions): SlackNotifier {
  // The whole webhook URL is the base URL, so that no part of it reaches the client's log lines.
  const http = createHttpClient({ name: 'Slack', baseUrl: opts.webhookUrl, logger: opts.logger, ...opts.http });
  return {
    async notify(message) {
      const title = escapeMrkdwn(cut(message.title, MAX_TITLE));
      const text = escapeMrkdwn(cut(message.text, MAX_TEXT));
      const link = escapeMrkdwn(linkFor(message.url, opts.dashboardUrl));
      await http.request({
        method: 'POST',
        path: '',
        // A notice posted twice is better than a notice lost: repeat it after timeouts and 5xx.
        idempotent: true,
        body: {
          text: `${title}: ${text}`,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*<${link}|${title}>*\n${text}` } }],
        },
      });
    },
  };
}

/** Slack's control characters in mrkdwn: `&`, `<` and `>` must be sent as entities. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `url` (absolute, or relative to the dashboard), else the dashboard itself. */
function linkFor(url: string | undefined, dashboardUrl: string): string {
  try {
    return new URL(url ?? '', dashboardUrl).toString();
  } catch {
    return dashboardUrl;
  }
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
