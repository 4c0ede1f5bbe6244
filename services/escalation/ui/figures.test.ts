import { describe, expect, it } from 'vitest';
import { durationText } from './figures.js';

describe('durationText', () => {
  it('reads as people say durations, from seconds to days', () => {
    expect(durationText(null)).toBe('—');
    expect(durationText(5)).toBe('5 s');
    expect(durationText(59.4)).toBe('59 s');
    expect(durationText(59.6)).toBe('1 min');
    expect(durationText(60)).toBe('1 min');
    expect(durationText(600)).toBe('10 min');
    expect(durationText(3600)).toBe('1 h');
    expect(durationText(3 * 3600 + 5 * 60)).toBe('3 h 5 min');
    expect(durationText(2 * 86_400 + 4 * 3600)).toBe('2 d 4 h');
  });
});
