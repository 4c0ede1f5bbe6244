import { INCIDENT_ID_PATTERN } from '@micro-oncall/incident-model';
import { ConflictError, InputError, NotFoundError, requireRole, UpstreamError } from '@micro-oncall/service-kit';
import { eq } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { incidents } from '../db/schema.js';
import type { EscalationDb } from '../db/types.js';
import {
  createTargetCache,
  MAX_TARGETS,
  type OnCall,
  type ScheduleOnCall,
  TARGET_KINDS,
  type TargetCache,
  type TargetKind,
} from '../providers/targets.js';
import type { ProviderActions } from '../providers/types.js';

const PROVIDER_NAMES: Record<string, string> = {
  pagerduty: 'PagerDuty',
  opsgenie: 'Opsgenie',
  alertmanager: 'Alertmanager',
};

const KIND_WORDS: Record<TargetKind, string> = {
  user: 'users',
  escalation_policy: 'escalation policies',
  schedule: 'schedules',
};

/** How each provider's credential is configured, for the message when the provider refuses it. */
const CREDENTIALS: Record<string, string> = {
  pagerduty: 'PAGERDUTY_API_TOKEN',
  opsgenie: 'OPSGENIE_API_KEY',
};

export const TargetsQuery = z
  .object({
    kind: z.enum(TARGET_KINDS, { error: `must be one of ${TARGET_KINDS.join(', ')}` }),
    q: z.string().trim().max(100, 'at most 100 characters').optional().default(''),
    limit: z.coerce.number().int().min(1).max(MAX_TARGETS).optional().default(MAX_TARGETS),
  })
  .strict();

export interface TargetRoutesDeps {
  db: EscalationDb;
  providers: { forProvider(provider: string): ProviderActions | null };
  /** Default: in memory, 60 s per provider, kind and search text. */
  targetCache?: TargetCache;
  /** Default: in memory, 60 s per escalation policy. */
  onCallCache?: TargetCache<OnCall[]>;
  /** Default: in memory, 60 s per set of Opsgenie teams. */
  scheduleOnCallCache?: TargetCache<ScheduleOnCall>;
}

/**
 * GET /v1/incidents/:id/targets?kind=user|escalation_policy|schedule&q= (responder): who or what
 * the incident can be reassigned or escalated to, from the incident's own provider through its
 * client, cached briefly (per replica) so a picker can search as the person types. Answers
 * `{ items: [{ id, name, email?, summary? }] }`, at most 25. A provider that refuses the
 * credential is a 502 that says which setting to check; refusals of the caller are audited by
 * the app's refusal hook like every other 401/403.
 */
