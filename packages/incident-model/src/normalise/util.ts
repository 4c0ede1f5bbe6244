import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IncidentEvent } from '../events.js';
import { INCIDENT_LIMITS, type Link } from '../incident.js';
import { isoFromRfc3339 } from '../time.js';
import type { NormaliseResult, ValidationIssue } from './types.js';

/** At most this many issues are reported for one payload. */
export const MAX_ISSUES = 20;

/** Cuts `text` to at most `max` UTF-16 units, ending in `…` when cut, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((segment) => (typeof segment === 'symbol' ? segment.toString() : String(segment))).join('.');
}

export function toIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: issuePath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

export function invalid(issues: ValidationIssue[]): NormaliseResult {
  return { outcome: 'invalid', issues };
}

export function invalidAt(path: string, message: string): NormaliseResult {
  return invalid([{ path, message }]);
}

/** A provider timestamp (RFC 3339, any offset, up to ns precision) → our UTC ISO form, or an issue. */
export const ProviderTimestamp = z.string().transform((value, ctx) => {
  const iso = isoFromRfc3339(value);
  if (iso === null) {
    ctx.issues.push({ code: 'custom', message: 'Invalid RFC 3339 timestamp', input: value });
    return z.NEVER;
  }
  return iso;
});

/** The first argument that is a non-blank string, or null. */
export function firstText(...values: ReadonlyArray<string | null | undefined>): string | null {
  for (const value of values) {
    if (typeof value === 'string' && value.trim().length > 0) return value;
  }
  return null;
}

/** Title as shown to people: surrounding whitespace trimmed, cut to the model's limit. */
export function boundedTitle(...candidates: ReadonlyArray<string | null | undefined>): string {
  return truncate((firstText(...candidates) ?? 'Untitled incident').trim(), INCIDENT_LIMITS.title);
}

export function boundedText(value: string | null | undefined, max: number): string | null {
  return typeof value === 'string' ? truncate(value, max) : null;
}

/** Labels bounded to the model: long keys and values are cut; on a clash after cutting, the first wins. */
export function boundedLabels(entries: Iterable<readonly [string, string | null | undefined]>): Record<string, string> {
  // A plain object (not null-prototype) so that deep equality and JSON behave as callers expect.
  const labels: Record<string, string> = {};
  for (const [rawKey, rawValue] of entries) {
    if (typeof rawValue !== 'string') continue;
    const key = truncate(rawKey, INCIDENT_LIMITS.labelKey);
    if (Object.hasOwn(labels, key)) continue;
    const value = truncate(rawValue, INCIDENT_LIMITS.labelValue);
    // A `__proto__` label is a label: assigning it would set the prototype instead.
    if (key === '__proto__')
      Object.defineProperty(labels, key, { value, enumerable: true, writable: true, configurable: true });
    else labels[key] = value;
  }
  return labels;
}

/** A link when `href` is usable: non-blank and not longer than the model allows (a cut URL is a broken URL). */
export function linkOrNull(href: string | null | undefined, text: string): Link | null {
  if (typeof href !== 'string') return null;
  const trimmed = href.trim();
  if (trimmed.length === 0 || trimmed.length > INCIDENT_LIMITS.linkHref) return null;
  return { href: trimmed, text: truncate(text, INCIDENT_LIMITS.linkText) };
}

export function links(...candidates: ReadonlyArray<Link | null>): Link[] {
  return candidates.filter((link): link is Link => link !== null).slice(0, INCIDENT_LIMITS.links);
}

export function urlOrNull(href: string | null | undefined): string | null {
  return linkOrNull(href, '')?.href ?? null;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** An event id within the model's limit: ids that would be too long are replaced by `<prefix>:sha256:<hex>`. */
export function boundedEventId(prefix: string, id: string): string {
  const full = `${prefix}:${id}`;
  return full.length <= INCIDENT_LIMITS.eventId ? full : `${prefix}:sha256:${sha256Hex(full)}`;
}

export function isDrillTitle(title: string | null | undefined): boolean {
  return typeof title === 'string' && /^\s*\[drill\]/i.test(title);
}

/**
 * The events a normaliser built, made storable. They are not validated again here: each
 * normaliser builds them from a payload its own schema accepted, through the bounded helpers
 * above, and its unit and property tests check every event it emits against `IncidentEvent`
 * (`test-helpers.ts`, `properties.test.ts`), so a normaliser that could emit an invalid event
 * fails a test instead of costing a second schema pass on every webhook.
 */
export function emit(events: IncidentEvent[]): NormaliseResult {
  return { outcome: 'events', events: events.map(storable) };
}

/**
 * Makes every string (keys too) storable by PostgreSQL: U+0000 and lone UTF-16 surrogates become
 * U+FFFD. JSON allows `\u0000` and `\ud800`, but PostgreSQL text and jsonb refuse them, so an
 * event carrying one could never be stored downstream.
 *
 * One pass that copies only what holds such a string: a value without one is returned as it is
 * (the same object), and a value with one is copied along the path to it, never mutated.
 */
export function storable<T>(value: T): T {
  return swept(value) as T;
}

function storableText(text: string): string {
  if (!text.includes('\u0000') && text.isWellFormed()) return text;
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

function swept(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const clean = swept(item);
      if (copy === undefined && !Object.is(clean, item)) copy = value.slice(0, index);
      // `index in value`: a hole of a sparse array stays a hole.
      if (copy !== undefined && index in value) copy[index] = clean;
    }
    if (copy !== undefined) copy.length = value.length;
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let entries: Array<[string, unknown]> | undefined;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string;
    const item = record[key];
    const cleanKey = storableText(key);
    const clean = swept(item);
    if (entries === undefined && (cleanKey !== key || !Object.is(clean, item))) {
      entries = keys.slice(0, index).map((earlier): [string, unknown] => [earlier, record[earlier]]);
    }
    entries?.push([cleanKey, clean]);
  }
  // fromEntries defines own properties, so a `__proto__` key stays a key.
  return entries === undefined ? value : Object.fromEntries(entries);
}

/** Runs a normaliser body so that nothing escapes as an exception. */
export function neverThrow(run: () => NormaliseResult): NormaliseResult {
  try {
    const result = run();
    // An ignored event echoes the provider's event type: it must be storable too.
    return result.outcome === 'ignored' ? storable(result) : result;
  } catch (error) {
    return invalidAt('', `payload could not be processed: ${truncate(describeError(error), 500)}`);
  }
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return 'unknown error';
  }
}
