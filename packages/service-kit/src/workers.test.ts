import { describe, expect, it } from 'vitest';
import { pickWorker } from './workers.js';

const worker = (name: string, waiting: number, serving = true) => ({ name, waiting, serving });

describe('pickWorker', () => {
  it('gives the connection to the worker with the fewest waiting', () => {
    const workers = [worker('a', 3), worker('b', 1), worker('c', 2)];
    expect(pickWorker(workers, 0, 16)?.name).toBe('b');
  });

  it('goes round from where it left off when they are even', () => {
    const workers = [worker('a', 0), worker('b', 0), worker('c', 0)];
    expect(pickWorker(workers, 0, 16)?.name).toBe('a');
    expect(pickWorker(workers, 1, 16)?.name).toBe('b');
    expect(pickWorker(workers, 2, 16)?.name).toBe('c');
    expect(pickWorker(workers, 3, 16)?.name).toBe('a');
  });

  it('skips a worker that does not serve (starting, or stopping)', () => {
    const workers = [worker('a', 0, false), worker('b', 5)];
    expect(pickWorker(workers, 0, 16)?.name).toBe('b');
  });

  it('finds none when every serving worker has the most waiting, or none serves', () => {
    expect(pickWorker([worker('a', 16), worker('b', 17)], 0, 16)).toBeUndefined();
    expect(pickWorker([worker('a', 15), worker('b', 16)], 1, 16)?.name).toBe('a');
    expect(pickWorker([worker('a', 0, false)], 0, 16)).toBeUndefined();
    expect(pickWorker([], 0, 16)).toBeUndefined();
  });
});
