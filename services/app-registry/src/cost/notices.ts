import { createHash } from 'node:crypto';

/** An RFC 9562 version 8 UUID from an MD5 of `key`: a notice written twice under the same key is one notice. */
export function derivedId(key: string): string {
  const hex = createHash('md5').update(key, 'utf8').digest('hex').split('');
  hex[12] = '8';
  hex[16] = '8';
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const QUOTA_NOTICE = { 80: 'cost_quota_80', 100: 'cost_quota_100' } as const;
export const ANOMALY_NOTICE = 'cost_anomaly';
export const WEEKLY_REPORT_NOTICE = 'cost_weekly_report';

/** "2026-03" of "2026-03-14". */
export const monthOf = (day: string) => day.slice(0, 7);

/** The first day of a month and of the month after it. */
export function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const to = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
  return { from: `${month}-01`, to };
}
