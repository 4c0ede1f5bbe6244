import { desc, gte, sql } from 'drizzle-orm';
import { z } from 'zod';
import * as schema from './db/schema.js';
import type { Db, LifecycleSettings } from './store.js';

/*
 * The governance view for platform teams (GET /apps/v1/governance): how many apps are in each
 * state, tier and runtime, the share on an approved template, open violations and ownership
 * tasks, the apps about to be disabled or purged, and a daily trend. The trend is one row per
 * UTC day, written by the lifecycle sweep (the last sweep of a day wins).
 */

const DAY_MS = 86_400_000;
export const SOON_DAYS = 14;
export const TREND_DAYS = 90;

const Counts = z.record(z.string(), z.number().int());
const DueApp = z.object({
  appId: z.string(),
  name: z.string(),
  state: z.string(),
  tier: z.string().nullable(),
  owner: z.object({ name: z.string(), contact: z.string().nullable() }).nullable(),
  team: z.object({ name: z.string(), contact: z.string() }),
  /** When the sweep will disable or purge it (unless there is activity, a restore or an exemption first). */
  dueAt: z.string(),
});

export const GovernanceView = z.object({
  generatedAt: z.string(),
  /** Apps not purged. */
  total: z.number().int(),
  byState: Counts.describe('every state, purged included, with 0 for none'),
  byTier: Counts.describe('low, medium, high and `none` (no decision yet), apps not purged'),
  byRuntime: Counts.describe('apps not purged'),
  templates: z.object({
    /** Apps (not purged) whose template is one the policy approves now. */
    onApproved: z.number().int(),
    /** onApproved / total, 0…1; null when the policy could not list its templates (OPA down) or there are no apps. */
    share: z.number().nullable(),
    approved: z.array(z.string()).nullable(),
  }),
  violations: z.object({
    /** Apps with at least one required control missing, failing or violated. */
    apps: z.number().int(),
    /** Sum of their open violations. */
    total: z.number().int(),
  }),
  /**
   * Open ownership tasks: `apps` of registered apps without an owner, `candidates` of discovered
   * apps still unregistered a day after discovery found them; `open` is both.
   */
  ownershipTasks: z.object({
    open: z.number().int(),
    apps: z.number().int(),
    candidates: z.number().int(),
    oldestOpenedAt: z.string().nullable(),
  }),
  dueSoon: z.object({
    days: z.number().int(),
    disable: z.array(DueApp),
    purge: z.array(DueApp),
  }),
  trend: z.array(
    z.object({
      day: z.string().describe('YYYY-MM-DD (UTC)'),
      total: z.number().int(),
      byState: Counts,
      /** Null when the policy could not list its templates at the time. */
      onTemplate: z.number().int().nullable(),
      openViolations: z.number().int(),
      openOwnershipTasks: z.number().int(),
    }),
  ),
});
export type GovernanceView = z.infer<typeof GovernanceView>;

const a = schema.apps;

async function counts(db: Db) {
  const [byState, byTier, byRuntime, templateRows, violations, tasks, candidateTasks] = await Promise.all([
    db.select({ key: a.state, n: sql<number>`count(*)::int` }).from(a).groupBy(a.state),
    db
      .select({ key: sql<string>`coalesce(${a.tier}::text, 'none')`, n: sql<number>`count(*)::int` })
      .from(a)
      .where(sql`${a.state} <> 'purged'`)
      .groupBy(sql`1`),
    db
      .select({ key: a.runtime, n: sql<number>`count(*)::int` })
      .from(a)
      .where(sql`${a.state} <> 'purged'`)
      .groupBy(a.runtime),
    db
      .select({ key: a.template, n: sql<number>`count(*)::int` })
      .from(a)
      .where(sql`${a.state} <> 'purged' and ${a.template} is not null`)
      .groupBy(a.template),
    db
      .select({ apps: sql<number>`count(*)::int`, total: sql<number>`coalesce(sum(${a.openViolations}), 0)::int` })
      .from(a)
      .where(sql`${a.state} <> 'purged' and ${a.openViolations} > 0`),
    db
      .select({ open: sql<number>`count(*)::int`, oldest: sql<string | null>`min(${schema.ownershipTasks.openedAt})` })
      .from(schema.ownershipTasks)
      .where(sql`${schema.ownershipTasks.status} = 'open'`),
    db
      .select({
        open: sql<number>`count(*)::int`,
        oldest: sql<string | null>`min(${schema.candidateOwnershipTasks.openedAt})`,
      })
      .from(schema.candidateOwnershipTasks)
      .where(sql`${schema.candidateOwnershipTasks.status} = 'open'`),
  ]);
  const apps = tasks[0]?.open ?? 0;
  const candidates = candidateTasks[0]?.open ?? 0;
  const oldest = [tasks[0]?.oldest, candidateTasks[0]?.oldest]
    .filter((t): t is string => !!t)
    .map((t) => new Date(t).toISOString())
    .sort()[0];
  const states = Object.fromEntries(schema.appState.enumValues.map((s) => [s, 0])) as Record<string, number>;
  for (const r of byState) states[r.key] = r.n;
  const total = Object.entries(states).reduce((sum, [s, n]) => (s === 'purged' ? sum : sum + n), 0);
  return {
    total,
    byState: states,
    byTier: Object.fromEntries([
      ...['low', 'medium', 'high', 'none'].map((t) => [t, 0]),
      ...byTier.map((r) => [r.key, r.n]),
    ]),
    byRuntime: Object.fromEntries([
      ...schema.appRuntime.enumValues.map((r) => [r, 0]),
      ...byRuntime.map((r) => [r.key, r.n]),
    ]) as Record<string, number>,
    templates: new Map(templateRows.map((r) => [r.key!, r.n])),
    violations: { apps: violations[0]?.apps ?? 0, total: violations[0]?.total ?? 0 },
    tasks: { open: apps + candidates, apps, candidates, oldestOpenedAt: oldest ?? null },
  };
}

