import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, csvCell, csvValue, formatCsv, parseCsv } from './csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and says where each record starts', () => {
    const records = parseCsv('name,purpose\r\nexpenses,"Approve, then pay"\nnotes,"He said ""hi""\nand left"\n');
    expect(records).toEqual([
      { line: 1, fields: ['name', 'purpose'] },
      { line: 2, fields: ['expenses', 'Approve, then pay'] },
      { line: 3, fields: ['notes', 'He said "hi"\nand left'] },
    ]);
  });

  it('ignores a byte order mark and blank lines, and keeps empty cells', () => {
    expect(parseCsv('\uFEFFa,b\n\n1,\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['1', ''] },
    ]);
  });

  it('refuses an unclosed quote and a quote inside an unquoted field, naming the line', () => {
    expect(() => parseCsv('a\n"open\n')).toThrow(CsvSyntaxError);
    expect(() => parseCsv('a\nx"y\n')).toThrow(/line 2: a quote inside an unquoted field/);
  });
});

describe('csvCell', () => {
  it('quotes what needs quoting and neutralises formulas, which csvValue undoes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    const [record] = parseCsv(
      formatCsv(['v'], [['=1+1'], ['-rf']])
        .split('\r\n')
        .slice(1)
        .join('\n'),
    );
    expect(csvValue(record!.fields[0]!)).toBe('=1+1');
  });
});
