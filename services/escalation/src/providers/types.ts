import type { HttpClientOptions, ServiceError } from '@micro-oncall/service-kit';
import { z } from 'zod';
import type { ListTargets, OnCall, ScheduleOnCall } from './targets.js';

/** What a responder may ask a provider to do with an incident (body of POST /v1/incidents/:id/actions). */
export const ActionRequest = z.discriminatedUnion('action', [
  z.object({ action: z.literal('acknowledge'), note: z.string().trim().min(1).max(2000).optional() }).strict(),
  z.object({ action: z.literal('resolve'), note: z.string().trim().min(1).max(2000).optional() }).strict(),
  z
    .object({
      action: z.literal('escalate'),
      level: z.number().int().min(1).max(20).optional(),
      escalationPolicyId: z.string().min(1).max(64).optional(),
      escalationName: z.string().min(1).max(256).optional(),
      note: z.string().trim().min(1).max(2000).optional(),
    })
    .strict(),
  z.object({ action: z.literal('reassign'), userId: z.string().min(1).max(64) }).strict(),
  z.object({ action: z.literal('note'), note: z.string().trim().min(1).max(10000) }).strict(),
]);
export type ActionRequest = z.infer<typeof ActionRequest>;

export interface ActionContext {
  actor: { subject: string; email: string | null; name: string | null };
  requestId: string;
}

export interface ActionOutcome {
  /** A human sentence, e.g. 'PagerDuty acknowledged incident Q2VU6LUZKJ7CQT'. */
  detail: string;
  providerRequestId: string | null;
  providerStatus: number;
}

export interface ProviderActions {
  readonly provider: 'pagerduty' | 'opsgenie' | 'alertmanager';
  /**
   * The refusal of a request this provider can never carry out (Alertmanager has no escalation),
   * or null. Checked before anything is recorded as pending or sent: the refusal is audited as
   * `failed` and answered with its own status.
   */
  refuse?(request: ActionRequest): ServiceError | null;
  /**
   * The provider's users, escalation policies or schedules matching `query` (at most `limit`),
   * for the pickers; absent when the provider has none (Alertmanager). Throws like `perform`.
   */
  listTargets?: ListTargets;
  /** Who is on call now for each level of an escalation policy (PagerDuty); absent elsewhere. */
  onCallNow?(policyId: string): Promise<OnCall[]>;
  /**
   * Who is on call now for an alert of these responder teams (Opsgenie): in the enabled schedule
   * the first of them owns, else in the configured default schedule; absent elsewhere.
   */
  onCallForTeams?(teams: string[]): Promise<ScheduleOnCall>;
  /**
   * Performs the action at the provider; resolves only when the provider confirmed it. Throws a
   * ServiceError (UpstreamError 502, DependencyUnavailableError 503, InputError 400 for requests
   * this provider cannot express) otherwise.
   */
  perform(
    incident: {
      providerId: string;
      title: string;
      /** Our incident id and its labels (Alertmanager builds its silences from them). */
      id?: string;
      labels?: Record<string, string>;
    },
    request: ActionRequest,
    ctx: ActionContext,
  ): Promise<ActionOutcome>;
}

/** Tuning of the resilient HTTP client a provider adapter uses (see service-kit `createHttpClient`). */
export type ProviderHttpOptions = Pick<HttpClientOptions, 'timeoutMs' | 'retries' | 'backoff' | 'breaker'>;
