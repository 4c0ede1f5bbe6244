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

export interface FakeOpsgenieUser {
  id: string;
  /** The user's email. */
  username: string;
  fullName: string;
  role?: string;
  blocked?: boolean;
}

export interface FakeOpsgenieEscalation {
  id: string;
  name: string;
  description?: string;
  team?: string;
}

export interface FakeOpsgenieSchedule {
  id: string;
  name: string;
  timezone: string;
  enabled?: boolean;
  team?: string;
  /** Ids of the users on call in it now (a disabled schedule has nobody on call). */
  onCall?: string[];
}

/** Realistic default lists for the Opsgenie lookups. */
export const FAKE_OPSGENIE_USERS: FakeOpsgenieUser[] = [
  {
    id: 'b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4',
    username: 'grace.hopper@example.com',
    fullName: 'Grace Hopper',
    role: 'Admin',
  },
  {
    id: '2c9f7a4e-5b0d-4e36-9d55-7f1d2a9c6b10',
    username: 'alan.turing@example.com',
    fullName: 'Alan Turing',
    role: 'User',
  },
  {
    id: 'e0b4c3f2-8a61-4d7e-b9a0-3c5d6e7f8a91',
    username: 'katherine.johnson@example.com',
    fullName: 'Katherine Johnson',
    role: 'User',
  },
  {
    id: '7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f',
    username: 'former.employee@example.com',
    fullName: 'Former Employee',
    role: 'User',
    blocked: true,
  },
];
export const FAKE_OPSGENIE_ESCALATIONS: FakeOpsgenieEscalation[] = [
  {
    id: '9a3f6b1c-2d4e-4f5a-8b7c-1d2e3f4a5b6c',
    name: 'Checkout escalation',
    description: 'Primary, then secondary, then the lead',
    team: 'Checkout',
  },
  { id: '4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8', name: 'Platform escalation', team: 'Platform' },
];
export const FAKE_OPSGENIE_SCHEDULES: FakeOpsgenieSchedule[] = [
  {
    id: 'd1c2b3a4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
    name: 'Checkout on-call',
    timezone: 'Europe/Berlin',
    team: 'Checkout',
    onCall: ['b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4'],
  },
  {
    id: 'a9b8c7d6-e5f4-4a3b-2c1d-0e9f8a7b6c5d',
    name: 'Platform on-call',
    timezone: 'UTC',
    team: 'Platform',
    onCall: ['2c9f7a4e-5b0d-4e36-9d55-7f1d2a9c6b10', 'e0b4c3f2-8a61-4d7e-b9a0-3c5d6e7f8a91'],
  },
];

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
const USER_PARAMS = ['limit', 'offset', 'sortField', 'order', 'query'];
const ON_CALL_PARAMS = ['scheduleIdentifierType', 'flat', 'date'];

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
  /** Default FAKE_OPSGENIE_USERS. */
  users?: FakeOpsgenieUser[];
  /** Default FAKE_OPSGENIE_ESCALATIONS. */
  escalations?: FakeOpsgenieEscalation[];
  /** Default FAKE_OPSGENIE_SCHEDULES. */
  schedules?: FakeOpsgenieSchedule[];
}): Promise<FakeOpsgenie> {
  const users = opts.users ?? FAKE_OPSGENIE_USERS;
  const escalations = opts.escalations ?? FAKE_OPSGENIE_ESCALATIONS;
  const schedules = opts.schedules ?? FAKE_OPSGENIE_SCHEDULES;
  let baseUrl = '';
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
    if (req.method === 'GET' && v2 === 'v2' && idOrRequests === undefined) {
      if (root === 'users') return listUsers(req.query);
      if (root === 'escalations' || root === 'schedules') return listAll(root, req.query);
    }
    if (req.method === 'GET' && v2 === 'v2' && root === 'schedules' && idOrRequests && last === 'on-calls') {
      if (rest.length === 0) return onCalls(idOrRequests, req.query);
    }
    if (v2 !== 'v2' || root !== 'alerts' || rest.length > 0) return reply(404, { message: 'Not Found' });
    if (req.method === 'GET' && idOrRequests === 'requests' && last) return poll(last);
    const action = last === undefined ? undefined : ACTIONS[last];
    if (req.method !== 'POST' || !idOrRequests || !action) return reply(404, { message: 'Not Found' });
    return perform(req, idOrRequests, action);
  }

  const team = (name: string | undefined) =>
    name === undefined ? undefined : { id: `team-${name.toLowerCase()}`, name };

  /** `GET /v2/users`: paged by limit/offset, sorted; `query` is Opsgenie's field filter (`role:admin`). */
  function listUsers(query: URLSearchParams): Answer {
    const unknown = [...new Set(query.keys())].filter((k) => !USER_PARAMS.includes(k));
    if (unknown.length > 0) return reply(422, { message: `Unknown query parameter(s): ${unknown.join(', ')}` });
    for (const key of ['limit', 'offset']) {
      const raw = query.get(key);
      if (raw !== null && !/^\d+$/.test(raw)) return reply(422, { message: `${key} must be a non-negative integer` });
    }
    const limit = Number(query.get('limit') ?? 100);
    const offset = Number(query.get('offset') ?? 0);
    if (limit < 1 || limit > 100) return reply(422, { message: 'limit must be between 1 and 100' });
    const sortField = query.get('sortField') ?? 'username';
    if (!['username', 'fullName', 'insertedAt'].includes(sortField)) {
      return reply(422, { message: 'sortField must be one of username, fullName, insertedAt' });
    }
    const order = query.get('order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') return reply(422, { message: 'order must be asc or desc' });
    const filter = query.get('query');
    const role = filter === null ? null : /^role:(\w+)$/i.exec(filter)?.[1];
    if (filter !== null && !role) return reply(422, { message: 'query must be a field filter such as role:admin' });
    const key = (u: FakeOpsgenieUser) =>
      sortField === 'fullName' ? u.fullName : sortField === 'username' ? u.username : u.id;
    const all = users
      .filter((u) => !role || (u.role ?? 'User').toLowerCase() === role.toLowerCase())
      .sort((a, b) => key(a).localeCompare(key(b)) * (order === 'asc' ? 1 : -1));
    const page = (o: number) => `${baseUrl}/v2/users?limit=${limit}&offset=${o}&sortField=${sortField}&order=${order}`;
    const lastOffset = Math.max(0, Math.floor((all.length - 1) / limit) * limit);
    return reply(200, {
      totalCount: all.length,
      data: all.slice(offset, offset + limit).map((u) => ({
        id: u.id,
        username: u.username,
        fullName: u.fullName,
        role: { id: u.role ?? 'User', name: u.role ?? 'User' },
        timeZone: 'Europe/London',
        locale: 'en_GB',
        blocked: u.blocked ?? false,
        verified: true,
        createdAt: '2024-03-01T09:00:00.000Z',
      })),
      paging: {
        first: page(0),
        ...(offset + limit < all.length ? { next: page(offset + limit) } : {}),
        ...(offset > 0 ? { prev: page(Math.max(0, offset - limit)) } : {}),
        last: page(lastOffset),
      },
    });
  }

  /** `GET /v2/escalations` and `GET /v2/schedules`: not paged. */
  function listAll(root: 'escalations' | 'schedules', query: URLSearchParams): Answer {
    const allowed = root === 'schedules' ? ['expand'] : [];
    const unknown = [...new Set(query.keys())].filter((k) => !allowed.includes(k));
    if (unknown.length > 0) return reply(422, { message: `Unknown query parameter(s): ${unknown.join(', ')}` });
    if (root === 'escalations') {
      return reply(200, {
        data: escalations.map((e) => ({
          id: e.id,
          name: e.name,
          description: e.description ?? '',
          ...(e.team ? { ownerTeam: team(e.team) } : {}),
          rules: [
            {
              condition: 'if-not-acked',
              notifyType: 'default',
              delay: { timeAmount: 0, timeUnit: 'minutes' },
              recipient: { type: 'user', id: users[0]?.id, username: users[0]?.username },
            },
          ],
          repeat: { waitInterval: 0, count: 0, resetRecipientStates: false, closeAlertAfterAll: false },
        })),
      });
    }
    return reply(200, {
      data: schedules.map((s) => ({
        id: s.id,
        name: s.name,
        description: '',
        timezone: s.timezone,
        enabled: s.enabled ?? true,
        ...(s.team ? { ownerTeam: team(s.team) } : {}),
        rotations: [],
      })),
      expandable: ['rotation'],
    });
  }

  /**
   * `GET /v2/schedules/{identifier}/on-calls` (Who is On Call API): `scheduleIdentifierType`
   * id (default) or name, `flat` true|false, `date` (a time; the fake's on-calls do not change).
   */
  function onCalls(identifier: string, query: URLSearchParams): Answer {
    const unknown = [...new Set(query.keys())].filter((k) => !ON_CALL_PARAMS.includes(k));
    if (unknown.length > 0) return reply(422, { message: `Unknown query parameter(s): ${unknown.join(', ')}` });
    const type = query.get('scheduleIdentifierType') ?? 'id';
    if (type !== 'id' && type !== 'name') return reply(422, { message: 'scheduleIdentifierType must be id or name' });
    const flat = query.get('flat') ?? 'false';
    if (flat !== 'true' && flat !== 'false') return reply(422, { message: 'flat must be true or false' });
    const date = query.get('date');
    if (date !== null && Number.isNaN(Date.parse(date))) return reply(422, { message: 'date must be a date-time' });
    const schedule = schedules.find((s) => (type === 'id' ? s.id : s.name) === identifier);
    if (!schedule) return reply(404, { message: `No schedule exists with ${type} [${identifier}]` });
    const enabled = schedule.enabled ?? true;
    const people = enabled ? (schedule.onCall ?? []).flatMap((id) => users.filter((u) => u.id === id)) : [];
    const _parent = { id: schedule.id, name: schedule.name, enabled };
    return reply(200, {
      data:
        flat === 'true'
          ? { _parent, onCallRecipients: people.map((u) => u.username) }
          : { _parent, onCallParticipants: people.map((u) => ({ id: u.id, name: u.username, type: 'user' })) },
    });
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

  baseUrl = server.url;

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
