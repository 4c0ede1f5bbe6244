import type { Principal } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import { type ApprovalPolicy, approvalReasons, signInProblem } from './policy.js';

const POLICY: ApprovalPolicy = {
  threshold: 'high',
  mfaMethods: ['mfa', 'otp', 'hwk'],
  mfaLevels: ['urn:okta:loa:2fa:any'],
  maxAuthAgeSeconds: 900,
};
const NOW = 1_800_000_000;
const approver = (signIn?: Principal['signIn']): Principal => ({
  subject: 'grace',
  name: 'Grace',
  email: null,
  roles: ['approver'],
  ...(signIn ? { signIn } : {}),
});

describe(approvalReasons.name, () => {
  it.each([
    ['critical', 'staging', 1],
    ['high', 'staging', 1],
    ['medium', 'staging', 0],
    ['info', 'production', 1],
    ['critical', 'production', 2],
  ] as const)('a %s drill in %s needs %i reason(s) for approval', (severity, environment, count) => {
    expect(approvalReasons({ severity, environment }, POLICY)).toHaveLength(count);
  });
});

describe(signInProblem.name, () => {
  it('accepts a recent sign-in with a second factor in amr or an accepted acr', () => {
    expect(signInProblem(approver({ methods: ['pwd', 'otp'], level: null, at: NOW - 60 }), POLICY, NOW)).toBeNull();
    expect(signInProblem(approver({ methods: [], level: 'urn:okta:loa:2fa:any', at: NOW }), POLICY, NOW)).toBeNull();
  });

  it('refuses a token with no sign-in evidence at all', () => {
    expect(signInProblem(approver(), POLICY, NOW)).toMatch(/needs a multi-factor sign-in: the token has no amr/);
  });

  it('refuses a password-only sign-in, and an acr level that may end with one factor', () => {
    expect(signInProblem(approver({ methods: ['pwd'], level: null, at: NOW }), POLICY, NOW)).toMatch(/amr pwd/);
    expect(
      signInProblem(approver({ methods: ['pwd'], level: 'urn:okta:loa:2fa:any:ifpossible', at: NOW }), POLICY, NOW),
    ).toMatch(/multi-factor/);
  });

  it('refuses a sign-in without auth_time, or older than allowed', () => {
    expect(signInProblem(approver({ methods: ['mfa'], level: null, at: null }), POLICY, NOW)).toMatch(/auth_time/);
    expect(signInProblem(approver({ methods: ['mfa'], level: null, at: NOW - 3600 }), POLICY, NOW)).toMatch(
      /within the last 15 min; yours was 60 min ago/,
    );
  });
});
