import { describe, expect, it } from 'vitest';
import {
  applyFilter,
  comparator,
  DEFAULT_STATUS,
  filterChoices,
  filterSearch,
  matchesFilter,
  ownerKeys,
  parseFilter,
  SORTS,
  wantsResolved,
} from './filters.js';
import type { Incident, Ownership } from './types.js';

const FALLBACK = { name: 'Platform on-call', oncall: '@platform-oncall', contacts: [] };

function owned(team: string, owners: string[], oncall: string | null): Ownership {
  return {
    owned: true,
    service: '',
    name: null,
    team,
    owners,
    oncall,
    contacts: [],
    priority: null,
    fallback: FALLBACK,
  };
}

const UNOWNED: Ownership = {
  owned: false,
  service: '',
  name: null,
  team: null,
  owners: [],
  oncall: null,
  contacts: [],
  priority: null,
  fallback: FALLBACK,
};

let seq = 0;
function incident(fields: Partial<Incident> & Pick<Incident, 'id'>): Incident {
  seq += 1;
  return {
    number: seq,
    provider: 'pagerduty',
    providerId: `P${seq}`,
    dedupKey: `dedup-${seq}`,
    title: `Incident ${seq}`,
    service: 'checkout',
    severity: 'medium',
    providerSeverity: 'P3',
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
    changeSeq: seq,
    providerConditions: [],
    ownership: owned('payments', ['alice', 'bob'], '@payments-oncall'),
    ...fields,
  };
}

const id = (n: number) => `inc_${n.toString(16).padStart(24, '0')}`;

describe(parseFilter.name, () => {
  it('shows the open incidents, highest severity first, drills included, when the address says nothing', () => {
    expect(parseFilter('')).toEqual({
      status: new Set(DEFAULT_STATUS),
      severity: new Set(),
      service: '',
      owner: '',
      q: '',
      sort: 'severity',
      hideDrills: false,
    });
    expect([...parseFilter('').status]).toEqual(['triggered', 'acknowledged']);
  });

  it('reads every part of the filter from the address bar', () => {
    expect(
      parseFilter(
        '?status=resolved&severity=critical,high&service=checkout&owner=alice&q=disk%20full&sort=oldest&drills=hide',
      ),
    ).toEqual({
      status: new Set(['resolved']),
      severity: new Set(['critical', 'high']),
      service: 'checkout',
      owner: 'alice',
      q: 'disk full',
      sort: 'oldest',
      hideDrills: true,
    });
  });

  it('drops statuses, severities and sorts it does not know', () => {
    const f = parseFilter('?status=open,triggered&severity=p9,P1,Critical,low&sort=random');
    expect(f.status).toEqual(new Set(['triggered']));
    expect(f.severity).toEqual(new Set(['low']));
    expect(f.sort).toBe('severity');
  });

  it('reads the severity names of links saved before the words (p0…p4) as what they meant', () => {
    expect(parseFilter('?severity=p0,p1').severity).toEqual(new Set(['critical', 'high']));
    expect(filterSearch(parseFilter('?severity=p4,p2'))).toBe('?severity=medium%2Cinfo');
  });

  it('takes an empty status as every status, not the default', () => {
    expect(parseFilter('?status=').status).toEqual(new Set());
  });
});

describe(filterSearch.name, () => {
  it('leaves the default filter out of the address', () => {
    expect(filterSearch(parseFilter(''))).toBe('');
  });

  it.each([
    '?status=resolved',
    '?status=',
    '?severity=critical%2Chigh',
    '?service=checkout',
    '?owner=unowned',
    '?q=disk+full',
    '?sort=updated',
    '?drills=hide',
    '?status=triggered%2Cacknowledged%2Cresolved&severity=high&service=search&owner=%40payments-oncall&q=x&sort=newest&drills=hide',
  ])('writes back %s as it read it', (search) => {
    expect(filterSearch(parseFilter(search))).toBe(search);
  });

  it('writes statuses and severities in a fixed order, so equal filters give equal addresses', () => {
    expect(filterSearch(parseFilter('?severity=low,critical&status=resolved,triggered'))).toBe(
      '?status=triggered%2Cresolved&severity=critical%2Clow',
    );
  });

  it('offers every sort it can read back', () => {
    for (const sort of Object.keys(SORTS)) {
      expect(parseFilter(filterSearch({ ...parseFilter(''), sort: sort as keyof typeof SORTS })).sort).toBe(sort);
    }
  });
});

describe(wantsResolved.name, () => {
  it('is true only when the filter can show resolved incidents', () => {
    expect(wantsResolved(parseFilter(''))).toBe(false);
    expect(wantsResolved(parseFilter('?status=resolved'))).toBe(true);
    expect(wantsResolved(parseFilter('?status='))).toBe(true);
  });
});

describe(ownerKeys.name, () => {
  it('is the owners, the team and the on-call handle, without blanks', () => {
    expect(ownerKeys(incident({ id: id(1) }))).toEqual(['alice', 'bob', 'payments', '@payments-oncall']);
    expect(ownerKeys(incident({ id: id(2), ownership: owned('', ['carol'], null) }))).toEqual(['carol']);
    expect(ownerKeys(incident({ id: id(3), ownership: UNOWNED }))).toEqual([]);
  });
});

