import { createHttpClient, InputError, type Logger, ServiceError, UpstreamError } from '@micro-oncall/service-kit';
import { z } from 'zod';
import { incidentPathId, PAGERDUTY_IDS, type PathSegment, requestedId } from './ids.js';
import { MAX_TARGETS, parsePagerDutyOnCalls, parsePagerDutyTargets, type TargetKind } from './targets.js';
import type { ActionContext, ActionOutcome, ActionRequest, ProviderActions, ProviderHttpOptions } from './types.js';

export const PAGERDUTY_API_URL = 'https://api.pagerduty.com';
const MEDIA_TYPE = 'application/vnd.pagerduty+json;version=2';
const PROVIDER = 'PagerDuty';

export interface PagerDutyActionsOptions {
  /** Default https://api.pagerduty.com. */
  baseUrl?: string;
  /** REST API key (account or user level). */
  token: string;
  /**
   * `From` when the acting person has no verified email (the principal's email is set only when
   * the issuer marked it verified); must be a PagerDuty user's login email.
   */
  fromEmail: string;
  logger: Logger;
  http?: ProviderHttpOptions;
}

type IncidentChange = {
  status?: 'acknowledged' | 'resolved';
  resolution?: string;
  escalation_level?: number;
  escalation_policy?: { id: string; type: 'escalation_policy_reference' };
  assignments?: { assignee: { id: string; type: 'user_reference' } }[];
};

const IncidentAnswer = z.object({ incident: z.object({ id: z.string(), status: z.string() }) });

/**
 * Incident actions through the PagerDuty REST API v2: `PUT /incidents/{id}` for status,
 * escalation, delegation and reassignment, `POST /incidents/{id}/notes` for notes.
 */
