import { describe, expect, it } from 'vitest';
import { nextPollDelaySeconds } from './changes.js';

describe(nextPollDelaySeconds.name, () => {
  const base = { intervalSeconds: 60, jitterSeconds: 10, maxBackoffSeconds: 900, random: () => 0 };

  it('waits the interval plus up to the jitter when healthy', () => {
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 0 })).toBe(60);
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 0, random: () => 0.999 })).toBe(70);
  });

  it('doubles per failure, once more for a 429, and stops at the cap', () => {
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 1 })).toBe(120);
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 2 })).toBe(240);
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 1, rateLimited: true })).toBe(240);
    expect(nextPollDelaySeconds({ ...base, consecutiveFailures: 30 })).toBe(900);
  });
});
