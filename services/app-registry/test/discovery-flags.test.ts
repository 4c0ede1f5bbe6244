import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CandidateView } from '../src/discovery/candidates.js';
import type { GovernanceView } from '../src/governance.js';
import { gatewayLine, runDiscovery as run } from './discovery-support.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';
import { type FakeSmtp, type FakeWebhook, noticeReceiversEnv, startFakeSmtp, startFakeWebhook } from './receivers.js';

/*
 * What a flag brings beyond the candidate page: its ownership task listed with the apps' tasks
 * and counted in governance, and one notice per flag, to the platform's channels (Slack, the
 * signed webhook) and by email to the suggested owner when discovery knows their address (else
 * the configured fallback), however many runs, sweeps or replicas flag at the same time.
 */

const SECRET = randomBytes(24).toString('hex');
const PLATFORM_MAIL = 'platform-team@example.com';

interface Task {
  kind: 'app' | 'candidate';
  id: string;
  status: string;
  reason: string;
  appId?: string;
  candidateId?: string;
  candidate?: { label: string; kind: string; suggestedOwner: { who: string; why: string | null } | null };
  candidates: { name: string; why: string }[];
}

function cloudRunCreated(name: string, by: string, at: Date) {
  return JSON.stringify({
    insertId: `ins-${name}`,
    timestamp: at.toISOString(),
    logName: 'projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity',
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: by },
      methodName: 'google.cloud.run.v1.Services.CreateService',
      resourceName: `namespaces/acme-prod/services/${name}`,
      response: { status: { url: `https://${name}-4xkq2m3pza-ew.a.run.app` } },
    },
  });
}

