import { describe, expect, it } from 'vitest';
import { clientAddressBucket, EventLoopDelayGuard, FailureBudget, InFlightBudget } from './limits.js';

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

describe(EventLoopDelayGuard.name, () => {
  async function guard(limitMs: number) {
    let now = 5_000;
    /** The loop's busy share the fake reports, whatever the mark. */
    let busy = 1;
    const g = new EventLoopDelayGuard({
      limitMs,
      intervalMs: 10,
      now: () => now,
      loop: { mark: () => ({ idle: 0, active: 0, utilization: 0 }), since: () => busy },
    });
    await g.start();
    return {
      g,
      advance: (ms: number) => (now += ms),
      setBusy: (share: number) => (busy = share),
    };
  }

  it('is not overloaded while its timer fires on time', async () => {
    const { g, advance } = await guard(200);
    for (let i = 0; i < 50; i += 1) {
      advance(10);
      g.tick();
      expect(g.overloaded()).toBe(false);
    }
    await g.stop();
  });

  it('is overloaded while the busy loop is stalled beyond the limit, before and after the late tick, and recovers', async () => {
    const { g, advance } = await guard(200);
    advance(150);
    expect(g.overloaded()).toBe(false); // 140 ms overdue
    advance(100);
    expect(g.delayMs()).toBe(240); // the tick is 240 ms overdue and has not fired yet
    expect(g.overloaded()).toBe(true);
    g.tick(); // it fires, 240 ms late
    expect(g.overloaded()).toBe(true);
    for (let i = 0; i < 25; i += 1) {
      advance(10);
      g.tick(); // the next ones are on time: the stall is remembered for the window (250 ms)
      expect(g.overloaded()).toBe(true);
    }
    advance(10);
    g.tick();
    expect(g.overloaded()).toBe(false);
    await g.stop();
  });

  it('stays overloaded while every tick is late', async () => {
    const { g, advance } = await guard(200);
    for (let i = 0; i < 20; i += 1) {
      advance(310);
      g.tick();
      expect(g.overloaded()).toBe(true);
    }
    await g.stop();
  });

  it('ignores lateness while the loop was idle (a process the machine did not schedule has no queue)', async () => {
    const { g, advance, setBusy } = await guard(200);
    setBusy(0.3);
    advance(500);
    expect(g.overloaded()).toBe(false);
    g.tick();
    expect(g.overloaded()).toBe(false);
    setBusy(0.95);
    advance(500);
    expect(g.overloaded()).toBe(true);
    await g.stop();
  });

  it('never refuses when switched off (0) or before it is started', async () => {
    const off = await guard(0);
    off.advance(10_000);
    expect(off.g.overloaded()).toBe(false);
    const idle = new EventLoopDelayGuard({ limitMs: 1 });
    expect(idle.overloaded()).toBe(false);
    expect(await idle.healthcheck()).toEqual({ healthy: true });
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