export function createTargetsRouter(deps: TargetRoutesDeps): Router {
  const router = Router();
  const cache = deps.targetCache ?? createTargetCache();
  const onCallCache = deps.onCallCache ?? createTargetCache<OnCall[]>();
  const scheduleOnCallCache = deps.scheduleOnCallCache ?? createTargetCache<ScheduleOnCall>();

  router.get('/v1/incidents/:id/targets', requireRole('responder'), async (req, res) => {
    const id = String(req.params.id);
    if (!INCIDENT_ID_PATTERN.test(id)) throw new InputError('incident id: not an incident id');
    const parsed = TargetsQuery.safeParse(req.query);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'query');
    const { kind, q, limit } = parsed.data;
    const [incident] = await deps.db
      .select({ provider: incidents.provider })
      .from(incidents)
      .where(eq(incidents.id, id));
    if (!incident) throw new NotFoundError(`incident ${id} not found`);
    const name = PROVIDER_NAMES[incident.provider] ?? incident.provider;
    const provider = deps.providers.forProvider(incident.provider);
    // Alertmanager (and generic sources) have no users or policies, configured or not.
    if (!(incident.provider in CREDENTIALS) || (provider && !provider.listTargets)) {
      throw new ConflictError(`${name} has no ${KIND_WORDS[kind]} to pick from`);
    }
    if (!provider?.listTargets) {
      throw new ConflictError(`${name} ${KIND_WORDS[kind]} cannot be listed here: no ${name} API is configured`);
    }
    const list = provider.listTargets;
    const key = `${incident.provider}\u0000${kind}\u0000${q.toLowerCase()}`;
    let items: Awaited<ReturnType<typeof list>>;
    try {
      items = await cache.get(key, () => list(kind, q, MAX_TARGETS));
    } catch (error) {
      throw refusedCredential(error, incident.provider, name, kind) ?? error;
    }
    res.json({ items: items.slice(0, limit) });
  });

  /**
   * GET /v1/incidents/:id/oncall (viewer): who is on call now, cached like the pickers.
   * PagerDuty: at each level of the incident's escalation policy (`GET /oncalls`); `policy` is
   * null, with no items, when the incident names none. Opsgenie: in the schedule of the alert's
   * responder teams, else the configured default (`GET /v2/schedules/{id}/on-calls`), as
   * `schedule` (null, with a `reason`, when neither applies) and `policy` null.
   */
  router.get('/v1/incidents/:id/oncall', requireRole('viewer'), async (req, res) => {
    const id = String(req.params.id);
    if (!INCIDENT_ID_PATTERN.test(id)) throw new InputError('incident id: not an incident id');
    const [incident] = await deps.db
      .select({ provider: incidents.provider, labels: incidents.labels })
      .from(incidents)
      .where(eq(incidents.id, id));
    if (!incident) throw new NotFoundError(`incident ${id} not found`);
    const name = PROVIDER_NAMES[incident.provider] ?? incident.provider;
    const policyId = incident.labels?.escalation_policy_id;
    const policyName = incident.labels?.escalation_policy ?? null;
    const provider = deps.providers.forProvider(incident.provider);
    if (provider?.onCallForTeams) {
      const teams = (incident.labels?.opsgenie_teams ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const forTeams = provider.onCallForTeams;
      let answer: ScheduleOnCall;
      try {
        answer = await scheduleOnCallCache.get(`${incident.provider}\u0000${teams.join('\u0000')}`, () =>
          forTeams(teams),
        );
      } catch (error) {
        throw refusedCredential(error, incident.provider, name, 'on-call') ?? error;
      }
      res.json({ policy: null, ...answer });
      return;
    }
    if (!provider && incident.provider in CREDENTIALS) {
      throw new ConflictError(
        `who is on call cannot be asked: no ${name} API is configured (${CREDENTIALS[incident.provider]})`,
      );
    }
    if (!provider?.onCallNow) {
      throw new ConflictError(`who is on call is not available here for ${name} incidents`);
    }
    if (!policyId) {
      res.json({ policy: null, items: [] });
      return;
    }
    const onCallNow = provider.onCallNow;
    let items: OnCall[];
    try {
      items = await onCallCache.get(`${incident.provider}\u0000${policyId}`, () => onCallNow(policyId));
    } catch (error) {
      throw refusedCredential(error, incident.provider, name, 'on-call') ?? error;
    }
    res.json({ policy: { id: policyId, name: policyName }, items });
  });
  return router;
}

/** A 401/403 from the provider is about our credential, not the person: said so, with the setting to check. */
function refusedCredential(
  error: unknown,
  provider: string,
  name: string,
  kind: TargetKind | 'on-call',
): UpstreamError | null {
  if (!(error instanceof UpstreamError)) return null;
  const status = error.upstreamStatus;
  if (status !== 401 && status !== 403) return null;
  const setting = CREDENTIALS[provider];
  return new UpstreamError(
    `${name} refused to list ${kind === 'on-call' ? 'who is on call' : `its ${KIND_WORDS[kind]}`} (${status}): the ${name} API credential was not accepted or lacks access${setting ? `; check ${setting}` : ''}`,
    { provider: name, status },
  );
}