describe('app-registry discovery flags: ownership tasks, governance and notices', () => {
  let h: Harness;
  let dir: string;
  let webhook: FakeWebhook;
  let smtp: FakeSmtp;

  const runDiscovery = () => run(h);
  const byLabel = async (label: string) =>
    (await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates')).body.items.find(
      (c) => c.label === label,
    );
  const tasks = async (query = '') => (await h.json<{ items: Task[] }>(`/apps/v1/ownership-tasks${query}`)).body.items;
  const flagNotices = () => webhook.deliveries.filter((d) => d.body.kind === 'candidate_flagged');
  /** Waits out delivery jobs that would come after a sweep (a notice sent twice would show here). */
  const settle = () => new Promise((r) => setTimeout(r, 2500));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'discovery-flags-'));
    webhook = await startFakeWebhook(SECRET);
    smtp = await startFakeSmtp();
    h = await startHarness({
      env: {
        DISCOVERY_DIR: dir,
        ...noticeReceiversEnv(webhook, SECRET, smtp),
        NOTICE_EMAIL_FALLBACK_TO: PLATFORM_MAIL,
      },
    });
    const now = h.clock.now();
    await mkdir(path.join(dir, 'gcp'), { recursive: true });
    await writeFile(
      path.join(dir, 'gcp', 'activity.json'),
      `${cloudRunCreated('quote-bot', 'dana@example.com', new Date(now.getTime() - 3_600_000))}\n`,
    );
    await mkdir(path.join(dir, 'gateway'), { recursive: true });
    await writeFile(
      path.join(dir, 'gateway', 'access.log'),
      `${[
        gatewayLine('rates-api.example.com', '10.1.0.7', now, 'g1'),
        gatewayLine('rates-api.example.com', '10.1.0.7', now, 'g2'),
      ].join('\n')}\n`,
    );
  });
  afterAll(async () => {
    await h?.stop();
    await Promise.allSettled([webhook?.stop(), smtp?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists nothing for a candidate that is not flagged yet; an app without an owner is a task of kind app', async () => {
    const run = await runDiscovery();
    expect(run.totals).toMatchObject({ newCandidates: 2, flagged: 0, errors: 0 });
    const ownerless = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('fax-gateway', { owner: null, ownerSubject: null, endpoints: [] })),
      token: h.tokens.responder,
    });
    expect(ownerless.status, JSON.stringify(ownerless.body)).toBe(201);

    const open = await tasks();
    expect(open).toEqual([expect.objectContaining({ kind: 'app', appId: ownerless.body.app.id, reason: 'no_owner' })]);
    expect(await tasks('?kind=candidate')).toEqual([]);
    const governance = (await h.json<GovernanceView>('/apps/v1/governance')).body;
    expect(governance.ownershipTasks).toMatchObject({ open: 1, apps: 1, candidates: 0 });
    expect(webhook.deliveries).toEqual([]);
  });

  it('a flag sends one notice, signed, to the platform channels and by email to the suggested owner (else the fallback), whatever runs and sweeps flag at once', async () => {
    h.clock.advanceDays(1 + 1 / 24);
    // A run and the hourly sweep flag at the same moment (as two replicas would): each candidate once.
    const [run] = await Promise.all([runDiscovery(), h.sweep()]);
    expect(run.status).toBe('succeeded');
    const quote = (await byLabel('quote-bot'))!;
    const rates = (await byLabel('rates-api.example.com'))!;
    expect(quote).toMatchObject({ flagged: true, suggestedOwner: { who: 'dana@example.com', why: 'creator' } });
    expect(rates).toMatchObject({ flagged: true, suggestedOwner: { who: '10.1.0.7', why: 'caller' } });

    await vi.waitFor(
      () => {
        expect(flagNotices().filter((d) => d.status === 204)).toHaveLength(2);
        expect(smtp.mails).toHaveLength(2);
        expect(h.slack.messages).toHaveLength(2);
      },
      { timeout: 30_000, interval: 200 },
    );
    const notice = (label: string) =>
      flagNotices().find((d) => (d.body.candidate as { label: string }).label === label)!;
    expect(notice('quote-bot')).toMatchObject({
      signatureValid: true,
      body: {
        type: 'app-registry.owner-notice',
        kind: 'candidate_flagged',
        title: 'Discovered container-app quote-bot is not registered',
        text: expect.stringContaining('suggested owner dana@example.com (creator)'),
        url: `https://oncall.example.com/apps/new?candidate=${quote.id}`,
        app: null,
        candidate: {
          id: quote.id,
          kind: 'container-app',
          label: 'quote-bot',
          suggestedOwner: { who: 'dana@example.com', why: 'creator' },
        },
      },
    });
    // The notice's id is the flag's ownership task's: receivers de-duplicate by it.
    expect(notice('quote-bot').noticeId).toBe(quote.taskId);
    expect(notice('rates-api.example.com').body).toMatchObject({ app: null, candidate: { id: rates.id } });

    // Email: the suggested owner, who discovery knows by address; an IP address has none: the platform's fallback.
    const to = smtp.mails.map((m) => m.to.join(',')).sort();
    expect(to).toEqual(['dana@example.com', PLATFORM_MAIL]);
    const danas = smtp.mails.find((m) => m.to.includes('dana@example.com'))!;
    // A long header is folded onto the next line; the body is quoted-printable (`=` ends a broken line).
    expect(danas.raw.replace(/\r?\n /g, ' ')).toContain(
      'Subject: [app-registry] Discovered container-app quote-bot is not registered',
    );
    expect(danas.raw.replace(/=\r?\n/g, '')).toContain(`https://oncall.example.com/apps/new?candidate=3D${quote.id}`);
    expect(h.slack.messages.map((m) => JSON.stringify(m)).join('\n')).toContain('rates-api.example.com');

    // Later runs and sweeps flag nothing again and send nothing again.
    await runDiscovery();
    h.clock.advanceDays(1 / 24);
    await h.sweep();
    await settle();
    expect(flagNotices()).toHaveLength(2);
    expect(smtp.mails).toHaveLength(2);
    expect(h.slack.messages).toHaveLength(2);
    const rows = await h.sql<{ candidate_id: string; n: number }>(
      "select candidate_id, count(*)::int as n from app_registry.notifications where kind = 'candidate_flagged' group by 1",
    );
    expect(rows.map((r) => r.n)).toEqual([1, 1]);
  });

  it('lists the flags as ownership tasks of kind candidate beside the apps’ tasks, and counts them in governance', async () => {
    const quote = (await byLabel('quote-bot'))!;
    const all = await tasks();
    expect(all.map((t) => t.kind).sort()).toEqual(['app', 'candidate', 'candidate']);
    const candidateTasks = await tasks('?kind=candidate');
    expect(candidateTasks).toHaveLength(2);
    const quoteTask = candidateTasks.find((t) => t.candidateId === quote.id);
    expect(quoteTask).toMatchObject({
      kind: 'candidate',
      id: quote.taskId,
      status: 'open',
      reason: 'unregistered_discovered',
      candidate: {
        kind: 'container-app',
        label: 'quote-bot',
        suggestedOwner: { who: 'dana@example.com', why: 'creator' },
      },
      candidates: [{ why: 'creator', name: 'dana@example.com' }],
    });
    expect((await tasks('?kind=app')).map((t) => t.kind)).toEqual(['app']);
    expect((await h.json<Task>(`/apps/v1/ownership-tasks/${quote.taskId}`)).body).toMatchObject({
      kind: 'candidate',
      candidateId: quote.id,
    });

    // Not assigned like an app's: registering (or dismissing) the candidate settles it.
    const assign = await h.json<{ error: { message: string } }>(`/apps/v1/ownership-tasks/${quote.taskId}/assign`, {
      method: 'POST',
      body: JSON.stringify({ owner: { name: 'Dana', contact: 'dana@example.com' } }),
      token: h.tokens.responder,
    });
    expect(assign.status).toBe(409);
    expect(assign.body.error.message).toMatch(/discovered candidate's: register it/);

    const governance = (await h.json<GovernanceView>('/apps/v1/governance')).body;
    expect(governance.ownershipTasks).toMatchObject({ open: 3, apps: 1, candidates: 2 });

    const registered = await h.json<Registered>(`/apps/v1/discovery/candidates/${quote.id}/register`, {
      method: 'POST',
      body: JSON.stringify(anApp('quote-bot', { runtime: 'container', endpoints: [] })),
      token: h.tokens.responder,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(await tasks('?kind=candidate')).toHaveLength(1);
    expect((await tasks('?kind=candidate&status=resolved'))[0]).toMatchObject({
      id: quote.taskId,
      status: 'resolved',
      candidate: { label: 'quote-bot', state: 'registered', appId: registered.body.app.id },
    });
    expect((await h.json<GovernanceView>('/apps/v1/governance')).body.ownershipTasks).toMatchObject({
      open: 2,
      apps: 1,
      candidates: 1,
    });
    // The governance trend counts both kinds of task too.
    h.clock.advanceDays(1);
    await h.sweep();
    const trend = (await h.json<GovernanceView>('/apps/v1/governance')).body.trend;
    expect(trend.at(-1)!.openOwnershipTasks).toBe(2);
  });
});
