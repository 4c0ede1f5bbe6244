import { createLogger, UpstreamError } from '@micro-oncall/service-kit';
import { startFakeOpsgenie, startFakePagerDuty } from '@micro-oncall/test-kit';
import { describe, expect, it } from 'vitest';
import { createOpsgenieActions } from './opsgenie.js';
import { createPagerDutyActions } from './pagerduty.js';
import {
  createTargetCache,
  matching,
  parseOpsgenieTargets,
  parsePagerDutyOnCalls,
  parsePagerDutyTargets,
  type Target,
} from './targets.js';

const logger = createLogger({ service: 'targets-test', level: 'silent' });

describe('parsing PagerDuty lists', () => {
  it('reads users with their email and a summary, skipping entries that are not users', () => {
    const items = parsePagerDutyTargets('user', {
      users: [
        {
          id: 'PADA001',
          type: 'user',
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          role: 'limited_user',
          time_zone: 'Europe/London',
          teams: [],
        },
        { id: 'PNONAME', type: 'user', email: 'x@example.com' },
        'garbage',
      ],
      limit: 25,
      offset: 0,
      more: false,
      total: null,
    });
    expect(items).toEqual([
      { id: 'PADA001', name: 'Ada Lovelace', email: 'ada@example.com', summary: 'limited user · Europe/London' },
    ]);
  });

  it('summarises escalation policies by their levels and who is notified first', () => {
    const items = parsePagerDutyTargets('escalation_policy', {
      escalation_policies: [
        {
          id: 'PCHKEP1',
          name: 'Checkout escalation',
          num_loops: 0,
          escalation_rules: [
            {
              id: 'R1',
              escalation_delay_in_minutes: 30,
              targets: [{ id: 'PS1', type: 'schedule_reference', summary: 'Checkout primary' }],
            },
            {
              id: 'R2',
              escalation_delay_in_minutes: 30,
              targets: [{ id: 'PU1', type: 'user_reference', summary: 'Ada' }],
            },
          ],
        },
        { id: 'PEMPTY1', name: 'No rules yet' },
      ],
    });
    expect(items).toEqual([
      { id: 'PCHKEP1', name: 'Checkout escalation', summary: '2 levels · first: Checkout primary' },
      { id: 'PEMPTY1', name: 'No rules yet' },
    ]);
  });

  it('reads schedules and answers nothing for a body without the list', () => {
    expect(
      parsePagerDutyTargets('schedule', { schedules: [{ id: 'PS1', name: 'Primary', time_zone: 'UTC' }] }),
    ).toEqual([{ id: 'PS1', name: 'Primary', summary: 'UTC' }]);
    expect(parsePagerDutyTargets('user', null)).toEqual([]);
    expect(parsePagerDutyTargets('user', { users: 'nope' })).toEqual([]);
  });
});

describe('parsing PagerDuty on-calls', () => {
  it('orders by level, keeps a person once per level and tells schedules from direct users', () => {
    const user = { id: 'PADA001', type: 'user', name: 'Ada Lovelace', email: 'ada@example.com' };
    const items = parsePagerDutyOnCalls({
      oncalls: [
        {
          escalation_level: 2,
          user: { id: 'PGRACE1', type: 'user_reference', summary: 'Grace Hopper' },
          schedule: null,
          start: null,
          end: null,
        },
        {
          escalation_level: 1,
          user,
          schedule: { id: 'PS1', summary: 'Checkout primary' },
          end: '2026-12-01T17:00:00Z',
        },
        { escalation_level: 1, user, schedule: { id: 'PS2', summary: 'Checkout backup' }, end: '2026-12-02T17:00:00Z' },
        { escalation_level: 0, user },
      ],
    });
    expect(items).toEqual([
      {
        level: 1,
        user: { id: 'PADA001', name: 'Ada Lovelace', email: 'ada@example.com' },
        schedule: 'Checkout primary',
        end: '2026-12-01T17:00:00Z',
      },
      { level: 2, user: { id: 'PGRACE1', name: 'Grace Hopper' }, schedule: null, end: null },
    ]);
  });
});

