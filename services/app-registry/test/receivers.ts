import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/*
 * Stand-ins for the owners' notice receivers: a webhook that checks the registry's signature the
 * way a real receiver must (HMAC-SHA256 of the exact body bytes with the shared secret, compared in
 * constant time), and an SMTP relay that accepts mail on loopback and keeps what it received.
 */

export interface WebhookDelivery {
  noticeId: string | undefined;
  /** Whether `X-Notice-Signature-256` is the HMAC of the body with the secret. */
  signatureValid: boolean;
  body: Record<string, unknown>;
  status: number;
}

export interface FakeWebhook {
  url: string;
  deliveries: WebhookDelivery[];
  /** Answers the next `times` deliveries with `status` (a receiver that is down). */
  failNext(status: number, times: number): void;
  stop(): Promise<void>;
}

export async function startFakeWebhook(secret: string): Promise<FakeWebhook> {
  const deliveries: WebhookDelivery[] = [];
  let failing = { status: 0, times: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-notice-signature-256'] ?? ''));
      const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
      let status = signatureValid ? 204 : 401;
      if (failing.times > 0) {
        failing.times -= 1;
        status = failing.status;
      }
      deliveries.push({
        noticeId: req.headers['x-notice-id'] as string | undefined,
        signatureValid,
        body: JSON.parse(raw.toString('utf8') || 'null') as Record<string, unknown>,
        status,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/app-notices`,
    deliveries,
    failNext(status, times) {
      failing = { status, times };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  /** The message as sent (headers and body). */
  raw: string;
}

export interface FakeSmtp {
  host: string;
  port: number;
  mails: ReceivedMail[];
  /** Refuses the next `times` messages with a temporary failure (451). */
  failNext(times: number): void;
  stop(): Promise<void>;
}

export async function startFakeSmtp(): Promise<FakeSmtp> {
  const mails: ReceivedMail[] = [];
  let refuse = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refuse > 0) {
          refuse -= 1;
          const error = new Error('try again later') as Error & { responseCode: number };
          error.responseCode = 451;
          callback(error);
          return;
        }
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    mails,
    failNext(times) {
      refuse = times;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The service's settings for these receivers: every notice to the webhook (signed with `secret`) and by email through the relay, retried after a second. */
export function noticeReceiversEnv(webhook: FakeWebhook, secret: string, smtp: FakeSmtp): Record<string, string> {
  return {
    NOTICE_WEBHOOK_URL: webhook.url,
    NOTICE_WEBHOOK_SECRET: secret,
    SMTP_HOST: smtp.host,
    SMTP_PORT: String(smtp.port),
    SMTP_TLS: 'none',
    NOTICE_EMAIL_FROM: 'App registry <app-registry@example.com>',
    NOTICE_RETRY_FIRST_SECONDS: '1',
  };
}
