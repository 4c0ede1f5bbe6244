import { describe, expect, it } from 'vitest';
import {
  actorName,
  assigneeNames,
  changeText,
  handlingCells,
  incidentNumber,
  providerConditionText,
  providerIncidentsText,
  providerNoteText,
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

/** A fixed clock for the provider texts: HH:MM in UTC, whatever the machine's time zone. */
const utc = (iso: string) => new Date(iso).toISOString().slice(11, 16);

const cdnEdge = {
  componentKey: 'cloudflare/cdn1',
  provider: 'Cloudflare',
  page: 'cloudflare',
  component: 'CDN Edge',
  group: 'Cloudflare Sites and Services',
  status: 'major_outage',
  providerStatus: 'major_outage',
  since: '2025-11-20T08:01:02.000Z',
  stale: null,
  incidents: [
    { id: 'p7x2', name: 'Elevated errors on the CDN edge', status: 'investigating', impact: 'major', shortlink: null },
  ],
};

describe(providerConditionText.name, () => {
  it('says provider, component, the condition in words and since when', () => {
    expect(providerConditionText(cdnEdge, utc)).toBe(
      'Cloudflare — CDN Edge: major outage since 08:01 (likely related)',
    );
  });

  it('says a provider whose page does not answer is unknown, stale since when', () => {
    const stale = {
      ...cdnEdge,
      status: 'unknown',
      providerStatus: null,
      stale: { since: '2025-11-20T08:30:00.000Z', reason: 'answered 500', lastKnown: 'operational' },
    };
    expect(providerConditionText(stale, utc)).toBe(
      'Cloudflare — CDN Edge: unknown — stale since 08:30 (likely related)',
    );
  });

  it("names the provider's incidents for the tooltip", () => {
    expect(providerIncidentsText(cdnEdge)).toBe('Cloudflare incident: Elevated errors on the CDN edge (investigating)');
  });
});

describe(providerNoteText.name, () => {
  const note = {
    changeId: '3f1c2b7a-6d5e-4f80-9a1b-2c3d4e5f6a7b',
    componentKey: 'cloudflare/cdn1',
    provider: 'Cloudflare',
    component: 'CDN Edge',
    group: null,
    stale: null,
  };

  it('says when a condition began, changed and recovered', () => {
    expect(
      providerNoteText(
        {
          ...note,
          kind: 'began',
          at: '2025-11-20T08:01:02Z',
          from: null,
          to: 'major_outage',
          since: '2025-11-20T08:01:02Z',
        },
        utc,
      ),
    ).toBe('Cloudflare — CDN Edge: major outage since 08:01 (likely related)');
    expect(
      providerNoteText(
        {
          ...note,
          kind: 'changed',
          at: '2025-11-20T08:30:00Z',
          from: 'major_outage',
          to: 'partial_outage',
          since: '2025-11-20T08:30:00Z',
        },
        utc,
      ),
    ).toBe('Cloudflare — CDN Edge: now partial outage, was major outage');
    expect(
      providerNoteText(
        {
          ...note,
          kind: 'ended',
          at: '2025-11-20T09:10:00Z',
          from: 'partial_outage',
          to: 'operational',
          since: '2025-11-20T08:30:00Z',
        },
        utc,
      ),
    ).toBe('Cloudflare — CDN Edge: recovered at 09:10, was partial outage since 08:30');
  });

  it('says when the mapping stopped naming the service, and when a source turned stale', () => {
    expect(
      providerNoteText(
        {
          ...note,
          kind: 'ended',
          at: '2025-11-20T09:10:00Z',
          from: 'major_outage',
          to: 'major_outage',
          since: '2025-11-20T08:01:00Z',
        },
        utc,
      ),
    ).toBe('Cloudflare — CDN Edge: no longer mapped to this service (major outage)');
    expect(
      providerNoteText(
        {
          ...note,
          kind: 'changed',
          at: '2025-11-20T08:50:00Z',
          from: 'major_outage',
          to: 'unknown',
          since: '2025-11-20T08:45:00Z',
          stale: { since: '2025-11-20T08:45:00Z', reason: 'timeout', lastKnown: 'major_outage' },
        },
        utc,
      ),
    ).toBe('Cloudflare — CDN Edge: now unknown — stale since 08:45, was major outage');
  });
});

describe(incidentNumber.name, () => {
  it('is the short number responders say aloud', () => {
    expect(incidentNumber(123)).toBe('#123');
  });
});

describe(handlingCells.name, () => {
  const lin = { id: 'PLEVEL2', name: 'Lin Level-Two' };
  const ada = { type: 'user', id: 'PXPGF42', name: 'Ada Lovelace' };

  it('shows who has it, who acknowledged it and the level, as PagerDuty reported them', () => {
    const cells = handlingCells({
      provider: 'pagerduty',
      assignees: [lin],
      acknowledgedAt: '2026-12-01T10:00:00.000Z',
      acknowledgedBy: ada,
      escalation: { level: 2, policy: 'Payments — primary' },
    });
    expect(cells.assignedTo).toEqual({
      text: 'Lin Level-Two',
      title: 'Assigned to Lin Level-Two in PagerDuty',
      missing: null,
    });
    expect(cells.acknowledgedBy).toMatchObject({ text: 'Ada Lovelace', missing: null });
    expect(cells.level).toEqual({
      text: '2',
      title: 'Escalation level 2 · escalation policy Payments — primary (PagerDuty)',
      missing: null,
    });
  });

  it('says "not reported by Alertmanager" for what Alertmanager has no notion of, never a made-up value', () => {
    const cells = handlingCells({
      provider: 'alertmanager',
      assignees: [],
      acknowledgedAt: null,
      acknowledgedBy: null,
      escalation: null,
    });
    for (const cell of [cells.assignedTo, cells.acknowledgedBy, cells.level]) {
      expect(cell.text).toBe('—');
      expect(cell.missing).toBe('not reported by Alertmanager');
    }
    expect(cells.assignedTo.title).toBe('Not reported by Alertmanager');
  });

  it('tells nobody assigned and not acknowledged apart from not reported', () => {
    const cells = handlingCells({
      provider: 'opsgenie',
      assignees: [],
      acknowledgedAt: null,
      acknowledgedBy: null,
      escalation: { level: null, policy: 'checkout_escalation' },
    });
    expect(cells.assignedTo).toMatchObject({ text: 'Unassigned', missing: null });
    expect(cells.acknowledgedBy).toMatchObject({ text: '—', missing: 'not acknowledged' });
    expect(cells.level).toEqual({
      text: '—',
      title: 'Escalation level not reported by Opsgenie · escalation policy checkout_escalation',
      missing: 'not reported by Opsgenie',
    });
  });

  it('says not reported when a provider acknowledged it without saying who', () => {
    const cells = handlingCells({
      provider: 'pagerduty',
      assignees: [],
      acknowledgedAt: '2026-12-01T10:00:00.000Z',
      acknowledgedBy: null,
      escalation: null,
    });
    expect(cells.acknowledgedBy.missing).toBe('not reported by PagerDuty');
  });
});

describe(actorName.name, () => {
  it('names the actor, else gives their id, else what kind of actor it was', () => {
    expect(actorName({ type: 'user', id: 'U1', name: 'Ada' })).toBe('Ada');
    expect(actorName({ type: 'user', id: 'U1', name: null })).toBe('U1');
    expect(actorName({ type: 'system', id: null, name: null })).toBe('the system');
    expect(actorName({ type: 'integration', id: null, name: null })).toBe('an integration');
  });
});
