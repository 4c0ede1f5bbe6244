const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const SEPARATOR_BYTE = 0xff;

const encoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = (a[i] as number) - (b[i] as number);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/**
 * Alertmanager's alert fingerprint, computed exactly like Prometheus' `model.LabelSet.Fingerprint()`
 * rendered by `Fingerprint.String()`: FNV-1a 64-bit over the label names sorted bytewise, each name
 * and each value (UTF-8) followed by the separator byte 0xff, formatted as 16 lowercase hex digits.
 * The empty label set hashes to the FNV offset basis, `cbf29ce484222325`.
 */
export function alertmanagerFingerprint(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels)
    .map((name) => ({ name: encoder.encode(name), value: encoder.encode(labels[name] ?? '') }))
    .sort((a, b) => compareBytes(a.name, b.name));
  let hash = FNV64_OFFSET;
  const add = (byte: number) => {
    hash = ((hash ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  };
  for (const { name, value } of pairs) {
    for (const byte of name) add(byte);
    add(SEPARATOR_BYTE);
    for (const byte of value) add(byte);
    add(SEPARATOR_BYTE);
  }
  return hash.toString(16).padStart(16, '0');
}
