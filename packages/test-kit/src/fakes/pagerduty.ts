import { randomBytes } from 'node:crypto';
import {
  type Answer,
  type Fault,
  header,
  type IncomingRequest,
  isJsonContentType,
  isPlainObject,
  type RecordedRequest,
  startFakeServer,
  unknownKeys,
} from './server.js';

export const PAGERDUTY_MEDIA_TYPE = 'application/vnd.pagerduty+json;version=2';

export interface FakePagerDutyIncident {
  id: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  escalation_level: number;
  escalation_policy: { id: string; type: 'escalation_policy_reference' };
  assignments: { assignee: { id: string; type: 'user_reference' } }[];
  resolution: string | null;
  notes: { id: string; content: string; user: { id: string; type: 'user_reference' } }[];
}

export interface FakePagerDuty {
  url: string;
  requests: RecordedRequest[];
  failNext(fault: Fault): void;
  addIncident(id: string): void;
  /** A copy of the fake's current state of the incident (undefined when unknown). */
  incident(id: string): FakePagerDutyIncident | undefined;
  stop(): Promise<void>;
}

const UNAUTHORIZED = { error: { message: 'Unauthorized', code: 2006 } };
const RATE_LIMITED = { error: { message: 'Rate Limit Exceeded', code: 2020 } };
const NOT_FOUND = { error: { message: 'Not Found', code: 2100 } };
const invalidInput = (...errors: string[]): Answer => ({
  status: 400,
  body: { error: { message: 'Invalid Input Provided', code: 2001, errors } },
});

const INCIDENT_FIELDS = [
  'type',
  'status',
  'resolution',
  'escalation_level',
  'assignments',
  'escalation_policy',
  'priority',
  'urgency',
  'title',
  'conference_bridge',
] as const;

/**
 * A PagerDuty REST API v2 stand-in for incident actions (`PUT /incidents/{id}`,
 * `POST /incidents/{id}/notes`, `GET /incidents/{id}`) that enforces the documented headers and
 * body shapes. See ./README.md for the rules.
 */
export async function startFakePagerDuty(opts: {
  token: string;
  users: { id: string; email: string }[];
  incidents?: string[];
}): Promise<FakePagerDuty> {
  const incidents = new Map<string, FakePagerDutyIncident & { number: number; createdAt: string; updatedAt: string }>();
  let numbers = 0;
  const addIncident = (id: string) => {
    if (incidents.has(id)) return;
    numbers += 1;
    const now = new Date().toISOString();
    incidents.set(id, {
      id,
      status: 'triggered',
      escalation_level: 1,
      escalation_policy: { id: 'PFAKEEP', type: 'escalation_policy_reference' },
      assignments: [],
      resolution: null,
      notes: [],
      number: numbers,
      createdAt: now,
      updatedAt: now,
    });
  };
  for (const id of opts.incidents ?? []) addIncident(id);
  const userByEmail = (email: string | undefined) =>
    email === undefined ? undefined : opts.users.find((u) => u.email.toLowerCase() === email.trim().toLowerCase());
  let baseUrl = '';

  const fullIncident = (id: string) => {
    const i = incidents.get(id)!;
    return {
      id: i.id,
      type: 'incident',
      summary: `[#${i.number}] Fake incident ${i.id}`,
      self: `${baseUrl}/incidents/${encodeURIComponent(i.id)}`,
      html_url: `https://fake.pagerduty.invalid/incidents/${encodeURIComponent(i.id)}`,
      incident_number: i.number,
      incident_key: `key-${i.id}`,
      title: `Fake incident ${i.id}`,
      status: i.status,
      urgency: 'high',
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      last_status_change_at: i.updatedAt,
      resolve_reason: null,
      service: { id: 'PFAKESV', type: 'service_reference', summary: 'Fake service' },
      escalation_policy: { ...i.escalation_policy, summary: 'Fake escalation policy' },
      assignments: i.assignments.map((a) => ({ at: i.updatedAt, assignee: { ...a.assignee } })),
      acknowledgements: [],
      priority: null,
    };
  };

  function handle(req: IncomingRequest): Answer {
    if (header(req, 'authorization') !== `Token token=${opts.token}`) return { status: 401, body: UNAUTHORIZED };
    if (header(req, 'accept') !== PAGERDUTY_MEDIA_TYPE) {
      return { status: 406, body: { error: { message: `Accept must be ${PAGERDUTY_MEDIA_TYPE}` } } };
    }
    const [root, id, sub, ...rest] = req.segments;
    const route =
      root !== 'incidents' || !id || rest.length > 0
        ? null
        : req.method === 'GET' && sub === undefined
          ? 'get'
          : req.method === 'PUT' && sub === undefined
            ? 'update'
            : req.method === 'POST' && sub === 'notes'
              ? 'note'
              : null;
    if (route === null) return { status: 404, body: NOT_FOUND };
    if (route === 'get')
      return incidents.has(id!) ? { status: 200, body: { incident: fullIncident(id!) } } : notFound();

    const user = userByEmail(header(req, 'from'));
    if (!user) return invalidInput('Requester User Not Found');
    if (!isJsonContentType(req)) return invalidInput('Content-Type must be application/json');
    let body: unknown;
    try {
      body = JSON.parse(req.rawBody);
    } catch {
      return invalidInput('Request body is not valid JSON');
    }
    if (!incidents.has(id!)) return notFound();
    return route === 'update' ? update(id!, body) : addNote(id!, body, user.id);
  }

  function update(id: string, body: unknown): Answer {
    const errors = validateIncidentUpdate(body, opts.users);
    if (errors.length > 0) return invalidInput(...errors);
    const change = (body as { incident: Record<string, unknown> }).incident;
    const state = incidents.get(id)!;
    if (change.status === 'acknowledged' || change.status === 'resolved') state.status = change.status;
    if (typeof change.resolution === 'string') state.resolution = change.resolution;
    if (isPlainObject(change.escalation_policy)) {
      state.escalation_policy = { id: String(change.escalation_policy.id), type: 'escalation_policy_reference' };
      state.escalation_level = 1;
    }
    if (typeof change.escalation_level === 'number') state.escalation_level = change.escalation_level;
    if (Array.isArray(change.assignments)) {
      state.assignments = change.assignments.map((a) => ({
        assignee: { id: String((a as { assignee: { id: string } }).assignee.id), type: 'user_reference' as const },
      }));
    }
    state.updatedAt = new Date().toISOString();
    return { status: 200, body: { incident: fullIncident(id) } };
  }

  function addNote(id: string, body: unknown, userId: string): Answer {
    const errors: string[] = [];
    if (!isPlainObject(body)) errors.push('Body must be an object');
    else {
      for (const key of unknownKeys(body, ['note'])) errors.push(`Unknown field ${key}`);
      const note = body.note;
      if (!isPlainObject(note)) errors.push('note is required');
      else {
        for (const key of unknownKeys(note, ['content'])) errors.push(`Unknown field note.${key}`);
        if (typeof note.content !== 'string' || note.content.trim() === '') errors.push('note.content is required');
      }
    }
    if (errors.length > 0) return invalidInput(...errors);
    const content = (body as { note: { content: string } }).note.content;
    const note = {
      id: `N${randomBytes(6).toString('hex').toUpperCase()}`,
      content,
      user: { id: userId, type: 'user_reference' as const },
    };
    incidents.get(id)!.notes.push(note);
    return { status: 201, body: { note: { ...note, created_at: new Date().toISOString() } } };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) =>
      status === 429
        ? RATE_LIMITED
        : status === 401
          ? UNAUTHORIZED
          : status === 404
            ? NOT_FOUND
            : { error: { message: status >= 500 ? 'Internal Server Error' : 'Invalid Input Provided', code: 2001 } },
  });
  baseUrl = server.url;

  return {
    ...server,
    addIncident,
    incident(id) {
      const state = incidents.get(id);
      if (!state) return undefined;
      const { number: _n, createdAt: _c, updatedAt: _u, ...rest } = state;
      return structuredClone(rest);
    },
  };
}

