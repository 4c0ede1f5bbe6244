import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadError, ReadProgress, Sighting, SourceFormat } from '../sighting.js';
import { apiGatewaySighting, envoySighting, nginxSighting } from './access-logs.js';
import { azureActivitySighting } from './azure-activity.js';
import { cloudTrailSighting } from './cloudtrail.js';
import { LineError, type LineReader, type RecordOrigin, type RecordReader } from './common.js';
import { readCsv } from './csv.js';
import { CSV_FORMATS, detectFormat, JSON_FORMATS, skippedFile, startsJson } from './detect.js';
import { gcpAuditSighting } from './gcp-audit.js';
import { JsonRecords, JsonScanError } from './json-records.js';

/*
 * readFile: one discovery source file → sightings, streamed with bounded memory.
 *
 * - gzip is recognised by its magic bytes (1f 8b), whatever the file is called; concatenated
 *   gzip members are read as one stream. A corrupt or truncated gzip ends that file with an error
 *   at the line it reached; what was read before it stands.
 * - The format is `options.format`, else detected from the name and the head (see detect.ts).
 *   An unknown format is an error at the first non-empty line; nothing of the file is read.
 * - Line formats (NGINX, Envoy, API Gateway, and JSON formats written one record per line) are
 *   split on bytes; a line that is not valid UTF-8, is not valid JSON (a truncated record), does
 *   not have the format's shape or is longer than `maxLineBytes` is an error with its line number,
 *   and reading goes on with the next line. Memory holds at most one line plus one chunk.
 * - JSON documents (`{"Records": [...]}`, `{"value": [...]}`, `{"records": [...]}`, a top-level
 *   array): json-records.ts finds each record's bytes and each record is JSON.parsed on its own,
 *   so a document of any size never sits in memory whole (JSON.parse of the file would) and no
 *   garbage is made per key or value (a token-level streaming parser did). Records count 1, 2, …
 *   and that number stands for the line (evidence, errors, cursor). A record that is not valid
 *   UTF-8 or longer than `maxLineBytes` is an error with its number and reading goes on; a record
 *   that is not valid JSON, or a document that is cut off or not JSON around its records, ends the
 *   document with an error at the record it reached: the boundaries after it cannot be trusted.
 * - CloudTrail: a record whose `eventID` already made a sighting in the same file (CloudTrail
 *   delivers an event more than once at times) is not sighted again.
 * - CSV formats (invoice exports, SaaS connector lists) are parsed by csv.ts: rows by the header's
 *   columns, a row spanning the lines its quoted cells break; a header without a required column
 *   is one error naming it, and nothing of the file is read; a bad row is an error at its line.
 *   The header is read again when resuming; `linesRead` counts data rows.
 * - Cursor: lines (records) 1…`cursor` were consumed by an earlier run and are skipped. While the
 *   caller iterates, `progress.cursor` is the last line fully handled: when a sighting is yielded
 *   it is that sighting's line, so a caller that stops after storing sightings and the cursor
 *   never sees a line twice. A line that was cut off by a corrupt gzip is not counted.
 */

export interface ReadFileOptions {
  /** File name for evidence and errors, e.g. relative to the source folder. Default: the path's base name. */
  name?: string;
  /** The format, when the source config states it; detected otherwise. */
  format?: SourceFormat;
  /** Host of every request in an access log that does not log one (NGINX combined, API Gateway without domainName). */
  host?: string;
  /** Lines (records, for JSON documents) consumed by an earlier run: skipped. Default 0. */
  cursor?: number;
  /** Called with each error as it happens; errors are also collected on `reading.errors`. */
  onError?: (error: ReadError) => void;
  /** Longest line (JSON document: record) read, in bytes; a longer one is an error. Default 1 MiB. */
  maxLineBytes?: number;
}

export interface FileProgress extends ReadProgress {
  /** Lines (or records) consumed: pass it as `cursor` next time. */
  cursor: number;
  /** `linesRead` counts lines (records) handled by this run, past the starting cursor; `bytesRead` the file's bytes (compressed, for gzip). */
  format?: SourceFormat;
  /** True once the file was read to its end without an error that stopped it. */
  complete: boolean;
  /** Why the file was skipped without reading (CloudTrail digest or Insight files). */
  skipped?: string;
  /** All errors of the file; `errors` keeps the first MAX_ERRORS_KEPT. */
  errorCount: number;
}

