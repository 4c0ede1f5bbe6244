import { describe, expect, it } from 'vitest';
import { JsonRecords, JsonScanError } from './json-records.js';

/** The records of `text` as parsed values, the bytes pushed `chunkBytes` at a time. */
function records(text: string | Buffer, topLevelArray: boolean, chunkBytes: number, max = 1024): unknown[] {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const scanner = new JsonRecords(topLevelArray, max);
  const out: unknown[] = [];
  for (let at = 0; at < bytes.length; at += chunkBytes)
    for (const record of scanner.push(bytes.subarray(at, at + chunkBytes)))
      out.push(record === null ? null : JSON.parse(record.toString('utf8')));
  scanner.end();
  return out;
}

const TRICKY = [
  { eventID: 'a', note: 'braces } ] { [ and "quotes" and \\ backslashes\\', nested: [[1, { x: [] }], {}] },
  { eventID: 'b', Records: [{ not: 'a record of the document' }], s: 'é ✓ \u0000' },
  'a string record',
  42.5e-1,
  null,
  true,
  [],
];

describe('JsonRecords', () => {
  it('finds every record of a wrapper object, whatever the chunk boundaries', () => {
    const document = `\uFEFF{"version": "1", "Records" : [ ${TRICKY.map((r) => JSON.stringify(r, null, 1)).join(' ,\n')} ], "next": {"value": [1]} }\n`;
    for (const chunkBytes of [1, 2, 3, 7, 64, 1 << 16]) expect(records(document, false, chunkBytes)).toEqual(TRICKY);
  });

  it('reads a top-level array and the records/value arrays of Azure documents, and nothing under other keys', () => {
    expect(records(JSON.stringify(TRICKY), true, 5)).toEqual(TRICKY);
    expect(records('{"value":[{"a":1}],"nextLink":"x"}', false, 4)).toEqual([{ a: 1 }]);
    expect(records('{"records":[{"a":1},{"a":2}]}', false, 4)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(records('{"items":[{"a":1}],"meta":{"Records":[{"a":2}]}}', false, 3)).toEqual([]);
    expect(records('{"Records":[]}', false, 1)).toEqual([]);
  });

  it('hands over a record longer than the limit as null, and the records after it', () => {
    const long = { eventID: 'long', pad: 'x'.repeat(300) };
    expect(records(JSON.stringify({ Records: [{ a: 1 }, long, { a: 2 }] }), false, 16, 100)).toEqual([
      { a: 1 },
      null,
      { a: 2 },
    ]);
  });

  it('refuses a document that is cut off or not JSON around its records', () => {
    const fails = (text: string) => () => records(text, false, 3);
    expect(fails('{"Records":[{"a":1},{"a":')).toThrow(new JsonScanError('the document ends before it is closed'));
    expect(fails('{"Records":[{"a":1}')).toThrow(/ends before it is closed/);
    expect(fails('{"Records":[{"a":1} {"a":2}]}')).toThrow(/two records without a comma/);
    expect(fails('{"Records":[{"a":1},,{"a":2}]}')).toThrow(/a comma where a record should be/);
    expect(fails('{"Records":[{"a":1},]}')).toThrow(/a comma before the end/);
    expect(fails('{"Records":[{"a":1}]} trailing')).toThrow(/outside the records/);
    expect(fails('{"Records" [{"a":1}]}')).toThrow(/outside the records/);
  });
});