const onTemplate = (templates: Map<string, number>, approved: string[] | null) =>
  approved === null ? null : approved.reduce((sum, t) => sum + (templates.get(t) ?? 0), 0);

export function createGovernance(deps: {
  db: Db;
  clock: () => Date;
  settings: LifecycleSettings;
  /** The policy's approved template names; throws when the policy cannot answer. */
  approvedTemplates: () => Promise<string[]>;
}) {
  const { db, clock, settings } = deps;

  async function approved(): Promise<string[] | null> {
    return deps.approvedTemplates().catch(() => null);
  }

  async function dueSoon(now: Date) {
    const horizon = new Date(now.getTime() + SOON_DAYS * DAY_MS).toISOString();
    const idleDue = sql<string>`greatest(greatest(${a.stateChangedAt}, ${a.lastActivityAt}) + make_interval(days => ${settings.disableAfterIdleDays}), coalesce(${a.lifecycleExemptUntil}, '-infinity'::timestamptz))`;
    const purgeDue = sql<string>`greatest(${a.purgeAfter}, coalesce(${a.lifecycleExemptUntil}, '-infinity'::timestamptz))`;
    const pick = (due: typeof idleDue) => ({
      appId: a.id,
      name: a.name,
      state: a.state,
      tier: a.tier,
      ownerName: a.ownerName,
      ownerContact: a.ownerContact,
      teamName: a.teamName,
      teamContact: a.teamContact,
      dueAt: due,
    });
    const [disable, purge] = await Promise.all([
      db
        .select(pick(idleDue))
        .from(a)
        .where(sql`${a.state} = 'idle' and ${idleDue} <= ${horizon}`)
        .orderBy(idleDue, a.id)
        .limit(500),
      db
        .select(pick(purgeDue))
        .from(a)
        .where(sql`${a.state} = 'archived' and ${purgeDue} <= ${horizon}`)
        .orderBy(purgeDue, a.id)
        .limit(500),
    ]);
    const view = (r: (typeof disable)[number]) => ({
      appId: r.appId,
      name: r.name,
      state: r.state,
      tier: r.tier,
      owner: r.ownerName ? { name: r.ownerName, contact: r.ownerContact } : null,
      team: { name: r.teamName, contact: r.teamContact },
      dueAt: new Date(r.dueAt).toISOString(),
    });
    return { days: SOON_DAYS, disable: disable.map(view), purge: purge.map(view) };
  }

  async function view(): Promise<GovernanceView> {
    const now = clock();
    const since = new Date(now.getTime() - TREND_DAYS * DAY_MS).toISOString().slice(0, 10);
    const [c, names, due, trend] = await Promise.all([
      counts(db),
      approved(),
      dueSoon(now),
      db
        .select()
        .from(schema.governanceSnapshots)
        .where(gte(schema.governanceSnapshots.day, since))
        .orderBy(desc(schema.governanceSnapshots.day))
        .limit(TREND_DAYS + 1),
    ]);
    const on = onTemplate(c.templates, names);
    return {
      generatedAt: now.toISOString(),
      total: c.total,
      byState: c.byState,
      byTier: c.byTier,
      byRuntime: c.byRuntime,
      templates: {
        onApproved: on ?? 0,
        share: on === null || c.total === 0 ? null : on / c.total,
        approved: names,
      },
      violations: c.violations,
      ownershipTasks: c.tasks,
      dueSoon: due,
      trend: trend.reverse().map((r) => ({ day: r.day, ...r.counts })),
    };
  }

  /** Today's row of the trend (UTC), replaced by every sweep of the day. */
  async function snapshot() {
    const now = clock();
    const [c, names] = await Promise.all([counts(db), approved()]);
    const row = {
      day: now.toISOString().slice(0, 10),
      takenAt: now.toISOString(),
      counts: {
        total: c.total,
        byState: c.byState,
        onTemplate: onTemplate(c.templates, names),
        openViolations: c.violations.total,
        openOwnershipTasks: c.tasks.open,
      },
    };
    await db
      .insert(schema.governanceSnapshots)
      .values(row)
      .onConflictDoUpdate({
        target: schema.governanceSnapshots.day,
        set: { takenAt: row.takenAt, counts: row.counts },
      });
    return row;
  }

  return { view, snapshot };
}

export type Governance = ReturnType<typeof createGovernance>;
