import { describe, expect, it } from 'vitest';
import { iso } from './views.js';

describe('iso', () => {
  it('shows every timestamp PostgreSQL writes exactly as Date does', () => {
    const values = [
      '2026-12-01 10:00:00+00',
      '2026-12-01 10:00:00.1+00',
      '2026-12-01 10:00:00.12+00',
      '2026-12-01 10:00:00.123+00',
      '2026-12-01 10:00:00.123999+00',
      '2026-12-31 23:59:59.999999+00',
      '2024-02-29 00:00:00.5+00',
      '1000-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999+00',
      // Not a UTC value in the usual form: Date decides, as before.
      '2026-12-01 10:00:00+01',
      '2026-12-01 10:00:00.25+05:30',
      '0099-01-01 00:00:00+00',
    ];
    // And a spread of instants over four centuries with every length of fraction.
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i += 1) {
      const at = new Date(Date.UTC(1800, 0, 1) + Math.floor(random() * 400 * 365.25 * 86_400_000));
      const micros = String(Math.floor(random() * 1_000_000)).padStart(6, '0');
      const digits = Math.floor(random() * 7);
      const base = at.toISOString().slice(0, 19).replace('T', ' ');
      values.push(`${base}${digits ? `.${micros.slice(0, digits)}` : ''}+00`);
    }
    for (const value of values) expect(iso(value), value).toBe(new Date(value).toISOString());
  });
});
