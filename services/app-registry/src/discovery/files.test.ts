import { describe, expect, it } from 'vitest';
import { mergeCounts, suggestOwner } from './aggregate.js';
import { fingerprint, resumeFrom } from './files.js';

describe('discovery cursors', () => {
  const head = Buffer.from('{"Records":[{"eventID":"1"}]}\n');
  const cursor = { line: 10, size: head.length, head: fingerprint(head) };

  it('skips an unchanged file, resumes one that grew, and reads a rotated or replaced one from its start', () => {
    expect(resumeFrom(undefined, { size: 5, head })).toEqual({ from: 0, rotated: false });
    expect(resumeFrom(cursor, { size: head.length, head })).toBe('skip');
    const grown = Buffer.concat([head, Buffer.from('more\n')]);
    expect(resumeFrom(cursor, { size: grown.length, head: grown })).toEqual({ from: 10, rotated: false });
    // Rotated: the same name starts with other lines (even when it is longer now).
    const other = Buffer.from('{"Records":[{"eventID":"2"}]}\nand more\n');
    expect(resumeFrom(cursor, { size: other.length, head: other })).toEqual({ from: 0, rotated: true });
    // Truncated in place: shorter than what was read.
    expect(resumeFrom(cursor, { size: 3, head: head.subarray(0, 3) })).toEqual({ from: 0, rotated: true });
  });
});

describe('suggested owner', () => {
  it('is who created it, else who deployed it, else the most frequent caller', () => {
    const callers = [{ who: '10.0.0.7', count: 5 }];
    expect(
      suggestOwner(
        [
          { who: 'deployer', count: 9, action: 'deploy' },
          { who: 'creator', count: 1, action: 'create' },
        ],
        callers,
      ),
    ).toEqual({ who: 'creator', why: 'creator' });
    expect(suggestOwner([{ who: 'deployer', count: 2, action: 'deploy' }], callers)).toEqual({
      who: 'deployer',
      why: 'deployer',
    });
    expect(suggestOwner([], callers)).toEqual({ who: '10.0.0.7', why: 'caller' });
    expect(suggestOwner([], [])).toBeNull();
  });

  it('merges counts, most frequent first, capped; a creator stays a creator', () => {
    const merged = mergeCounts(
      [
        { who: 'a', count: 2, action: 'create' },
        { who: 'b', count: 1 },
      ],
      [
        ['a', { count: 1, action: 'deploy' }],
        ['c', { count: 5 }],
      ],
      2,
    );
    expect(merged).toEqual([
      { who: 'c', count: 5 },
      { who: 'a', count: 3, action: 'create' },
    ]);
  });
});
