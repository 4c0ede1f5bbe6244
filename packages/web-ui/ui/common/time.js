// @ts-check
/** Times as the product's pages show them: short, in the reader's time zone, the exact UTC in a title. */

/**
 * "45s", "12m", "3h 5m", "2d 4h".
 * @param {number} ms
 */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${m % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/**
 * The time of day ("08:01"), with the day in front when it is not today ("30 Nov 08:01").
 * @param {string} iso
 * @param {{ now?: number, timeZone?: string, locale?: string }} [opts]
 */
export function clockTime(iso, opts = {}) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const zone = opts.timeZone ? { timeZone: opts.timeZone } : {};
  const day = (/** @type {Date} */ d) =>
    new Intl.DateTimeFormat('en-CA', { ...zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const time = new Intl.DateTimeFormat(opts.locale, { ...zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const today = day(at) === day(new Date(opts.now ?? Date.now()));
  if (today) return time.format(at);
  const date = new Intl.DateTimeFormat(opts.locale, { ...zone, day: 'numeric', month: 'short' });
  return `${date.format(at)} ${time.format(at)}`;
}

/**
 * The exact moment, for a title: local date and time, then UTC.
 * @param {string} iso
 */
export function exactTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })} (${d.toISOString().replace('.000Z', 'Z')})`;
}
