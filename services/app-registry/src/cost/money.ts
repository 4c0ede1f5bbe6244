/*
 * Money as exact decimals: an amount is a bigint count of nano-units (10⁻⁹ of the currency), so
 * line items of a fraction of a cent add up exactly, however many there are. Floats are used only
 * for statistics (the anomaly baseline), never for a total.
 */

/** Decimal places kept: cost exports carry up to 10; a nano-unit is far below any invoice's rounding. */
export const SCALE = 9;
const ONE = 10n ** BigInt(SCALE);
const MAX_EXPONENT = 40;

const DECIMAL = /^([+-]?)(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

/**
 * Parses a FOCUS decimal (plain, or `mEn` scientific notation; no thousands separators) into
 * nano-units, rounding half to even below the ninth decimal. Null when the text is no decimal.
 */
export function parseDecimal(text: string): bigint | null {
  const m = DECIMAL.exec(text.trim());
  if (!m) return null;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  if (int === '' && frac === '') return null;
  const exponent = Number(exp);
  if (Math.abs(exponent) > MAX_EXPONENT) return null;
  const digits = BigInt(`${int}${frac}` || '0');
  // value = digits × 10^(exponent − frac.length); in nano-units, × 10^SCALE.
  const shift = exponent - frac.length + SCALE;
  let nanos: bigint;
  if (shift >= 0) nanos = digits * 10n ** BigInt(shift);
  else {
    const divisor = 10n ** BigInt(-shift);
    const quotient = digits / divisor;
    const remainder = digits % divisor;
    const twice = remainder * 2n;
    nanos = twice > divisor || (twice === divisor && quotient % 2n === 1n) ? quotient + 1n : quotient;
  }
  return sign === '-' ? -nanos : nanos;
}

/** Nano-units as a plain decimal string with all nine places trimmed of trailing zeros ("12.5", "-0.000001", "3"). */
export function formatDecimal(nanos: bigint, minPlaces = 0): string {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  const int = abs / ONE;
  let frac = (abs % ONE).toString().padStart(SCALE, '0').replace(/0+$/, '');
  if (frac.length < minPlaces) frac = frac.padEnd(minPlaces, '0');
  return `${negative && abs !== 0n ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** For statistics only (the anomaly baseline): the amount as a float in currency units. */
export const toNumber = (nanos: bigint) => Number(nanos) / Number(ONE);

/** A decimal string (as PostgreSQL's numeric returns it) back into nano-units; throws on anything else. */
export function nanosOf(text: string | number | bigint): bigint {
  if (typeof text === 'bigint') return text;
  const parsed = parseDecimal(String(text));
  if (parsed === null) throw new Error(`not a decimal amount: ${String(text).slice(0, 40)}`);
  return parsed;
}

/** Whether `text` is a decimal parseDecimal reads (a cheaper check for columns that are not summed). */
export const isDecimal = (text: string) => {
  const m = DECIMAL.exec(text.trim());
  return !!m && (m[2] !== undefined || (m[3] ?? '') !== '') && Math.abs(Number(m[4] ?? 0)) <= MAX_EXPONENT;
};
