import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOpsgenie, startFakeOpsgenie } from './opsgenie.js';
import { type FakePagerDuty, PAGERDUTY_MEDIA_TYPE, startFakePagerDuty } from './pagerduty.js';

describe('fake PagerDuty lists (users, escalation policies, schedules, on-calls)', () => {
  let pd: FakePagerDuty;
  const headers = { authorization: 'Token token=pd-token', accept: PAGERDUTY_MEDIA_TYPE };
  const get = async (path: string, h: Record<string, string> = headers) => {
    const res = await fetch(`${pd.url}${path}`, { headers: h });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    pd = await startFakePagerDuty({
      token: 'pd-token',
      users: [
        { id: 'PADA001', email: 'ada.lovelace@example.com' },
        { id: 'PGRACE1', email: 'grace@example.com', name: 'Grace Hopper', role: 'admin' },
      ],
    });
  });
  afterAll(() => pd.stop());

  it('answers 401 without the token and 406 without the media type', async () => {
    expect((await get('/users', { accept: PAGERDUTY_MEDIA_TYPE })).status).toBe(401);
    expect((await get('/users', { authorization: 'Token token=pd-token' })).status).toBe(406);
  });

  it('searches users by name or email and pages them the documented way', async () => {
    const { status, body } = await get('/users?query=grace&total=true');
    expect(status).toBe(200);
    expect(body).toMatchObject({ limit: 25, offset: 0, more: false, total: 1 });
    expect(body.users).toEqual([
      expect.objectContaining({
        id: 'PGRACE1',
        type: 'user',
        name: 'Grace Hopper',
        email: 'grace@example.com',
        role: 'admin',
      }),
    ]);
    const page = await get('/users?limit=1');
    expect(page.body).toMatchObject({
      limit: 1,
      more: true,
      total: null,
      users: [expect.objectContaining({ name: 'Ada Lovelace' })],
    });
  });

  it('refuses undocumented query parameters and out-of-range paging', async () => {
    expect((await get('/users?name=ada')).body).toMatchObject({ error: { errors: ['Unknown query parameter name'] } });
    expect((await get('/escalation_policies?limit=101')).status).toBe(400);
    expect((await get('/users?offset=9990&limit=20')).status).toBe(400);
    expect((await get('/users?include[]=everything')).status).toBe(400);
  });

  it('lists escalation policies with their rules, and schedules', async () => {
    const { body } = await get('/escalation_policies?query=checkout');
    const [policy] = body.escalation_policies as {
      id: string;
      escalation_rules: { targets: { summary: string }[] }[];
    }[];
    expect(policy?.id).toBe('PFAKEEP');
    expect(policy?.escalation_rules.map((r) => r.targets[0]?.summary)).toEqual([
      'Checkout primary',
      'Checkout secondary',
      'Ada Lovelace',
    ]);
    expect(((await get('/schedules')).body.schedules as unknown[]).length).toBe(3);
  });

  it("says who is on call for a policy's levels", async () => {
    const { body } = await get('/oncalls?escalation_policy_ids[]=PFAKEEP&include[]=users');
    const oncalls = body.oncalls as {
      escalation_level: number;
      user: { name: string };
      schedule: { summary: string } | null;
    }[];
    expect(oncalls.map((o) => [o.escalation_level, o.user.name, o.schedule?.summary ?? null])).toEqual([
      [1, 'Ada Lovelace', 'Checkout primary'],
      [2, 'Grace Hopper', 'Checkout secondary'],
      [3, 'Ada Lovelace', null],
    ]);
  });
});

