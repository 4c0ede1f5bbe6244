/*
 * JsonRecords: the records of a JSON document — the elements of a top-level array, or of the
 * arrays under `Records`, `records` or `value` of a wrapper object — as byte ranges, found by
 * scanning the bytes for structure (strings and their escapes, brackets, commas) without building
 * any value. The caller JSON.parses each record on its own: one string and one parse per record
 * instead of a token object per key and value, which made most of the garbage of a discovery run.
 *
 * Records are not validated here (JSON.parse does that); the array around them is (a comma
 * between two records, nothing else), and what lies outside the records — the wrapper, a few
 * bytes — is kept and parsed at `end()`. Memory: one record plus one chunk; a record longer than
 * `maxRecordBytes` comes out as `null` and is not kept. Structural bytes are ASCII, so a byte of
 * invalid UTF-8 can only sit inside a record or the wrapper, never move a boundary.
 */

/** The document is not JSON at a place the scanner sees (outside a record's own text). */
export class JsonScanError extends Error {}

/** Keys of a wrapper object whose array holds the records (CloudTrail, Azure export, Azure REST). */
export const ARRAY_KEYS = new Set(['Records', 'records', 'value']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const isSpace = (byte: number) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
/** Longest key of the wrapper kept to compare with ARRAY_KEYS. */
const MAX_KEY_BYTES = 16;
/** The wrapper (the document without its records) is kept whole to be parsed at the end: bounded. */
const MAX_WRAPPER_BYTES = 1024 * 1024;

/** Where the scanner is in a records array. */
enum InArray {
  /** Not in a records array. */
  No,
  /** After `[`: a record or `]`. */
  First,
  /** After `,`: a record. */
  Next,
  /** After a record: `,` or `]`. */
  After,
  /** Inside an object or array record. */
  Container,
  /** Inside a string, number or literal record. */
  Scalar,
}

export class JsonRecords {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Depth of the records array's elements while in one. */
  private recordsDepth = -1;
  private state = InArray.No;
  private readonly wrapper: Buffer[] = [];
  private wrapperBytes = 0;
  /** The wrapper's current depth-1 string (a key, when a colon follows), its bytes up to MAX_KEY_BYTES. */
  private keyBytes: number[] | undefined;
  private lastString = '';
  private key: string | undefined;
  private readonly parts: Buffer[] = [];
  private partsBytes = 0;
  private tooLong = false;

  constructor(
    private readonly topLevelArray: boolean,
    private readonly maxRecordBytes: number,
  ) {}

  /** Records that end in this chunk, in order: their bytes, or null for one longer than `maxRecordBytes`. */
  *push(chunk: Buffer): Generator<Buffer | null> {
    // Start of the current record (in one), and of the current run of wrapper bytes (-1: none).
    let start = 0;
    let wrapperStart = this.state === InArray.No ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const byte = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) {
          this.inString = false;
          if (this.state === InArray.Scalar && this.depth === this.recordsDepth) {
            yield this.take(chunk, start, i + 1);
            this.state = InArray.After;
            start = i + 1;
          } else if (this.keyBytes) {
            this.lastString = String.fromCharCode(...this.keyBytes);
            this.keyBytes = undefined;
          }
        } else if (this.keyBytes && this.keyBytes.length < MAX_KEY_BYTES) this.keyBytes.push(byte);
        continue;
      }
      const state = this.state;
      if (state === InArray.No) {
        this.wrapperByte(byte);
        if (this.state === InArray.First) {
          this.keep(chunk.subarray(wrapperStart, i + 1));
          wrapperStart = -1;
        }
        continue;
      }
      if (state === InArray.Container) {
        if (byte === QUOTE) this.inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
        else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --this.depth === this.recordsDepth) {
          yield this.take(chunk, start, i + 1);
          this.state = InArray.After;
          start = i + 1;
        }
        continue;
      }
      if (state === InArray.Scalar) {
        if (!isSpace(byte) && byte !== COMMA && byte !== CLOSE_BRACKET) continue;
        yield this.take(chunk, start, i);
        this.state = InArray.After;
        start = i;
      }
      // Between records.
      if (isSpace(byte)) continue;
      if (byte === COMMA) {
        if (this.state !== InArray.After) throw new JsonScanError('a comma where a record should be');
        this.state = InArray.Next;
      } else if (byte === CLOSE_BRACKET) {
        if (this.state === InArray.Next) throw new JsonScanError('a comma before the end of the records array');
        wrapperStart = i;
        this.state = InArray.No;
        this.recordsDepth = -1;
        this.wrapperByte(byte);
      } else {
        if (this.state === InArray.After) throw new JsonScanError('two records without a comma between them');
        if (byte === COLON || byte === CLOSE_BRACE)
          throw new JsonScanError(`unexpected "${String.fromCharCode(byte)}" in the records array`);
        start = i;
        if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
          this.depth++;
          this.state = InArray.Container;
        } else {
          this.inString = byte === QUOTE;
          this.state = InArray.Scalar;
        }
      }
    }
    if (this.state === InArray.Container || this.state === InArray.Scalar) this.collect(chunk.subarray(start));
    else if (this.state === InArray.No) this.keep(chunk.subarray(wrapperStart));
  }

  /** At the end of the bytes: throws when the document is not closed or its wrapper is not JSON. */
  end(): void {
    if (this.depth !== 0 || this.inString || this.state !== InArray.No)
      throw new JsonScanError('the document ends before it is closed');
    const text = Buffer.concat(this.wrapper)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    try {
      JSON.parse(text);
    } catch (error) {
      throw new JsonScanError(`outside the records: ${(error as Error).message}`);
    }
  }

  /** One byte outside the records (or a records array's closing bracket). */
  private wrapperByte(byte: number): void {
    if (byte === QUOTE) {
      this.inString = true;
      if (this.depth === 1 && !this.topLevelArray) this.keyBytes = [];
    } else if (byte === COLON) {
      if (this.depth === 1) this.key = this.lastString;
    } else if (byte === COMMA) {
      if (this.depth === 1) this.key = undefined;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      this.depth++;
      const records = this.topLevelArray
        ? this.depth === 1 && byte === OPEN_BRACKET
        : this.depth === 2 && byte === OPEN_BRACKET && this.key !== undefined && ARRAY_KEYS.has(this.key);
      if (records) {
        this.recordsDepth = this.depth;
        this.state = InArray.First;
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      this.depth--;
      if (this.depth < 0) throw new JsonScanError(`unexpected "${String.fromCharCode(byte)}"`);
    }
  }

  /** Keeps a run of wrapper bytes, copied (a slice would hold the whole chunk). */
  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.wrapperBytes += bytes.length;
    if (this.wrapperBytes > MAX_WRAPPER_BYTES)
      throw new JsonScanError(`more than ${MAX_WRAPPER_BYTES} bytes outside the records`);
    this.wrapper.push(Buffer.from(bytes));
  }

  private collect(bytes: Buffer): void {
    if (this.tooLong) return;
    this.partsBytes += bytes.length;
    if (this.partsBytes > this.maxRecordBytes) {
      this.tooLong = true;
      this.parts.length = 0;
    } else this.parts.push(bytes);
  }

  /** The record that ends at `end` of this chunk. */
  private take(chunk: Buffer, start: number, end: number): Buffer | null {
    this.collect(chunk.subarray(start, end));
    const record = this.tooLong ? null : this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts.length = 0;
    this.partsBytes = 0;
    this.tooLong = false;
    return record;
  }
}
