import {
  createHttpClient,
  DependencyUnavailableError,
  InputError,
  type Logger,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { z } from 'zod';
import { incidentPathId, OPSGENIE_IDS, type PathSegment } from './ids.js';
import {
  matching,
  type OnCall,
  parseOpsgenieOnCalls,
  parseOpsgenieTargets,
  type ScheduleOnCall,
  type Target,
  type TargetKind,
} from './targets.js';
import type { ActionContext, ActionOutcome, ActionRequest, ProviderActions, ProviderHttpOptions } from './types.js';

export const OPSGENIE_API_URL = 'https://api.opsgenie.com';
export const OPSGENIE_EU_API_URL = 'https://api.eu.opsgenie.com';
const PROVIDER = 'Opsgenie';
const SOURCE = 'micro-oncall';
/** Users are read in pages of this many (Opsgenie's default and maximum is 100)… */
const OPSGENIE_PAGE = 100;
/** …and at most this many pages per search. */
const OPSGENIE_USER_PAGES = 5;

export interface OpsgenieActionsOptions {
  /** Default https://api.opsgenie.com; EU accounts use https://api.eu.opsgenie.com. */
  baseUrl?: string;
  apiKey: string;
  logger: Logger;
  /** How often to read the outcome of an accepted request (default 10 × 500 ms). */
  confirm?: { attempts: number; intervalMs: number };
  http?: ProviderHttpOptions;
  /**
   * The schedule (its name) whose on-call applies to an alert none of whose teams owns a schedule
   * (OPSGENIE_ONCALL_SCHEDULE); none by default.
   */
  defaultSchedule?: string;
}

/** The setting that names the default on-call schedule, for messages. */
export const OPSGENIE_SCHEDULE_SETTING = 'OPSGENIE_ONCALL_SCHEDULE';

const OwnedSchedule = z.object({
  id: z.string().regex(OPSGENIE_IDS.pattern),
  name: z.string().min(1),
  enabled: z.boolean().optional(),
  ownerTeam: z.object({ name: z.string().optional() }).optional(),
});

// The request id goes into the polling URL's path: only Opsgenie's id alphabet is accepted.
const Accepted = z.object({ requestId: z.string().regex(OPSGENIE_IDS.pattern) });
const RequestStatus = z.object({
  data: z.object({ isSuccess: z.boolean(), status: z.string().optional(), alertId: z.string().optional() }),
});

/**
 * Alert actions through the Opsgenie Alert API v2. Opsgenie answers 202 and processes the
 * request later, so every action is confirmed by polling `GET /v2/alerts/requests/{requestId}`:
 * nothing is reported as done that Opsgenie has not confirmed.
 */
export function createOpsgenieActions(opts: OpsgenieActionsOptions): ProviderActions {
  const confirm = opts.confirm ?? { attempts: 10, intervalMs: 500 };
  const http = createHttpClient({
    name: PROVIDER,
    baseUrl: opts.baseUrl ?? OPSGENIE_API_URL,
    logger: opts.logger,
    ...opts.http,
    defaultHeaders: () => ({ Authorization: `GenieKey ${opts.apiKey}` }),
  });

  async function act(
    alertId: PathSegment,
    verb: 'acknowledge' | 'close' | 'escalate' | 'notes',
    body: Record<string, unknown>,
    what: { done: string; attempted: string },
  ): Promise<ActionOutcome> {
    const res = await http.request({
      method: 'POST',
      path: `/v2/alerts/${alertId}/${verb}`,
      query: { identifierType: 'id' },
      body,
    });
    const accepted = Accepted.safeParse(res.body);
    if (!accepted.success) {
      throw new UpstreamError(`${PROVIDER} answered ${res.status} without a usable request id`, {
        provider: PROVIDER,
        status: res.status,
      });
    }
    const { requestId } = accepted.data;
    await confirmed(requestId, what.attempted);
    return { detail: what.done, providerRequestId: requestId, providerStatus: res.status };
  }

  /** Resolves when Opsgenie reports the request succeeded; throws when it failed or stays unknown. */
  async function confirmed(requestId: string, attempted: string): Promise<void> {
    for (let attempt = 1; attempt <= confirm.attempts; attempt += 1) {
      await sleep(confirm.intervalMs);
      let body: unknown;
      try {
        ({ body } = await http.request({
          method: 'GET',
          path: `/v2/alerts/requests/${encodeURIComponent(requestId)}`,
        }));
      } catch (error) {
        // 404 = not processed yet; a passing outage leaves the outcome unknown for now.
        if (isNotKnownYet(error)) continue;
        throw error;
      }
      const status = RequestStatus.safeParse(body);
      if (!status.success) continue;
      if (status.data.data.isSuccess) return;
      throw new UpstreamError(`${PROVIDER} could not ${attempted}: ${status.data.data.status ?? 'no reason given'}`, {
        provider: PROVIDER,
        status: 202,
        requestId,
      });
    }
    throw new UpstreamError(
      `${PROVIDER} accepted the request but did not confirm it within ${duration(confirm.attempts * confirm.intervalMs)}; check the alert in Opsgenie`,
      { provider: PROVIDER, status: 202, requestId },
    );
  }

  /**
   * `GET /v2/users` (paged by offset, at most OPSGENIE_USER_PAGES pages of 100), `/v2/escalations`
   * or `/v2/schedules` (not paged). Opsgenie's `query` filters by field (`role:admin`), not by
   * name, so the lists are searched here. The `paging.next` URLs are not followed: the key is
   * only ever sent to the configured base URL.
   */
  async function listTargets(kind: TargetKind, query: string, limit: number) {
    let items: Target[];
    if (kind === 'user') {
      items = [];
      for (let page = 0; page < OPSGENIE_USER_PAGES; page += 1) {
        const res = await http.request<{ paging?: { next?: string } }>({
          method: 'GET',
          path: '/v2/users',
          query: {
            limit: String(OPSGENIE_PAGE),
            offset: String(page * OPSGENIE_PAGE),
            sortField: 'fullName',
            order: 'asc',
          },
        });
        items.push(...parseOpsgenieTargets('user', res.body));
        if (!res.body?.paging?.next) break;
      }
    } else {
      const res = await http.request({
        method: 'GET',
        path: kind === 'schedule' ? '/v2/schedules' : '/v2/escalations',
      });
      items = parseOpsgenieTargets(kind, res.body);
    }
    return matching(items, query).slice(0, limit);
  }

  /** `GET /v2/schedules`: the enabled schedule owned by the first of `teams` (by name, any case) that owns one. */
  async function teamSchedule(teams: string[]) {
    const res = await http.request<{ data?: unknown }>({ method: 'GET', path: '/v2/schedules' });
    const schedules = (Array.isArray(res.body?.data) ? res.body.data : []).flatMap((item) => {
      const parsed = OwnedSchedule.safeParse(item);
      return parsed.success && parsed.data.enabled !== false ? [parsed.data] : [];
    });
    for (const team of teams) {
      const owned = schedules.find((s) => s.ownerTeam?.name?.toLowerCase() === team.toLowerCase());
      if (owned) return { id: owned.id, name: owned.name, team };
    }
    return null;
  }

  /** `GET /v2/schedules/{identifier}/on-calls` (Who is On Call API), people named as Opsgenie knows them. */
  async function onCallIn(identifier: string, type: 'id' | 'name') {
    const res = await http.request({
      method: 'GET',
      path: `/v2/schedules/${encodeURIComponent(identifier)}/on-calls`,
      query: { scheduleIdentifierType: type, flat: 'false' },
    });
    const parsed = parseOpsgenieOnCalls(res.body);
    if (!parsed) {
      throw new UpstreamError(`${PROVIDER} answered ${res.status} without the on-calls of the schedule`, {
        provider: PROVIDER,
        status: res.status,
      });
    }
    return { schedule: parsed.schedule, items: await withFullNames(parsed.items) };
  }

  /** Opsgenie's on-call answer names users by username: their full names from the users list, when it can be read. */
  async function withFullNames(items: OnCall[]): Promise<OnCall[]> {
    if (!items.some((o) => o.user.email)) return items;
    let users: Target[];
    try {
      users = await listTargets('user', '', OPSGENIE_PAGE * OPSGENIE_USER_PAGES);
    } catch (error) {
      opts.logger.warn({ err: error }, 'Opsgenie users could not be read: on-call people shown by username');
      return items;
    }
    const byId = new Map(users.map((u) => [u.id, u]));
    return items.map((o) => {
      const known = byId.get(o.user.id);
      return known ? { ...o, user: { ...o.user, name: known.name } } : o;
    });
  }

  async function onCallForTeams(teams: string[]): Promise<ScheduleOnCall> {
    const owned = teams.length > 0 ? await teamSchedule(teams) : null;
    if (owned) {
      const { items } = await onCallIn(owned.id, 'id');
      return { schedule: { id: owned.id, name: owned.name, chosenBy: 'team', team: owned.team }, items };
    }
    const fallback = opts.defaultSchedule;
    if (!fallback) {
      const whose =
        teams.length === 0
          ? 'This alert names no Opsgenie team'
          : `No enabled Opsgenie schedule is owned by ${teams.join(', ')}`;
      return {
        schedule: null,
        reason: `${whose} and no default schedule is configured (${OPSGENIE_SCHEDULE_SETTING}): who is on call for it cannot be known here`,
        items: [],
      };
    }
    try {
      const { schedule, items } = await onCallIn(fallback, 'name');
      return { schedule: { ...schedule, chosenBy: 'default' }, items };
    } catch (error) {
      if (error instanceof UpstreamError && error.upstreamStatus === 404) {
        throw new UpstreamError(
          `${PROVIDER} has no schedule named ${JSON.stringify(fallback)}: check ${OPSGENIE_SCHEDULE_SETTING}`,
          { provider: PROVIDER, status: 404 },
        );
      }
      throw error;
    }
  }

  return {
    provider: 'opsgenie',
    listTargets,
    onCallForTeams,
    async perform(incident, request: ActionRequest, ctx) {
      const id = incident.providerId;
      // Checked before any request: only Opsgenie's id alphabet goes into the URL path.
      const pathId = incidentPathId(OPSGENIE_IDS, id);
      const base = { user: user(ctx), source: SOURCE };
      switch (request.action) {
        case 'acknowledge':
          return act(
            pathId,
            'acknowledge',
            { ...base, ...note(request.note) },
            {
              done: `${PROVIDER} acknowledged alert ${id}`,
              attempted: `acknowledge alert ${id}`,
            },
          );
        case 'resolve':
          return act(
            pathId,
            'close',
            { ...base, ...note(request.note) },
            {
              done: `${PROVIDER} closed alert ${id}`,
              attempted: `close alert ${id}`,
            },
          );
        case 'escalate': {
          const { escalationPolicyId: escalationId, escalationName } = request;
          if (request.level !== undefined) {
            throw new InputError(
              'Opsgenie has no escalation levels: escalate to an escalation by id (escalationPolicyId) or by escalationName',
            );
          }
          if (escalationId === undefined && escalationName === undefined) {
            throw new InputError('Opsgenie needs an escalation id (escalationPolicyId) or an escalationName');
          }
          if (escalationId !== undefined && escalationName !== undefined) {
            throw new InputError('Give Opsgenie either an escalation id or an escalation name, not both');
          }
          const escalation = escalationId !== undefined ? { id: escalationId } : { name: escalationName };
          const target = escalationId ?? escalationName;
          return act(
            pathId,
            'escalate',
            { escalation, ...base, ...note(request.note) },
            {
              done: `${PROVIDER} escalated alert ${id} to escalation ${target}`,
              attempted: `escalate alert ${id} to escalation ${target}`,
            },
          );
        }
        case 'reassign':
          throw new InputError(
            'Reassigning Opsgenie alerts is not supported here: Opsgenie assigns alerts through its own escalations; escalate instead or assign the alert in Opsgenie',
          );
        case 'note':
          return act(
            pathId,
            'notes',
            { ...base, note: request.note },
            {
              done: `${PROVIDER} added a note to alert ${id}`,
              attempted: `add a note to alert ${id}`,
            },
          );
      }
    },
  };
}

/** Who acted, as Opsgenie's free-text `user`. */
function user(ctx: ActionContext): string {
  return ctx.actor.email ?? ctx.actor.name ?? ctx.actor.subject;
}

function note(text: string | undefined): { note?: string } {
  return text === undefined ? {} : { note: text };
}

function isNotKnownYet(error: unknown): boolean {
  if (error instanceof DependencyUnavailableError) return true;
  if (!(error instanceof UpstreamError)) return false;
  const status = error.upstreamStatus;
  return status === 404 || status === 429 || (status !== null && status >= 500);
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
