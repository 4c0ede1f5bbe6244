import { describe, expect, it } from 'vitest';
import {
  assigneeNames,
  changeText,
  providerSeverityText,
  SEVERITIES,
  severityLabel,
  truncationText,
} from './format.js';

describe(severityLabel.name, () => {
  it('names every severity with a word no provider uses as a priority name', () => {
    expect(SEVERITIES.map(severityLabel)).toEqual(['Critical', 'High', 'Medium', 'Low', 'Info']);
    for (const severity of SEVERITIES) expect(severityLabel(severity)).not.toMatch(/^P\d/i);
  });

  it('shows an unknown value as it is', () => {
    expect(severityLabel('p9')).toBe('p9');
  });
});

describe(providerSeverityText.name, () => {
  it('says whose name it is, so a PagerDuty P1 is never read as ours', () => {
    expect(providerSeverityText('pagerduty', 'P1')).toBe('PagerDuty priority P1');
    expect(providerSeverityText('opsgenie', 'P3')).toBe('Opsgenie priority P3');
    expect(providerSeverityText('alertmanager', 'warning')).toBe('Alertmanager severity warning');
    expect(providerSeverityText('pagerduty', null)).toBeNull();
  });
});

describe(assigneeNames.name, () => {
  it('lists the names, or says nothing for nobody', () => {
    expect(
      assigneeNames([
        { id: 'PTUXL6G', name: 'Grace Hopper' },
        { id: null, name: 'Lin' },
      ]),
    ).toBe('Grace Hopper, Lin');
    expect(assigneeNames([])).toBeNull();
    expect(assigneeNames(undefined)).toBeNull();
  });
});

describe(changeText.name, () => {
  it('says who an escalation went to, at which level, along which policy', () => {
    expect(
      changeText({
        assignees: [{ id: 'PLEVEL2', name: 'Lin Level-Two' }],
        escalationLevel: 2,
        escalationPolicy: 'Payments — primary',
      }),
    ).toBe('to Lin Level-Two · level 2 · via Payments — primary');
    expect(changeText({ assignees: [] })).toBe('to nobody');
  });

  it('says a priority change from what to what', () => {
    expect(changeText({ priority: { from: 'P3', to: 'P1' } })).toBe('priority P3 → P1');
    expect(changeText({ priority: { from: null, to: 'P2' } })).toBe('priority none → P2');
    expect(changeText({ priority: { to: null } })).toBe('priority none → none');
  });

  it('says nothing when the event says nothing more than its kind', () => {
    expect(changeText(null)).toBeNull();
    expect(changeText({})).toBeNull();
    expect(changeText({ truncatedAlerts: 3 })).toBeNull();
  });
});

describe(truncationText.name, () => {
  it('warns when Alertmanager left alerts out of the notification', () => {
    expect(truncationText({ truncatedAlerts: 12 })).toMatch(/left 12 more alerts of this group out/);
    expect(truncationText({ truncatedAlerts: 1 })).toMatch(/left 1 more alert of/);
    expect(truncationText({})).toBeNull();
    expect(truncationText(null)).toBeNull();
  });
});
