import type { ComponentStatus, ProviderStatusChange } from '@micro-oncall/incident-model';
import { describe, expect, it } from 'vitest';
import {
  affects,
  applyProviderChange,
  byWorst,
  type ComponentCondition,
  conditionText,
  noteFor,
  servicesTouched,
} from './provider-conditions.js';

let n = 0;
/** A provider-status change of Cloudflare's CDN Edge, as status-mapper writes it. */
function change(
  to: ComponentStatus,
  observedAt: string,
  extra: Partial<Omit<ProviderStatusChange, 'status'>> & { stale?: ProviderStatusChange['status']['stale'] } = {},
): ProviderStatusChange {
  const { stale = null, ...rest } = extra;
  n += 1;
  return {
    changeId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    provider: 'Cloudflare',
    page: { id: 'cloudflare', providerPageId: 'yh6f0r4529hb', name: 'Cloudflare' },
    component: { key: 'cloudflare/cdn1', id: 'cdn1', name: 'CDN Edge', group: { id: 'g1', name: 'Sites' } },
    status: { from: null, to, providerStatus: stale ? null : to, stale },
    incidents: [],
    services: ['frontend', 'api-gateway'],
    observedAt,
    source: 'poll',
    ...rest,
  };
}

/** Folds changes in arrival order, as the consumer does; older arrivals are skipped. */
function fold(changes: ProviderStatusChange[]): ComponentCondition | null {
  let state: ComponentCondition | null = null;
  for (const c of changes) state = applyProviderChange(state, c) ?? state;
  return state;
}

describe('applyProviderChange', () => {
  it('holds the new condition with its services (sorted) and since when', () => {
    const c = applyProviderChange(null, change('major_outage', '2025-11-20T08:01:02.000Z'))!;
    expect(c).toMatchObject({
      componentKey: 'cloudflare/cdn1',
      provider: 'Cloudflare',
      componentName: 'CDN Edge',
      groupName: 'Sites',
      status: 'major_outage',
      since: '2025-11-20T08:01:02.000Z',
      services: ['api-gateway', 'frontend'],
    });
  });

  it('ignores a change older than the one applied, whatever order they arrive in', () => {
    const outage = change('major_outage', '2025-11-20T08:01:00.000Z');
    const recovery = change('operational', '2025-11-20T09:10:00.000Z');
    const recovered = applyProviderChange(null, recovery)!;
    expect(applyProviderChange(recovered, outage)).toBeNull();
    expect(fold([recovery, outage])?.status).toBe('operational');
    expect(fold([outage, recovery])?.status).toBe('operational');
  });

  it('keeps since when the condition stays the same (a second source saying it again)', () => {
    const first = applyProviderChange(null, change('partial_outage', '2025-11-20T08:00:00.000Z'))!;
    const again = applyProviderChange(
      first,
      change('partial_outage', '2025-11-20T08:05:00.000Z', { source: 'webhook' }),
    )!;
    expect(again.since).toBe('2025-11-20T08:00:00.000Z');
    const worse = applyProviderChange(again, change('major_outage', '2025-11-20T08:20:00.000Z'))!;
    expect(worse.since).toBe('2025-11-20T08:20:00.000Z');
  });

  it('dates a stale condition from when its source started failing', () => {
    const stale = applyProviderChange(
      null,
      change('unknown', '2025-11-20T08:33:00.000Z', {
        stale: { since: '2025-11-20T08:30:00.000Z', reason: 'answered 500', lastKnown: 'operational' },
      }),
    )!;
    expect(stale).toMatchObject({ status: 'unknown', since: '2025-11-20T08:30:00.000Z' });
    expect(conditionText(stale, new Date('2025-11-20T09:00:00Z'))).toBe(
      'Cloudflare — CDN Edge: unknown — stale since 08:30 UTC (likely related)',
    );
  });

  it('reads an event without services (from before the field) as affecting no service', () => {
    const c = applyProviderChange(null, change('major_outage', '2025-11-20T08:01:00.000Z', { services: [] }))!;
    expect(affects(c, 'frontend')).toBe(false);
    expect(servicesTouched(null, c)).toEqual([]);
  });
});

