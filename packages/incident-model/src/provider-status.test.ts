import { describe, expect, it } from 'vitest';
import { componentStatusWords, toComponentStatus, worstComponentStatus } from './provider-status.js';

describe(worstComponentStatus.name, () => {
  it('orders confirmed outages above unknown, and unknown above maintenance and operational', () => {
    expect(worstComponentStatus(['operational', 'major_outage', 'partial_outage'])).toBe('major_outage');
    expect(worstComponentStatus(['operational', 'unknown'])).toBe('unknown');
    expect(worstComponentStatus(['under_maintenance', 'unknown'])).toBe('unknown');
    expect(worstComponentStatus(['unknown', 'degraded_performance'])).toBe('degraded_performance');
    expect(worstComponentStatus(['operational', 'under_maintenance'])).toBe('under_maintenance');
  });

  it('is operational for nothing at all', () => {
    expect(worstComponentStatus([])).toBe('operational');
  });
});

describe(toComponentStatus.name, () => {
  it('keeps the documented statuses and reads anything else as unknown', () => {
    expect(toComponentStatus('partial_outage')).toBe('partial_outage');
    expect(toComponentStatus('maintenance')).toBe('unknown');
    expect(toComponentStatus('constructor')).toBe('unknown');
    expect(toComponentStatus(undefined)).toBe('unknown');
    expect(toComponentStatus(42)).toBe('unknown');
  });
});

describe(componentStatusWords.name, () => {
  it('spells a status out for people', () => {
    expect(componentStatusWords('major_outage')).toBe('major outage');
    expect(componentStatusWords('under_maintenance')).toBe('under maintenance');
  });
});
