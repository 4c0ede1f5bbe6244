import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppView } from '../src/model.js';
import { anApp, DAY, type Harness, type Registered, startHarness } from './helpers.js';
import { type FakeSmtp, type FakeWebhook, noticeReceiversEnv, startFakeSmtp, startFakeWebhook } from './receivers.js';

/*
 * Owners' notices beyond Slack: a signed webhook and email through an SMTP relay, each delivered
 * by a durable job that retries a receiver that is down until it takes the notice. And evidence
 * that grows too old: the sweep decides the app again and the control fails, saying how old.
 */
/** The webhook's signing secret, made for this run (never a literal in the repository). */
const SECRET = randomBytes(24).toString('hex');

describe('app-registry owner notices by webhook and email; evidence age', () => {
  let h: Harness;
  let webhook: FakeWebhook;
  let smtp: FakeSmtp;

  beforeAll(async () => {
    webhook = await startFakeWebhook(SECRET);
    smtp = await startFakeSmtp();
    h = await startHarness({
      env: {
        IDLE_AFTER_DAYS_LOW: '30',
        DISABLE_AFTER_IDLE_DAYS: '14',
        ARCHIVE_AFTER_DISABLED_DAYS: '7',
        ...noticeReceiversEnv(webhook, SECRET, smtp),
        EVIDENCE_MAX_AGE_DAYS: 'sso=10',
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.allSettled([webhook?.stop(), smtp?.stop()]);
  });

  const app = async (id: string) => (await h.json<AppView>(`/apps/v1/apps/${id}`)).body;

  const ofKind = (kind: string) => webhook.deliveries.filter((d) => d.body.kind === kind);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  /** Waits out the delivery jobs a sweep may have started (retries come after a second here). */
  const settle = () => new Promise((r) => setTimeout(r, 2500));

  it('delivers a lifecycle notice to the webhook, signed, and by email to the owner; receivers that are down get it later, once', async () => {
    const res = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('desk-booking')),
      token: h.tokens.responder,
    });
    expect(res.status).toBe(201);
    const { id } = res.body.app;

    // It goes idle: the owner is warned of the day it will be disabled (14 days on), once.
    h.clock.advanceDays(31);
    const disableOn = day(h.clock.now().getTime() + 14 * DAY);
    await h.sweep();
    expect((await app(id)).state).toBe('idle');
    await vi.waitFor(
      () => {
        expect(ofKind('disable_warning')).toHaveLength(1);
        expect(smtp.mails).toHaveLength(1);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(ofKind('disable_warning')[0]).toMatchObject({
      status: 204,
      signatureValid: true,
      body: {
        title: `desk-booking will be disabled on ${disableOn}`,
        text: expect.stringContaining(`It will be disabled on ${disableOn} unless there is activity or an exemption.`),
        app: { id, state: 'idle' },
      },
    });
    expect(smtp.mails[0]!.raw).toContain(`Subject: [app-registry] desk-booking will be disabled on ${disableOn}`);
    h.clock.advanceDays(1);
    await h.sweep();
    await settle();
    expect(webhook.deliveries).toHaveLength(1);

    // Both receivers are down when the next notice is written: the webhook twice, the relay once.
    webhook.failNext(503, 2);
    smtp.failNext(1);
    h.clock.advanceDays(14);
    await h.sweep();
    expect((await app(id)).state).toBe('disabled');

    await vi.waitFor(
      () => {
        expect(ofKind('disabled').filter((d) => d.status === 204)).toHaveLength(1);
        expect(smtp.mails).toHaveLength(2);
      },
      { timeout: 30_000, interval: 200 },
    );
    // Retried: two refused deliveries before the one taken, every one signed, all the same notice.
    expect(ofKind('disabled').map((d) => d.status)).toEqual([503, 503, 204]);
    expect(webhook.deliveries.every((d) => d.signatureValid)).toBe(true);
    expect(new Set(ofKind('disabled').map((d) => d.noticeId)).size).toBe(1);
    const delivered = ofKind('disabled')[2]!;
    expect(delivered.body).toMatchObject({
      type: 'app-registry.owner-notice',
      id: delivered.noticeId,
      kind: 'disabled',
      title: 'desk-booking was disabled: no activity for a while',
      url: `https://oncall.example.com/apps/${id}`,
      app: {
        id,
        name: 'desk-booking',
        state: 'disabled',
        owner: { name: 'Rita Requester', contact: 'rita@example.com' },
        team: { name: 'finance-tools', contact: '#finance-tools' },
      },
    });

    // The owner's email address (the team's contact is a channel, not an address).
    const mail = smtp.mails[1];
    expect(mail).toMatchObject({ from: 'app-registry@example.com', to: ['rita@example.com'] });
    expect(mail!.raw).toContain('Subject: [app-registry] desk-booking was disabled: no activity for a while');
    expect(mail!.raw.toLowerCase()).toContain(`x-notice-id: ${delivered.noticeId}`);
    // The body is quoted-printable: long lines are broken with a trailing `=`.
    const body = mail!.raw.replace(/=\r?\n/g, '');
    expect(body).toContain('desk-booking (team finance-tools) has had no activity since');
    expect(body).toContain(`https://oncall.example.com/apps/${id}`);

    // The failures were recorded on the notice (the secret nowhere), and nothing is sent twice.
    const [row] = await h.sql<{ attempts: number; last_error: string; sent_at: string | null }>(
      "select attempts, last_error, sent_at from app_registry.notifications where app_id = $1 and kind = 'disabled'",
      [id],
    );
    expect(row).toMatchObject({ attempts: 3, sent_at: expect.anything() });
    expect(row!.last_error).not.toContain(SECRET);
    await h.sweep();
    await settle();
    expect(webhook.deliveries).toHaveLength(4);
    expect(smtp.mails).toHaveLength(2);
    // Slack, configured too, got each once.
    expect(h.slack.messages).toHaveLength(2);

    // Archived 7 days later; 90 days to restore it. Warned once, 7 days before the purge.
    h.clock.advanceDays(8);
    await h.sweep();
    const archived = await app(id);
    expect(archived.state).toBe('archived');
    const purgeOn = day(new Date(archived.lifecycle.restorableUntil!).getTime());
    h.clock.advanceDays(82); // 8 days left: not yet
    await h.sweep();
    await settle();
    expect(ofKind('purge_warning')).toHaveLength(0);
    h.clock.advanceDays(2); // 6 days left
    await h.sweep();
    await vi.waitFor(() => expect(ofKind('purge_warning')).toHaveLength(1), { timeout: 30_000, interval: 200 });
    expect(ofKind('purge_warning')[0]).toMatchObject({
      status: 204,
      body: {
        title: `desk-booking will be purged on ${purgeOn}`,
        text: expect.stringContaining('Restore it before then'),
        app: { id, state: 'archived' },
      },
    });
    // Later sweeps inside the warning window send nothing more; then the purge comes.
    await h.sweep();
    h.clock.advanceDays(3);
    await h.sweep();
    await settle();
    expect(ofKind('purge_warning')).toHaveLength(1);
    h.clock.advanceDays(4);
    await h.sweep();
    expect((await app(id)).state).toBe('purged');
    const kinds = await h.sql<{ kind: string }>(
      'select kind from app_registry.notifications where app_id = $1 order by created_at',
      [id],
    );
    expect(kinds.map((k) => k.kind)).toEqual(['disable_warning', 'disabled', 'archived', 'purge_warning']);
  });

  it('fails a control whose evidence grew older than its kind may be, naming the evidence and its age', async () => {
    const res = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(
        anApp('room-signage', {
          impact: 'business_helpful',
          exposure: 'authenticated_api',
          idpClientIds: ['0oa-room-signage'],
        }),
      ),
      token: h.tokens.responder,
    });
    expect(res.status).toBe(201);
    const { id } = res.body.app;
    const posted = await h.json<{ app: AppView }>(`/apps/v1/apps/${id}/evidence`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'sso', clientId: '0oa-room-signage' }),
      token: res.body.token,
    });
    expect(posted.status).toBe(201);
    const sso = async () => (await app(id)).decision?.controls.find((c) => c.id === 'sso');
    expect(await sso()).toMatchObject({ status: 'satisfied' });

    // Ten days old still counts (EVIDENCE_MAX_AGE_DAYS=sso=10); the sweep after that does not.
    h.clock.advanceDays(10);
    await h.sweep();
    expect(await sso()).toMatchObject({ status: 'satisfied' });
    h.clock.advanceDays(2);
    await h.sweep();
    const control = await sso();
    expect(control).toMatchObject({ status: 'failing' });
    expect(control!.message).toMatch(
      /^the SSO client id is 12 days old \(posted \d{4}-\d{2}-\d{2}\); evidence older than 10 days does not count$/,
    );
    expect(control!.fix).toMatch(/^post a fresh SSO client id from the pipeline/);
    const violations = await h.json<{ items: { appId: string; controls: { id: string }[] }[] }>('/apps/v1/violations');
    expect(JSON.stringify(violations.body)).toContain('12 days old');

    // A fresh document meets the control again.
    await h.json(`/apps/v1/apps/${id}/evidence`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'sso', clientId: '0oa-room-signage' }),
      token: res.body.token,
    });
    expect(await sso()).toMatchObject({ status: 'satisfied' });
  });
});
