import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configSchema } from './env.js';
import { type Notice, noticeRecipients, retryDelaySeconds, signBody, webhookPayload } from './notify.js';

const notice = (owner: string | null, team: string): Notice => ({
  id: '5f0c8a52-1d7e-4a8e-9a55-0f6f0a3e1c11',
  kind: 'disabled',
  createdAt: '2026-12-01T10:00:00.000Z',
  title: 'desk-booking was disabled: no activity for a while',
  text: 'desk-booking (team facilities) has had no activity since 2026-10-01 and was disabled.',
  app: {
    id: 'app_1',
    name: 'desk-booking',
    tier: 'low',
    state: 'disabled',
    owner: { name: 'Rita', contact: owner },
    team: { name: 'facilities', contact: team },
  },
});

describe('owner notices', () => {
  it('signs the exact body with HMAC-SHA256, as a receiver checks it', () => {
    const body = JSON.stringify(webhookPayload(notice('rita@example.com', '#facilities')));
    const expected = createHmac('sha256', 'a-secret-of-at-least-32-characters!!').update(body).digest('hex');
    expect(signBody('a-secret-of-at-least-32-characters!!', body)).toBe(`sha256=${expected}`);
    // One changed byte, another signature.
    expect(signBody('a-secret-of-at-least-32-characters!!', `${body} `)).not.toBe(`sha256=${expected}`);
  });

  it('emails the owner and the team when their contacts are addresses, else the fallback, else nobody', () => {
    expect(noticeRecipients(notice('Rita@Example.com', 'mailto:facilities@example.com'), undefined)).toEqual([
      'rita@example.com',
      'facilities@example.com',
    ]);
    expect(noticeRecipients(notice(null, '#facilities'), 'platform@example.com')).toEqual(['platform@example.com']);
    expect(noticeRecipients(notice('@rita on Slack', '#facilities'), undefined)).toEqual([]);
  });

  it("emails an ownership task's candidates that have an address, besides the team", () => {
    const task: Notice = {
      ...notice(null, 'facilities@example.com'),
      kind: 'ownership_task',
      candidates: [
        { name: 'facilities', contact: 'facilities@example.com' },
        { name: 'Ron Responder', contact: null },
        { name: 'Olga Owner', contact: 'Olga@Example.com' },
      ],
    };
    expect(noticeRecipients(task, 'platform@example.com')).toEqual(['facilities@example.com', 'olga@example.com']);
    expect(webhookPayload(task)).toMatchObject({ kind: 'ownership_task', candidates: task.candidates });
  });

  it("sends a flagged candidate's notice to its suggested owner when discovery knows their address, else the fallback", () => {
    const flagged = (owner: string | null): Notice => ({
      ...notice(null, '#facilities'),
      kind: 'candidate_flagged',
      app: null,
      candidate: {
        id: '0b7c2f8e-9a41-4d6b-8f0e-2a5d3c1b9e77',
        kind: 'container-app',
        key: 'resource:namespaces/acme-prod/services/quote-bot',
        label: 'quote-bot',
        suggestedOwner: owner ? { who: owner, why: 'creator' } : null,
      },
      candidates: owner ? [{ name: owner, contact: owner.includes('@') ? owner : null }] : [],
    });
    expect(noticeRecipients(flagged('dana@example.com'), 'platform@example.com')).toEqual(['dana@example.com']);
    expect(noticeRecipients(flagged('10.1.0.7'), 'platform@example.com')).toEqual(['platform@example.com']);
    expect(noticeRecipients(flagged(null), undefined)).toEqual([]);
    expect(webhookPayload(flagged('dana@example.com'))).toMatchObject({
      kind: 'candidate_flagged',
      app: null,
      candidate: { label: 'quote-bot', suggestedOwner: { who: 'dana@example.com' } },
    });
  });

  it('waits longer after each failed delivery, at most an hour', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, 30, mid))).toEqual([30, 60, 120, 240]);
    expect(retryDelaySeconds(20, 30, mid)).toBe(3600);
    expect(retryDelaySeconds(1, 30, () => 0)).toBe(24);
    expect(retryDelaySeconds(1, 30, () => 1)).toBe(36);
  });
});

describe('configuration of notices and evidence age', () => {
  const base = {
    DATABASE_URL: 'postgres://localhost/x',
    KAFKA_BROKERS: 'localhost:9092',
    OIDC_ISSUER: 'https://issuer.example.com',
    OIDC_AUDIENCE: 'oncall',
  };
  const issues = (env: Record<string, string>) => {
    const parsed = configSchema.safeParse({ ...base, ...env });
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('needs a signing secret with a webhook and a From with a relay', () => {
    expect(issues({ NOTICE_WEBHOOK_URL: 'https://hooks.example.com/x' })).toEqual([
      'NOTICE_WEBHOOK_SECRET: is required with NOTICE_WEBHOOK_URL (it signs every notice)',
    ]);
    expect(issues({ SMTP_HOST: 'smtp.example.com' })).toEqual(['NOTICE_EMAIL_FROM: is required with SMTP_HOST']);
  });

  it('reads per-kind evidence ages and names a bad pair', () => {
    const parsed = configSchema.parse({ ...base, EVIDENCE_MAX_AGE_DAYS: 'secret_scan=14, sso=400' });
    expect(parsed.EVIDENCE_MAX_AGE_DAYS).toEqual({ secret_scan: 14, sso: 400 });
    expect(configSchema.parse(base).EVIDENCE_MAX_AGE_DAYS).toEqual({});
    expect(issues({ EVIDENCE_MAX_AGE_DAYS: 'sboms=90' })).toEqual([
      expect.stringMatching(/^EVIDENCE_MAX_AGE_DAYS: "sboms=90" is not kind=days/),
    ]);
  });
});