describe('fake Opsgenie lookups (users, escalations, schedules)', () => {
  let og: FakeOpsgenie;
  const get = async (path: string, key = 'og-key') => {
    const res = await fetch(`${og.url}${path}`, { headers: { authorization: `GenieKey ${key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  beforeAll(async () => {
    og = await startFakeOpsgenie({ apiKey: 'og-key' });
  });
  afterAll(() => og.stop());

  it('answers 401 with a wrong key', async () => {
    expect((await get('/v2/users', 'nope')).status).toBe(401);
  });

  it('pages users with full paging URLs and filters by role', async () => {
    const first = await get('/v2/users?limit=2&sortField=fullName');
    expect(first.body).toMatchObject({ totalCount: 4, requestId: expect.any(String), took: expect.any(Number) });
    expect((first.body.data as { fullName: string }[]).map((u) => u.fullName)).toEqual([
      'Alan Turing',
      'Former Employee',
    ]);
    const paging = first.body.paging as { next?: string };
    expect(paging.next).toBe(`${og.url}/v2/users?limit=2&offset=2&sortField=fullName&order=asc`);
    const second = await get(new URL(paging.next!).pathname + new URL(paging.next!).search);
    expect((second.body.paging as { next?: string }).next).toBeUndefined();
    const admins = await get('/v2/users?query=role:admin');
    expect((admins.body.data as { username: string }[]).map((u) => u.username)).toEqual(['grace.hopper@example.com']);
  });

  it('refuses undocumented parameters and values', async () => {
    expect((await get('/v2/users?search=ada')).status).toBe(422);
    expect((await get('/v2/users?limit=500')).status).toBe(422);
    expect((await get('/v2/users?query=ada')).status).toBe(422);
    expect((await get('/v2/escalations?limit=10')).status).toBe(422);
  });

  it('lists escalations with rules and schedules with their team', async () => {
    const escalations = (await get('/v2/escalations')).body.data as {
      name: string;
      rules: unknown[];
      ownerTeam?: { name: string };
    }[];
    expect(escalations.map((e) => e.name)).toEqual(['Checkout escalation', 'Platform escalation']);
    expect(escalations[0]?.rules).toHaveLength(1);
    const schedules = (await get('/v2/schedules')).body.data as { name: string; timezone: string; enabled: boolean }[];
    expect(schedules[0]).toMatchObject({ name: 'Checkout on-call', timezone: 'Europe/Berlin', enabled: true });
  });

  it('says who is on call in a schedule, by id or by name, as participants or flat', async () => {
    const byId = await get('/v2/schedules/a9b8c7d6-e5f4-4a3b-2c1d-0e9f8a7b6c5d/on-calls');
    expect(byId.status).toBe(200);
    expect(byId.body.data).toEqual({
      _parent: { id: 'a9b8c7d6-e5f4-4a3b-2c1d-0e9f8a7b6c5d', name: 'Platform on-call', enabled: true },
      onCallParticipants: [
        { id: '2c9f7a4e-5b0d-4e36-9d55-7f1d2a9c6b10', name: 'alan.turing@example.com', type: 'user' },
        { id: 'e0b4c3f2-8a61-4d7e-b9a0-3c5d6e7f8a91', name: 'katherine.johnson@example.com', type: 'user' },
      ],
    });
    const flat = await get(
      `/v2/schedules/${encodeURIComponent('Checkout on-call')}/on-calls?scheduleIdentifierType=name&flat=true&date=2026-12-01T12:00:00Z`,
    );
    expect(flat.body.data).toMatchObject({ onCallRecipients: ['grace.hopper@example.com'] });
  });

  it('answers 404 for an unknown schedule and 422 for undocumented on-call parameters', async () => {
    expect((await get('/v2/schedules/Checkout%20on-call/on-calls')).status).toBe(404);
    expect((await get('/v2/schedules/x/on-calls?scheduleIdentifierType=team')).status).toBe(422);
    expect((await get('/v2/schedules/x/on-calls?flat=yes')).status).toBe(422);
    expect((await get('/v2/schedules/x/on-calls?date=tomorrow')).status).toBe(422);
    expect((await get('/v2/schedules/x/on-calls?limit=5')).status).toBe(422);
  });
});
