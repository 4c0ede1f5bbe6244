import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GovernanceView } from '../src/governance.js';
import { anApp, DAY, type Harness, highRisk, type Registered, startHarness } from './helpers.js';

describe('app-registry governance view', () => {
  let h: Harness;
  const states: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness();
    const register = async (body: { name: string }) => {
      const res = await h.json<Registered>('/apps/v1/apps', {
        method: 'POST',
        body: JSON.stringify(body),
        token: h.tokens.responder,
      });
      expect(res.status).toBe(201);
      states[body.name] = res.body.app.state;
    };
    // Low-risk apps (active at once), one of them without an owner; one not from an approved
    // template (refused for that); a high-risk one refused until its evidence arrives (violations).
    await register(anApp('canteen-menu', { runtime: 'wasm' }));
    await register(anApp('room-booking', { runtime: 'low_code', template: null }));
    await register(anApp('parking-lots', { owner: null, ownerSubject: null }));
    await register(anApp('mail-digest'));
    await register(highRisk('expenses'));
  });
  afterAll(async () => {
    await h?.stop();
  });

  const governance = async () => {
    const res = await h.json<GovernanceView>('/apps/v1/governance');
    expect(res.status).toBe(200);
    return res.body;
  };

  it('counts the seeded apps by state, tier and runtime, with the template share, violations and ownership tasks', async () => {
    expect(states).toMatchObject({ 'room-booking': 'refused', expenses: 'refused', 'canteen-menu': 'active' });
    const view = await governance();
    expect(view.total).toBe(5);
    expect(view.byState).toMatchObject({ active: 3, refused: 2, idle: 0, purged: 0 });
    expect(view.byTier).toMatchObject({ low: 4, high: 1, medium: 0, none: 0 });
    expect(view.byRuntime).toMatchObject({ serverless_function: 2, wasm: 1, low_code: 1, container: 1 });
    expect(view.templates).toMatchObject({ onApproved: 4, share: 0.8 });
    expect(view.templates.approved).toContain('micro-oncall-service');
    expect(view.violations.apps).toBeGreaterThanOrEqual(1);
    expect(view.violations.total).toBeGreaterThan(0);
    expect(view.ownershipTasks.open).toBe(1);
    expect(view.dueSoon).toEqual({ days: 14, disable: [], purge: [] });
    expect(view.trend).toEqual([]);
  });

  it('lists apps about to be disabled, and the sweep writes the day’s row of the trend', async () => {
    // 31 days without activity: the active low-tier apps go idle; they will be disabled in 14 days.
    h.clock.advanceDays(31);
    await h.sweep();
    const view = await governance();
    expect(view.byState).toMatchObject({ idle: 3, active: 0 });
    expect(view.dueSoon.disable.map((a) => a.name).sort()).toEqual(['canteen-menu', 'mail-digest', 'parking-lots']);
    const due = view.dueSoon.disable[0]!;
    expect(Date.parse(due.dueAt) - h.clock.now().getTime()).toBeLessThanOrEqual(14 * DAY);
    expect(view.trend).toEqual([
      {
        day: h.clock.now().toISOString().slice(0, 10),
        total: 5,
        byState: expect.objectContaining({ idle: 3, refused: 2 }),
        onTemplate: 4,
        openViolations: view.violations.total,
        openOwnershipTasks: 1,
      },
    ]);
  });

  it('is for signed-in viewers', async () => {
    expect((await h.api('/apps/v1/governance', { token: '' })).status).toBe(401);
  });
});
