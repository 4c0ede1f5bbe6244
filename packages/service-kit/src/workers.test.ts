import { describe, expect, it } from 'vitest';
import { Handoffs, MAX_WAITING_PER_WORKER, pickWorker } from './workers.js';

/** A worker's queue: serving, with `waiting` sent at `at` ms and none taken yet. */
function queue(name: string, waiting = 0, at = 0, serving = true) {
  const h = Object.assign(new Handoffs(), { name });
  h.serving = serving;
  for (let i = 0; i < waiting; i += 1) h.sent(at);
  return h;
}

describe('Handoffs', () => {
  it('expects no wait with none waiting', () => {
    expect(queue('a').expectedWaitMs(1000)).toBe(0);
  });

  it('expects at least as long as the oldest one has waited: a stuck worker takes none', () => {
    const h = queue('a', 1, 100);
    expect(h.expectedWaitMs(100)).toBe(0);
    expect(h.expectedWaitMs(400)).toBe(300);
  });

  it('expects the connections ahead at the pace the worker lately took them', () => {
    const h = queue('a');
    for (let i = 0; i < 11; i += 1) h.sent(0);
    // Ten taken, 10 ms apart: 10 ms per connection.
    for (let t = 10; t <= 100; t += 10) h.taken(t);
    expect(h.waiting).toBe(1);
    for (let i = 0; i < 9; i += 1) h.sent(100);
    // Ten waiting at 10 ms each, the oldest just taken over as head.
    expect(h.expectedWaitMs(100)).toBeCloseTo(100, 5);
    // The pace is a moving average: one slow take moves it, not to the slow sample.
    h.taken(150);
    expect(h.expectedWaitMs(150)).toBeCloseTo(9 * (0.8 * 10 + 0.2 * 50), 5);
  });

  it('measures a take from when the connection began to wait, after the queue was empty', () => {
    const h = queue('a', 1, 0);
    h.taken(1);
    // Idle for a second, then one more: taken 2 ms after it was sent.
    h.sent(1001);
    h.sent(1001);
    h.taken(1003);
    expect(h.expectedWaitMs(1003)).toBeCloseTo(1 * (0.8 * 1 + 0.2 * 2), 5);
  });
});

describe('pickWorker', () => {
  it('gives the connection to the worker expected to take it soonest', () => {
    const workers = [queue('a', 3, 0), queue('b', 1, 50), queue('c', 2, 20)];
    expect(pickWorker(workers, 0, 1000, 100)?.name).toBe('b');
  });

  it('goes round from where it left off when they are even', () => {
    const workers = [queue('a'), queue('b'), queue('c')];
    expect(pickWorker(workers, 0, 250, 0)?.name).toBe('a');
    expect(pickWorker(workers, 1, 250, 0)?.name).toBe('b');
    expect(pickWorker(workers, 2, 250, 0)?.name).toBe('c');
    expect(pickWorker(workers, 3, 250, 0)?.name).toBe('a');
  });

  it('skips a worker that does not serve (starting, or stopping)', () => {
    const workers = [queue('a', 0, 0, false), queue('b', 5, 0)];
    expect(pickWorker(workers, 0, 250, 10)?.name).toBe('b');
  });

  it('finds none when every serving worker is expected to take longer than the bound, or none serves', () => {
    expect(pickWorker([queue('a', 1, 0), queue('b', 1, 0)], 0, 250, 251)).toBeUndefined();
    expect(pickWorker([queue('a', 1, 0), queue('b', 1, 1)], 0, 250, 251)?.name).toBe('b');
    expect(pickWorker([queue('a', 0, 0, false)], 0, 250, 0)).toBeUndefined();
    expect(pickWorker([], 0, 250, 0)).toBeUndefined();
  });

  it('never lets more than MAX_WAITING_PER_WORKER wait for one worker, however fast it is', () => {
    const full = queue('a', MAX_WAITING_PER_WORKER, 0);
    expect(full.expectedWaitMs(0)).toBe(0);
    expect(pickWorker([full], 0, 250, 0)).toBeUndefined();
  });
});
