import { z } from 'zod';

/**
 * Our severity scale, highest first. Words, not numbers: PagerDuty and Opsgenie call their
 * priorities P0/P1…P5, and a number on our side ("p0") would be read as theirs — one step off
 * (docs/adr/0008-severity-words-and-provider-priority.md). The provider's own priority name is
 * kept beside it, verbatim, in `IncidentSnapshot.providerSeverity`.
 */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

/** Our severity: one of {@link SEVERITIES}. Strict: the names used before ADR 0008 are refused. */
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

/** Used when a provider gives no severity at all (documented in the README). */
export const DEFAULT_SEVERITY: Severity = 'medium';

/** How responders read each severity (the dashboard, notifications). */
export const SEVERITY_LABELS: Readonly<Record<Severity, string>> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

/**
 * The names incident-events v1 carried before ADR 0008 (`p0` highest … `p4`), with the severity
 * each meant. Still read from messages on the topic, stored event history and catalogue files
 * written before the change; never written.
 */
export const LEGACY_SEVERITY_NAMES: Readonly<Record<string, Severity>> = {
  p0: 'critical',
  p1: 'high',
  p2: 'medium',
  p3: 'low',
  p4: 'info',
};

/**
 * {@link Severity} for data written before ADR 0008: also takes `p0`…`p4` and gives the
 * severity they meant, so a replay of the topic or an old catalogue file keeps working.
 * Its JSON Schema (output side) is that of {@link Severity}: producers write the new names only.
 */
export const SeverityWithLegacyNames = z.preprocess(
  (value) =>
    typeof value === 'string' && Object.hasOwn(LEGACY_SEVERITY_NAMES, value) ? LEGACY_SEVERITY_NAMES[value] : value,
  Severity,
);

const WORD_TO_SEVERITY: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ['critical', 'critical'],
  ['fatal', 'critical'],
  ['emergency', 'critical'],
  ['high', 'high'],
  ['error', 'high'],
  ['major', 'high'],
  ['warning', 'medium'],
  ['warn', 'medium'],
  ['medium', 'medium'],
  ['minor', 'medium'],
  ['low', 'low'],
  ['info', 'info'],
  ['informational', 'info'],
  ['notice', 'info'],
]);

/**
 * Priority names → our scale. PagerDuty priorities are account-defined: most accounts use P1…P5
 * (P1 highest), some put a P0 above P1; Opsgenie has P1…P5. A name alone does not tell which scale
 * an account uses, so P1 is critical (the top of a P1–P5 scale) and P0 is critical too: raising a
 * priority never lowers the severity, and the provider's own name is shown beside ours.
 */
const PRIORITY_TO_SEVERITY: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ['p0', 'critical'],
  ['p1', 'critical'],
  ['p2', 'high'],
  ['p3', 'medium'],
  ['p4', 'low'],
  ['p5', 'info'],
]);

/**
 * A provider's name for how bad something is → our scale, or null when it is not one we know (the
 * caller decides). Case-insensitive, surrounding whitespace ignored. Takes
 * - priority names `P0`…`P5` (PagerDuty, Opsgenie), which mean here what they mean there: `P1` is
 *   critical, in an Alertmanager `severity` label or an Opsgenie `severity:` tag as well;
 * - words: `critical`/`fatal`/`emergency`, `high`/`error`/`major`, `medium`/`warning`/`warn`/`minor`,
 *   `low`, `info`/`informational`/`notice` (Alertmanager labels, custom PagerDuty priority names).
 * Anything else (`SEV-1`, `page`, `p6`) gives null.
 */
export function severityFromName(name: string | undefined | null): Severity | null {
  if (typeof name !== 'string') return null;
  const key = name.trim().toLowerCase();
  return PRIORITY_TO_SEVERITY.get(key) ?? WORD_TO_SEVERITY.get(key) ?? null;
}
