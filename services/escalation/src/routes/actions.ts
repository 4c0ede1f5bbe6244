import { randomUUID } from 'node:crypto';
import { INCIDENT_ID_PATTERN, type IncidentAction } from '@micro-oncall/incident-model';
import {
  ConflictError,
  InputError,
  type Logger,
  NotFoundError,
  type Outbox,
  requireRole,
  toServiceError,
} from '@micro-oncall/service-kit';
import { eq } from 'drizzle-orm';
import { Router } from 'express';
import type { AuditWriter } from '../audit.js';
import { incidents } from '../db/schema.js';
import type { EscalationDb, IncidentRow } from '../db/types.js';
import { ActionRequest, type ProviderActions } from '../providers/types.js';

export interface ActionRoutesDeps {
  db: EscalationDb;
  providers: { forProvider(provider: string): ProviderActions | null };
  audit: AuditWriter;
  outbox: Outbox;
  logger: Logger;
  /** Told about escalations that succeeded (Slack notice). */
  onEscalated?: (incident: IncidentRow, detail: string) => void;
}

/**
 * POST /v1/incidents/:id/actions (responder): acknowledge, escalate, reassign, resolve or add a
 * note through the incident's own provider. The answer is 200 only when the provider confirmed
 * the action; otherwise the provider's failure is passed on plainly (502/503). Either way the
 * attempt is in the audit log and on `incident-actions` (through the outbox). The incident's state itself changes
 * when the provider's webhook for it arrives, so what the dashboard shows is what the provider has.
 */
export function createActionsRouter(deps: ActionRoutesDeps): Router {
  const router = Router();
  router.post('/v1/incidents/:id/actions', requireRole('responder'), async (req, res) => {
    const id = String(req.params.id);
    if (!INCIDENT_ID_PATTERN.test(id)) throw new InputError('incident id: not an incident id');
    const parsed = ActionRequest.safeParse(req.body);
    if (!parsed.success) throw InputError.fromZod(parsed.error, 'action');
    const request = parsed.data;
    const [incident] = await deps.db.select().from(incidents).where(eq(incidents.id, id));
    if (!incident) throw new NotFoundError(`incident ${id} not found`);
    const provider = deps.providers.forProvider(incident.provider);
    if (!provider) {
      throw new ConflictError(
        `actions on ${incident.provider} incidents are not available here: no ${incident.provider} API is configured for actions`,
      );
    }
    const principal = req.principal!;
    const actionId = randomUUID();
    const requestedAt = new Date().toISOString();
    const kind = request.action === 'note' ? 'note' : request.action;

    /**
     * The audit row and the `incident-actions` event are written in one transaction: the event
     * reaches Kafka through the outbox after the commit, even if the broker is down right now.
     */
    const record = async (
      outcome: 'succeeded' | 'failed',
      detail: string,
      providerStatus: number | null,
      providerRequestId: string | null,
    ) => {
      const action: IncidentAction = {
        actionId,
        incidentId: id,
        provider: incident.provider,
        providerId: incident.providerId,
        action: kind,
        actor: { type: 'user', id: principal.subject, name: principal.name ?? principal.email },
        outcome,
        detail: detail.slice(0, 2000),
        requestedAt,
        completedAt: new Date().toISOString(),
      };
      await deps.db.transaction(async (tx) => {
        await deps.audit(
          {
            actor: principal,
            action: kind,
            outcome,
            detail,
            requestId: req.id,
            incidentId: id,
            provider: incident.provider,
            providerStatus,
            providerRequestId,
            request,
          },
          tx,
        );
        // An action carries no drill flag of its own: it inherits its incident's.
        await deps.outbox.enqueue(tx, 'incident-actions', action, { drill: incident.drill });
      });
    };

    let outcome: Awaited<ReturnType<ProviderActions['perform']>>;
    try {
      outcome = await provider.perform({ providerId: incident.providerId, title: incident.title }, request, {
        actor: { subject: principal.subject, email: principal.email, name: principal.name },
        requestId: req.id,
      });
    } catch (error) {
      const known = toServiceError(error);
      const details = known?.details ?? {};
      const status = typeof details.status === 'number' ? details.status : null;
      const providerRequestId = typeof details.requestId === 'string' ? details.requestId : null;
      await record('failed', known?.message ?? 'the action failed unexpectedly', status, providerRequestId);
      throw error;
    }
    await record('succeeded', outcome.detail, outcome.providerStatus, outcome.providerRequestId);
    if (request.action === 'escalate') deps.onEscalated?.(incident, outcome.detail);
    res.json({ actionId, outcome: 'succeeded', detail: outcome.detail });
  });
  return router;
}