describe(matchesFilter.name, () => {
  const open = incident({ id: id(0xabc123), title: 'Disk FULL on db-1', service: 'orders', providerId: 'Q2VU6LUZ' });
  const matches = (search: string, i: Incident = open) => matchesFilter(i, parseFilter(search));

  it('matches on status (open by default), severity and service', () => {
    expect(matches('')).toBe(true);
    expect(matches('', { ...open, status: 'resolved' })).toBe(false);
    expect(matches('?status=resolved', { ...open, status: 'resolved' })).toBe(true);
    expect(matches('?severity=critical,medium')).toBe(true);
    expect(matches('?severity=critical,high')).toBe(false);
    expect(matches('?service=orders')).toBe(true);
    expect(matches('?service=order')).toBe(false);
  });

  it('hides drills only when asked to', () => {
    const drill = { ...open, drill: true };
    expect(matches('', drill)).toBe(true);
    expect(matches('?drills=hide', drill)).toBe(false);
    expect(matches('?drills=hide')).toBe(true);
  });

  it('matches an owner, team or on-call handle exactly, and `unowned` for services the catalogue does not know', () => {
    expect(matches('?owner=alice')).toBe(true);
    expect(matches('?owner=payments')).toBe(true);
    expect(matches('?owner=@payments-oncall')).toBe(true);
    expect(matches('?owner=ali')).toBe(false);
    expect(matches('?owner=unowned')).toBe(false);
    expect(matches('?owner=unowned', { ...open, ownership: UNOWNED })).toBe(true);
    expect(matches('?owner=alice', { ...open, ownership: UNOWNED })).toBe(false);
  });

  it('searches title, service, our id and the provider id, ignoring case', () => {
    expect(matches('?q=disk full')).toBe(true);
    expect(matches('?q=ORDERS')).toBe(true);
    expect(matches('?q=abc123')).toBe(true);
    expect(matches('?q=q2vu6')).toBe(true);
    expect(matches('?q=payments')).toBe(false);
  });

  it('needs every part of the filter to match', () => {
    expect(matches('?severity=medium&service=orders&owner=bob&q=disk')).toBe(true);
    expect(matches('?severity=medium&service=orders&owner=bob&q=cpu')).toBe(false);
  });
});

describe(comparator.name, () => {
  const at = (minute: number) => `2025-11-21T10:${String(minute).padStart(2, '0')}:00.000Z`;
  const highOld = incident({ id: id(21), severity: 'high', createdAt: at(1), updatedAt: at(5) });
  const highAcked = incident({
    id: id(22),
    severity: 'high',
    status: 'acknowledged',
    createdAt: at(2),
    updatedAt: at(9),
  });
  const highNew = incident({ id: id(23), severity: 'high', createdAt: at(3), updatedAt: at(7) });
  const critical = incident({ id: id(24), severity: 'critical', createdAt: at(4), updatedAt: at(1) });
  const tie = incident({ id: id(20), severity: 'high', createdAt: at(3), updatedAt: at(7) });
  const all = [highOld, highAcked, highNew, critical, tie];
  const order = (sort: keyof typeof SORTS) => [...all].sort(comparator(sort)).map((i) => i.id);

  it('by severity: highest first, triggered before acknowledged, then the newest update, then the id', () => {
    expect(order('severity')).toEqual([critical.id, tie.id, highNew.id, highOld.id, highAcked.id]);
  });

  it('by severity: critical, high, medium, low, info', () => {
    const scale = ['info', 'medium', 'critical', 'low', 'high'].map((severity, n) =>
      incident({ id: id(60 + n), severity }),
    );
    expect([...scale].sort(comparator('severity')).map((i) => i.severity)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'info',
    ]);
  });

  it('by last update, newest first', () => {
    expect(order('updated')).toEqual([highAcked.id, tie.id, highNew.id, highOld.id, critical.id]);
  });

  it('by age, newest or oldest first', () => {
    expect(order('newest')).toEqual([critical.id, tie.id, highNew.id, highAcked.id, highOld.id]);
    expect(order('oldest')).toEqual([highOld.id, highAcked.id, tie.id, highNew.id, critical.id]);
  });
});

describe(applyFilter.name, () => {
  it('keeps the matching incidents in the chosen order', () => {
    const a = incident({ id: id(31), severity: 'low' });
    const b = incident({ id: id(32), severity: 'critical' });
    const resolved = incident({ id: id(33), severity: 'critical', status: 'resolved' });
    const list = new Map([a, b, resolved].map((i) => [i.id, i]));
    expect(applyFilter(list.values(), parseFilter('')).map((i) => i.id)).toEqual([b.id, a.id]);
    expect(applyFilter(list.values(), parseFilter('?status=&severity=critical')).map((i) => i.id)).toEqual([
      b.id,
      resolved.id,
    ]);
  });
});

describe(filterChoices.name, () => {
  it('offers the services and owners of the incidents, sorted and once each', () => {
    const list = [
      incident({ id: id(41), service: 'search', ownership: owned('discovery', ['dana'], null) }),
      incident({ id: id(42), service: 'checkout' }),
      incident({ id: id(43), service: 'checkout', ownership: UNOWNED }),
    ];
    expect(filterChoices(list, parseFilter(''))).toEqual({
      services: ['checkout', 'search'],
      owners: ['@payments-oncall', 'alice', 'bob', 'dana', 'discovery', 'payments'],
    });
  });

  it('keeps the current choice selectable when no incident has it, except `unowned` (always offered)', () => {
    expect(filterChoices([], parseFilter('?service=billing&owner=erin'))).toEqual({
      services: ['billing'],
      owners: ['erin'],
    });
    expect(filterChoices([], parseFilter('?owner=unowned'))).toEqual({ services: [], owners: [] });
  });
});
