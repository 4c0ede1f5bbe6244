import { describe, expect, it } from 'vitest';
import { collapseGroups, expandGroups, tellingLabels } from './grouping.js';
import type { GroupSummary, Incident } from './types.js';

function incident(fields: Partial<Incident> & Pick<Incident, 'id' | 'number'>): Incident {
  return {
    provider: 'alertmanager',
    providerId: fields.id,
    dedupKey: fields.id,
    title: `Alert ${fields.number}`,
    service: 'checkout',
    severity: 'medium',
    providerSeverity: null,
    assignees: [],
    acknowledgedBy: null,
    escalation: null,
    urgency: 'low',
    status: 'triggered',
    labels: {},
    links: [],
    providerUrl: null,
    drill: false,
    drillRun: null,
    drillRunId: null,
    unverifiedDrillMarker: false,
    unverifiedDrillMarkerReason: null,
    createdAt: '2025-11-21T10:00:00.000Z',
    updatedAt: '2025-11-21T10:00:00.000Z',
    acknowledgedAt: null,
    resolvedAt: null,
    lastEventKind: 'triggered',
    changeSeq: fields.number,
    providerConditions: [],
    group: null,
    ownership: {
      owned: false,
      service: 'checkout',
      name: null,
      team: null,
      owners: [],
      oncall: null,
      contacts: [],
      priority: null,
      fallback: { name: 'Fallback', contacts: [] },
    },
    ...fields,
  };
}

const group = (memberIds: string[], fields: Partial<GroupSummary> = {}): GroupSummary => ({
  id: 'grp_1',
  alerts: memberIds.length,
  leadId: memberIds[0]!,
  status: 'triggered',
  severity: 'critical',
  byStatus: { triggered: memberIds.length, acknowledged: 0, resolved: 0 },
  ...fields,
});

describe(collapseGroups.name, () => {
  it('shows a group of four alerts as one entry: its lead, with the group’s status and worst severity', () => {
    const g = group(['a', 'b', 'c', 'd'], { status: 'triggered', severity: 'critical' });
    const members = ['a', 'b', 'c', 'd'].map((id, n) =>
      incident({ id, number: n + 1, status: n === 0 ? 'acknowledged' : 'triggered', severity: 'low', group: g }),
    );
    const alone = incident({ id: 'e', number: 5 });
    const entries = collapseGroups([...members, alone]);
    expect(entries.map((e) => [e.id, e.status, e.severity, e.group?.alerts ?? null])).toEqual([
      ['e', 'triggered', 'medium', null],
      ['a', 'triggered', 'critical', 4],
    ]);
  });

  it('follows the member described last: a split alert shows on its own and the group with one alert less', () => {
    const before = group(['a', 'b', 'c']);
    const after = group(['a', 'b'], { id: 'grp_1' });
    const entries = collapseGroups([
      incident({ id: 'a', number: 1, group: before, changeSeq: 10 }),
      incident({ id: 'b', number: 2, group: after, changeSeq: 12 }),
      incident({ id: 'c', number: 3, group: null, changeSeq: 11 }),
    ]);
    expect(entries.map((e) => [e.id, e.group?.alerts ?? null])).toEqual([
      ['c', null],
      ['a', 2],
    ]);
  });

  it('shows an alert left alone in its group as itself', () => {
    const entries = collapseGroups([incident({ id: 'a', number: 1, group: group(['a']) })]);
    expect(entries.map((e) => e.id)).toEqual(['a']);
  });
});

describe(expandGroups.name, () => {
  it('acts on every loaded alert of a group, and on anything else itself', () => {
    const g = group(['a', 'b', 'c']);
    const other = incident({ id: 'x', number: 9 });
    const all = [incident({ id: 'b', number: 2, group: g }), incident({ id: 'a', number: 1, group: g }), other];
    const [lead] = collapseGroups(all.slice(0, 2));
    expect(expandGroups([lead!, other], all).map((i) => i.id)).toEqual(['a', 'b', 'x']);
  });
});

describe(tellingLabels.name, () => {
  it('names the labels that tell the alerts apart, pod and instance first', () => {
    const alerts = [
      { labels: { alertname: 'X', pod: 'p1', instance: 'i1', zone: 'a' } },
      { labels: { alertname: 'X', pod: 'p2', instance: 'i2', zone: 'b' } },
    ];
    expect(tellingLabels(alerts)).toEqual(['pod', 'instance', 'zone']);
    expect(tellingLabels(alerts, 1)).toEqual(['pod']);
  });
});