describe('parsing Opsgenie lists', () => {
  it('names users by full name (username when it is empty), with their email, and leaves blocked users out', () => {
    const items = parseOpsgenieTargets('user', {
      data: [
        { id: 'u-1', username: 'grace@example.com', fullName: 'Grace Hopper', role: { id: 'Admin', name: 'Admin' } },
        { id: 'u-2', username: 'alan@example.com', fullName: ' ', role: { name: 'User' } },
        { id: 'u-3', username: 'gone@example.com', fullName: 'Gone', blocked: true },
      ],
      totalCount: 3,
      paging: { first: 'https://api.opsgenie.com/v2/users?offset=0' },
    });
    expect(items).toEqual([
      { id: 'u-1', name: 'Grace Hopper', email: 'grace@example.com', summary: 'Admin' },
      { id: 'u-2', name: 'alan@example.com', email: 'alan@example.com', summary: 'User' },
    ]);
  });

  it('reads escalations and schedules with their team', () => {
    expect(
      parseOpsgenieTargets('escalation_policy', {
        data: [
          {
            id: 'e-1',
            name: 'Checkout escalation',
            description: 'Primary first',
            ownerTeam: { id: 't', name: 'Checkout' },
          },
        ],
      }),
    ).toEqual([{ id: 'e-1', name: 'Checkout escalation', summary: 'team Checkout · Primary first' }]);
    expect(
      parseOpsgenieTargets('schedule', { data: [{ id: 's-1', name: 'Nights', timezone: 'UTC', enabled: false }] }),
    ).toEqual([{ id: 's-1', name: 'Nights', summary: 'disabled · UTC' }]);
  });
});

describe('searching a list here', () => {
  const list: Target[] = [
    { id: '1', name: 'Alan Turing', email: 'alan@example.com' },
    { id: '2', name: 'Katherine Johnson', email: 'kj@example.com' },
    { id: '3', name: 'Grace Hopper', email: 'grace.hopper@example.com' },
  ];
  it('matches every typed word in the name or email, names starting with it first', () => {
    expect(matching(list, 'HOP').map((t) => t.id)).toEqual(['3']);
    expect(matching(list, 'a').map((t) => t.id)).toEqual(['1', '2', '3']);
    expect(matching(list, 'kath john').map((t) => t.id)).toEqual(['2']);
    expect(matching(list, 'g').map((t) => t.id)).toEqual(['3', '1']);
    expect(matching(list, '  ')).toHaveLength(3);
  });
});

describe('the target cache', () => {
  const items: Target[] = [{ id: 'PADA001', name: 'Ada' }];

  it('reuses a list within the TTL and asks again after it', async () => {
    let now = 0;
    let loads = 0;
    const cache = createTargetCache({ ttlMs: 60_000, now: () => now });
    const load = async () => {
      loads += 1;
      return items;
    };
    expect(await cache.get('pd|user|ad', load)).toBe(items);
    now = 59_999;
    await cache.get('pd|user|ad', load);
    expect(loads).toBe(1);
    await cache.get('pd|user|a', load);
    expect(loads).toBe(2);
    now = 60_000;
    await cache.get('pd|user|ad', load);
    expect(loads).toBe(3);
  });

  it('shares one provider call between concurrent requests for the same list', async () => {
    let loads = 0;
    let release: (v: Target[]) => void = () => undefined;
    const cache = createTargetCache();
    const load = () => {
      loads += 1;
      return new Promise<Target[]>((resolve) => {
        release = resolve;
      });
    };
    const both = Promise.all([cache.get('k', load), cache.get('k', load)]);
    release(items);
    expect(await both).toEqual([items, items]);
    expect(loads).toBe(1);
  });

  it('does not keep failures: the next request asks the provider again', async () => {
    const cache = createTargetCache();
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', async () => items)).toBe(items);
  });

  it('keeps at most maxEntries lists, dropping the oldest', async () => {
    let loads = 0;
    const cache = createTargetCache({ maxEntries: 2 });
    const load = async () => {
      loads += 1;
      return items;
    };
    for (const key of ['a', 'b', 'c', 'a']) await cache.get(key, load);
    expect(loads).toBe(4);
  });
});

