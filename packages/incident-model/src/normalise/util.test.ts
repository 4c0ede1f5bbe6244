import { describe, expect, it } from 'vitest';
import { pagerDutyIncidentEvent } from '../fixtures/index.js';
import { normalisePagerDuty } from './pagerduty.js';
import { ctx, eventsOf, onlyEvent } from './test-helpers.js';
import { boundedLabels, storable } from './util.js';

describe('storable', () => {
  it('returns a value without U+0000 or lone surrogates as it is, without copying it', () => {
    const value = { title: 'disk full 😀', labels: { team: 'payments' }, links: [{ href: 'https://x', text: 'X' }] };
    expect(storable(value)).toBe(value);
    expect(storable('plain')).toBe('plain');
  });

  it('replaces U+0000 and lone surrogates in keys and values, at any depth, by U+FFFD', () => {
    const value = { 'k\u0000': ['ok', { deep: 'a\uD800b\u0000' }], fine: { untouched: ['x'] }, n: 1, none: null };
    const result = storable(value);
    expect(result).toStrictEqual({
      'k\uFFFD': ['ok', { deep: 'a\uFFFDb\uFFFD' }],
      fine: { untouched: ['x'] },
      n: 1,
      none: null,
    });
    // Only the path to a changed string is copied; the rest is shared, and the input is left as it was.
    expect(result.fine).toBe(value.fine);
    expect(value['k\u0000'][1]).toStrictEqual({ deep: 'a\uD800b\u0000' });
  });

  it('keeps well-formed surrogate pairs, NaN, holes and a __proto__ key', () => {
    expect(storable('😀')).toBe('😀');
    expect(storable([Number.NaN, 'x'])).toStrictEqual([Number.NaN, 'x']);
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const sparse = storable([, 'a\u0000', , 'b']);
    expect(sparse).toHaveLength(4);
    expect(0 in sparse).toBe(false);
    expect(2 in sparse).toBe(false);
    expect(sparse[1]).toBe('a\uFFFD');
    const parsed = storable(JSON.parse('{"__proto__": "x\\u0000", "a": 1}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('x\uFFFD');
  });
});

describe('emit', () => {
  it('emits the storable form of the events, with nothing refused by PostgreSQL left in them', () => {
    const event = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent({ serviceName: 'pay\u0000ments' }), ctx));
    expect(event.snapshot?.labels.pagerduty_service).toBe('pay\uFFFDments');
    expect(JSON.stringify(event)).not.toMatch(/\\u0000|\\ud[89a-f]/i);
  });
});

describe('the test check that stands in for validation in emit', () => {
  it('fails a test when a normaliser emits an event the model refuses', () => {
    const event = onlyEvent(normalisePagerDuty(pagerDutyIncidentEvent(), ctx));
    expect(() => eventsOf({ outcome: 'events', events: [{ ...event, eventId: '' }] })).toThrow(
      /normalised event failed validation/,
    );
    // A field the model does not have would be dropped by the schema: that fails too.
    expect(() => eventsOf({ outcome: 'events', events: [{ ...event, extra: 1 } as typeof event] })).toThrow();
  });
});

describe('boundedLabels', () => {
  it('returns a plain object; a __proto__ label is a label, not a prototype', () => {
    const labels = boundedLabels([
      ['__proto__', 'polluted'],
      ['team', 'payments'],
      ['team', 'second wins not'],
      ['gone', null],
    ]);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.keys(labels)).toEqual(['__proto__', 'team']);
    expect(labels.team).toBe('payments');
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('polluted');
    expect(JSON.parse(JSON.stringify(labels))).toEqual({ ['__proto__']: 'polluted', team: 'payments' });
  });
});