/** A file being read: iterate it for sightings; errors and progress fill in as it goes. */
export interface FileReading extends AsyncIterable<Sighting> {
  readonly errors: ReadError[];
  readonly progress: FileProgress;
}

export const MAX_ERRORS_KEPT = 100;
const HEAD_BYTES = 64 * 1024;
const CHUNK_BYTES = 64 * 1024;
const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const RECORD_READERS: Record<'cloudtrail' | 'gcp-audit' | 'azure-activity', RecordReader> = {
  cloudtrail: cloudTrailSighting,
  'gcp-audit': gcpAuditSighting,
  'azure-activity': azureActivitySighting,
};

const LINE_READERS: Record<'apigateway' | 'nginx' | 'envoy', LineReader> = {
  apigateway: apiGatewaySighting,
  nginx: nginxSighting,
  envoy: envoySighting,
};

/** Reads one discovery source file; see the header comment for what is accepted and how errors are handled. */
export function readFile(path: string, options: ReadFileOptions = {}): FileReading {
  const errors: ReadError[] = [];
  const progress: FileProgress = {
    linesRead: 0,
    bytesRead: 0,
    cursor: Math.max(0, Math.floor(options.cursor ?? 0)),
    complete: false,
    errorCount: 0,
  };
  const file = options.name ?? basename(path);
  const fail = (line: number, message: string) => {
    const error: ReadError = { file, line, message };
    progress.errorCount++;
    if (errors.length < MAX_ERRORS_KEPT) errors.push(error);
    options.onError?.(error);
  };
  let started = false;
  return {
    errors,
    progress,
    [Symbol.asyncIterator]() {
      if (started) throw new Error(`${file} is already being read: a FileReading is iterated once`);
      started = true;
      return read(path, file, options, progress, fail);
    },
  };
}

type Fail = (line: number, message: string) => void;

/** Bytes of the file, gunzipped when it starts with the gzip magic bytes; counts the file's bytes read. */
async function openBytes(path: string, progress: FileProgress): Promise<AsyncGenerator<Buffer>> {
  const handle = await open(path, 'r');
  let magic: Buffer;
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    magic = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const source = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const gzipped = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  const bytes: AsyncIterable<Buffer> = gzipped
    ? pipeline(source, createGunzip({ chunkSize: CHUNK_BYTES }), () => {})
    : source;
  return (async function* counted() {
    try {
      for await (const chunk of bytes) {
        progress.bytesRead = source.bytesRead;
        yield chunk;
      }
      progress.bytesRead = source.bytesRead;
    } finally {
      source.destroy();
    }
  })();
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (
    e?.code === 'Z_DATA_ERROR' ||
    e?.code === 'Z_BUF_ERROR' ||
    e?.errno === -5 ||
    /unexpected end of file/i.test(e?.message ?? '')
  )
    return `corrupt or truncated gzip: ${e.message}`;
  return e?.message ?? String(error);
}

async function* read(
  path: string,
  file: string,
  options: ReadFileOptions,
  progress: FileProgress,
  fail: Fail,
): AsyncGenerator<Sighting> {
  const skipped = skippedFile(file) ?? (file !== path ? skippedFile(path) : undefined);
  if (skipped) {
    progress.skipped = skipped;
    progress.complete = true;
    return;
  }
  let chunks: AsyncGenerator<Buffer>;
  try {
    chunks = await openBytes(path, progress);
  } catch (error) {
    fail(0, `cannot open: ${describe(error)}`);
    return;
  }
  // The head: enough to see the first non-empty line (or 64 KiB of it) for format detection.
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  let contentSeen = false;
  try {
    while (headBytes < HEAD_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.length;
      if (hasCompleteLine(next.value, contentSeen)) break;
      contentSeen ||= hasContent(next.value);
    }
  } catch (error) {
    fail(1, describe(error));
    return;
  }
  const headText = Buffer.concat(head)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const firstLineIndex = headText.search(/\S/);
  if (firstLineIndex < 0 && ended) {
    progress.complete = true;
    return;
  }
  const firstLineNumber = (headText.slice(0, Math.max(0, firstLineIndex)).match(/\n/g)?.length ?? 0) + 1;
  const firstLineEnd = headText.indexOf('\n', firstLineIndex);
  const firstLine = headText.slice(firstLineIndex, firstLineEnd < 0 ? undefined : firstLineEnd).trim();
  const isJson = startsJson(firstLine);
  const format = options.format ?? detectFormat(file, isJson ? headText : firstLine);
  if (!format) {
    const shown = firstLine.length > 120 ? `${firstLine.slice(0, 120)}…` : firstLine;
    fail(
      firstLineNumber,
      `unknown log format: not CloudTrail, GCP audit, Azure activity, API Gateway, NGINX, Envoy, an invoice export or a SaaS connector list CSV (starts ${JSON.stringify(shown)})`,
    );
    await chunks.return(undefined);
    return;
  }
  progress.format = format;
  const all = withHead(head, chunks);
  try {
    if (CSV_FORMATS.has(format)) {
      yield* readCsv(all, file, format as 'invoices' | 'saas-connectors', firstLine, progress, fail, describe);
    } else if (JSON_FORMATS.has(format) && isDocument(firstLine, firstLineEnd >= 0 || ended)) {
      const reader = RECORD_READERS[format as keyof typeof RECORD_READERS];
      const maxRecordBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
      const sightings = readDocument(all, file, reader, firstLine.startsWith('['), maxRecordBytes, progress, fail);
      yield* format === 'cloudtrail' ? onePerEventId(sightings) : sightings;
    } else {
      const sightings = readLines(all, file, format, options, progress, fail);
      yield* format === 'cloudtrail' ? onePerEventId(sightings) : sightings;
    }
  } finally {
    await all.return(undefined);
  }
}

