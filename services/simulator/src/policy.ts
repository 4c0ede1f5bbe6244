import { type DrillEnvironment, SEVERITIES, type Severity } from '@micro-oncall/incident-model';
import type { Principal } from '@micro-oncall/service-kit';

/** Who must approve what, and what counts as a recent multi-factor sign-in (from configuration). */
export interface ApprovalPolicy {
  /** Runs firing this severity or higher need an approver. */
  threshold: Severity;
  /** `amr` values any one of which is multi-factor evidence. */
  mfaMethods: readonly string[];
  /** `acr` values that are multi-factor evidence. */
  mfaLevels: readonly string[];
  /** How old the approver's sign-in (`auth_time`) may be. */
  maxAuthAgeSeconds: number;
}

const rank = (severity: Severity) => SEVERITIES.indexOf(severity);

/** Why a run needs an approver's approval; empty when it may start at once. */
export function approvalReasons(
  run: { severity: Severity; environment: DrillEnvironment },
  policy: Pick<ApprovalPolicy, 'threshold'>,
): string[] {
  const reasons: string[] = [];
  if (rank(run.severity) <= rank(policy.threshold)) {
    reasons.push(`it fires ${run.severity} alerts (approval is needed from ${policy.threshold})`);
  }
  if (run.environment === 'production') reasons.push('it targets production');
  return reasons;
}

/**
 * Why the approver's sign-in is not good enough to approve, or null when it is: the token must
 * carry multi-factor evidence (an `amr` method or an `acr` level the policy lists) and say when
 * the person signed in (`auth_time`), no longer ago than the policy allows.
 */
export function signInProblem(principal: Principal, policy: ApprovalPolicy, nowSeconds: number): string | null {
  const signIn = principal.signIn;
  const methods = signIn?.methods ?? [];
  const level = signIn?.level ?? null;
  const multiFactor =
    methods.some((m) => policy.mfaMethods.includes(m)) || (level !== null && policy.mfaLevels.includes(level));
  if (!multiFactor) {
    const accepted = [
      policy.mfaMethods.length > 0 ? `amr with one of ${policy.mfaMethods.join(', ')}` : null,
      policy.mfaLevels.length > 0 ? `acr one of ${policy.mfaLevels.join(', ')}` : null,
    ]
      .filter(Boolean)
      .join(', or ');
    const had = methods.length > 0 ? `amr ${methods.join(', ')}` : 'no amr';
    return `approving needs a multi-factor sign-in: the token has ${had}${level ? `, acr ${level}` : ''}; accepted: ${accepted}. Sign in again with a second factor`;
  }
  if (signIn?.at === null || signIn?.at === undefined) {
    return 'approving needs a recent sign-in, and the token does not say when you signed in (auth_time). Sign in again';
  }
  const age = nowSeconds - signIn.at;
  if (age > policy.maxAuthAgeSeconds) {
    return `approving needs a sign-in within the last ${formatSeconds(policy.maxAuthAgeSeconds)}; yours was ${formatSeconds(age)} ago. Sign in again`;
  }
  return null;
}

/**
 * Why `principal` may not approve what `requestedBy` asked for (a run, a game day), or null when
 * they may: a second person (never the requester) whose sign-in passes `signInProblem`.
 */
export function approverProblem(
  principal: Principal,
  request: { requestedBySubject: string; what: string },
  policy: ApprovalPolicy,
  nowSeconds: number,
): string | null {
  if (request.requestedBySubject === principal.subject) {
    return `you proposed this ${request.what}: a second person with the approver role must approve it`;
  }
  return signInProblem(principal, policy, nowSeconds);
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}