function notFound(): Answer {
  return { status: 404, body: NOT_FOUND };
}

/** The documented `PUT /incidents/{id}` body rules; an empty list means valid. */
function validateIncidentUpdate(body: unknown, users: { id: string }[]): string[] {
  if (!isPlainObject(body)) return ['Body must be an object'];
  const errors = unknownKeys(body, ['incident']).map((k) => `Unknown field ${k}`);
  const incident = body.incident;
  if (!isPlainObject(incident)) return [...errors, 'incident is required'];
  errors.push(...unknownKeys(incident, INCIDENT_FIELDS).map((k) => `Unknown field incident.${k}`));
  if (incident.type !== 'incident_reference') errors.push('incident.type must be incident_reference');
  const changes = INCIDENT_FIELDS.filter((k) => k !== 'type' && incident[k] !== undefined);
  if (changes.length === 0) errors.push('No change requested');
  if (incident.status !== undefined && incident.status !== 'acknowledged' && incident.status !== 'resolved') {
    errors.push('incident.status must be acknowledged or resolved');
  }
  if (incident.resolution !== undefined) {
    if (typeof incident.resolution !== 'string') errors.push('incident.resolution must be a string');
    if (incident.status !== 'resolved') errors.push('incident.resolution is only allowed when resolving');
  }
  if (incident.escalation_level !== undefined) {
    const level = incident.escalation_level;
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 1) {
      errors.push('incident.escalation_level must be an integer of at least 1');
    }
  }
  if (incident.assignments !== undefined) {
    const list = incident.assignments;
    if (!Array.isArray(list) || list.length === 0) errors.push('incident.assignments must be a non-empty array');
    else {
      for (const [i, a] of list.entries()) {
        const assignee = isPlainObject(a) ? a.assignee : undefined;
        if (
          !isPlainObject(a) ||
          unknownKeys(a, ['assignee']).length > 0 ||
          !isPlainObject(assignee) ||
          typeof assignee.id !== 'string' ||
          assignee.type !== 'user_reference'
        ) {
          errors.push(`incident.assignments[${i}] must be { assignee: { id, type: user_reference } }`);
        } else if (!users.some((u) => u.id === assignee.id)) {
          errors.push('Assignee User Not Found');
        }
      }
    }
  }
  if (incident.escalation_policy !== undefined) {
    const policy = incident.escalation_policy;
    if (
      !isPlainObject(policy) ||
      typeof policy.id !== 'string' ||
      policy.id === '' ||
      policy.type !== 'escalation_policy_reference'
    ) {
      errors.push('incident.escalation_policy must be { id, type: escalation_policy_reference }');
    }
    if (incident.assignments !== undefined) {
      errors.push('incident.assignments and incident.escalation_policy cannot be given together');
    }
  }
  return errors;
}
