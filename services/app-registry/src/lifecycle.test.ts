import { describe, expect, it } from 'vitest';
import { cutoffs, disableWarning, purgeWarning } from './lifecycle.js';
import { ownershipNotice } from './ownership.js';
import { stateAfterDecision } from './store.js';

const settings = {
  idleAfterDays: { low: 30, medium: 60, high: 90 },
  disableAfterIdleDays: 14,
  archiveAfterDisabledDays: 7,
  restoreWindowDays: 90,
  exceptionMaxDays: 90,
};

describe('cutoffs', () => {
  it('counts each step back from now, per tier for idling', () => {
    const c = cutoffs(new Date('2026-12-01T00:00:00Z'), settings);
    expect(c).toEqual({
      now: '2026-12-01T00:00:00.000Z',
      idle: { low: '2026-11-01T00:00:00.000Z', medium: '2026-10-02T00:00:00.000Z', high: '2026-09-02T00:00:00.000Z' },
      disable: '2026-11-17T00:00:00.000Z',
      archive: '2026-11-24T00:00:00.000Z',
    });
  });
});

describe('stateAfterDecision', () => {
  it('moves an app through onboarding by the decision', () => {
    expect(stateAfterDecision(null, 'approve')).toBe('active');
    expect(stateAfterDecision(null, 'needs_approval')).toBe('pending_approval');
    expect(stateAfterDecision(null, 'refuse')).toBe('refused');
    expect(stateAfterDecision(null, 'hold')).toBe('held');
    expect(stateAfterDecision('refused', 'needs_approval')).toBe('pending_approval');
    expect(stateAfterDecision('held', 'approve')).toBe('active');
  });

  it('never changes the lifecycle state of a running app: a new violation is shown, not enforced', () => {
    for (const state of ['active', 'idle', 'disabled', 'archived'] as const) {
      expect(stateAfterDecision(state, 'refuse')).toBe(state);
      expect(stateAfterDecision(state, 'hold')).toBe(state);
    }
  });
});

describe("owners' warnings", () => {
  const app = {
    id: 'app_1',
    name: 'desk-booking',
    teamName: 'facilities',
    lastActivityAt: '2026-10-28T09:30:00.000Z',
    archivedAt: '2026-11-20T10:17:00.000Z',
  };

  it('tells the owner, when the app goes idle, the day it will be disabled and how to keep it', () => {
    const notice = disableWarning(app, new Date('2026-12-01T10:17:00Z'), settings);
    expect(notice).toEqual({
      kind: 'disable_warning',
      title: 'desk-booking will be disabled on 2026-12-15',
      text: expect.stringContaining(
        'desk-booking (team facilities) has had no activity since 2026-10-28 and is now idle. It will be disabled on 2026-12-15 unless there is activity or an exemption.',
      ),
    });
    expect(notice.text).toContain('POST /apps/v1/apps/app_1/restore');
    expect(notice.text).toContain('POST /apps/v1/apps/app_1/exemption');
  });

  it('tells the owner of an archived app the day it will be purged, and to restore it before then', () => {
    const notice = purgeWarning(app, '2027-02-18T10:17:00.000Z');
    expect(notice).toEqual({
      kind: 'purge_warning',
      title: 'desk-booking will be purged on 2027-02-18',
      text: expect.stringMatching(
        /^desk-booking \(team facilities\) was archived on 2026-11-20 and will be purged on 2027-02-18, for good: .* Restore it before then/,
      ),
    });
    expect(notice.text).toContain('POST /apps/v1/apps/app_1/restore');
  });

  it('tells the team who could own an app whose owner left', () => {
    const notice = ownershipNotice(app, {
      detail: 'Rita Requester was deactivated at the identity provider (okta user.lifecycle.deactivate, event okta:1)',
      candidates: [
        { why: 'team', name: 'facilities', contact: '#facilities', subject: null },
        { why: 'recent_editor', name: 'Ron Responder', contact: null, subject: 'ron' },
        { why: 'co_owner', name: 'Olga Owner', contact: 'olga@example.com', subject: 'olga' },
      ],
    });
    expect(notice.title).toBe('desk-booking needs a new owner');
    expect(notice.text).toMatch(
      /^desk-booking \(team facilities\) has no owner: Rita Requester was deactivated at the identity provider .*; candidates: Ron Responder, Olga Owner\. /,
    );
  });
});
