import { type IncidentEvent, normaliseAlertmanager, type Severity } from '@micro-oncall/incident-model';
import { alertmanagerWebhook } from '@micro-oncall/incident-model/fixtures';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GROUPING,
  GROUP_ID_PATTERN,
  type GroupSpan,
  groupingKey,
  type Member,
  mergedGroupId,
  planJoin,
  ruleGroupId,
  summarise,
} from './grouping.js';

const ctx = { receivedAt: '2025-11-20T09:14:00.000Z' };

function eventsFor(alerts: Array<{ labels: Record<string, string>; startsAt?: string }>, groupKey?: string | null) {
  const payload = { ...alertmanagerWebhook({ alerts }), ...(groupKey === undefined ? {} : { groupKey }) };
  const result = normaliseAlertmanager(payload, ctx);
  if (result.outcome !== 'events') throw new Error(`fixture did not normalise: ${JSON.stringify(result)}`);
  return result.events;
}

const podAlerts = (alertname: string, pods: string[]) =>
  pods.map((pod) => ({ labels: { alertname, pod, service: 'checkout' } }));

describe(groupingKey.name, () => {
  it('gives the alerts of one Alertmanager group the same key, whatever their pods', () => {
    const keys = eventsFor(podAlerts('PodCrashLooping', ['api-1', 'api-2', 'api-3', 'api-4'])).map((e) =>
      groupingKey(e, DEFAULT_GROUPING),
    );
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toContain('{}:{alertname="PodCrashLooping"}');
  });

  it('keeps alerts of different group keys apart', () => {
    const [a] = eventsFor(podAlerts('PodCrashLooping', ['api-1']));
    const [b] = eventsFor(podAlerts('HighLatency', ['api-1']));
    expect(groupingKey(a!, DEFAULT_GROUPING)).not.toBe(groupingKey(b!, DEFAULT_GROUPING));
  });

  it('groups alerts without a group key by alertname and service, unless that rule is off', () => {
    const [a] = eventsFor(podAlerts('PodCrashLooping', ['api-1']), null);
    const [b] = eventsFor(podAlerts('PodCrashLooping', ['api-2']), null);
    const [other] = eventsFor([{ labels: { alertname: 'PodCrashLooping', pod: 'x', service: 'cart' } }], null);
    expect(groupingKey(a!, DEFAULT_GROUPING)).toBe(groupingKey(b!, DEFAULT_GROUPING));
    expect(groupingKey(a!, DEFAULT_GROUPING)).not.toBe(groupingKey(other!, DEFAULT_GROUPING));
    expect(groupingKey(a!, { ...DEFAULT_GROUPING, byAlertname: false })).toBeNull();
  });

  it('never groups a drill with real alerts, nor an event without a snapshot', () => {
    const [real] = eventsFor(podAlerts('PodCrashLooping', ['api-1']));
    const [drill] = eventsFor([{ labels: { alertname: 'PodCrashLooping', pod: 'api-2', drill: 'true' } }]);
    expect(groupingKey(real!, DEFAULT_GROUPING)).not.toBe(groupingKey(drill!, DEFAULT_GROUPING));
    expect(groupingKey({ ...real!, snapshot: null } as IncidentEvent, DEFAULT_GROUPING)).toBeNull();
  });
});

describe(planJoin.name, () => {
  const key = 'group-key\nalertmanager\nreal\n{}:{alertname="PodCrashLooping"}';
  const at = (minute: number) => new Date(Date.UTC(2025, 10, 20, 9, minute)).toISOString();
  const member = (minute: number, id: string): Member => ({ at: at(minute), incidentId: id });

  /** Runs the rule over arrivals in the given order, as the consumer does (window: 5 minutes). */
  function replay(arrivals: Member[]) {
    const windowMs = 5 * 60_000;
    let groups: Array<GroupSpan & { members: string[] }> = [];
    for (const m of arrivals) {
      const t = Date.parse(m.at);
      const touching = groups.filter(
        (g) => Date.parse(g.first.at) <= t + windowMs && Date.parse(g.lastAt) >= t - windowMs,
      );
      const plan = planJoin(key, m, touching);
      const members = [m.incidentId, ...touching.flatMap((g) => g.members)];
      groups = [
        ...groups.filter((g) => !touching.includes(g)),
        { id: plan.id, first: plan.first, lastAt: plan.lastAt, members },
      ];
    }
    return groups
      .map((g) => ({ id: g.id, members: [...g.members].sort() }))
      .sort((a, b) => a.members[0]!.localeCompare(b.members[0]!));
  }

  it('forms one group of alerts that started within the window of each other, in any order of arrival', () => {
    const arrivals = [member(0, 'inc_a'), member(4, 'inc_b'), member(8, 'inc_c'), member(30, 'inc_d')];
    const inOrder = replay(arrivals);
    expect(inOrder).toEqual([
      { id: ruleGroupId(key, arrivals[0]!), members: ['inc_a', 'inc_b', 'inc_c'] },
      { id: ruleGroupId(key, arrivals[3]!), members: ['inc_d'] },
    ]);
    // The bridging alert last: the two groups it connects become one, with the same id as in order.
    expect(replay([arrivals[2]!, arrivals[0]!, arrivals[3]!, arrivals[1]!])).toEqual(inOrder);
    expect(replay([...arrivals].reverse())).toEqual(inOrder);
  });

  it('names a group by its earliest member', () => {
    const plan = planJoin(key, member(3, 'inc_b'), [{ id: 'grp_x', first: member(1, 'inc_a'), lastAt: at(2) }]);
    expect(plan.id).toBe(ruleGroupId(key, member(1, 'inc_a')));
    expect(plan.id).toMatch(GROUP_ID_PATTERN);
    expect(plan.absorbed).toEqual(['grp_x']);
    expect(plan.lastAt).toBe(at(3));
  });

  it('names a merged group by its action, the same on every replay', () => {
    expect(mergedGroupId('5f0c…')).toBe(mergedGroupId('5f0c…'));
    expect(mergedGroupId('a')).not.toBe(mergedGroupId('b'));
    expect(mergedGroupId('a')).toMatch(GROUP_ID_PATTERN);
  });
});

describe(summarise.name, () => {
  const alert = (
    id: string,
    number: number,
    status: 'triggered' | 'acknowledged' | 'resolved',
    severity: Severity = 'high',
  ) => ({ id, number, status, severity });

  it('is triggered while any alert is, with the worst severity and the lowest number leading', () => {
    const summary = summarise('grp_1', [
      alert('inc_c', 12, 'resolved', 'medium'),
      alert('inc_a', 10, 'acknowledged', 'high'),
      alert('inc_b', 11, 'triggered', 'critical'),
      alert('inc_d', 13, 'acknowledged', 'low'),
    ]);
    expect(summary).toEqual({
      id: 'grp_1',
      alerts: 4,
      leadId: 'inc_a',
      status: 'triggered',
      severity: 'critical',
      byStatus: { triggered: 1, acknowledged: 2, resolved: 1 },
    });
  });

  it('is acknowledged when none is triggered, and resolved only when all are', () => {
    expect(summarise('g', [alert('a', 1, 'resolved'), alert('b', 2, 'acknowledged')]).status).toBe('acknowledged');
    expect(summarise('g', [alert('a', 1, 'resolved'), alert('b', 2, 'resolved')]).status).toBe('resolved');
  });
});
