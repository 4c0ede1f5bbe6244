import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOpa } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppView } from '../src/model.js';
import { anApp, type Harness, type Registered, startHarness } from './helpers.js';

/** Polls OPA until `path` (under /v1/data) reads `expected`: it has loaded the changed policy. */
async function untilOpaReads(url: string, path: string, expected: unknown) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/data/${path}`).catch(() => null);
    const body = (await res?.json().catch(() => null)) as { result?: unknown } | null;
    if (JSON.stringify(body?.result) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`OPA did not load ${path} = ${JSON.stringify(expected)}`);
}

describe('app-registry policy at run time', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ opaWatch: true });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const register = (name: string, overrides: Record<string, unknown> = {}) =>
    h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp(name, overrides)),
      token: h.tokens.responder,
    });
  // business_helpful × internal × internal_network = 4: low under the shipped policy (medium above 4).
  const helpful = { impact: 'business_helpful' };

  it('changes its decisions when the policy changes, with no change to the service', async () => {
    const before = await register('room-finder', helpful);
    expect(before.body.app).toMatchObject({ state: 'active', tier: 'low' });
    expect(before.body.decision.policyVersion).toBe('2026-12-01.2');

    // The platform team lowers the medium threshold (and bumps the version), as a policy change would.
    const settings = join(h.opa!.policyDir, 'settings.rego');
    writeFileSync(
      settings,
      readFileSync(settings, 'utf8')
        .replace('medium_above := 4', 'medium_above := 3')
        .replace('policy_version := "2026-12-01.2"', 'policy_version := "2026-12-02.1"'),
    );
    await untilOpaReads(h.opa!.url, 'app_registry/settings/medium_above', 3);

    const after = await register('room-finder-2', helpful);
    expect(after.body.app).toMatchObject({ state: 'refused', tier: 'medium' });
    expect(after.body.decision).toMatchObject({
      policyVersion: '2026-12-02.1',
      reasons: [expect.objectContaining({ rule: 'MO-APP-003', control: 'sso' })],
    });

    // The app decided under the old policy is decided again on request: it keeps running, and the
    // new requirement shows as a violation with its task.
    const again = await h.json<{ app: AppView }>(`/apps/v1/apps/${before.body.app.id}/evaluate`, {
      method: 'POST',
      token: h.tokens.responder,
    });
    expect(again.body.app).toMatchObject({ state: 'active', tier: 'medium', openViolations: 1 });
    expect(again.body.app.decision?.policyVersion).toBe('2026-12-02.1');
  });

  it('holds an app for review when OPA is down, never approving it, and decides it once OPA is back', async () => {
    const port = h.opa!.port;
    await h.opa!.stop();
    const held = await register('held-app');
    expect(held.status).toBe(201);
    expect(held.body.app).toMatchObject({ state: 'held', tier: null, riskScore: null });
    expect(held.body.decision).toMatchObject({
      outcome: 'hold',
      reasons: [
        expect.objectContaining({
          rule: 'policy-engine',
          message: expect.stringMatching(/^no policy decision could be made: the policy engine is unavailable/),
        }),
      ],
    });
    // Approving a held app is not possible: it is not pending approval.
    expect(
      (
        await h.api(`/apps/v1/apps/${held.body.app.id}/approve`, {
          method: 'POST',
          body: '{}',
          token: h.tokens.approver,
        })
      ).status,
    ).toBe(409);
    // Evidence and re-evaluation while OPA is down keep it held.
    const still = await h.json<{ app: AppView }>(`/apps/v1/apps/${held.body.app.id}/evaluate`, {
      method: 'POST',
      token: h.tokens.responder,
    });
    expect(still.body.app.state).toBe('held');

    // OPA comes back (the shipped policy); the next sweep decides held apps again.
    const opa = await startOpa({ port, log: () => {} });
    try {
      // The client's circuit breaker may be open for a few seconds after the failures.
      const deadline = Date.now() + 20_000;
      let state = 'held';
      while (state === 'held' && Date.now() < deadline) {
        await h.sweep();
        state = (await h.json<AppView>(`/apps/v1/apps/${held.body.app.id}`)).body.state;
        if (state === 'held') await new Promise((r) => setTimeout(r, 1000));
      }
      expect(state).toBe('active');
      const audit = await h.json<{ items: { action: string; detail: string }[] }>(
        `/apps/v1/audit?appId=${held.body.app.id}`,
        { token: h.tokens.approver },
      );
      expect(audit.body.items.map((i) => i.detail)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^policy decision hold for held-app/),
          expect.stringMatching(/^policy decision approve for held-app/),
        ]),
      );
    } finally {
      await opa.stop();
    }
  });
});
