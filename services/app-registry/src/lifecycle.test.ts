import { describe, expect, it } from 'vitest';
import { cutoffs } from './lifecycle.js';
import { stateAfterDecision } from './store.js';

const settings = {
  idleAfterDays: { low: 30, medium: 60, high: 90 },
  disableAfterIdleDays: 14,
  archiveAfterDisabledDays: 7,
  restoreWindowDays: 90,
  exceptionMaxDays: 90,
};

describe('cutoffs', () => {
  it('counts each step back from now, per tier for idling', () => {
    const c = cutoffs(new Date('2026-12-01T00:00:00Z'), settings);
    expect(c).toEqual({
      now: '2026-12-01T00:00:00.000Z',
      idle: { low: '2026-11-01T00:00:00.000Z', medium: '2026-10-02T00:00:00.000Z', high: '2026-09-02T00:00:00.000Z' },
      disable: '2026-11-17T00:00:00.000Z',
      archive: '2026-11-24T00:00:00.000Z',
    });
  });
});

describe('stateAfterDecision', () => {
  it('moves an app through onboarding by the decision', () => {
    expect(stateAfterDecision(null, 'approve')).toBe('active');
    expect(stateAfterDecision(null, 'needs_approval')).toBe('pending_approval');
    expect(stateAfterDecision(null, 'refuse')).toBe('refused');
    expect(stateAfterDecision(null, 'hold')).toBe('held');
    expect(stateAfterDecision('refused', 'needs_approval')).toBe('pending_approval');
    expect(stateAfterDecision('held', 'approve')).toBe('active');
  });

  it('never changes the lifecycle state of a running app: a new violation is shown, not enforced', () => {
    for (const state of ['active', 'idle', 'disabled', 'archived'] as const) {
      expect(stateAfterDecision(state, 'refuse')).toBe(state);
      expect(stateAfterDecision(state, 'hold')).toBe(state);
    }
  });
});
