import { describe, expect, it } from 'vitest';
import { nextPollDelaySeconds } from './changes.js';
import { normaliseStatus, worstStatus } from './status.js';

describe(worstStatus.name, () => {
  it('orders confirmed outages above unknown, and unknown above maintenance and operational', () => {
    expect(worstStatus(['operational', 'major_outage', 'partial_outage'])).toBe('major_outage');
    expect(worstStatus(['operational', 'unknown'])).toBe('unknown');
    expect(worstStatus(['under_maintenance', 'unknown'])).toBe('unknown');
    expect(worstStatus(['unknown', 'degraded_performance'])).toBe('degraded_performance');
    expect(worstStatus(['operational', 'under_maintenance'])).toBe('under_maintenance');
  });

  it('is operational for nothing at all', () => {
    expect(worstStatus([])).toBe('operational');
  });
});

describe(normaliseStatus.name, () => {
  it('keeps the documented statuses and reads anything else as unknown', () => {
    expect(normaliseStatus('partial_outage')).toBe('partial_outage');
    expect(normaliseStatus('maintenance')).toBe('unknown');
    expect(normaliseStatus(undefined)).toBe('unknown');
    expect(normaliseStatus(42)).toBe('unknown');
  });
});

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
