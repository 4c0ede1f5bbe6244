import { z } from 'zod';

/** Our severity scale: p0 is the highest (everything is on fire), p4 the lowest (informational). */
export const Severity = z.enum(['p0', 'p1', 'p2', 'p3', 'p4']);
export type Severity = z.infer<typeof Severity>;

/** Used when a provider gives no severity at all (documented in the README). */
export const DEFAULT_SEVERITY: Severity = 'p2';

export const SEVERITY_LABELS: Readonly<Record<Severity, string>> = {
  p0: 'critical',
  p1: 'high',
  p2: 'medium',
  p3: 'low',
  p4: 'info',
};

const TEXT_TO_SEVERITY: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ['critical', 'p0'],
  ['fatal', 'p0'],
  ['emergency', 'p0'],
  ['p0', 'p0'],
  ['high', 'p1'],
  ['error', 'p1'],
  ['major', 'p1'],
  ['p1', 'p1'],
  ['warning', 'p2'],
  ['warn', 'p2'],
  ['medium', 'p2'],
  ['minor', 'p2'],
  ['p2', 'p2'],
  ['low', 'p3'],
  ['p3', 'p3'],
  ['info', 'p4'],
  ['informational', 'p4'],
  ['notice', 'p4'],
  ['p4', 'p4'],
]);

/**
 * Free-text severity words (Alertmanager `severity` label, `severity:<x>` tags) → our scale.
 * Case-insensitive, surrounding whitespace ignored; unknown words give null so the caller decides.
 * Note `p1` here means *our* p1; provider priority names go through {@link severityFromPriority}.
 */
export function severityFromText(text: string | undefined | null): Severity | null {
  if (typeof text !== 'string') return null;
  return TEXT_TO_SEVERITY.get(text.trim().toLowerCase()) ?? null;
}

const PRIORITY_TO_SEVERITY: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ['p1', 'p0'],
  ['p2', 'p1'],
  ['p3', 'p2'],
  ['p4', 'p3'],
  ['p5', 'p4'],
]);

/**
 * PagerDuty / Opsgenie priority names `P1`…`P5` (P1 highest) → `p0`…`p4`.
 * Case-insensitive; anything else (custom PagerDuty priority names, null) gives null.
 */
export function severityFromPriority(priority: string | undefined | null): Severity | null {
  if (typeof priority !== 'string') return null;
  return PRIORITY_TO_SEVERITY.get(priority.trim().toLowerCase()) ?? null;
}
