import { randomUUID } from 'node:crypto';
import {
  type Answer,
  type Fault,
  header,
  type IncomingRequest,
  isPlainObject,
  type RecordedRequest,
  startFakeServer,
  unknownKeys,
} from './server.js';

export interface FakeOpsgenieAlert {
  id: string;
  tinyId: string;
  alias: string;
  status: 'open' | 'closed';
  acknowledged: boolean;
  notes: { note: string; user: string | null; source: string | null }[];
  escalations: { escalation: { id?: string; name?: string }; user: string | null; note: string | null }[];
}

/** How the next accepted action request(s) will end, as read from `GET /v2/alerts/requests/{id}`. */
export type OpsgenieProcessingFault = 'fails' | 'never-confirms';

export interface FakeOpsgenie {
  url: string;
  requests: RecordedRequest[];
  failNext(fault: Fault): void;
  /**
   * The next `times` (default 1) accepted action requests are answered 202 as usual, but then
   * either fail (`isSuccess: false`, `status` default 'Alert does not exist', nothing changes) or
   * never confirm (the requests endpoint answers 404 forever, nothing changes).
   */
  failNextProcessing(outcome: OpsgenieProcessingFault, opts?: { status?: string; times?: number }): void;
  addAlert(id: string, opts?: { tinyId?: string; alias?: string }): void;
  /** A copy of the fake's current state of the alert (undefined when unknown). */
  alert(id: string): FakeOpsgenieAlert | undefined;
  stop(): Promise<void>;
}

type Action = 'Acknowledge' | 'Close' | 'Escalate' | 'AddNote';
const ACTIONS: Record<string, Action> = {
  acknowledge: 'Acknowledge',
  close: 'Close',
  escalate: 'Escalate',
  notes: 'AddNote',
};
const SUCCESS_STATUS: Record<Action, string> = {
  Acknowledge: 'Acknowledged',
  Close: 'Closed',
  Escalate: 'Escalated',
  AddNote: 'Added note',
};
const IDENTIFIER_TYPES = ['id', 'tiny', 'alias'];
const INTEGRATION_ID = 'fake-integration-0001';

interface Processing {
  action: Action;
  /** null = never confirms. */
  result: { isSuccess: boolean; status: string; alertId: string; alias: string } | null;
  pollsLeft: number;
  processedAt: string;
}

/**
 * An Opsgenie Alert API v2 stand-in for acknowledge/close/escalate/notes with the asynchronous
 * request-status endpoint. See ./README.md for the rules.
 */
