import { describe, expect, it } from 'vitest';
import { clientAddressBucket, FailureBudget, InFlightBudget } from './limits.js';

describe(FailureBudget.name, () => {
  function budget(limit: number, maxKeys?: number) {
    let now = 1_000_000;
    const b = new FailureBudget({ limit, windowMs: 60_000, now: () => now, ...(maxKeys ? { maxKeys } : {}) });
    return { b, advance: (ms: number) => (now += ms) };
  }

  it('is exhausted after `limit` failures of one key, and only for that key', () => {
    const { b } = budget(3);
    for (let i = 0; i < 3; i += 1) {
      expect(b.exhausted('203.0.113.7')).toBe(false);
      b.fail('203.0.113.7');
    }
    expect(b.exhausted('203.0.113.7')).toBe(true);
    expect(b.exhausted('198.51.100.20')).toBe(false);
  });

  it('forgets every failure when the window ends, and says how long until then', () => {
    const { b, advance } = budget(1);
    b.fail('a');
    expect(b.exhausted('a')).toBe(true);
    advance(45_500);
    expect(b.retryAfterSeconds()).toBe(15);
    advance(14_500);
    expect(b.exhausted('a')).toBe(false);
    expect(b.retryAfterSeconds()).toBe(60);
  });

  it('tracks at most maxKeys keys per window: further keys are not counted, tracked ones still are', () => {
    const { b } = budget(1, 2);
    b.fail('a');
    b.fail('b');
    b.fail('c');
    expect([b.exhausted('a'), b.exhausted('b'), b.exhausted('c')]).toEqual([true, true, false]);
  });
});

describe(InFlightBudget.name, () => {
  it('admits up to its limit, refuses beyond it, and admits again once a place is given back', () => {
    const budget = new InFlightBudget(2);
    const first = budget.tryEnter();
    const second = budget.tryEnter();
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(budget.tryEnter()).toBeNull();
    expect(budget.current).toBe(2);
    first!();
    expect(budget.current).toBe(1);
    expect(budget.tryEnter()).toBeTypeOf('function');
  });

  it('gives a place back once, however often its leave is called (finish and close both fire)', () => {
    const budget = new InFlightBudget(1);
    const leave = budget.tryEnter()!;
    leave();
    leave();
    expect(budget.current).toBe(0);
    budget.tryEnter();
    expect(budget.tryEnter()).toBeNull();
  });
});

describe(clientAddressBucket.name, () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (ip, bucket) => {
    expect(clientAddressBucket(ip)).toBe(bucket);
  });

  it('puts every address of one /64 in one bucket', () => {
    expect(clientAddressBucket('2001:db8:a:b:1::1')).toBe(clientAddressBucket('2001:db8:a:b:ffff:ffff:ffff:ffff'));
    expect(clientAddressBucket('2001:db8:a:b::1')).not.toBe(clientAddressBucket('2001:db8:a:c::1'));
  });
});
