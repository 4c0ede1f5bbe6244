import { z } from 'zod';

/**
 * An RFC 3339 / ISO 8601 UTC timestamp with a `Z` suffix, e.g. `2025-11-20T09:14:03.512Z`.
 * Everything this package emits uses `Date.prototype.toISOString()` (millisecond precision).
 */
export const IsoDateTime = z.iso.datetime();
export type IsoDateTime = z.infer<typeof IsoDateTime>;

// 0000-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z: the range toISOString renders as `YYYY-…`.
const MIN_EPOCH_MS = -62_167_219_200_000;
const MAX_EPOCH_MS = 253_402_300_799_999;

/** Epoch milliseconds → ISO string, or null when not a finite time in years 0000–9999. */
export function isoFromEpochMs(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const whole = Math.floor(ms);
  if (whole < MIN_EPOCH_MS || whole > MAX_EPOCH_MS) return null;
  return new Date(whole).toISOString();
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp as providers send it (any offset, up to nanosecond fractions, as Go
 * renders `time.Time`) into our UTC ISO form. Returns null for anything else — including strings
 * `Date.parse` would happily accept ("1", "Tue Mar 3") and impossible dates (Feb 30, 25:00).
 */
export function isoFromRfc3339(text: string): string | null {
  if (text.length > 64) return null;
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zulu, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  let ms = date.getTime();
  if (!zulu) {
    const offsetHours = Number(oh);
    const offsetMinutes = Number(om);
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    const offset = (offsetHours * 60 + offsetMinutes) * 60_000;
    ms += sign === '+' ? -offset : offset;
  }
  return isoFromEpochMs(ms);
}
