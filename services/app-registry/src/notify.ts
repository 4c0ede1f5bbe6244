import { createHttpClient, type Logger } from '@micro-oncall/service-kit';
import { and, asc, eq, isNull, lt, sql } from 'drizzle-orm';
import * as schema from './db/schema.js';
import type { Clock, Db } from './store.js';

/*
 * Owners' notices (an app disabled, archived): written in the transaction of the transition,
 * delivered here afterwards, at least once, to a Slack incoming webhook through the kit's
 * outbound client (timeout, retries, circuit breaker). Without a webhook they wait, visible in
 * `app_registry_notifications_pending`, and go out once one is configured.
 */

export interface Notice {
  title: string;
  text: string;
  url?: string;
}

export interface Notifier {
  readonly configured: boolean;
  send(notice: Notice): Promise<void>;
}

const MAX_ATTEMPTS = 10;

/** Slack's control characters in mrkdwn: `&`, `<` and `>` must be sent as entities. */
export const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function createSlackNotifier(opts: { webhookUrl: string | undefined; logger: Logger }): Notifier {
  if (!opts.webhookUrl) {
    return {
      configured: false,
      async send() {
        throw new Error('no Slack webhook configured (SLACK_WEBHOOK_URL)');
      },
    };
  }
  // The whole webhook URL is the base URL: no part of it reaches a log line or an error.
  const http = createHttpClient({ name: 'Slack', baseUrl: opts.webhookUrl, logger: opts.logger, retries: 2 });
  return {
    configured: true,
    async send(notice) {
      const title = escapeMrkdwn(notice.title.slice(0, 200));
      const text = escapeMrkdwn(notice.text.slice(0, 2500));
      const heading = notice.url ? `*<${escapeMrkdwn(notice.url)}|${title}>*` : `*${title}*`;
      await http.request({
        method: 'POST',
        path: '',
        // A notice posted twice is better than one lost: repeat after timeouts and 5xx.
        idempotent: true,
        body: {
          text: `${title}: ${text}`,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `${heading}\n${text}` } }],
        },
      });
    },
  };
}

/**
 * Sends waiting notices (oldest first, a batch at a time). Rows are claimed with SKIP LOCKED, so
 * two replicas never send the same one at once; a failed send is retried at the next run.
 */
export async function deliverNotifications(deps: {
  db: Db;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  publicUrl: string | undefined;
  batch?: number;
}): Promise<{ sent: number; failed: number }> {
  if (!deps.notifier.configured) return { sent: 0, failed: 0 };
  let sent = 0;
  let failed = 0;
  await deps.db.transaction(async (tx) => {
    const due = await tx
      .select()
      .from(schema.notifications)
      .where(and(isNull(schema.notifications.sentAt), lt(schema.notifications.attempts, MAX_ATTEMPTS)))
      .orderBy(asc(schema.notifications.createdAt))
      .limit(deps.batch ?? 50)
      .for('update', { skipLocked: true });
    for (const n of due) {
      try {
        await deps.notifier.send({
          title: n.title,
          text: n.text,
          ...(deps.publicUrl ? { url: `${deps.publicUrl.replace(/\/$/, '')}/apps/v1/apps/${n.appId}` } : {}),
        });
        await tx
          .update(schema.notifications)
          .set({ sentAt: deps.clock().toISOString(), attempts: sql`${schema.notifications.attempts} + 1` })
          .where(eq(schema.notifications.id, n.id));
        sent += 1;
      } catch (error) {
        failed += 1;
        deps.logger.warn(
          { err: error, notification: n.id, appId: n.appId },
          'owner notice not sent; retrying at the next run',
        );
        await tx
          .update(schema.notifications)
          .set({
            attempts: sql`${schema.notifications.attempts} + 1`,
            lastError: (error as Error).message.slice(0, 500),
          })
          .where(eq(schema.notifications.id, n.id));
      }
    }
  });
  return { sent, failed };
}
