import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CandidateView } from '../src/discovery/candidates.js';
import type { AppView } from '../src/model.js';
import { ACCOUNT, createFunction, DANA, gatewayLine, runDiscovery as run } from './discovery-support.js';
import { anApp, DAY, type Harness, type Registered, startHarness } from './helpers.js';

/*
 * Discovery over a folder of sources on the test's clock: a CloudTrail log with a Lambda function
 * an unregistered user created, an API Gateway access log with traffic to an unknown host and to
 * a registered app, a corrupt gzip and a misconfigured source.
 */

const TRAIL = `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/2026/12/01/${ACCOUNT}_CloudTrail_eu-west-1_20261201T1000Z_a1b2.json.gz`;

describe('app-registry discovery', () => {
  let h: Harness;
  let dir: string;
  let ledger: AppView;
  /** Registered with ledger, never seen in any log: it idles. */
  let quiet: AppView;
  const gatewayLog = () => path.join(dir, 'gateway', 'access.log');

  const runDiscovery = () => run(h);
  const candidates = async (query = '') =>
    (await h.json<{ items: CandidateView[] }>(`/apps/v1/discovery/candidates${query}`)).body.items;
  const byLabel = async (label: string) => (await candidates()).find((c) => c.label === label);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'discovery-'));
    h = await startHarness({ env: { DISCOVERY_DIR: dir, IDLE_AFTER_DAYS_LOW: '30', IDLE_AFTER_DAYS_MEDIUM: '30' } });
    const now = h.clock.now();

    const registered = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('ledger', { endpoints: [{ host: 'ledger.apps.example.com' }] })),
      token: h.tokens.responder,
    });
    expect(registered.status).toBe(201);
    ledger = registered.body.app;
    const other = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('quiet-tool', { endpoints: [{ host: 'quiet-tool.apps.example.com' }] })),
      token: h.tokens.responder,
    });
    expect(other.status).toBe(201);
    quiet = other.body.app;

    const trail = path.join(dir, 'cloudtrail', TRAIL);
    await mkdir(path.dirname(trail), { recursive: true });
    await writeFile(
      trail,
      gzipSync(
        JSON.stringify({ Records: [createFunction('thumbnailer', new Date(now.getTime() - 3_600_000), 'ev-1')] }),
      ),
    );

    await mkdir(path.join(dir, 'gateway'), { recursive: true });
    await writeFile(
      gatewayLog(),
      `${[
        gatewayLine('shadow-api.example.com', '10.0.0.7', now, 'r1'),
        gatewayLine('shadow-api.example.com', '10.0.0.7', now, 'r2'),
        gatewayLine('shadow-api.example.com', '10.0.0.9', now, 'r3'),
      ].join('\n')}\n`,
    );

    // A gzip that breaks off after its header, and a source whose settings are wrong.
    await mkdir(path.join(dir, 'broken'), { recursive: true });
    const good = gzipSync(Buffer.from(`${gatewayLine('other.example.com', '10.0.0.1', now, 'b1')}\n`.repeat(50)));
    await writeFile(path.join(dir, 'broken', 'access.log.gz'), good.subarray(0, good.length - 30));
    await mkdir(path.join(dir, 'misconfigured'), { recursive: true });
    await writeFile(path.join(dir, 'misconfigured', '.source.json'), JSON.stringify({ format: 'syslog' }));
    await writeFile(path.join(dir, 'misconfigured', 'x.log'), 'hello\n');
  });
  afterAll(async () => {
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('turns an unregistered Lambda and an unknown host into candidates with their evidence; reports a corrupt file with file and line and a failing source, and the others complete', async () => {
    const run = await runDiscovery();
    expect(run.status).toBe('partial');
    const source = (name: string) => run.sources.find((s) => s.source === name)!;
    expect(source('cloudtrail')).toMatchObject({ files: 1, sightings: 1, newCandidates: 1, errors: 0, failed: null });
    expect(source('gateway')).toMatchObject({ files: 1, linesRead: 3, sightings: 3, newCandidates: 1, failed: null });
    expect(source('broken').errors).toBeGreaterThan(0);
    expect(source('broken').errorList[0]).toMatchObject({ file: 'access.log.gz', line: expect.any(Number) });
    expect(source('broken').errorList[0]!.message).toMatch(/gzip|unexpected end|incorrect|invalid/i);
    expect(source('misconfigured').failed).toMatch(/\.source\.json: format/);
    expect(run.totals).toMatchObject({ newCandidates: 3, flagged: 0 });
    // The same figures on /metrics, per source, and the run's status.
    await vi.waitFor(
      async () => {
        const metrics = await (await fetch(`${h.url}/metrics`)).text();
        expect(metrics).toMatch(/^app_registry_discovery_lines_read_total\{source="gateway"[^}]*\} 3$/m);
        expect(metrics).toMatch(/^app_registry_discovery_new_candidates_total\{source="cloudtrail"[^}]*\} 1$/m);
        expect(metrics).toMatch(/^app_registry_discovery_source_failures_total\{source="misconfigured"[^}]*\} 1$/m);
        expect(metrics).toMatch(/^app_registry_discovery_runs_total\{status="partial"[^}]*\} 1$/m);
        expect(metrics).toMatch(/^app_registry_discovery_last_run_status\{status="partial"[^}]*\} 1$/m);
      },
      { timeout: 10_000, interval: 100 },
    );

    const lambda = await byLabel('thumbnailer');
    expect(lambda).toMatchObject({
      kind: 'function',
      key: `resource:arn:aws:lambda:eu-west-1:${ACCOUNT}:function:thumbnailer`,
      state: 'open',
      flagged: false,
      sightings: 1,
      creators: [{ who: DANA, count: 1, action: 'create' }],
    });
    expect(lambda!.evidence[0]).toMatchObject({ source: 'cloudtrail', file: TRAIL, line: 1, action: 'create' });
    expect(lambda!.evidence[0]!.text).toContain('CreateFunction20150331');

    const host = await byLabel('shadow-api.example.com');
    expect(host).toMatchObject({ kind: 'endpoint', key: 'host:shadow-api.example.com', sightings: 3, flagged: false });
    expect(host!.topCallers[0]).toEqual({ who: '10.0.0.7', count: 2 });
    expect(host!.evidence.map((e) => `${e.file}:${e.line}`)).toEqual(['access.log:1', 'access.log:2', 'access.log:3']);
  });

  it('a re-run over the same files adds nothing twice; a line appended later is read once', async () => {
    const again = await runDiscovery();
    expect(again.totals).toMatchObject({ linesRead: 0, sightings: 0, newCandidates: 0 });
    expect((await byLabel('shadow-api.example.com'))!.sightings).toBe(3);
    expect((await byLabel('thumbnailer'))!.sightings).toBe(1);

    await appendFile(gatewayLog(), `${gatewayLine('shadow-api.example.com', '10.0.0.7', h.clock.now(), 'r4')}\n`);
    const appended = await runDiscovery();
    expect(appended.sources.find((s) => s.source === 'gateway')).toMatchObject({ linesRead: 1, sightings: 1 });
    expect((await byLabel('shadow-api.example.com'))!.sightings).toBe(4);
  });

  it('after 24 hours the candidates are flagged with the inferred owner and an ownership task', async () => {
    h.clock.advanceDays(1);
    h.clock.advanceDays(1 / 24);
    const run = await runDiscovery();
    expect(run.totals.flagged).toBe(3);

    const flagged = await candidates('?flagged=true&state=open');
    expect(flagged.map((c) => c.label).sort()).toEqual(['other.example.com', 'shadow-api.example.com', 'thumbnailer']);

    const lambda = await h.json<CandidateView>(`/apps/v1/discovery/candidates/${(await byLabel('thumbnailer'))!.id}`);
    expect(lambda.body).toMatchObject({
      flagged: true,
      suggestedOwner: { who: DANA, why: 'creator' },
      task: { status: 'open', reason: 'unregistered_discovered', candidates: [{ why: 'creator', name: DANA }] },
      prefill: { name: 'thumbnailer', runtime: 'serverless_function' },
    });
    const host = await byLabel('shadow-api.example.com');
    expect(host!.suggestedOwner).toEqual({ who: '10.0.0.7', why: 'caller' });
    const [task] = await h.sql<{ status: string }>(
      'select status from app_registry.candidate_ownership_tasks where candidate_id = $1',
      [host!.id],
    );
    expect(task?.status).toBe('open');
  });

  it("a registered app's traffic moves its last activity forward (never back), keeps it from idling and wakes an idle one", async () => {
    h.clock.advanceDays(20);
    const seen = h.clock.now();
    const older = new Date(seen.getTime() - 5 * DAY);
    await appendFile(
      gatewayLog(),
      `${gatewayLine('ledger.apps.example.com', '10.0.0.3', seen, 'l1')}\n${gatewayLine('ledger.apps.example.com', '10.0.0.3', older, 'l2')}\n`,
    );
    const run = await runDiscovery();
    expect(run.sources.find((s) => s.source === 'gateway')).toMatchObject({ appsMatched: 1, newCandidates: 0 });
    expect((await h.json<AppView>(`/apps/v1/apps/${ledger.id}`)).body.lifecycle.lastActivityAt).toBe(
      seen.toISOString(),
    );
    expect(await byLabel('ledger.apps.example.com')).toBeUndefined();

    // Later traffic moves it once it is at least an hour later (ACTIVITY_STEP_MS): the busy apps'
    // rows are not rewritten by every batch of a run, and idle detection counts in days.
    h.clock.advanceDays(2 / 24);
    const lastActivity = async () =>
      (await h.json<AppView>(`/apps/v1/apps/${ledger.id}`)).body.lifecycle.lastActivityAt;
    const halfAnHourLater = new Date(seen.getTime() + 30 * 60_000);
    await appendFile(gatewayLog(), `${gatewayLine('ledger.apps.example.com', '10.0.0.3', halfAnHourLater, 'l3')}\n`);
    expect((await runDiscovery()).sources.find((s) => s.source === 'gateway')).toMatchObject({ appsMatched: 1 });
    expect(await lastActivity()).toBe(seen.toISOString());
    const twoHoursLater = h.clock.now();
    await appendFile(gatewayLog(), `${gatewayLine('ledger.apps.example.com', '10.0.0.3', twoHoursLater, 'l4')}\n`);
    await runDiscovery();
    expect(await lastActivity()).toBe(twoHoursLater.toISOString());

    // 41 days after it was registered, 20 after its traffic: still active (it idles after 30 without).
    h.clock.advanceDays(20);
    await h.sweep();
    expect((await h.json<AppView>(`/apps/v1/apps/${ledger.id}`)).body.state).toBe('active');
    expect((await h.json<AppView>(`/apps/v1/apps/${quiet.id}`)).body.state).toBe('idle');

    // Traffic to an idle app brings it back: active again, its last activity the traffic's time.
    const back = h.clock.now();
    await appendFile(gatewayLog(), `${gatewayLine('quiet-tool.apps.example.com', '10.0.0.4', back, 'q1')}\n`);
    await runDiscovery();
    expect((await h.json<AppView>(`/apps/v1/apps/${quiet.id}`)).body).toMatchObject({
      state: 'active',
      lifecycle: { lastActivityAt: back.toISOString() },
    });
  });

  it('a dismissal needs a reason and closes the task; registering goes through onboarding and matches from then on', async () => {
    const host = (await byLabel('other.example.com'))!;
    const noReason = await h.json(`/apps/v1/discovery/candidates/${host.id}/dismiss`, {
      method: 'POST',
      body: '{}',
      token: h.tokens.approver,
    });
    expect(noReason.status).toBe(400);
    const dismissed = await h.json<CandidateView>(`/apps/v1/discovery/candidates/${host.id}/dismiss`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'a vendor test endpoint' }),
      token: h.tokens.approver,
    });
    expect(dismissed.body).toMatchObject({ state: 'dismissed', dismissReason: 'a vendor test endpoint' });
    expect(dismissed.body.task).toMatchObject({ status: 'cancelled' });

    const lambda = (await byLabel('thumbnailer'))!;
    const registered = await h.json<Registered & { candidate: CandidateView }>(
      `/apps/v1/discovery/candidates/${lambda.id}/register`,
      {
        method: 'POST',
        body: JSON.stringify(anApp('thumbnailer', { endpoints: [] })),
        token: h.tokens.responder,
      },
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.app.cloudResourceIds).toContain(`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:thumbnailer`);
    expect(registered.body.app.origin).toMatchObject({ source: 'discovery' });
    expect(registered.body.candidate).toMatchObject({ state: 'registered', appId: registered.body.app.id });
    expect(registered.body.candidate.task).toMatchObject({ status: 'resolved' });

    // Its next deployment is the app's activity, not a new candidate.
    h.clock.advanceDays(1 / 24);
    const deployed = h.clock.now();
    const update = { ...createFunction('thumbnailer', deployed, 'ev-2'), eventName: 'UpdateFunctionCode20150331v2' };
    const next = path.join(dir, 'cloudtrail', TRAIL.replace('a1b2', 'c3d4'));
    await writeFile(next, gzipSync(JSON.stringify({ Records: [update] })));
    const run = await runDiscovery();
    expect(run.sources.find((s) => s.source === 'cloudtrail')).toMatchObject({
      files: 1,
      sightings: 1,
      appsMatched: 1,
      newCandidates: 0,
    });
    expect((await h.json<AppView>(`/apps/v1/apps/${registered.body.app.id}`)).body.lifecycle.lastActivityAt).toBe(
      deployed.toISOString(),
    );
  });

  it('refuses a run to a role other than admin, and audits the refusal', async () => {
    for (const token of [h.tokens.viewer, h.tokens.responder, h.tokens.approver]) {
      const res = await h.api('/apps/v1/discovery/runs', { method: 'POST', token });
      expect(res.status).toBe(403);
    }
    const dismiss = await h.api(
      `/apps/v1/discovery/candidates/${(await byLabel('shadow-api.example.com'))!.id}/dismiss`,
      {
        method: 'POST',
        body: JSON.stringify({ reason: 'x' }),
        token: h.tokens.responder,
      },
    );
    expect(dismiss.status).toBe(403);
    await vi.waitFor(
      async () => {
        const denied = await h.sql<{ actor_subject: string; action: string }>(
          `select actor_subject, action from app_registry.audit_log where outcome = 'denied' and detail like '%/apps/v1/discovery/%'`,
        );
        expect(denied.map((d) => `${d.actor_subject} ${d.action}`).sort()).toEqual([
          'april discovery_run',
          'rita discovery_dismissed',
          'rita discovery_run',
          'vic discovery_run',
        ]);
      },
      { timeout: 15_000, interval: 100 },
    );
  });
});
