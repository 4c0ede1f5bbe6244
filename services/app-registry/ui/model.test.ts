import { describe, expect, it } from 'vitest';
import { fieldOfIssue, filtersOf, lifecycleOf, queryOf, whyNotApprove, whyNotRestore } from './model.js';
import type { App } from './types.js';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const app = (over: Partial<App> = {}): App =>
  ({
    id: 'app_1',
    name: 'lunch-poll',
    state: 'active',
    stateChangedAt: '2026-11-01T10:00:00Z',
    tier: 'low',
    requestedBy: 'rita',
    ownerSubject: 'rita',
    lifecycle: {
      lastActivityAt: '2026-11-30T10:00:00Z',
      exemptUntil: null,
      disabledAt: null,
      archivedAt: null,
      restorableUntil: null,
    },
    ...over,
  }) as App;

describe('the registry pages’ words', () => {
  it('says until when an archived app can be restored, and that it is purged after', () => {
    const archived = app({
      state: 'archived',
      lifecycle: { ...app().lifecycle, archivedAt: '2026-11-20T10:00:00Z', restorableUntil: '2027-02-18T10:00:00Z' },
    });
    expect(lifecycleOf(archived, NOW)).toEqual({
      now: 'Archived on 20 Nov 2026; its code and data references are kept.',
      next: 'Restorable until 18 Feb 2027 (in 79 days); purged after that, for good.',
    });
    expect(lifecycleOf(app({ state: 'idle' }), NOW).now).toBe('Idle since 1 Nov 2026; last used 30 Nov 2026.');
  });

  it('says why someone may not approve or restore', () => {
    const pending = app({ state: 'pending_approval' });
    expect(whyNotApprove(pending, { subject: 'rita', roles: ['approver'] })).toMatch(/You requested this app/);
    expect(whyNotApprove(pending, { subject: 'ron', roles: ['responder'] })).toMatch(/not one/);
    expect(whyNotApprove(pending, { subject: 'april', roles: ['approver'] })).toBeNull();
    const disabled = app({ state: 'disabled' });
    expect(whyNotRestore(disabled, { subject: 'ron', roles: ['responder'] }, NOW)).toBe(
      'Only its owner or an admin can restore it.',
    );
    expect(whyNotRestore(disabled, { subject: 'rita', roles: ['responder'] }, NOW)).toBeNull();
    expect(whyNotRestore(disabled, { subject: 'ada', roles: ['admin'] }, NOW)).toBeNull();
    const expired = app({
      state: 'archived',
      lifecycle: { ...app().lifecycle, restorableUntil: '2026-11-30T10:00:00Z' },
    });
    expect(whyNotRestore(expired, { subject: 'ada', roles: ['admin'] }, NOW)).toBe(
      'The restore window ended on 30 Nov 2026.',
    );
  });

  it('keeps the list’s filters in the address, and maps a 400 issue to its form field', () => {
    const filters = filtersOf('?state=idle&q=%20expense%20&tier=&evil=1');
    expect(filters).toEqual({ state: 'idle', q: 'expense' });
    expect(queryOf(filters, 'abc')).toBe('?q=expense&state=idle&cursor=abc');
    expect(queryOf({})).toBe('');
    const fields = ['name', 'owner.name', 'endpoints'];
    expect(fieldOfIssue('owner.name', fields)).toBe('owner.name');
    expect(fieldOfIssue('endpoints.0.host', fields)).toBe('endpoints');
    expect(fieldOfIssue('(root)', fields)).toBeNull();
  });
});