export function createPagerDutyActions(opts: PagerDutyActionsOptions): ProviderActions {
  const http = createHttpClient({
    name: PROVIDER,
    baseUrl: opts.baseUrl ?? PAGERDUTY_API_URL,
    logger: opts.logger,
    ...opts.http,
    defaultHeaders: () => ({
      Authorization: `Token token=${opts.token}`,
      Accept: MEDIA_TYPE,
      'Content-Type': 'application/json',
    }),
  });

  async function update(providerId: string, pathId: PathSegment, change: IncidentChange, ctx: ActionContext) {
    const res = await http.request({
      method: 'PUT',
      path: `/incidents/${pathId}`,
      headers: { From: from(ctx) },
      body: { incident: { type: 'incident_reference', ...change } },
    });
    const parsed = IncidentAnswer.safeParse(res.body);
    if (!parsed.success) {
      throw new UpstreamError(`${PROVIDER} answered ${res.status} without the updated incident`, {
        provider: PROVIDER,
        status: res.status,
      });
    }
    if (change.status && parsed.data.incident.status !== change.status) {
      throw new UpstreamError(
        `${PROVIDER} did not mark incident ${providerId} ${change.status}: it is ${parsed.data.incident.status}`,
        { provider: PROVIDER, status: res.status },
      );
    }
    return res;
  }

  async function addNote(pathId: PathSegment, content: string, ctx: ActionContext) {
    return http.request({
      method: 'POST',
      path: `/incidents/${pathId}/notes`,
      headers: { From: from(ctx) },
      body: { note: { content } },
    });
  }

  /** The note that goes with an action already done: its failure must not hide that the action happened. */
  async function addFollowUpNote(pathId: PathSegment, done: string, note: string | undefined, ctx: ActionContext) {
    if (note === undefined) return;
    try {
      await addNote(pathId, note, ctx);
    } catch (error) {
      const reason = error instanceof ServiceError ? error.message : 'unexpected error';
      const status = error instanceof UpstreamError ? error.upstreamStatus : null;
      throw new UpstreamError(`${done}, but the note could not be added: ${reason}`, {
        provider: PROVIDER,
        status,
        actionDone: true,
      });
    }
  }

  function from(ctx: ActionContext): string {
    return ctx.actor.email ?? opts.fromEmail;
  }

  function outcome(detail: string, res: { status: number; headers: Headers }): ActionOutcome {
    return { detail, providerRequestId: res.headers.get('x-request-id'), providerStatus: res.status };
  }

  /** `GET /users`, `/escalation_policies` or `/schedules`, searched by PagerDuty itself (`query`). */
  async function listTargets(kind: TargetKind, query: string, limit: number) {
    const path = { user: '/users', escalation_policy: '/escalation_policies', schedule: '/schedules' }[kind];
    const res = await http.request({
      method: 'GET',
      path,
      query: { limit: String(Math.min(limit, MAX_TARGETS)), ...(query ? { query } : {}) },
    });
    return parsePagerDutyTargets(kind, res.body).slice(0, limit);
  }

  /** `GET /oncalls?escalation_policy_ids[]=…&include[]=users`: now, one page of 100 (levels × people). */
  async function onCallNow(policyId: string) {
    requestedId(PAGERDUTY_IDS, policyId, 'escalation policy');
    const res = await http.request({
      method: 'GET',
      path: '/oncalls',
      query: { 'escalation_policy_ids[]': policyId, 'include[]': 'users', limit: '100' },
    });
    return parsePagerDutyOnCalls(res.body);
  }

  return {
    provider: 'pagerduty',
    listTargets,
    onCallNow,
    async perform(incident, request: ActionRequest, ctx) {
      const id = incident.providerId;
      // Checked before any request: only PagerDuty's id alphabet goes into the URL path.
      const pathId = incidentPathId(PAGERDUTY_IDS, id);
      switch (request.action) {
        case 'acknowledge': {
          const res = await update(id, pathId, { status: 'acknowledged' }, ctx);
          const done = `${PROVIDER} acknowledged incident ${id}`;
          await addFollowUpNote(pathId, done, request.note, ctx);
          return outcome(request.note ? `${done} and added the note` : done, res);
        }
        case 'resolve': {
          const res = await update(
            id,
            pathId,
            { status: 'resolved', ...(request.note ? { resolution: request.note } : {}) },
            ctx,
          );
          return outcome(`${PROVIDER} resolved incident ${id}${request.note ? ' with a resolution note' : ''}`, res);
        }
        case 'escalate': {
          const { level, escalationPolicyId: policy } = request;
          if (level === undefined && policy === undefined) {
            throw new InputError('PagerDuty needs an escalation level or an escalation policy id');
          }
          if (request.escalationName !== undefined) {
            throw new InputError('PagerDuty escalates by level or escalation policy id, not by escalation name');
          }
          if (policy !== undefined) requestedId(PAGERDUTY_IDS, policy, 'escalation policy');
          const res = await update(
            id,
            pathId,
            {
              ...(policy !== undefined
                ? { escalation_policy: { id: policy, type: 'escalation_policy_reference' as const } }
                : {}),
              ...(level !== undefined ? { escalation_level: level } : {}),
            },
            ctx,
          );
          const done =
            policy === undefined
              ? `${PROVIDER} escalated incident ${id} to level ${level}`
              : `${PROVIDER} delegated incident ${id} to escalation policy ${policy}${level === undefined ? '' : ` at level ${level}`}`;
          await addFollowUpNote(pathId, done, request.note, ctx);
          return outcome(request.note ? `${done} and added the note` : done, res);
        }
        case 'reassign': {
          const userId = requestedId(PAGERDUTY_IDS, request.userId, 'user');
          const res = await update(
            id,
            pathId,
            { assignments: [{ assignee: { id: userId, type: 'user_reference' } }] },
            ctx,
          );
          return outcome(`${PROVIDER} reassigned incident ${id} to user ${request.userId}`, res);
        }
        case 'note': {
          const res = await addNote(pathId, request.note, ctx);
          return outcome(`${PROVIDER} added a note to incident ${id}`, res);
        }
      }
    },
  };
}
