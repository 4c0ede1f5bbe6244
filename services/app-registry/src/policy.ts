import { RiskTier } from '@micro-oncall/incident-model';
import { Counter, createHttpClient, type HttpClient, type Logger, type Registry } from '@micro-oncall/service-kit';
import { z } from 'zod';
import type { EvidenceAge } from './evidence.js';
import { Control, type DecisionSummary, Reason } from './model.js';

/*
 * The policy engine, asked at run time: OPA's REST API (the sidecar), package `app_registry` in
 * policies/app-registry (docs/adr/0013). The service sends facts and reads a decision; it holds
 * no rule of its own. Anything but a well-formed decision (OPA unreachable, an error, an
 * undefined document, an unknown outcome) is "held for review": never approved by default.
 */

/** What the policy reads about one app (snake_case, as the Rego rules name it). */
export interface PolicyInput {
  app: {
    impact: string;
    data_classes: string[];
    exposure: string;
    runtime: string;
    dedicated_namespace: boolean;
    public_storage: boolean;
    template: string | null;
    idp_client_ids: string[];
  };
  /** The latest document of each kind, with its age (stale when age_days > max_age_days). */
  evidence: {
    sso?: { client_id: string } & Partial<EvidenceAge>;
    sbom?: { format: string; components: number } & Partial<EvidenceAge>;
    secret_scan?: { tool: string; results_by_level: Record<string, number> } & Partial<EvidenceAge>;
    dependency_scan?: { tool: string; results_by_level: Record<string, number> } & Partial<EvidenceAge>;
  };
  /** Approved, unexpired exceptions only (the service filters by its clock). */
  exceptions: { control: string; expires_at: string }[];
  /** The tier an approver approved, if any. */
  approval: { tier: string } | null;
}

/** The decision document the policy returns (data.app_registry.decision). */
export const PolicyDecision = z.object({
  policy_version: z.string().min(1),
  outcome: z.enum(['approve', 'needs_approval', 'refuse']),
  score: z.number().int(),
  tier: RiskTier,
  explanation: z.string(),
  controls: z.array(Control),
  reasons: z.array(Reason),
});
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export type PolicyResult = { kind: 'decided'; decision: PolicyDecision } | { kind: 'held'; reason: string };

export interface PolicyEngine {
  /** One app's decision; never throws: a failure is `held` with the reason. */
  decide(input: PolicyInput): Promise<PolicyResult>;
  /** Many apps in one request (imports, re-evaluation), by key; a failure holds them all. */
  decideMany(inputs: Record<string, PolicyInput>): Promise<Record<string, PolicyResult>>;
  /** The approved templates, from the policy; throws DependencyUnavailableError when OPA cannot answer. */
  templates(): Promise<{ name: string; description: string }[]>;
}

const Templates = z.array(z.object({ name: z.string(), description: z.string() }));

/** The summary stored with the app (and returned by the API) for a policy result. */
export function summarise(result: PolicyResult, decidedAt: string): DecisionSummary {
  if (result.kind === 'held') {
    return {
      outcome: 'hold',
      tier: null,
      score: null,
      explanation: `held for review: ${result.reason}`,
      policyVersion: null,
      reasons: [
        {
          rule: 'policy-engine',
          control: 'decision',
          message: `no policy decision could be made: ${result.reason}`,
          fix: 'nothing to change in the app: it is re-evaluated when the policy engine answers again (POST …/evaluate), or an approver decides',
        },
      ],
      controls: [],
      decidedAt,
    };
  }
  const d = result.decision;
  return {
    outcome: d.outcome,
    tier: d.tier,
    score: d.score,
    explanation: d.explanation,
    policyVersion: d.policy_version,
    reasons: d.reasons,
    controls: d.controls,
    decidedAt,
  };
}

/** Controls that are required and not met (what the app's violations are). */
export const openViolations = (summary: DecisionSummary) =>
  summary.controls.filter((c) => c.status === 'missing' || c.status === 'failing' || c.status === 'violated').length;

