import { createHmac } from 'node:crypto';
import {
  Counter,
  createHttpClient,
  defineJob,
  type JobRunner,
  type Logger,
  type Registry as MetricsRegistry,
} from '@micro-oncall/service-kit';
import { asc, eq, isNull, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import * as schema from './db/schema.js';
import { OWNERSHIP_NOTICE } from './ownership.js';
import type { Clock, Db } from './store.js';

/*
 * Owners' notices: an app will be disabled (it went idle), was disabled, was archived, will be
 * purged soon, or needs a new owner (an ownership task opened because its owner left); and
 * discovery flagged an app nobody registered (to the platform's channels and the suggested owner).
 * Each is written in the transaction of what caused it: the transition, the sweep's purge warning
 * (its id derived from the archiving: one per archiving), the ownership task or the flag (its id
 * is the task's: one per task).
 * After each sweep they are handed out, one durable job per notice and channel (Slack incoming
 * webhook, a signed webhook, email through an SMTP relay): the notice row is marked handed out
 * in the same transaction that creates its jobs (keyed by notice and channel, so handing out again
 * replaces a pending job instead of adding one). A job that cannot deliver records the error on
 * the notice and schedules its next attempt with a growing delay (at most an hour apart), so a
 * notice is never dropped, whatever the receiver does. Delivery is at least once: receivers
 * de-duplicate by the notice id. Without any channel, notices wait, visible in
 * `app_registry_notifications_pending`, and go out once one is configured.
 */

export interface Notice {
  /** The notice's id: the same on every channel and every attempt (receivers de-duplicate by it). */
  id: string;
  /**
   * What happened: `disable_warning` (the app went idle and will be disabled), `disabled`,
   * `archived`, `purge_warning` (the restore window ends soon), `ownership_task` (the owner left),
   * `candidate_flagged` (discovery found an app nobody registered a day later: `app` is null).
   */
  kind: string;
  createdAt: string;
  /** The app the notice is about; null for a discovered candidate's. */
  app: {
    id: string;
    name: string;
    tier: string | null;
    state: string;
    owner: { name: string | null; contact: string | null };
    team: { name: string; contact: string };
  } | null;
  /** A `candidate_flagged` notice: what discovery found and who is suggested to own it. */
  candidate?: {
    id: string;
    kind: string;
    key: string;
    label: string;
    suggestedOwner: { who: string; why: string | null } | null;
  };
  title: string;
  text: string;
  url?: string;
  /**
   * An `ownership_task` notice: who could own the app now (its team, recent editors, owners of the
   * team's other apps); a `candidate_flagged` one: its suggested owner (an email when the source named one).
   */
  candidates?: { name: string; contact: string | null }[];
}

export const NoticeChannel = z.enum(['slack', 'webhook', 'email']);
export type NoticeChannel = z.infer<typeof NoticeChannel>;

export interface Notifier {
  readonly channel: NoticeChannel;
  readonly configured: boolean;
  send(notice: Notice): Promise<void>;
}

/** A notice this channel can never deliver as it stands (no address): recorded, not retried. */
export class UndeliverableNotice extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndeliverableNotice';
  }
}

