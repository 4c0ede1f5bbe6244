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

/** A user as `GET /users` lists it (name, role and time zone default from the email). */
export interface FakePagerDutyUser {
  id: string;
  email: string;
  name?: string;
  role?: string;
  time_zone?: string;
}

export interface FakePagerDutyEscalationPolicy {
  id: string;
  name: string;
  /** One entry per level: the users and schedules notified at it. */
  levels: { id: string; type: 'user_reference' | 'schedule_reference'; summary: string }[][];
}

export interface FakePagerDutySchedule {
  id: string;
  name: string;
  time_zone: string;
  /** Who is on call now in this schedule. */
  onCall: string;
}

/** Realistic default lists (the incidents' default policy PFAKEEP among them). */
export const FAKE_PAGERDUTY_SCHEDULES: FakePagerDutySchedule[] = [
  { id: 'PSCHPRI', name: 'Checkout primary', time_zone: 'Europe/Berlin', onCall: '' },
  { id: 'PSCHSEC', name: 'Checkout secondary', time_zone: 'America/New_York', onCall: '' },
  { id: 'PSCHPLT', name: 'Platform follow-the-sun', time_zone: 'UTC', onCall: '' },
];

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
  users: FakePagerDutyUser[];
  incidents?: string[];
  /** Default: three policies over the default schedules and the first user, PFAKEEP first. */
  escalationPolicies?: FakePagerDutyEscalationPolicy[];
  /** Default FAKE_PAGERDUTY_SCHEDULES, on call: the users in turn. */
  schedules?: FakePagerDutySchedule[];
}): Promise<FakePagerDuty> {
  const users = opts.users.map((u) => ({
    id: u.id,
    email: u.email,
    name: u.name ?? nameFromEmail(u.email),
    role: u.role ?? 'user',
    time_zone: u.time_zone ?? 'Europe/London',
  }));
  const schedules =
    opts.schedules ??
    FAKE_PAGERDUTY_SCHEDULES.map((s, i) => ({ ...s, onCall: users[i % Math.max(1, users.length)]?.id ?? '' }));
  const scheduleRef = (s: FakePagerDutySchedule) => ({
    id: s.id,
    type: 'schedule_reference' as const,
    summary: s.name,
  });
  const firstUser = users[0];
  const userRef = firstUser ? [{ id: firstUser.id, type: 'user_reference' as const, summary: firstUser.name }] : [];
  const policies: FakePagerDutyEscalationPolicy[] = opts.escalationPolicies ?? [
    {
      id: 'PFAKEEP',
      name: 'Checkout escalation',
      levels: [
        schedules[0] ? [scheduleRef(schedules[0])] : [],
        schedules[1] ? [scheduleRef(schedules[1])] : [],
        userRef,
      ],
    },
    { id: 'PPLATEP', name: 'Platform escalation', levels: [schedules[2] ? [scheduleRef(schedules[2])] : [], userRef] },
    { id: 'PDBAEEP', name: 'Databases (business hours)', levels: [userRef] },
  ];
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
    if (req.method === 'GET' && id === undefined && root !== undefined && root in LISTS) {
      return list(root as keyof typeof LISTS, req.query);
    }
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

  const userOf = (u: (typeof users)[number]) => ({
    id: u.id,
    type: 'user',
    summary: u.name,
    self: `${baseUrl}/users/${u.id}`,
    html_url: `https://fake.pagerduty.invalid/users/${u.id}`,
    name: u.name,
    email: u.email,
    time_zone: u.time_zone,
    color: 'purple',
    role: u.role,
    avatar_url: `https://fake.pagerduty.invalid/avatars/${u.id}.png`,
    description: null,
    invitation_sent: false,
    job_title: null,
    teams: [],
  });
  const policyOf = (p: FakePagerDutyEscalationPolicy) => ({
    id: p.id,
    type: 'escalation_policy',
    summary: p.name,
    self: `${baseUrl}/escalation_policies/${p.id}`,
    html_url: `https://fake.pagerduty.invalid/escalation_policies/${p.id}`,
    name: p.name,
    description: '',
    num_loops: 0,
    on_call_handoff_notifications: 'if_has_services',
    escalation_rules: p.levels.map((targets, i) => ({
      id: `R${p.id}${i + 1}`,
      escalation_delay_in_minutes: 30,
      targets: targets.map((t) => ({ ...t })),
      escalation_rule_assignment_strategy: 'assign_to_everyone',
    })),
    services: [],
    teams: [],
  });
  const scheduleOf = (s: FakePagerDutySchedule) => ({
    id: s.id,
    type: 'schedule',
    summary: s.name,
    self: `${baseUrl}/schedules/${s.id}`,
    html_url: `https://fake.pagerduty.invalid/schedules/${s.id}`,
    name: s.name,
    time_zone: s.time_zone,
    description: null,
    escalation_policies: policies
      .filter((p) => p.levels.some((l) => l.some((t) => t.id === s.id)))
      .map((p) => ({ id: p.id, type: 'escalation_policy_reference', summary: p.name })),
    users: users.filter((u) => u.id === s.onCall).map((u) => ({ id: u.id, type: 'user_reference', summary: u.name })),
    teams: [],
  });

  /** Who is on call now for each level of the policies (`GET /oncalls`). */
  const oncalls = (query: URLSearchParams) => {
    const wanted = query.getAll('escalation_policy_ids[]');
    const out: unknown[] = [];
    for (const p of policies) {
      if (wanted.length > 0 && !wanted.includes(p.id)) continue;
      for (const [i, targets] of p.levels.entries()) {
        for (const t of targets) {
          const schedule = t.type === 'schedule_reference' ? schedules.find((s) => s.id === t.id) : undefined;
          const user = users.find((u) => u.id === (schedule ? schedule.onCall : t.id));
          if (!user) continue;
          out.push({
            escalation_policy: { id: p.id, type: 'escalation_policy_reference', summary: p.name },
            escalation_level: i + 1,
            schedule: schedule ? { id: schedule.id, type: 'schedule_reference', summary: schedule.name } : null,
            user: query.getAll('include[]').includes('users')
              ? userOf(user)
              : { id: user.id, type: 'user_reference', summary: user.name },
            start: schedule ? new Date(Date.now() - 3_600_000).toISOString() : null,
            end: schedule ? new Date(Date.now() + 7 * 3_600_000).toISOString() : null,
          });
        }
      }
    }
    return out;
  };

  /** `GET /users`, `/escalation_policies`, `/schedules` and `/oncalls`: the documented query parameters only. */
  function list(root: keyof typeof LISTS, query: URLSearchParams): Answer {
    const spec = LISTS[root];
    const errors: string[] = [];
    for (const key of new Set(query.keys())) {
      if (!(spec.params as readonly string[]).includes(key)) errors.push(`Unknown query parameter ${key}`);
    }
    for (const key of ['limit', 'offset']) {
      const raw = query.get(key);
      if (raw !== null && !/^\d+$/.test(raw)) errors.push(`${key} must be a non-negative integer`);
    }
    const limit = Number(query.get('limit') ?? 25);
    const offset = Number(query.get('offset') ?? 0);
    if (limit < 1 || limit > 100) errors.push('limit must be between 1 and 100');
    if (offset + limit > 10_000) errors.push('offset + limit must be at most 10000');
    const total = query.get('total');
    if (total !== null && total !== 'true' && total !== 'false') errors.push('total must be true or false');
    for (const include of query.getAll('include[]')) {
      if (!(spec.includes as readonly string[]).includes(include))
        errors.push(`include[] ${include} is not supported here`);
    }
    if (errors.length > 0) return invalidInput(...errors);
    const q = (query.get('query') ?? '').trim().toLowerCase();
    const all =
      root === 'users'
        ? users.filter((u) => `${u.name} ${u.email}`.toLowerCase().includes(q)).map(userOf)
        : root === 'escalation_policies'
          ? policies.filter((p) => p.name.toLowerCase().includes(q)).map(policyOf)
          : root === 'schedules'
            ? schedules.filter((s) => s.name.toLowerCase().includes(q)).map(scheduleOf)
            : oncalls(query);
    const page = all.slice(offset, offset + limit);
    return {
      status: 200,
      body: {
        [root]: page,
        limit,
        offset,
        more: offset + limit < all.length,
        total: total === 'true' ? all.length : null,
      },
    };
  }

  function update(id: string, body: unknown): Answer {
    const errors = validateIncidentUpdate(body, users);
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

/** The list endpoints and the query parameters PagerDuty documents for them. */
const LISTS = {
  users: {
    params: ['query', 'team_ids[]', 'include[]', 'limit', 'offset', 'total'],
    includes: ['contact_methods', 'notification_rules', 'teams', 'subdomains'],
  },
  escalation_policies: {
    params: ['query', 'user_ids[]', 'team_ids[]', 'include[]', 'sort_by', 'limit', 'offset', 'total'],
    includes: ['services', 'teams', 'targets'],
  },
  schedules: {
    params: ['query', 'include[]', 'since', 'until', 'limit', 'offset', 'total'],
    includes: ['final_schedule'],
  },
  oncalls: {
    params: [
      'escalation_policy_ids[]',
      'schedule_ids[]',
      'user_ids[]',
      'since',
      'until',
      'earliest',
      'include[]',
      'time_zone',
      'limit',
      'offset',
      'total',
    ],
    includes: ['users', 'schedules', 'escalation_policies'],
  },
} as const satisfies Record<string, { params: readonly string[]; includes: readonly string[] }>;

/** "ada.lovelace@example.com" → "Ada Lovelace". */
function nameFromEmail(email: string): string {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._-]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join(' ');
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
