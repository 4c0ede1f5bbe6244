import { describe, expect, it } from 'vitest';
import { lastResultText } from './game-days.js';

describe('game days on the runs page', () => {
  it('says what the last occurrence did: its run, or why it was skipped', () => {
    expect(lastResultText(null)).toBe('not run yet');
    const at = '2026-12-08T09:00:00.000Z';
    expect(
      lastResultText({ scheduledAt: at, outcome: 'started', reason: null, run: { id: 'r', state: 'completed' } }),
    ).toBe('run completed');
    expect(
      lastResultText({
        scheduledAt: at,
        outcome: 'skipped',
        reason: 'the drill kill switch is engaged (by grace: real incident)',
        run: null,
      }),
    ).toBe('skipped: the drill kill switch is engaged (by grace: real incident)');
    expect(lastResultText({ scheduledAt: at, outcome: 'starting', reason: null, run: null })).toBe('starting…');
  });
});