describe('noteFor', () => {
  const outage = applyProviderChange(null, change('major_outage', '2025-11-20T08:01:00.000Z'))!;
  const partial = applyProviderChange(outage, change('partial_outage', '2025-11-20T08:30:00.000Z'))!;
  const recovered = applyProviderChange(partial, change('operational', '2025-11-20T09:10:00.000Z'))!;

  it('notes the condition beginning, changing and ending for an affected service', () => {
    expect(noteFor('frontend', null, outage)).toEqual({ kind: 'began', from: null, to: 'major_outage' });
    expect(noteFor('frontend', outage, partial)).toEqual({
      kind: 'changed',
      from: 'major_outage',
      to: 'partial_outage',
    });
    expect(noteFor('frontend', partial, recovered)).toEqual({
      kind: 'ended',
      from: 'partial_outage',
      to: 'operational',
    });
  });

  it('notes nothing for a service the component does not map to, nor for an unchanged condition', () => {
    expect(noteFor('payments', null, outage)).toBeNull();
    const repeated = applyProviderChange(outage, change('major_outage', '2025-11-20T08:02:00.000Z'))!;
    expect(noteFor('frontend', outage, repeated)).toBeNull();
    expect(
      noteFor('frontend', null, applyProviderChange(null, change('operational', '2025-11-20T08:00:00Z'))!),
    ).toBeNull();
  });

  it('ends the condition for a service the mapping no longer names, and begins it for a new one', () => {
    const remapped = applyProviderChange(
      outage,
      change('major_outage', '2025-11-20T08:40:00.000Z', { services: ['frontend', 'checkout'] }),
    )!;
    expect(noteFor('api-gateway', outage, remapped)).toEqual({
      kind: 'ended',
      from: 'major_outage',
      to: 'major_outage',
    });
    expect(noteFor('checkout', outage, remapped)).toEqual({ kind: 'began', from: null, to: 'major_outage' });
    expect(noteFor('frontend', outage, remapped)).toBeNull();
    expect(servicesTouched(outage, remapped)).toEqual(['api-gateway', 'checkout', 'frontend']);
  });

  it('notes a source turning stale as a change, and coming back as the end', () => {
    const stale = applyProviderChange(
      outage,
      change('unknown', '2025-11-20T08:50:00.000Z', {
        stale: { since: '2025-11-20T08:45:00.000Z', reason: 'timeout', lastKnown: 'major_outage' },
      }),
    )!;
    expect(noteFor('frontend', outage, stale)).toEqual({ kind: 'changed', from: 'major_outage', to: 'unknown' });
    const back = applyProviderChange(stale, change('operational', '2025-11-20T09:00:00.000Z'))!;
    expect(noteFor('frontend', stale, back)).toEqual({ kind: 'ended', from: 'unknown', to: 'operational' });
  });

  it('touches no service when an operational component stays operational', () => {
    const ok = applyProviderChange(null, change('operational', '2025-11-20T08:00:00.000Z'))!;
    expect(servicesTouched(ok, applyProviderChange(ok, change('operational', '2025-11-20T08:01:00.000Z'))!)).toEqual(
      [],
    );
  });
});

describe('conditionText and byWorst', () => {
  it('says provider, component, condition in words and since when, in UTC', () => {
    const c = applyProviderChange(null, change('major_outage', '2025-11-20T08:01:02.000Z'))!;
    expect(conditionText(c, new Date('2025-11-20T10:00:00Z'))).toBe(
      'Cloudflare — CDN Edge: major outage since 08:01 UTC (likely related)',
    );
    expect(conditionText(c, new Date('2025-11-21T10:00:00Z'))).toBe(
      'Cloudflare — CDN Edge: major outage since 2025-11-20 08:01 UTC (likely related)',
    );
  });

  it('orders the worst condition first', () => {
    const at = '2025-11-20T08:00:00.000Z';
    const degraded = applyProviderChange(null, change('degraded_performance', at))!;
    const major = applyProviderChange(null, {
      ...change('major_outage', at),
      component: { key: 'github/git', id: 'git', name: 'Git Operations', group: null },
      provider: 'GitHub',
    })!;
    const maintenance = applyProviderChange(null, change('under_maintenance', at))!;
    expect([maintenance, degraded, major].sort(byWorst).map((c) => c.status)).toEqual([
      'major_outage',
      'degraded_performance',
      'under_maintenance',
    ]);
  });
});
