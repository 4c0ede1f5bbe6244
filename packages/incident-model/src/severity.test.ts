import { describe, expect, it } from 'vitest';
import { SEVERITY_LABELS, Severity, severityFromPriority, severityFromText } from './severity.js';

describe(severityFromText.name, () => {
  it.each([
    ['critical', 'p0'],
    ['FATAL', 'p0'],
    ['emergency', 'p0'],
    ['p0', 'p0'],
    ['high', 'p1'],
    ['Error', 'p1'],
    ['major', 'p1'],
    ['P1', 'p1'],
    ['warning', 'p2'],
    ['warn', 'p2'],
    ['medium', 'p2'],
    ['minor', 'p2'],
    ['low', 'p3'],
    ['p3', 'p3'],
    ['info', 'p4'],
    ['informational', 'p4'],
    [' notice ', 'p4'],
    ['p4', 'p4'],
  ])('reads %j as %s', (text, expected) => {
    expect(severityFromText(text)).toBe(expected);
  });

  it.each(['', 'sev1', 'page', 'p5', 'criticality', undefined, null])('does not guess for %j', (text) => {
    expect(severityFromText(text)).toBeNull();
  });
});

describe(severityFromPriority.name, () => {
  it('maps provider priorities P1..P5 one step down onto p0..p4', () => {
    expect(['P1', 'P2', 'P3', 'P4', 'P5'].map(severityFromPriority)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('accepts lowercase priority names', () => {
    expect(severityFromPriority('p1')).toBe('p0');
  });

  it.each(['P0', 'P6', 'SEV-1', 'high', '', null, undefined])('returns null for %j', (priority) => {
    expect(severityFromPriority(priority)).toBeNull();
  });
});

describe('SEVERITY_LABELS', () => {
  it('labels every severity', () => {
    expect(Object.keys(SEVERITY_LABELS).sort()).toEqual([...Severity.options]);
    expect(SEVERITY_LABELS.p0).toBe('critical');
    expect(SEVERITY_LABELS.p4).toBe('info');
  });
});