/** CloudTrail delivers an event more than once at times: within a file, a record whose `eventID` was seen is not sighted again. */
async function* onePerEventId(sightings: AsyncGenerator<Sighting>): AsyncGenerator<Sighting> {
  const seen = new Set<string>();
  for await (const sighting of sightings) {
    if (sighting.recordId !== undefined) {
      if (seen.has(sighting.recordId)) continue;
      seen.add(sighting.recordId);
    }
    yield sighting;
  }
}

const isSpace = (byte: number) => byte === 32 || byte === 9 || byte === 10 || byte === 13;

function hasContent(chunk: Buffer): boolean {
  for (const byte of chunk) if (!isSpace(byte)) return true;
  return false;
}

/** Whether the chunk ends a non-empty line (content seen before it, or in it before a newline). */
function hasCompleteLine(chunk: Buffer, contentSeen: boolean): boolean {
  let content = contentSeen;
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!;
    if (byte === 10 && content) return true;
    if (!isSpace(byte)) content = true;
  }
  return false;
}

/** Whether a JSON file is one document (wrapper object or array) rather than a record per line. */
function isDocument(firstLine: string, firstLineComplete: boolean): boolean {
  if (firstLine.startsWith('[')) return true;
  if (!firstLineComplete) return true; // a first "line" longer than the head: a single-line document
  if (firstLine === '{' || /^\{\s*"(?:Records|records|value)"\s*:\s*\[/.test(firstLine)) return true;
  return false;
}

async function* withHead(head: Buffer[], rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* head;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await rest.return(undefined);
  }
}

/** Splits bytes into lines (`\n` or `\r\n`); a line longer than `max` comes out as `null`. */
class LineSplitter {
  private parts: Buffer[] = [];
  private length = 0;
  private tooLong = false;
  constructor(private readonly max: number) {}

  push(chunk: Buffer, onLine: (line: Buffer | null) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.emit(chunk.subarray(start, nl), onLine);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  end(onLine: (line: Buffer | null) => void): void {
    if (this.length > 0 || this.tooLong) this.emit(Buffer.alloc(0), onLine);
  }

  private keep(part: Buffer): void {
    if (this.tooLong) return;
    this.length += part.length;
    if (this.length > this.max) {
      this.tooLong = true;
      this.parts = [];
      this.length = 0;
    } else {
      this.parts.push(part);
    }
  }

  private emit(tail: Buffer, onLine: (line: Buffer | null) => void): void {
    let line: Buffer | null;
    if (this.tooLong || this.length + tail.length > this.max) line = null;
    else if (this.parts.length === 0) line = tail;
    else line = Buffer.concat([...this.parts, tail]);
    this.parts = [];
    this.length = 0;
    this.tooLong = false;
    if (line && line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    onLine(line);
  }
}

function jsonLineReader(reader: RecordReader): LineReader {
  return (line, origin) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new LineError(`not valid JSON, a truncated record? (${(error as Error).message})`);
    }
    return reader(record, origin);
  };
}

function lineReader(format: SourceFormat): LineReader {
  if (CSV_FORMATS.has(format))
    return () => {
      throw new LineError(`${format} is a CSV format: its rows are read from files, with their header`);
    };
  return format in RECORD_READERS
    ? jsonLineReader(RECORD_READERS[format as keyof typeof RECORD_READERS])
    : LINE_READERS[format as keyof typeof LINE_READERS];
}

/**
 * One raw line of a known format, e.g. a message of a Kafka topic of raw log lines (JSON formats:
 * one record per line). Returns the sighting, or undefined when the line is not one; throws
 * `LineError` for a line that cannot be read.
 */
export function readLine(
  format: SourceFormat,
  text: string,
  origin: RecordOrigin,
  options: { host?: string } = {},
): Sighting | undefined {
  return lineReader(format)(text, origin, options);
}

async function* readLines(
  chunks: AsyncIterable<Buffer>,
  file: string,
  format: SourceFormat,
  options: ReadFileOptions,
  progress: FileProgress,
  fail: Fail,
): AsyncGenerator<Sighting> {
  const reader = lineReader(format);
  const skipUntil = progress.cursor;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const lineOptions = options.host ? { host: options.host } : {};
  const splitter = new LineSplitter(maxLineBytes);
  let lineNumber = 0;
  const found: { sighting: Sighting; line: number }[] = [];
  const onLine = (bytes: Buffer | null) => {
    lineNumber++;
    if (lineNumber <= skipUntil) return;
    progress.linesRead++;
    if (bytes === null) {
      fail(lineNumber, `line longer than ${maxLineBytes} bytes: skipped`);
      return;
    }
    if (bytes.length === 0) return;
    if (!isUtf8(bytes)) {
      fail(lineNumber, 'line is not valid UTF-8: skipped');
      return;
    }
    let text = bytes.toString('utf8');
    if (lineNumber === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return;
    try {
      const sighting = reader(text, { file, line: lineNumber, text }, lineOptions);
      if (sighting) found.push({ sighting, line: lineNumber });
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      fail(lineNumber, error.message);
    }
  };
  const flush = function* (): Generator<Sighting> {
    for (const { sighting, line } of found.splice(0)) {
      progress.cursor = line;
      yield sighting;
    }
    progress.cursor = Math.max(progress.cursor, lineNumber);
  };
  try {
    for await (const chunk of chunks) {
      splitter.push(chunk, onLine);
      yield* flush();
    }
  } catch (error) {
    // The bytes stopped (corrupt gzip, read error): the unfinished line is not counted.
    yield* flush();
    fail(lineNumber + 1, describe(error));
    return;
  }
  splitter.end(onLine);
  yield* flush();
  progress.complete = true;
}

async function* readDocument(
  chunks: AsyncIterable<Buffer>,
  file: string,
  reader: RecordReader,
  topLevelArray: boolean,
  maxRecordBytes: number,
  progress: FileProgress,
  fail: Fail,
): AsyncGenerator<Sighting> {
  const skipUntil = progress.cursor;
  const scanner = new JsonRecords(topLevelArray, maxRecordBytes);
  let index = 0;
  const truncated = (message: string) => fail(index + 1, `invalid or truncated JSON after record ${index}: ${message}`);
  try {
    for await (const chunk of chunks) {
      for (const bytes of scanner.push(chunk)) {
        const line = index + 1;
        if (line <= skipUntil) {
          index = line;
          continue;
        }
        progress.linesRead++;
        let value: unknown;
        if (bytes === null) fail(line, `record longer than ${maxRecordBytes} bytes: skipped`);
        else if (!isUtf8(bytes)) fail(line, 'record is not valid UTF-8: skipped');
        else {
          try {
            value = JSON.parse(bytes.toString('utf8'));
          } catch (error) {
            // A record whose text does not parse may have moved the boundaries after it: stop.
            truncated((error as Error).message);
            return;
          }
        }
        index = line;
        progress.cursor = index;
        if (value === undefined) continue;
        const origin: RecordOrigin = { file, line, text: '' };
        // Re-serialised only when it becomes evidence: most records are not sightings.
        Object.defineProperty(origin, 'text', { get: () => JSON.stringify(value), enumerable: true });
        let sighting: Sighting | undefined;
        try {
          sighting = reader(value, origin);
        } catch (error) {
          fail(line, `record not readable: ${(error as Error).message}`);
        }
        if (sighting) yield sighting;
      }
    }
    scanner.end();
  } catch (error) {
    if (error instanceof JsonScanError) truncated(error.message);
    else fail(index + 1, describe(error));
    return;
  }
  progress.cursor = Math.max(progress.cursor, index);
  progress.complete = true;
}
