import type { Sighting, SourceFormat } from '../sighting.js';

/** Evidence text is cut to this many characters. */
export const EVIDENCE_MAX_CHARS = 2000;

/** Where a record came from, before it becomes a sighting's `evidence`. */
export interface RecordOrigin {
  file: string;
  /** 1-based line, or record index for JSON documents. */
  line: number;
  /** The raw line, or the record re-serialised for JSON documents. */
  text: string;
}

export function evidence(origin: RecordOrigin): Sighting['evidence'] {
  const text = origin.text.length > EVIDENCE_MAX_CHARS ? origin.text.slice(0, EVIDENCE_MAX_CHARS) : origin.text;
  return { file: origin.file, line: origin.line, text };
}

/** A JSON object's members, or undefined when the value is not a plain object. */
export function obj(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A non-empty string, or undefined (access logs write `-` for an empty value). */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value !== '-' ? value : undefined;
}

/** Host part of a URL, an authority (`host:port`) or a bare host name: lower-cased, without port. */
export function hostOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let host = value.trim().toLowerCase();
  const scheme = host.indexOf('://');
  if (scheme >= 0) host = host.slice(scheme + 3);
  host = host.split(/[/?#]/, 1)[0] ?? '';
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : undefined;
  }
  const colon = host.indexOf(':');
  // One colon is host:port; more than one is a bare IPv6 address.
  if (colon >= 0 && host.indexOf(':', colon + 1) < 0) host = host.slice(0, colon);
  host = host.replace(/\.$/, '');
  return host === '' || host === '-' ? undefined : host;
}

/** A timestamp as a Date, or undefined when it does not parse. */
export function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const MONTHS: Record<string, string> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};

/** Common Log Format time (`10/Oct/2026:13:55:36 -0700`, NGINX `$time_local`, API Gateway `requestTime`). */
export function clfDate(value: string | undefined): Date | undefined {
  const m = value
    ? /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(value)
    : null;
  const month = m ? MONTHS[m[2]!] : undefined;
  if (!m || !month) return undefined;
  return dateOf(`${m[3]}-${month}-${m[1]}T${m[4]}:${m[5]}:${m[6]}${m[7]}${m[8]}:${m[9]}`);
}

/** The last segment of a slash-separated resource name or ARN path. */
export function lastSegment(value: string): string {
  const parts = value.split(/[/:]/).filter(Boolean);
  return parts[parts.length - 1] ?? value;
}

/** Turns one parsed JSON record of a format into a sighting, or undefined when it is not one. */
export type RecordReader = (record: unknown, origin: RecordOrigin) => Sighting | undefined;

/** Turns one line of a line-oriented format into a sighting, or undefined; throws `LineError` for a bad line. */
export type LineReader = (line: string, origin: RecordOrigin, options: { host?: string }) => Sighting | undefined;

/** A line that cannot be read; the message says why (the reader adds file and line). */
export class LineError extends Error {}

export type { SourceFormat };