/** Slack's control characters in mrkdwn: `&`, `<` and `>` must be sent as entities. */
export const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function createSlackNotifier(opts: { webhookUrl: string | undefined; logger: Logger }): Notifier {
  if (!opts.webhookUrl) {
    return {
      channel: 'slack',
      configured: false,
      async send() {
        throw new Error('no Slack webhook configured (SLACK_WEBHOOK_URL)');
      },
    };
  }
  // The whole webhook URL is the base URL: no part of it reaches a log line or an error.
  const http = createHttpClient({ name: 'Slack', baseUrl: opts.webhookUrl, logger: opts.logger, retries: 2 });
  return {
    channel: 'slack',
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

/** The webhook's signature header: `sha256=` and the hex HMAC-SHA256 of the exact body with the shared secret. */
export const SIGNATURE_HEADER = 'x-notice-signature-256';

export const signBody = (secret: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/** What the webhook receives (JSON): the notice, the app and its owners. */
export const webhookPayload = (notice: Notice) => ({
  type: 'app-registry.owner-notice',
  id: notice.id,
  kind: notice.kind,
  createdAt: notice.createdAt,
  title: notice.title,
  text: notice.text,
  ...(notice.url ? { url: notice.url } : {}),
  app: notice.app,
  ...(notice.candidate ? { candidate: notice.candidate } : {}),
  ...(notice.candidates ? { candidates: notice.candidates } : {}),
});

/**
 * A generic webhook: POST of the notice as JSON, signed (`X-Notice-Signature-256`) so the
 * receiver can tell it came from the registry; `X-Notice-Id` for de-duplication. The secret only
 * signs: it is never sent, logged or put in an error.
 */
export function createWebhookNotifier(opts: {
  url: string | undefined;
  secret: string | undefined;
  logger: Logger;
}): Notifier {
  const { url, secret } = opts;
  if (!url || !secret) {
    return {
      channel: 'webhook',
      configured: false,
      async send() {
        throw new Error('no notice webhook configured (NOTICE_WEBHOOK_URL and NOTICE_WEBHOOK_SECRET)');
      },
    };
  }
  // No retries here: the delivery job retries with a growing delay. The URL never reaches a log line.
  const http = createHttpClient({ name: 'notice webhook', baseUrl: url, logger: opts.logger, retries: 0 });
  return {
    channel: 'webhook',
    configured: true,
    async send(notice) {
      const payload = webhookPayload(notice);
      // The client sends JSON.stringify of the same object: the bytes signed are the bytes sent.
      const body = JSON.stringify(payload);
      await http.request({
        method: 'POST',
        path: '',
        idempotent: true,
        headers: { [SIGNATURE_HEADER]: signBody(secret, body), 'x-notice-id': notice.id },
        body: payload,
      });
    },
  };
}

export interface SmtpSettings {
  host: string | undefined;
  port: number;
  /** `starttls`: the relay must upgrade (refused otherwise); `implicit`: TLS from the start (465); `none`: plain (a relay on localhost). */
  tls: 'starttls' | 'implicit' | 'none';
  user: string | undefined;
  password: string | undefined;
  from: string | undefined;
  /** Who gets a notice when neither the owner's nor the team's contact is an email address. */
  fallbackTo: string | undefined;
  timeoutMs?: number;
}

export const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** The owner's, the team's and any candidate owners' contacts that are email addresses; else the fallback. */
export function noticeRecipients(notice: Notice, fallbackTo: string | undefined): string[] {
  const found = [
    notice.app?.owner.contact,
    notice.app?.team.contact,
    ...(notice.candidates ?? []).map((c) => c.contact),
  ]
    .map((c) => c?.trim().replace(/^mailto:/i, ''))
    .filter((c): c is string => !!c && EMAIL.test(c));
  const unique = [...new Set(found.map((c) => c.toLowerCase()))];
  if (unique.length > 0) return unique;
  return fallbackTo ? [fallbackTo] : [];
}

/** Email through the organisation's SMTP relay (nodemailer), to the owner and the team. */
export function createEmailNotifier(opts: SmtpSettings & { logger: Logger }): Notifier {
  const { host, from } = opts;
  if (!host || !from) {
    return {
      channel: 'email',
      configured: false,
      async send() {
        throw new Error('no SMTP relay configured (SMTP_HOST and NOTICE_EMAIL_FROM)');
      },
    };
  }
  const timeout = opts.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    host,
    port: opts.port,
    secure: opts.tls === 'implicit',
    requireTLS: opts.tls === 'starttls',
    ignoreTLS: opts.tls === 'none',
    ...(opts.user ? { auth: { user: opts.user, pass: opts.password ?? '' } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // nodemailer's own logger would print the conversation: off.
    logger: false,
  });
  return {
    channel: 'email',
    configured: true,
    async send(notice) {
      const to = noticeRecipients(notice, opts.fallbackTo);
      if (to.length === 0) {
        throw new UndeliverableNotice(
          notice.app
            ? "neither the owner's nor the team's contact is an email address, and NOTICE_EMAIL_FALLBACK_TO is not set"
            : 'the suggested owner is not an email address, and NOTICE_EMAIL_FALLBACK_TO is not set',
        );
      }
      await transport.sendMail({
        from,
        to,
        subject: `[app-registry] ${notice.title}`.slice(0, 200),
        text: `${notice.text}${notice.url ? `\n\n${notice.url}` : ''}\n\n— app-registry (notice ${notice.id})\n`,
        headers: { 'X-Notice-Id': notice.id },
      });
    },
  };
}

/** Reads a notice with its app (or its discovered candidate), as the channels send it. */
async function loadNotice(db: Db, id: string, publicUrl: string | undefined): Promise<Notice | null> {
  const n = schema.notifications;
  const a = schema.apps;
  const [row] = await db
    .select({
      id: n.id,
      kind: n.kind,
      createdAt: n.createdAt,
      title: n.title,
      text: n.text,
      candidateId: n.candidateId,
      appId: a.id,
      name: a.name,
      tier: a.tier,
      state: a.state,
      ownerName: a.ownerName,
      ownerContact: a.ownerContact,
      teamName: a.teamName,
      teamContact: a.teamContact,
    })
    .from(n)
    .leftJoin(a, eq(a.id, n.appId))
    .where(eq(n.id, id));
  if (!row) return null;
  const base = publicUrl?.replace(/\/$/, '');
  const common = {
    id: row.id,
    kind: row.kind,
    createdAt: new Date(row.createdAt).toISOString(),
    title: row.title,
    text: row.text,
  };
  if (row.candidateId !== null) {
    const [c] = await db
      .select()
      .from(schema.discoveryCandidates)
      .where(eq(schema.discoveryCandidates.id, row.candidateId));
    if (!c) return null;
    const owner = c.suggestedOwner;
    return {
      ...common,
      // The registration page, filled in from what discovery found.
      ...(base ? { url: `${base}/apps/new?candidate=${c.id}` } : {}),
      app: null,
      candidate: {
        id: c.id,
        kind: c.kind,
        key: c.key,
        label: c.label,
        suggestedOwner: owner ? { who: owner, why: c.suggestedOwnerWhy } : null,
      },
      candidates: owner ? [{ name: owner, contact: EMAIL.test(owner) ? owner : null }] : [],
    };
  }
  if (row.appId === null) return null;
  // An ownership task's notice has the task's id: its candidates go to them too.
  const [task] =
    row.kind === OWNERSHIP_NOTICE
      ? await db
          .select({ candidates: schema.ownershipTasks.candidates })
          .from(schema.ownershipTasks)
          .where(eq(schema.ownershipTasks.id, row.id))
      : [];
  return {
    ...common,
    ...(base ? { url: `${base}/apps/${row.appId}` } : {}),
    app: {
      id: row.appId,
      name: row.name!,
      tier: row.tier,
      state: row.state!,
      owner: { name: row.ownerName, contact: row.ownerContact },
      team: { name: row.teamName!, contact: row.teamContact! },
    },
    ...(task ? { candidates: task.candidates.map((c) => ({ name: c.name, contact: c.contact })) } : {}),
  };
}

export const NOTICE_JOB = 'owner-notice';
const MAX_RETRY_SECONDS = 3600;

/** Seconds before attempt `attempt + 1`: `first` doubling, at most an hour, ±20 % jitter. */
export function retryDelaySeconds(attempt: number, first: number, random = Math.random): number {
  const base = Math.min(MAX_RETRY_SECONDS, first * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

const NoticeJobData = z.object({
  notificationId: z.string().uuid(),
  channel: NoticeChannel,
  attempt: z.number().int().min(1),
});

/**
 * The owners' notices: handing them out after a sweep, and the job that delivers one notice on
 * one channel (retried with backoff until it is delivered).
 */
export function createNoticeDelivery(deps: {
  db: Db;
  notifiers: Notifier[];
  jobs: () => Pick<JobRunner, 'schedule' | 'runNow'>;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  publicUrl: string | undefined;
  /** The delay before the first retry of a failed delivery (doubling after it). */
  firstRetrySeconds: number;
}) {
  const channels = new Map(deps.notifiers.filter((n) => n.configured).map((n) => [n.channel, n]));
  const delivered = new Counter({
    name: 'app_registry_notices_delivered_total',
    help: "Owners' notices delivered, by channel",
    labelNames: ['channel'] as const,
    registers: [deps.metrics],
  });
  const failed = new Counter({
    name: 'app_registry_notice_delivery_failures_total',
    help: "Failed attempts to deliver an owner's notice, by channel (each is retried later; undeliverable: no address)",
    labelNames: ['channel', 'reason'] as const,
    registers: [deps.metrics],
  });
  const key = (id: string, channel: NoticeChannel) => `${id}:${channel}`;

  async function record(id: string, error: string) {
    await deps.db
      .update(schema.notifications)
      .set({ attempts: sql`${schema.notifications.attempts} + 1`, lastError: error.slice(0, 500) })
      .where(eq(schema.notifications.id, id));
  }

  const job = defineJob({
    name: NOTICE_JOB,
    data: NoticeJobData,
    timeoutSeconds: 60,
    // Failures to deliver schedule their own next attempt (below); these retries are for a run
    // that crashed or was lost with its replica.
    retry: { limit: 5, delaySeconds: 30, backoff: true },
    async run(data, ctx) {
      const notifier = channels.get(data.channel);
      const notice = await loadNotice(deps.db, data.notificationId, deps.publicUrl);
      if (!notice) return; // the app (or the candidate) and its notices are gone
      if (!notifier) {
        ctx.logger.warn(
          { notification: notice.id, channel: data.channel },
          'notice channel no longer configured: not sent',
        );
        return;
      }
      try {
        await notifier.send(notice);
        delivered.inc({ channel: data.channel });
        ctx.logger.info(
          { notification: notice.id, appId: notice.app?.id, candidateId: notice.candidate?.id, channel: data.channel },
          'owner notice delivered',
        );
      } catch (error) {
        const message = `${data.channel}: ${(error as Error).message}`;
        await record(notice.id, message);
        if (error instanceof UndeliverableNotice) {
          failed.inc({ channel: data.channel, reason: 'undeliverable' });
          ctx.logger.warn(
            {
              notification: notice.id,
              appId: notice.app?.id,
              candidateId: notice.candidate?.id,
              channel: data.channel,
              reason: message,
            },
            'owner notice undeliverable',
          );
          return;
        }
        failed.inc({ channel: data.channel, reason: 'failed' });
        const delay = retryDelaySeconds(data.attempt, deps.firstRetrySeconds);
        await deps
          .jobs()
          .schedule(
            NOTICE_JOB,
            { ...data, attempt: data.attempt + 1 },
            { at: new Date(Date.now() + delay * 1000), key: key(notice.id, data.channel) },
          );
        ctx.logger.warn(
          {
            notification: notice.id,
            appId: notice.app?.id,
            candidateId: notice.candidate?.id,
            channel: data.channel,
            attempt: data.attempt,
            retryInSeconds: delay,
            reason: message,
          },
          'owner notice not delivered; retrying later',
        );
      }
    },
  });

  /**
   * Hands waiting notices to their channels' delivery jobs (oldest first, a batch at a time).
   * Rows are claimed with SKIP LOCKED, so two replicas never hand out the same one at once.
   */
  async function dispatch(batch = 200): Promise<{ dispatched: number }> {
    if (channels.size === 0) return { dispatched: 0 };
    let dispatched = 0;
    for (;;) {
      const n = await deps.db.transaction(async (tx) => {
        const due = await tx
          .select({ id: schema.notifications.id })
          .from(schema.notifications)
          .where(isNull(schema.notifications.sentAt))
          .orderBy(asc(schema.notifications.createdAt))
          .limit(batch)
          .for('update', { skipLocked: true });
        for (const notice of due) {
          for (const channel of channels.keys()) {
            await deps
              .jobs()
              .runNow(NOTICE_JOB, { notificationId: notice.id, channel, attempt: 1 }, { key: key(notice.id, channel) });
          }
          await tx
            .update(schema.notifications)
            .set({ sentAt: deps.clock().toISOString() })
            .where(eq(schema.notifications.id, notice.id));
        }
        return due.length;
      });
      dispatched += n;
      if (n < batch) return { dispatched };
    }
  }

  return { job, dispatch, channels: [...channels.keys()] };
}
