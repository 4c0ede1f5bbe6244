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
    const first = budget.tryEnter() as () => void;
    const second = budget.tryEnter();
    expect(first).toBeTypeOf('function');
    expect(second).toBeTypeOf('function');
    expect(budget.tryEnter()).toBe('webhooks');
    expect(budget.current).toBe(2);
    first();
    expect(budget.current).toBe(1);
    expect(budget.tryEnter()).toBeTypeOf('function');
  });

  it('gives a place back once, however often its leave is called (finish and close both fire)', () => {
    const budget = new InFlightBudget(1);
    const leave = budget.tryEnter() as () => void;
    leave();
    leave();
    expect(budget.current).toBe(0);
    budget.tryEnter();
    expect(budget.tryEnter()).toBe('webhooks');
  });

  it('refuses a webhook whose body would take the bytes in flight over their budget, and gives its bytes back when it leaves', () => {
    const budget = new InFlightBudget(10, 1_000);
    const first = budget.tryEnter(600) as () => void;
    expect(first).toBeTypeOf('function');
    expect(budget.tryEnter(500)).toBe('bytes');
    const second = budget.tryEnter(400) as () => void;
    expect(second).toBeTypeOf('function');
    expect(budget.bytes).toBe(1_000);
    expect(budget.tryEnter(1)).toBe('bytes');
    first();
    first();
    expect(budget.bytes).toBe(400);
    expect(budget.tryEnter(600)).toBeTypeOf('function');
  });

  it('admits a webhook larger than the whole byte budget only when nothing else is in flight', () => {
    const budget = new InFlightBudget(10, 1_000);
    const small = budget.tryEnter(10) as () => void;
    expect(budget.tryEnter(5_000)).toBe('bytes');
    small();
    const large = budget.tryEnter(5_000) as () => void;
    expect(large).toBeTypeOf('function');
    expect(budget.tryEnter(10)).toBe('bytes');
    large();
    expect(budget.current).toBe(0);
    expect(budget.bytes).toBe(0);
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

describe(`${EventLoopDelayGuard.name} shedding a saturated loop`, () => {
  /** A guard with the delay limit off, shedding at 0.95 utilisation, a fake clock, loop and dice. */
  async function shedder() {
    let now = 5_000;
    let busy = 0.5;
    let dice = 0.5;
    let connections = 1000;
    const g = new EventLoopDelayGuard({
      limitMs: 0,
      shedAt: 0.95,
      intervalMs: 10,
      now: () => now,
      random: () => dice,
      connections: () => connections,
      maxConnections: 256,
      loop: { mark: () => ({ idle: 0, active: 0, utilization: 0 }), since: () => busy },
    });
    await g.start();
    /** `ms` of on-time ticks at the given loop utilisation. */
    const run = (ms: number, utilisation: number) => {
      busy = utilisation;
      for (let t = 0; t < ms; t += 10) {
        now += 10;
        g.tick();
      }
    };
    return { g, run, roll: (value: number) => (dice = value), open: (n: number) => (connections = n) };
  }

  it('refuses nothing while the loop is below the threshold, however many connections are open', async () => {
    const { g, run, roll, open } = await shedder();
    open(5_000);
    run(10_000, 0.94);
    expect(g.shedShare).toBe(0);
    roll(0);
    expect(g.overloaded()).toBe(false);
    await g.stop();
  });

  it('never refuses while the connections are within the budget, however busy the loop (senders that wait for their answers)', async () => {
    const { g, run, roll, open } = await shedder();
    open(256);
    run(10_000, 1);
    expect(g.shedShare).toBe(0);
    roll(0);
    expect(g.overloaded()).toBe(false);
    await g.stop();
  });

  it('refuses the excess share of the queue, decided by the dice, and follows the queue as it drains', async () => {
    const { g, run, roll, open } = await shedder();
    open(512); // twice the budget: half of the webhooks
    run(100, 1);
    expect(g.shedShare).toBe(0.5);
    roll(0.49);
    expect(g.overloaded()).toBe(true);
    roll(0.51);
    expect(g.overloaded()).toBe(false);
    open(1_024);
    run(100, 1);
    expect(g.shedShare).toBe(0.75);
    open(320);
    run(100, 1);
    expect(g.shedShare).toBe(0.2);
    open(200); // drained below the budget
    run(100, 1);
    expect(g.shedShare).toBe(0);
    await g.stop();
  });

  it('keeps the share under its cap, so that some webhooks always get through to probe the capacity', async () => {
    const { g, run, roll, open } = await shedder();
    open(100_000);
    run(100, 1);
    expect(g.shedShare).toBe(0.95);
    roll(0.951);
    expect(g.overloaded()).toBe(false);
    await g.stop();
  });

  it('stops refusing in the first window the loop is no longer saturated', async () => {
    const { g, run, open } = await shedder();
    open(1_024);
    run(500, 1);
    expect(g.shedShare).toBe(0.75);
    run(100, 0.5);
    expect(g.shedShare).toBe(0);
    await g.stop();
  });

  it('sheds nothing when switched off (0), or once stopped', async () => {
    let now = 0;
    const loop = { mark: () => ({ idle: 0, active: 0, utilization: 0 }), since: () => 1 };
    const off = new EventLoopDelayGuard({
      limitMs: 0,
      shedAt: 0,
      now: () => now,
      random: () => 0,
      connections: () => 10_000,
      loop,
    });
    await off.start();
    for (let i = 0; i < 100; i += 1) {
      now += 10;
      off.tick();
    }
    expect(off.shedShare).toBe(0);
    expect(off.overloaded()).toBe(false);
    await off.stop();

    const { g, run, roll } = await shedder();
    run(1_000, 1);
    roll(0);
    expect(g.overloaded()).toBe(true);
    await g.stop();
    expect(g.overloaded()).toBe(false);
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
