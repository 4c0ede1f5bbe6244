import { z } from 'zod';

/**
 * Who or what an incident can be handed to, as a responder picks it (GET /v1/incidents/:id/targets):
 * a provider's users, escalation policies (Opsgenie: escalations) and schedules.
 */
export const TARGET_KINDS = ['user', 'escalation_policy', 'schedule'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** One pickable item: its provider id is what an action sends, its name what a person sees. */
export interface Target {
  id: string;
  name: string;
  email?: string;
  /** A short line that tells two items of the same name apart (role, levels, time zone). */
  summary?: string;
}

/** At most this many items are answered (and asked of a provider that searches itself). */
export const MAX_TARGETS = 25;

/** Lists a provider's targets through the provider's own client (auth, retries, timeouts). */
export type ListTargets = (kind: TargetKind, query: string, limit: number) => Promise<Target[]>;

const MAX_SUMMARY = 160;

/** Items that do not look like the documented shape are skipped, not fatal: one odd user must not hide the rest. */
function each<T>(items: unknown, schema: z.ZodType<T>): T[] {
  if (!Array.isArray(items)) return [];
  const out: T[] = [];
  for (const item of items) {
    const parsed = schema.safeParse(item);
    if (parsed.success) out.push(parsed.data);
  }
  return out;
}

function summary(parts: (string | null | undefined)[]): string | undefined {
  const text = parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').join(' · ');
  if (text === '') return undefined;
  return text.length > MAX_SUMMARY ? `${text.slice(0, MAX_SUMMARY - 1)}…` : text;
}

const text = z.string().min(1);
const Named = z.object({ id: text, name: text });

// PagerDuty REST API v2 (providers-2.md, "PagerDuty REST API v2: pickers").
const PagerDutyUser = Named.extend({
  email: z.string().optional(),
  role: z.string().optional(),
  time_zone: z.string().optional(),
});
const PagerDutyPolicy = Named.extend({
  escalation_rules: z
    .array(z.object({ targets: z.array(z.object({ summary: z.string().optional() })).optional() }))
    .optional(),
});
const PagerDutySchedule = Named.extend({ time_zone: z.string().optional() });

/** The list in a PagerDuty answer: `{users[]}`, `{escalation_policies[]}` or `{schedules[]}`. */
export function parsePagerDutyTargets(kind: TargetKind, body: unknown): Target[] {
  const record = (body ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 'user':
      return each(record.users, PagerDutyUser).map((u) => ({
        id: u.id,
        name: u.name,
        ...(u.email ? { email: u.email } : {}),
        ...optional('summary', summary([u.role?.replaceAll('_', ' '), u.time_zone])),
      }));
    case 'escalation_policy':
      return each(record.escalation_policies, PagerDutyPolicy).map((p) => {
        const rules = p.escalation_rules ?? [];
        const first = rules[0]?.targets?.map((t) => t.summary).filter(Boolean) ?? [];
        return {
          id: p.id,
          name: p.name,
          ...optional(
            'summary',
            summary([
              rules.length > 0 ? `${rules.length} level${rules.length === 1 ? '' : 's'}` : null,
              first.length > 0 ? `first: ${first.join(', ')}` : null,
            ]),
          ),
        };
      });
    case 'schedule':
      return each(record.schedules, PagerDutySchedule).map((s) => ({
        id: s.id,
        name: s.name,
        ...optional('summary', summary([s.time_zone])),
      }));
  }
}

// Opsgenie API v2 (providers-2.md, "Opsgenie API v2: lookups").
const OpsgenieUser = z.object({
  id: text,
  username: text,
  fullName: z.string().optional(),
  role: z.object({ name: z.string().optional() }).optional(),
  blocked: z.boolean().optional(),
});
const OpsgenieEscalation = Named.extend({
  description: z.string().optional(),
  ownerTeam: z.object({ name: z.string().optional() }).optional(),
});
const OpsgenieSchedule = Named.extend({
  timezone: z.string().optional(),
  enabled: z.boolean().optional(),
  ownerTeam: z.object({ name: z.string().optional() }).optional(),
});

/** The `data[]` of an Opsgenie users, escalations or schedules answer. */
export function parseOpsgenieTargets(kind: TargetKind, body: unknown): Target[] {
  const data = ((body ?? {}) as Record<string, unknown>).data;
  switch (kind) {
    case 'user':
      return each(data, OpsgenieUser)
        .filter((u) => u.blocked !== true)
        .map((u) => ({
          id: u.id,
          name: u.fullName?.trim() || u.username,
          email: u.username,
          ...optional('summary', summary([u.role?.name])),
        }));
    case 'escalation_policy':
      return each(data, OpsgenieEscalation).map((e) => ({
        id: e.id,
        name: e.name,
        ...optional('summary', summary([e.ownerTeam?.name ? `team ${e.ownerTeam.name}` : null, e.description])),
      }));
    case 'schedule':
      return each(data, OpsgenieSchedule).map((s) => ({
        id: s.id,
        name: s.name,
        ...optional(
          'summary',
          summary([
            s.enabled === false ? 'disabled' : null,
            s.ownerTeam?.name ? `team ${s.ownerTeam.name}` : null,
            s.timezone,
          ]),
        ),
      }));
  }
}

/** Items whose name or email contains every word of `query` (case-insensitive), best matches first. */
export function matching(items: Target[], query: string): Target[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return items;
  const hay = (t: Target) => `${t.name} ${t.email ?? ''}`.toLowerCase();
  const found = items.filter((t) => words.every((w) => hay(t).includes(w)));
  // Names that start with what was typed come first.
  const starts = (t: Target) => (t.name.toLowerCase().startsWith(words[0]!) ? 0 : 1);
  return found.sort((a, b) => starts(a) - starts(b));
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

export interface TargetCacheOptions {
  /** How long a list is reused (default 60 s). */
  ttlMs?: number;
  /** How many lists are kept; the oldest go first (default 500). */
  maxEntries?: number;
  now?: () => number;
}

export interface TargetCache<T = Target[]> {
  /**
   * The cached list for `key` while it is fresh, else `load()`'s (shared by concurrent callers
   * of the same key). Failures are not cached: the next call asks the provider again.
   */
  get(key: string, load: () => Promise<T>): Promise<T>;
  clear(): void;
}

/** In-memory, per replica: a short TTL keeps typing in a picker from calling the provider per keystroke. */
export function createTargetCache<T = Target[]>(opts: TargetCacheOptions = {}): TargetCache<T> {
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxEntries = opts.maxEntries ?? 500;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { at: number; items: T }>();
  const inFlight = new Map<string, Promise<T>>();

  return {
    async get(key, load) {
      const hit = entries.get(key);
      if (hit && now() - hit.at < ttlMs) return hit.items;
      if (hit) entries.delete(key);
      const pending = inFlight.get(key);
      if (pending) return pending;
      const loading = load()
        .then((items) => {
          entries.delete(key);
          entries.set(key, { at: now(), items });
          while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
          return items;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, loading);
      return loading;
    },
    clear() {
      entries.clear();
      inFlight.clear();
    },
  };
}

/** Who is on call now at one level of an escalation policy. */
export interface OnCall {
  /** 1-based. */
  level: number;
  user: Target;
  /** The schedule that put them there; null for a user named directly in the policy. */
  schedule: string | null;
  /** When this on-call ends; null when permanent. */
  end: string | null;
}

const PagerDutyOnCall = z.object({
  escalation_level: z.number().int().min(1),
  user: z.object({
    id: text,
    summary: z.string().optional(),
    name: z.string().optional(),
    email: z.string().optional(),
  }),
  schedule: z.object({ summary: z.string().optional() }).nullable().optional(),
  end: z.string().nullable().optional(),
});

/** `GET /oncalls` → one entry per level and person (the same person twice at a level only once), by level. */
export function parsePagerDutyOnCalls(body: unknown): OnCall[] {
  const seen = new Set<string>();
  const out: OnCall[] = [];
  for (const o of each(((body ?? {}) as Record<string, unknown>).oncalls, PagerDutyOnCall)) {
    const key = `${o.escalation_level}\u0000${o.user.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const name = o.user.name ?? o.user.summary ?? o.user.id;
    out.push({
      level: o.escalation_level,
      user: { id: o.user.id, name, ...(o.user.email ? { email: o.user.email } : {}) },
      schedule: o.schedule?.summary ?? null,
      end: o.end ?? null,
    });
  }
  return out.sort((a, b) => a.level - b.level);
}

/** Who is on call now for an Opsgenie alert, and which schedule says so (see `onCallForTeams`). */
export interface ScheduleOnCall {
  /**
   * The schedule asked: owned by one of the alert's responder teams (`team`), or the configured
   * default (`default`); null when neither applies, with the reason.
   */
  schedule:
    | { id: string; name: string; chosenBy: 'team'; team: string }
    | { id: string; name: string; chosenBy: 'default' }
    | null;
  reason?: string;
  items: OnCall[];
}

const OpsgenieOnCalls = z.object({
  data: z.object({
    _parent: Named,
    onCallParticipants: z.unknown().optional(),
  }),
});
const OpsgenieParticipant = z.object({ id: text, name: text, type: z.string() });

/**
 * `GET /v2/schedules/{id}/on-calls` → the schedule and one entry per participant (Opsgenie has no
 * levels: all at level 1). A user's `name` is their username (email); teams and escalations that
 * are on call are kept, named as such.
 */
export function parseOpsgenieOnCalls(
  body: unknown,
): { schedule: { id: string; name: string }; items: OnCall[] } | null {
  const parsed = OpsgenieOnCalls.safeParse(body);
  if (!parsed.success) return null;
  const { _parent: parent, onCallParticipants } = parsed.data.data;
  const items = each(onCallParticipants, OpsgenieParticipant).map((p): OnCall => {
    const user: Target =
      p.type === 'user' ? { id: p.id, name: p.name, email: p.name } : { id: p.id, name: p.name, summary: p.type };
    return { level: 1, user, schedule: parent.name, end: null };
  });
  return { schedule: { id: parent.id, name: parent.name }, items };
}