export function createOpaPolicyEngine(opts: {
  url: string;
  timeoutMs: number;
  logger: Logger;
  registry: Registry;
  /** Default package path of the decision. */
  path?: string;
}): PolicyEngine {
  const http: HttpClient = createHttpClient({
    name: 'OPA',
    baseUrl: opts.url.replace(/\/$/, ''),
    timeoutMs: opts.timeoutMs,
    retries: 1,
    backoff: { initialMs: 100, maxMs: 500 },
    // Short: when the sidecar is back, decisions resume within seconds.
    breaker: { failureThreshold: 5, resetMs: 5000 },
    logger: opts.logger,
  });
  const decisions = new Counter({
    name: 'app_registry_policy_decisions_total',
    help: 'Policy decisions by outcome (hold: OPA failed or answered something unknown)',
    labelNames: ['outcome'] as const,
    registers: [opts.registry],
  });
  const failures = new Counter({
    name: 'app_registry_policy_failures_total',
    help: 'Policy requests that gave no usable decision, by reason',
    labelNames: ['reason'] as const,
    registers: [opts.registry],
  });

  /** POST /v1/data/<path> with `input`; the `result` member, or a reason why there is none. */
  async function query(
    path: string,
    input: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; reason: string }> {
    try {
      // Evaluating a policy changes nothing at OPA: safe to repeat after a timeout.
      const res = await http.request<{ result?: unknown }>({
        method: 'POST',
        path: `/v1/data/${path}`,
        body: { input },
        idempotent: true,
      });
      if (res.body === null || typeof res.body !== 'object' || !('result' in res.body)) {
        failures.inc({ reason: 'undefined' });
        return { ok: false, reason: `the policy defines no data.${path.replaceAll('/', '.')} for this app` };
      }
      return { ok: true, result: res.body.result };
    } catch (error) {
      failures.inc({ reason: 'unavailable' });
      opts.logger.warn({ reason: (error as Error).message }, 'policy engine request failed; holding for review');
      return { ok: false, reason: `the policy engine is unavailable (${(error as Error).message})` };
    }
  }

  const toResult = (raw: unknown): PolicyResult => {
    const parsed = PolicyDecision.safeParse(raw);
    if (parsed.success) return { kind: 'decided', decision: parsed.data };
    failures.inc({ reason: 'unknown_decision' });
    const issue = parsed.error.issues[0];
    return {
      kind: 'held',
      reason: `the policy answered a decision this service does not know (${issue?.path.join('.') || 'decision'}: ${issue?.message ?? 'invalid'})`,
    };
  };
  const count = (result: PolicyResult) => {
    decisions.inc({ outcome: result.kind === 'held' ? 'hold' : result.decision.outcome });
    return result;
  };

  return {
    async decide(input) {
      const answer = await query(opts.path ?? 'app_registry/decision', input);
      return count(answer.ok ? toResult(answer.result) : { kind: 'held', reason: answer.reason });
    },
    async decideMany(inputs) {
      const keys = Object.keys(inputs);
      if (keys.length === 0) return {};
      const answer = await query('app_registry/decisions', { apps: inputs });
      const byKey =
        answer.ok && answer.result !== null && typeof answer.result === 'object'
          ? (answer.result as Record<string, unknown>)
          : undefined;
      return Object.fromEntries(
        keys.map((key) => {
          if (!byKey) return [key, count({ kind: 'held', reason: answer.ok ? 'no decisions' : answer.reason })];
          if (!(key in byKey)) {
            failures.inc({ reason: 'undefined' });
            return [key, count({ kind: 'held', reason: 'the policy made no decision for this app' })];
          }
          return [key, count(toResult(byKey[key]))];
        }),
      );
    },
    async templates() {
      const res = await http.request<{ result?: unknown }>({
        method: 'POST',
        path: '/v1/data/app_registry/templates',
        body: { input: {} },
        idempotent: true,
      });
      const parsed = Templates.safeParse(res.body?.result ?? []);
      return parsed.success ? parsed.data : [];
    },
  };
}