describe('listing through the provider clients against the fakes', () => {
  it('PagerDuty: searches users and escalation policies with the documented request', async () => {
    const pd = await startFakePagerDuty({
      token: 'pd-list-token',
      users: [
        { id: 'PADA001', email: 'ada.lovelace@example.com' },
        { id: 'PGRACE1', email: 'grace.hopper@example.com', name: 'Grace Hopper' },
      ],
    });
    try {
      const actions = createPagerDutyActions({
        baseUrl: pd.url,
        token: 'pd-list-token',
        fromEmail: 'x@example.com',
        logger,
      });
      expect(await actions.listTargets!('user', 'love', 25)).toEqual([
        { id: 'PADA001', name: 'Ada Lovelace', email: 'ada.lovelace@example.com', summary: 'user · Europe/London' },
      ]);
      const req = pd.requests.at(-1)!;
      expect(req).toMatchObject({ method: 'GET', path: '/users', query: { query: 'love', limit: '25' } });
      expect(req.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
      const policies = await actions.listTargets!('escalation_policy', '', 25);
      expect(policies.map((p) => p.name)).toEqual([
        'Checkout escalation',
        'Platform escalation',
        'Databases (business hours)',
      ]);
      expect(policies[0]).toMatchObject({ id: 'PFAKEEP', summary: '3 levels · first: Checkout primary' });
      expect(pd.requests.at(-1)?.query).toEqual({ limit: '25' });
    } finally {
      await pd.stop();
    }
  });

  it('PagerDuty: a wrong token is a 401 UpstreamError, not an empty list', async () => {
    const pd = await startFakePagerDuty({ token: 'right', users: [] });
    try {
      const actions = createPagerDutyActions({ baseUrl: pd.url, token: 'wrong', fromEmail: 'x@example.com', logger });
      const error = await actions.listTargets!('user', '', 25).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).upstreamStatus).toBe(401);
    } finally {
      await pd.stop();
    }
  });

  it('Opsgenie: reads every page of users and searches them here; escalations and schedules in one call', async () => {
    const users = Array.from({ length: 130 }, (_, i) => ({
      id: `u-${i}`,
      username: `user${i}@example.com`,
      fullName: i === 120 ? 'Zelda Page-Two' : `User ${String(i).padStart(3, '0')}`,
    }));
    const og = await startFakeOpsgenie({ apiKey: 'og-list-key', users });
    try {
      const actions = createOpsgenieActions({ baseUrl: og.url, apiKey: 'og-list-key', logger });
      expect(await actions.listTargets!('user', 'zelda', 25)).toEqual([
        { id: 'u-120', name: 'Zelda Page-Two', email: 'user120@example.com', summary: 'User' },
      ]);
      const userCalls = og.requests.filter((r) => r.path === '/v2/users');
      expect(userCalls.map((r) => r.query.offset)).toEqual(['0', '100']);
      expect(userCalls[0]?.query).toMatchObject({ limit: '100', sortField: 'fullName', order: 'asc' });
      expect((await actions.listTargets!('user', '', 25)).length).toBe(25);
      const escalations = await actions.listTargets!('escalation_policy', 'checkout', 25);
      expect(escalations).toEqual([
        expect.objectContaining({ name: 'Checkout escalation', summary: expect.stringContaining('team Checkout') }),
      ]);
      expect((await actions.listTargets!('schedule', '', 25)).map((s) => s.name)).toEqual([
        'Checkout on-call',
        'Platform on-call',
      ]);
    } finally {
      await og.stop();
    }
  });
});
