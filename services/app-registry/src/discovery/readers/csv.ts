import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Papa from 'papaparse';
import type { Sighting } from '../sighting.js';
import { LineError } from './common.js';
import { type CsvFormat, type CsvRowReader, csvRowReader, detectCsvFormat } from './saas-csv.js';

/*
 * A CSV discovery source (invoice exports, SaaS connector lists) read as a stream: Papa Parse
 * (as the cost imports) fed with text decoded here, so a character split between two chunks is
 * not broken. The delimiter (`,`, `;`, tab or `|`) is the one of the header row.
 *
 * Line numbers are physical lines: a quoted cell may hold line breaks, so a row spans one line
 * plus the line breaks inside its cells. Errors and evidence name the line a row starts on; the
 * cursor is the line it ends on. The header is read on every run, also when resuming.
 *
 * - A header without a required column: one error at the header's line, naming the column; the
 *   file is not read.
 * - A row with more or fewer cells than the header (a stray delimiter, an unclosed quote, which
 *   swallows the rest of the file into one cell), a required cell empty, a date or amount that is
 *   none, or bytes that are not UTF-8 (a Windows-1252 export: save it as UTF-8): an error at its
 *   line, and reading goes on with the next row.
 */

export interface CsvProgress {
  linesRead: number;
  cursor: number;
  complete: boolean;
}

/** The header's cells: the first row of `text` (a line), with the delimiter Papa guesses for it. */
export function csvHeader(line: string): { cells: string[]; delimiter: string } {
  const parsed = Papa.parse<string[]>(line.replace(/^\uFEFF/, ''), { preview: 1, delimitersToGuess: DELIMITERS });
  return { cells: (parsed.data[0] ?? []).map((c) => c.trim()), delimiter: parsed.meta.delimiter || ',' };
}

const DELIMITERS = [',', ';', '\t', '|'];

/** The CSV format of a first line, or undefined. */
export function detectCsv(firstLine: string): CsvFormat | undefined {
  const { cells } = csvHeader(firstLine);
  return cells.length > 1 ? detectCsvFormat(cells) : undefined;
}

async function* decoded(chunks: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

const newlines = (cell: string) => {
  let n = 0;
  for (let i = cell.indexOf('\n'); i >= 0; i = cell.indexOf('\n', i + 1)) n++;
  return n;
};

const isBlank = (record: readonly string[]) => record.length === 1 && record[0]!.trim() === '';

export async function* readCsv(
  chunks: AsyncIterable<Buffer>,
  file: string,
  format: CsvFormat,
  firstLine: string,
  progress: CsvProgress,
  fail: (line: number, message: string) => void,
  describe: (error: unknown) => string,
): AsyncGenerator<Sighting> {
  const skipUntil = progress.cursor;
  const { delimiter } = csvHeader(firstLine);
  const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter, skipEmptyLines: false });
  const feeding = pipeline(Readable.from(decoded(chunks)), parser).then(
    () => null,
    (error: unknown) => error,
  );
  let reader: CsvRowReader | undefined;
  let header: string[] = [];
  /** The last physical line consumed, and the last one of a row (a trailing line break ends no row). */
  let line = 0;
  let lastRowLine = 0;
  let finished = false;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const start = line + 1;
      line += 1 + record.reduce((n, cell) => n + newlines(cell), 0);
      if (isBlank(record)) continue;
      lastRowLine = line;
      if (!reader) {
        header = record.map((cell, i) => (i === 0 ? cell.replace(/^\uFEFF/, '') : cell).trim());
        try {
          reader = csvRowReader(format, header);
        } catch (error) {
          if (!(error instanceof LineError)) throw error;
          fail(start, error.message);
          return;
        }
        continue;
      }
      if (line <= skipUntil) continue;
      progress.linesRead++;
      let sighting: Sighting | undefined;
      try {
        if (record.length !== header.length)
          throw new LineError(
            `${record.length} cells where the header has ${header.length} (a stray delimiter or an unclosed quote?): skipped`,
          );
        if (record.some((cell) => cell.includes('\uFFFD'))) throw new LineError('row is not valid UTF-8: skipped');
        sighting = reader(record, { file, line: start });
      } catch (error) {
        if (!(error instanceof LineError)) throw error;
        fail(start, error.message);
      }
      progress.cursor = line;
      if (sighting) yield sighting;
    }
    finished = true;
  } catch (error) {
    fail(line + 1, describe(error));
    return;
  } finally {
    // Stopped early (a refused header, an error, the caller stopped iterating): stop the feeding too.
    if (!finished) parser.destroy();
  }
  const failure = await feeding;
  if (failure) {
    fail(line + 1, describe(failure));
    return;
  }
  if (!reader) {
    fail(1, `not ${format === 'invoices' ? 'an invoice export' : 'a SaaS connector list'}: the file has no header row`);
    return;
  }
  progress.cursor = Math.max(progress.cursor, lastRowLine);
  progress.complete = true;
}