export async function startFakeOpsgenie(opts: {
  apiKey: string;
  alerts?: string[];
  /** How many polls of a request answer 404 before its outcome is known (default 1). */
  processingPolls?: number;
}): Promise<FakeOpsgenie> {
  const alerts = new Map<string, FakeOpsgenieAlert>();
  const processing = new Map<string, Processing>();
  const processingFaults: { outcome: OpsgenieProcessingFault; status: string; remaining: number }[] = [];
  const processingPolls = opts.processingPolls ?? 1;

  const addAlert = (id: string, extra: { tinyId?: string; alias?: string } = {}) => {
    if (alerts.has(id)) return;
    alerts.set(id, {
      id,
      tinyId: extra.tinyId ?? String(alerts.size + 1),
      alias: extra.alias ?? `alias-${id}`,
      status: 'open',
      acknowledged: false,
      notes: [],
      escalations: [],
    });
  };
  for (const id of opts.alerts ?? []) addAlert(id);

  const reply = (status: number, body: Record<string, unknown>): Answer => ({
    status,
    body: { ...body, took: 0.002, requestId: randomUUID() },
  });

  function find(identifier: string, type: string): FakeOpsgenieAlert | undefined {
    for (const alert of alerts.values()) {
      if (type === 'id' && alert.id === identifier) return alert;
      if (type === 'tiny' && alert.tinyId === identifier) return alert;
      if (type === 'alias' && alert.alias === identifier) return alert;
    }
    return undefined;
  }

  function handle(req: IncomingRequest): Answer {
    if (header(req, 'authorization') !== `GenieKey ${opts.apiKey}`) {
      return reply(401, { message: 'Could not authenticate' });
    }
    const [v2, root, idOrRequests, last, ...rest] = req.segments;
    if (v2 !== 'v2' || root !== 'alerts' || rest.length > 0) return reply(404, { message: 'Not Found' });
    if (req.method === 'GET' && idOrRequests === 'requests' && last) return poll(last);
    const action = last === undefined ? undefined : ACTIONS[last];
    if (req.method !== 'POST' || !idOrRequests || !action) return reply(404, { message: 'Not Found' });
    return perform(req, idOrRequests, action);
  }

  function perform(req: IncomingRequest, identifier: string, action: Action): Answer {
    const identifierType = req.query.get('identifierType') ?? 'id';
    if (!IDENTIFIER_TYPES.includes(identifierType)) {
      return reply(422, { message: `identifierType must be one of ${IDENTIFIER_TYPES.join(', ')}` });
    }
    let body: unknown = {};
    if (req.rawBody.trim() !== '') {
      if (!/^application\/json\s*(;|$)/i.test(header(req, 'content-type') ?? '')) {
        return reply(415, { message: 'Content-Type must be application/json' });
      }
      try {
        body = JSON.parse(req.rawBody);
      } catch {
        return reply(400, { message: 'Request body is not valid JSON' });
      }
    }
    const problem = validate(action, body);
    if (problem) return reply(422, { message: problem });
    const payload = body as {
      user?: string;
      source?: string;
      note?: string;
      escalation?: { id?: string; name?: string };
    };

    const requestId = randomUUID();
    const fault = processingFaults[0];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) processingFaults.shift();
    }
    const alert = find(identifier, identifierType);
    let result: Processing['result'];
    if (fault?.outcome === 'never-confirms') result = null;
    else if (fault?.outcome === 'fails' || !alert) {
      result = { isSuccess: false, status: fault?.status ?? 'Alert does not exist', alertId: '', alias: '' };
    } else {
      apply(alert, action, payload);
      result = { isSuccess: true, status: SUCCESS_STATUS[action], alertId: alert.id, alias: alert.alias };
    }
    processing.set(requestId, { action, result, pollsLeft: processingPolls, processedAt: new Date().toISOString() });
    return { status: 202, body: { result: 'Request will be processed', took: 0.003, requestId } };
  }

  function poll(requestId: string): Answer {
    const entry = processing.get(requestId);
    const notYet = () => reply(404, { message: 'Request not found. It might not be processed, yet.' });
    if (!entry || entry.result === null) return notYet();
    if (entry.pollsLeft > 0) {
      entry.pollsLeft -= 1;
      return notYet();
    }
    const { isSuccess, status, alertId, alias } = entry.result;
    return reply(200, {
      data: {
        success: isSuccess,
        isSuccess,
        action: entry.action,
        processedAt: entry.processedAt,
        integrationId: INTEGRATION_ID,
        status,
        alertId,
        alias,
      },
    });
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? { message: 'You are making too many requests! To avoid errors, we recommend you limit requests.' }
        : { message: status >= 500 ? 'Internal Server Error' : `Fault ${status}`, took: 0, requestId: randomUUID() },
  });

  return {
    ...server,
    failNextProcessing(outcome, o = {}) {
      processingFaults.push({
        outcome,
        status: o.status ?? 'Alert does not exist',
        remaining: Math.max(1, o.times ?? 1),
      });
    },
    addAlert,
    alert(id) {
      const state = alerts.get(id);
      return state ? structuredClone(state) : undefined;
    },
  };
}

function apply(
  alert: FakeOpsgenieAlert,
  action: Action,
  payload: { user?: string; note?: string; source?: string; escalation?: { id?: string; name?: string } },
): void {
  const user = payload.user ?? null;
  if (action === 'Acknowledge') alert.acknowledged = true;
  if (action === 'Close') alert.status = 'closed';
  if (action === 'Escalate') {
    alert.escalations.push({ escalation: { ...payload.escalation }, user, note: payload.note ?? null });
  }
  if (payload.note !== undefined) alert.notes.push({ note: payload.note, user, source: payload.source ?? null });
}

/** The documented body rules per action; null when valid. */
function validate(action: Action, body: unknown): string | null {
  if (!isPlainObject(body)) return 'Body must be a JSON object';
  const allowed = action === 'Escalate' ? ['escalation', 'user', 'source', 'note'] : ['user', 'source', 'note'];
  const extra = unknownKeys(body, allowed);
  if (extra.length > 0) return `Unknown field(s): ${extra.join(', ')}`;
  for (const key of ['user', 'source', 'note']) {
    if (body[key] !== undefined && typeof body[key] !== 'string') return `${key} must be a string`;
  }
  if (action === 'AddNote' && (typeof body.note !== 'string' || body.note.trim() === '')) {
    return 'Note should be provided';
  }
  if (action === 'Escalate') {
    const escalation = body.escalation;
    const named = (v: unknown) => typeof v === 'string' && v.trim() !== '';
    if (
      !isPlainObject(escalation) ||
      unknownKeys(escalation, ['id', 'name']).length > 0 ||
      !(named(escalation.id) || named(escalation.name))
    ) {
      return 'Escalation id or name should be provided';
    }
  }
  return null;
}
