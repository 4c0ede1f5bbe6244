import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SEVERITY,
  LEGACY_SEVERITY_NAMES,
  SEVERITIES,
  SEVERITY_LABELS,
  Severity,
  SeverityWithLegacyNames,
  severityFromName,
} from './severity.js';

const rank = (severity: Severity | null) => (severity === null ? -1 : SEVERITIES.length - SEVERITIES.indexOf(severity));

describe(severityFromName.name, () => {
  it('maps every documented provider priority, P0 (some PagerDuty accounts) to P5', () => {
    expect(['P0', 'P1', 'P2', 'P3', 'P4', 'P5'].map(severityFromName)).toEqual([
      'critical',
      'critical',
      'high',
      'medium',
      'low',
      'info',
    ]);
  });

  it('never lowers the severity when the priority is raised', () => {
    const priorities = ['P5', 'P4', 'P3', 'P2', 'P1', 'P0'];
    const ranks = priorities.map((p) => rank(severityFromName(p)));
    for (let i = 1; i < ranks.length; i += 1) expect(ranks[i]).toBeGreaterThanOrEqual(ranks[i - 1]!);
  });

  it('reads a priority name the same wherever it appears, in any case', () => {
    expect(severityFromName('p1')).toBe('critical');
    expect(severityFromName(' P1 ')).toBe('critical');
    expect(severityFromName('p4')).toBe('low');
  });

  it.each([
    ['critical', 'critical'],
    ['FATAL', 'critical'],
    ['emergency', 'critical'],
    ['high', 'high'],
    ['Error', 'high'],
    ['major', 'high'],
    ['warning', 'medium'],
    ['warn', 'medium'],
    ['medium', 'medium'],
    ['minor', 'medium'],
    ['low', 'low'],
    ['info', 'info'],
    ['informational', 'info'],
    [' notice ', 'info'],
  ])('reads the word %j as %s (Alertmanager labels, custom PagerDuty priority names)', (text, expected) => {
    expect(severityFromName(text)).toBe(expected);
  });

  it.each(['', 'sev1', 'SEV-1', 'page', 'P6', 'p-1', 'criticality', undefined, null])(
    'does not guess for %j',
    (text) => {
      expect(severityFromName(text)).toBeNull();
    },
  );
});

describe('Severity', () => {
  it('is a scale of words, none of which a provider uses as a priority name', () => {
    expect(Severity.options).toEqual(['critical', 'high', 'medium', 'low', 'info']);
    for (const severity of Severity.options) expect(severity).not.toMatch(/^p\d$/i);
    expect(DEFAULT_SEVERITY).toBe('medium');
  });

  it('refuses the names used before ADR 0008 where it is strict (API queries)', () => {
    expect(Severity.safeParse('p0').success).toBe(false);
  });

  it('labels every severity', () => {
    expect(Object.keys(SEVERITY_LABELS)).toEqual([...Severity.options]);
    expect(SEVERITY_LABELS.critical).toBe('Critical');
    expect(SEVERITY_LABELS.info).toBe('Info');
  });
});

describe('SeverityWithLegacyNames', () => {
  it('reads p0…p4 (events and catalogues written before ADR 0008) as the severity they meant', () => {
    expect(['p0', 'p1', 'p2', 'p3', 'p4'].map((v) => SeverityWithLegacyNames.parse(v))).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'info',
    ]);
    expect(Object.values(LEGACY_SEVERITY_NAMES)).toEqual([...Severity.options]);
  });

  it('takes the current names as they are and refuses anything else', () => {
    expect(SeverityWithLegacyNames.parse('high')).toBe('high');
    expect(SeverityWithLegacyNames.safeParse('P1').success).toBe(false);
    expect(SeverityWithLegacyNames.safeParse('p5').success).toBe(false);
  });
});
