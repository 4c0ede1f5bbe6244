/**
 * app-registry at 250,000 apps: the issue's two scale targets. The apps are seeded straight into
 * the service's table with bulk INSERT … SELECT generate_series (the API would take hours);
 * everything measured goes through the running service: GET /apps/v1/apps with the common
 * filters, sorts, text search and deep cursors in a bounded closed loop on 127.0.0.1 (p50, p99,
 * max per query kind, and an EXPLAIN ANALYZE of each kind's own statement), then the lifecycle
 * sweep the way an admin runs it (POST /apps/v1/lifecycle/sweep, the durable job) until the job
 * has completed: wall time and the transitions it made.
 */
import { performance } from 'node:perf_hooks';
import { createTestDatabase, sqlAs, startOpa, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
// The statements exactly as the service builds them (its public entry), so that the EXPLAIN runs
// what GET /apps/v1/apps and the sweep run.
import { idleSweepStatement, listStatement } from '../../services/app-registry/src/index.js';
import type { AppRegistryResults, ListKindResult } from '../lib/app-registry-results.js';
import { type BenchContext, running, type Scenario } from '../lib/context.js';
import { cpuWindow, fmtCores, quietBriefly } from '../lib/measure.js';
import { readService, type ServiceReading, windowOf } from '../lib/service-metrics.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { fmtInt, fmtMs, Samples, summarise } from '../lib/stats.js';

const APPS = 250_000;
/** `--quick`: a tenth, for trying a change (its figures do not stand for the target). */
const QUICK_APPS = 25_000;
/** The list route as the service labels its request metrics. */
const LIST_ROUTE = '/apps/v1/apps';
const CHUNK = 50_000;
/** Closed loop per query kind: this many connections, until either bound. */
const CONNECTIONS = 2;
const MAX_REQUESTS = 200;
const MAX_SECONDS = 10;
const WARM_UP = 5;
/** Longest wait for a quiet machine before each measured phase (the run's budget still applies). */
const QUIET_WAIT_S = 30;
const SWEEP_TIMEOUT_MS = 240_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!;

// --- The seed: realistic apps in every state, about 3% due for a lifecycle step.

const DEPTS = [
  'finance',
  'hr',
  'it',
  'facilities',
  'sales',
  'marketing',
  'legal',
  'security',
  'operations',
  'data',
  'support',
  'procurement',
  'engineering',
  'design',
  'research',
  'logistics',
  'quality',
  'compliance',
  'training',
  'communications',
]; // prettier-ignore
const NOUNS = [
  'expense',
  'invoice',
  'payroll',
  'payment',
  'onboarding',
  'holiday',
  'badge',
  'parking',
  'canteen',
  'survey',
  'inventory',
  'shipment',
  'ticket',
  'timesheet',
  'vendor',
  'contract',
  'budget',
  'forecast',
  'travel',
  'laptop',
  'licence',
  'course',
  'feedback',
  'recruiting',
  'referral',
  'meeting',
  'room',
  'visitor',
  'asset',
  'backup',
  'report',
  'dashboard',
  'lead',
  'quote',
  'order',
  'refund',
  'customer',
  'partner',
  'campaign',
  'newsletter',
  'incident',
  'change',
  'release',
  'deploy',
  'access',
  'password',
  'device',
  'printer',
  'mailbox',
  'calendar',
  'shift',
  'roster',
  'warehouse',
  'fleet',
  'fuel',
  'mileage',
  'grant',
  'audit',
  'policy',
  'risk',
]; // prettier-ignore
const SUFFIXES = [
  'approver',
  'tracker',
  'bot',
  'sync',
  'exporter',
  'importer',
  'notifier',
  'portal',
  'form',
  'checker',
  'reminder',
  'scheduler',
  'gateway',
  'api',
  'calculator',
  'viewer',
  'builder',
  'monitor',
  'collector',
  'planner',
]; // prettier-ignore
const TAGS = [
  'finance',
  'hr',
  'it',
  'facilities',
  'sales',
  'marketing',
  'legal',
  'security',
  'ops',
  'data',
  'customer',
  'internal-tool',
  'prototype',
  'automation',
  'reporting',
]; // prettier-ignore
const FIRST = [
  'ada',
  'alan',
  'amir',
  'ana',
  'ben',
  'bea',
  'carl',
  'chen',
  'dana',
  'dev',
  'eli',
  'emma',
  'fay',
  'finn',
  'gus',
  'hana',
  'ivan',
  'iris',
  'jan',
  'jo',
  'kai',
  'kim',
  'lars',
  'lea',
  'li',
  'maya',
  'max',
  'nia',
  'noor',
  'olga',
  'omar',
  'pia',
  'raj',
  'rosa',
  'sam',
  'sara',
  'tom',
  'tara',
  'uma',
  'vic',
  'wen',
  'xia',
  'yara',
  'yusuf',
  'zoe',
  'zane',
  'ines',
  'hugo',
  'mila',
  'otto',
]; // prettier-ignore
const LAST = Array.from({ length: 100 }, (_, i) => `${pick(['berg', 'sen', 'ova', 'ez', 'ton', 'ski'])}${i}`);
const TEAMS = Array.from({ length: 400 }, (_, i) => `${DEPTS[i % DEPTS.length]}-${Math.floor(i / DEPTS.length) + 1}`);

const arr = (values: readonly string[]) => `array[${values.map((v) => `'${v}'`).join(',')}]`;
const at = (values: readonly string[], r: string) => `(${arr(values)})[1 + floor(${r} * ${values.length})::int]`;

/**
 * One INSERT … SELECT over generate_series($1, $2), `now` = $3. The state and the dates follow the
 * service's lifecycle with its default settings (idle after 30/60/90 days by tier, disabled 14
 * days later, archived after 14, purged 90 days after that), so that most apps are not due and
 * about 3% are (`due`): 2.5% of the active ones, 5% of the idle, 10% of the disabled, 4% of the
 * archived; 0.5% exempt; every 5,000th app held (OPA was down when it was registered).
 */
const SEED_SQL = `
insert into app_registry.apps (
  id, name, purpose, owner_name, owner_contact, owner_subject, team_name, team_contact, state, state_changed_at,
  runtime, environments, repository, endpoints, idp_client_ids, cloud_resource_ids, data_classes, impact, exposure,
  namespace, dedicated_namespace, public_storage, cost_centre, tags, template, sla, risk_score, tier, decision,
  open_violations, requested_by, lifecycle_exempt_until, last_activity_at, disabled_at, archived_at, purge_after,
  origin, search_text, created_at, updated_at)
with r as (
  select g, random() rs, random() rd, random() ra, random() rx, random() ry, random() rt, random() re, random() rp,
    random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7, random() r8,
    floor(random() * ${TEAMS.length})::int team_i, floor(random() * ${FIRST.length * LAST.length})::int person_i,
    $3::timestamptz now_
  from generate_series($1::int, $2::int) g
), s as (
  select *,
    case when g % 5000 = 0 then 'held'
      when rs < 0.01 then 'pending_approval' when rs < 0.02 then 'refused' when rs < 0.03 then 'purged'
      when rs < 0.08 then 'archived' when rs < 0.12 then 'disabled' when rs < 0.20 then 'idle' else 'active' end st,
    ${at(NOUNS, 'r1')} noun, ${at(SUFFIXES, 'r2')} suffix, ${at(TAGS, 'r3')} tag1, ${at(TAGS, 'r4')} tag2,
    (${arr(TEAMS)})[1 + team_i] team,
    (${arr(FIRST)})[1 + person_i % ${FIRST.length}] first_, (${arr(LAST)})[1 + person_i / ${FIRST.length}] last_
  from r
), t as (
  select *,
    case when st = 'held' then null when rt < 0.5 then 'low' when rt < 0.85 then 'medium' else 'high' end tier_,
    (case st when 'active' then rd < 0.025 when 'idle' then rd < 0.05 when 'disabled' then rd < 0.1
      when 'archived' then rd < 0.04 else false end) due,
    noun || '-' || suffix || '-' || g nm
  from s
), d as (
  select *,
    interval '1 day' * (case tier_ when 'low' then 30 when 'medium' then 60 else 90 end) thr,
    case when tier_ = 'low' then 10 + floor(rt * 80)::int when tier_ = 'medium' then 40 + floor(rt * 60)::int
      when tier_ = 'high' then 70 + floor(rt * 60)::int % 31 end score
  from t
), e as (
  select *,
    case st
      when 'active' then now_ - case when due then thr + interval '1 day' * (1 + ra * 30) else thr * (ra * 0.95) end
      when 'idle' then now_ - interval '1 day' * (case when due then 15 + ra * 15 else ra * 13 end) - thr - interval '1 day' * (1 + rx * 10)
      when 'disabled' then now_ - interval '1 day' * (case when due then 15 + ra * 15 else ra * 13 end) - interval '14 days' - thr - interval '1 day' * (1 + rx * 10)
      when 'archived' then now_ - interval '1 day' * (case when due then 91 + ra * 30 else ra * 89 end) - interval '28 days' - thr - interval '1 day' * (1 + rx * 10)
      when 'purged' then now_ - interval '1 day' * (200 + ra * 300)
      else now_ - interval '1 day' * (ra * 5) end last_act,
    case st
      when 'idle' then now_ - interval '1 day' * (case when due then 15 + ra * 15 else ra * 13 end)
      when 'disabled' then now_ - interval '1 day' * (case when due then 15 + ra * 15 else ra * 13 end)
      when 'archived' then now_ - interval '1 day' * (case when due then 91 + ra * 30 else ra * 89 end)
      when 'purged' then now_ - interval '1 day' * (ra * 100)
      else null end changed
  from d
), f as (
  select *,
    coalesce(changed, last_act) - interval '1 day' * (10 + ry * 700) created,
    case when rp < 0.03 then null else first_ || ' ' || last_ end owner_,
    case when rp < 0.03 then null else first_ || '.' || last_ || '@example.com' end contact_,
    'https://git.example.com/' || team || '/' || nm repo,
    nm || '.apps.example.com' host,
    'CC-' || (100 + team_i % 50) cc,
    case when r5 < 0.7 then 'micro-oncall-service' else null end tmpl
  from e
)
select
  'app_' || substr(md5(g::text || 'bench'), 1, 24), nm,
  initcap(suffix) || ' for ' || noun || ' requests of ' || team, owner_, contact_,
  case when owner_ is null then null else 'user-' || person_i end, team, team || '@example.com',
  st::app_registry.app_state, coalesce(changed, created),
  ${at(['serverless_function', 'wasm', 'container', 'low_code', 'saas_connector', 'other'], 'r6')}::app_registry.app_runtime,
  case when r7 < 0.5 then array['prod'] else array['dev', 'staging', 'prod'] end,
  case when st = 'purged' then null else repo end,
  case when st = 'purged' then '[]'::jsonb else jsonb_build_array(jsonb_build_object('host', host, 'path', '/')) end,
  case when st = 'purged' or r8 < 0.4 then '{}'::text[] else array[nm || '-client'] end,
  case when st = 'purged' or r8 < 0.5 then '{}'::text[] else array['arn:aws:lambda:eu-west-1:123456789012:function:' || nm] end,
  case when r7 < 0.2 then array['pii', 'internal'] when r7 < 0.25 then array['regulated'] when r7 < 0.8 then array['internal'] else array['public'] end,
  ${at(['business_critical', 'business_helpful', 'experimental'], 'r8')}::app_registry.app_impact,
  ${at(['internal_network', 'authenticated_api', 'public_url'], 'r5')}::app_registry.app_exposure,
  case when r6 < 0.5 then team else null end, r6 < 0.2, r7 > 0.98, cc,
  case when st = 'purged' then '{}'::text[] when tag1 = tag2 then array[tag1] else array[tag1, tag2] end,
  tmpl, ${at(['best_effort', 'business_hours', 'always_on'], 'r4')}::app_registry.app_sla,
  score, tier_::app_registry.risk_tier,
  jsonb_build_object(
    'outcome', case st when 'pending_approval' then 'needs_approval' when 'refused' then 'refuse' when 'held' then 'hold' else 'approve' end,
    'tier', tier_, 'score', score,
    'explanation', case when st = 'held' then 'no decision: the policy engine did not answer' else 'tier ' || tier_ || ' (score ' || score || ')' end,
    'policyVersion', case when st = 'held' then null else 'bench-seed' end,
    'reasons', case when st = 'refused' then jsonb_build_array(jsonb_build_object('rule', 'MO-APP-020', 'control', 'sso',
      'message', 'medium and high tiers need single sign-on', 'fix', 'register an SSO client id')) else '[]'::jsonb end,
    'controls', case when st = 'held' then '[]'::jsonb else jsonb_build_array(
      jsonb_build_object('id', 'sso', 'rule', 'MO-APP-020', 'title', 'Single sign-on', 'status', 'satisfied', 'message', 'client registered', 'fix', ''),
      jsonb_build_object('id', 'secret_scan', 'rule', 'MO-APP-030', 'title', 'Secrets scanning', 'status', case when r3 < 0.05 then 'missing' else 'satisfied' end, 'message', '', 'fix', '')) end,
    'decidedAt', to_char(created at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
  case when r3 < 0.05 then 1 else 0 end,
  'user-' || person_i,
  case when re < 0.005 then now_ + interval '30 days' else null end,
  last_act,
  case when st in ('disabled', 'archived') then coalesce(changed, now_) - case when st = 'archived' then interval '14 days' else interval '0' end else null end,
  case when st = 'archived' then changed else null end,
  case when st = 'archived' then changed + interval '90 days' else null end,
  case when r2 < 0.3 then 'import'::app_registry.app_origin else 'api'::app_registry.app_origin end,
  case when st = 'purged' then nm else concat_ws(' ', nm, initcap(suffix) || ' for ' || noun || ' requests of ' || team,
    owner_, contact_, team, team || '@example.com', tag1, tag2, repo, host, cc, tmpl) end,
  created, coalesce(changed, created)
from f`;

/**
 * Writes `apps` apps (default the scenario's APPS) into app-registry's (migrated, empty) table at
 * `databaseUrl`, then VACUUM ANALYZE. Exported so that a query plan can be studied on the same
 * data, and for the discovery and cost scenarios' registered apps.
 */
export async function seedApps(databaseUrl: string, apps = APPS): Promise<{ seedS: number; analyzeS: number }> {
  const seedFrom = performance.now();
  const now = new Date().toISOString();
  for (let from = 1; from <= apps; from += CHUNK) {
    await sqlAs(databaseUrl, SEED_SQL, [from, Math.min(apps, from + CHUNK - 1), now]);
    say.info(
      `seeded ${fmtInt(Math.min(apps, from + CHUNK - 1))} apps (${((performance.now() - seedFrom) / 1000).toFixed(1)} s)`,
    );
  }
  const seedS = (performance.now() - seedFrom) / 1000;
  const analyzeFrom = performance.now();
  // The word index's table too (its 3.7 million rows come from the inserts' triggers): never
  // vacuumed, it has no visibility map, so an index-only scan of it reads table pages as well,
  // and autovacuum would be vacuuming it during the measurements instead of before them.
  await sqlAs(databaseUrl, 'vacuum analyze app_registry.apps, app_registry.app_words');
  return { seedS, analyzeS: (performance.now() - analyzeFrom) / 1000 };
}

/** What each step of the sweep will find due, in SQL, with the service's default settings. */
const DUE_SQL = `
select
  count(*) filter (where state = 'active' and last_activity_at < now() - case tier when 'low' then interval '30 days'
    when 'medium' then interval '60 days' else interval '90 days' end) idle,
  count(*) filter (where state = 'idle' and state_changed_at < now() - interval '14 days' and last_activity_at < now() - interval '14 days') disabled,
  count(*) filter (where state = 'disabled' and disabled_at < now() - interval '14 days') archived,
  count(*) filter (where state = 'archived' and purge_after <= now()) purged
from app_registry.apps
where lifecycle_exempt_until is null or lifecycle_exempt_until <= now()`;

// --- The list queries.

export interface Kind {
  kind: string;
  query: string;
  /** A fresh instance of the query (varying its team, owner, word or cursor). */
  params: () => Record<string, string>;
}

const cursorOf = (s: string, o: 'asc' | 'desc', v: string, id: string) =>
  Buffer.from(JSON.stringify({ s, o, v, id })).toString('base64url');

export async function deepCursors(
  databaseUrl: string,
  apps = APPS,
): Promise<{ byName: string[]; activeByActivity: string[] }> {
  // Rows 60%–96% of the way through (150,000–240,000 of 250,000).
  const rows = (n: number) =>
    Array.from({ length: 20 }, () => Math.floor(apps * (0.6 + Math.random() * 0.36))).filter((x) => x < n);
  const byName = await sqlAs(
    databaseUrl,
    `select name v, id from (select name, id, row_number() over (order by name, id) rn from app_registry.apps
       where state <> 'purged') s where rn = any($1::int[])`,
    [rows(apps)],
  );
  const byActivity = await sqlAs(
    databaseUrl,
    `select last_activity_at::text v, id from (select last_activity_at, id,
       row_number() over (order by last_activity_at desc, id desc) rn from app_registry.apps where state = 'active') s
     where rn = any($1::int[])`,
    [rows(apps * 0.78).map((r) => r - Math.round(apps * 0.08))],
  );
  return {
    byName: byName.rows.map((r: { v: string; id: string }) => cursorOf('name', 'asc', r.v, r.id)),
    activeByActivity: byActivity.rows.map((r: { v: string; id: string }) =>
      cursorOf('lastActivityAt', 'desc', r.v, r.id),
    ),
  };
}

export async function owners(databaseUrl: string): Promise<string[]> {
  const res = await sqlAs(
    databaseUrl,
    `select owner_contact from app_registry.apps where owner_contact is not null and state <> 'purged'
     order by md5(id) limit 200`,
  );
  return res.rows.map((r: { owner_contact: string }) => r.owner_contact);
}

export function kinds(cursors: { byName: string[]; activeByActivity: string[] }, contacts: string[]): Kind[] {
  return [
    { kind: 'first page', query: '(every state but purged, by name)', params: () => ({}) },
    { kind: 'state', query: 'state=active', params: () => ({ state: 'active' }) },
    { kind: 'state+tier', query: 'state=active&tier=high', params: () => ({ state: 'active', tier: 'high' }) },
    {
      kind: 'states by activity',
      query: 'state=idle,disabled&sort=lastActivityAt',
      params: () => ({ state: 'idle,disabled', sort: 'lastActivityAt' }),
    },
    { kind: 'team', query: 'team=<one of 400 teams>', params: () => ({ team: pick(TEAMS) }) },
    {
      kind: 'team+state',
      query: 'team=<team>&state=disabled,archived',
      params: () => ({ team: pick(TEAMS), state: 'disabled,archived' }),
    },
    { kind: 'owner', query: 'owner=<contact of one of 5,000 owners>', params: () => ({ owner: pick(contacts) }) },
    { kind: 'text, rare word', query: 'q=<one of 60 nouns>', params: () => ({ q: pick(NOUNS) }) },
    {
      kind: 'text, common word',
      query: 'q=<one of 20 suffixes>&sort=lastActivityAt',
      params: () => ({ q: pick(SUFFIXES), sort: 'lastActivityAt' }),
    },
    { kind: 'text, two words', query: 'q=<noun> <suffix>', params: () => ({ q: `${pick(NOUNS)} ${pick(SUFFIXES)}` }) },
    { kind: 'by last activity', query: 'sort=lastActivityAt', params: () => ({ sort: 'lastActivityAt' }) },
    {
      kind: 'deep cursor, by name',
      query: 'cursor=<row 150k–240k by name>',
      params: () => ({ cursor: pick(cursors.byName) }),
    },
    {
      kind: 'deep cursor, filtered',
      query: 'state=active&sort=lastActivityAt&cursor=<row 130k–220k>',
      params: () => ({ state: 'active', sort: 'lastActivityAt', cursor: pick(cursors.activeByActivity) }),
    },
  ];
}

/**
 * A bounded closed loop: `connections` requests in flight, a new one as soon as one is answered.
 * `measuring` runs after the warm-up, before the first measured request.
 */
export async function closedLoop(
  url: string,
  token: string,
  kind: Kind,
  measuring?: () => Promise<void>,
): Promise<{ samples: Samples; errors: number; items: number; seconds: number; firstError?: string }> {
  const samples = new Samples();
  let errors = 0;
  let items = 0;
  let firstError: string | undefined;
  const get = async () => {
    const query = new URLSearchParams(kind.params()).toString();
    const t0 = performance.now();
    const res = await fetch(`${url}/apps/v1/apps${query ? `?${query}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) {
      errors += 1;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
      return { ms, items: 0 };
    }
    return { ms, items: (JSON.parse(text) as { items: unknown[] }).items.length };
  };
  for (let i = 0; i < WARM_UP; i += 1) await get();
  await measuring?.();
  const start = performance.now();
  const deadline = start + MAX_SECONDS * 1000;
  let issued = 0;
  const worker = async () => {
    while (issued < MAX_REQUESTS && performance.now() < deadline) {
      issued += 1;
      const r = await get();
      samples.push(r.ms);
      items += r.items;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { samples, errors, items, seconds: (performance.now() - start) / 1000, ...(firstError ? { firstError } : {}) };
}

/** EXPLAIN (ANALYZE, BUFFERS) of exactly the statement the list route runs for these parameters. */
async function explainList(databaseUrl: string, params: Record<string, string>) {
  const { sql, params: values } = listStatement(params);
  return explain(databaseUrl, sql, values);
}

async function explain(databaseUrl: string, sql: string, values: unknown[]) {
  const res = await sqlAs(databaseUrl, `explain (analyze, buffers) ${sql}`, values);
  const text = res.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  const executionMs = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? Number.NaN);
  return { executionMs, text };
}

/** EXPLAIN ANALYZE of the sweep's first step (active → idle) candidate query, as the job runs it. */
async function explainIdleStep(databaseUrl: string) {
  const { sql, params } = idleSweepStatement(new Date(), {
    idleAfterDays: { low: 30, medium: 60, high: 90 },
    disableAfterIdleDays: 14,
    archiveAfterDisabledDays: 14,
    restoreWindowDays: 90,
    exceptionMaxDays: 90,
  });
  return explain(databaseUrl, sql, params);
}

// --- The sweep.

async function lifecycleAudit(databaseUrl: string): Promise<Record<string, number>> {
  const res = await sqlAs(
    databaseUrl,
    `select substr(action, 11) step, count(*)::int n from app_registry.audit_log where action like 'lifecycle.%' group by 1`,
  );
  return Object.fromEntries(res.rows.map((r: { step: string; n: number }) => [r.step, r.n]));
}

const heldApps = async (databaseUrl: string) =>
  Number(
    (await sqlAs(databaseUrl, `select count(*)::int n from app_registry.apps where decision->>'outcome' = 'hold'`))
      .rows[0].n,
  );

/** POST /apps/v1/lifecycle/sweep as an admin, then waits until the job completed. */
async function sweepOnce(
  ctx: BenchContext,
  svc: ServiceChild,
  databaseUrl: string,
  adminToken: string,
): Promise<{ seconds: number; jobSeconds: number }> {
  const t0 = performance.now();
  const res = await fetch(`${svc.url}/apps/v1/lifecycle/sweep`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const body = (await res.json()) as { jobId?: string };
  if (res.status !== 202 || !body.jobId) throw new Error(`POST /apps/v1/lifecycle/sweep answered ${res.status}`);
  let nextReport = Date.now() + 15_000;
  for (;;) {
    const [job] = (
      await sqlAs(
        databaseUrl,
        `select state, output, extract(epoch from completed_on - started_on)::float8 job_s
         from app_registry_jobs.job where id = $1`,
        [body.jobId],
      )
    ).rows as { state: string; output: unknown; job_s: number | null }[];
    if (job?.state === 'completed')
      return { seconds: (performance.now() - t0) / 1000, jobSeconds: job.job_s ?? Number.NaN };
    if (job?.state === 'failed') throw new Error(`the sweep failed: ${JSON.stringify(job.output)}`);
    if (performance.now() - t0 > SWEEP_TIMEOUT_MS)
      throw new Error(
        `the sweep did not complete within ${SWEEP_TIMEOUT_MS / 1000} s (job ${job?.state ?? 'not found'})`,
      );
    if (!svc.child.isAlive()) throw new Error(`app-registry exited; see ${svc.child.log}`);
    if (ctx.shuttingDown) throw new Error('the run is stopping');
    if (Date.now() >= nextReport) {
      say.info(`sweep running for ${Math.round((performance.now() - t0) / 1000)} s`);
      nextReport += 15_000;
    }
    await sleep(100);
  }
}

export const appRegistryScale: Scenario = {
  usesPayloads: false,
  title: (ctx) =>
    `app-registry: list and filter, and the lifecycle sweep, at ${fmtInt(ctx.quick ? QUICK_APPS : APPS)} apps ${ctx.tag}`,
  async run(ctx) {
    const { stack, issuer } = running(ctx);
    const apps = ctx.quick ? QUICK_APPS : APPS;
    const opa = await startOpa({ log: (line) => say.info(`opa: ${line}`) });
    let svc: ServiceChild | undefined;
    try {
      const databaseUrl = await createTestDatabase(stack.databaseUrl, 'bench_registry');
      const namespace = uniqueNamespace('bench-registry');
      svc = await startServiceChild(ctx, {
        service: 'app-registry',
        name: 'app-registry',
        namespace,
        env: {
          DATABASE_URL: databaseUrl,
          OPA_URL: opa.url,
          // Only the sweeps this scenario asks for.
          LIFECYCLE_CRON: '0 0 1 1 *',
        },
        watch: 'app-registry',
      });
      const viewer = await issuer.token({ sub: 'bench-viewer', roles: ['viewer'] }, { expiresIn: '2h' });
      const admin = await issuer.token({ sub: 'bench-admin', roles: ['admin'] }, { expiresIn: '2h' });

      // --- Seed (straight into the table, not measured as a service figure).
      const { seedS, analyzeS } = await seedApps(databaseUrl, apps);
      const byState = Object.fromEntries(
        (
          await sqlAs(
            databaseUrl,
            'select state::text, count(*)::int n from app_registry.apps group by 1 order by 2 desc',
          )
        ).rows.map((r: { state: string; n: number }) => [r.state, r.n]),
      ) as Record<string, number>;
      say.info(
        `${fmtInt(apps)} apps in ${seedS.toFixed(1)} s + VACUUM ANALYZE ${analyzeS.toFixed(1)} s: ${Object.entries(
          byState,
        )
          .map(([k, v]) => `${k} ${fmtInt(v)}`)
          .join(', ')}`,
      );
      const cursors = await deepCursors(databaseUrl, apps);
      const contacts = await owners(databaseUrl);
      const list = kinds(cursors, contacts);

      // --- List and filter, through the API.
      const rssEnd = ctx.sampler.window('app-registry');
      const rssListEnd = ctx.sampler.window('app-registry');
      await quietBriefly(ctx, 'app-registry list and filter', QUIET_WAIT_S);
      const listCpu = cpuWindow(ctx, { 'app-registry': svc.child });
      const measured: Omit<ListKindResult, 'plan'>[] = [];
      const atStart = await readService(svc.url, LIST_ROUTE);
      for (const kind of list) {
        if (ctx.shuttingDown) throw new Error('the run is stopping');
        // The service's own count of the same requests (its metrics, read before and after the
        // measured loop): a request the client saw take over 100 ms that the service answered
        // within 100 ms spent the difference outside it (the bench process, the sockets, a core).
        let before: ServiceReading | undefined;
        const url = svc.url;
        const r = await closedLoop(url, viewer, kind, async () => {
          before = await readService(url, LIST_ROUTE);
        });
        if (r.errors > 0) throw new Error(`${kind.kind}: ${r.errors} answers were not 200, e.g. ${r.firstError}`);
        const service = windowOf(before!, await readService(url, LIST_ROUTE));
        const latency = summarise(r.samples.values());
        const clientOver100ms = r.samples.values().filter((ms) => ms > 100).length;
        if (service.requests !== latency.count)
          say.info(
            `⚠ ${kind.kind}: the service counted ${service.requests} list requests, the client ${latency.count}`,
          );
        measured.push({
          kind: kind.kind,
          query: kind.query,
          latency,
          requests: latency.count,
          seconds: r.seconds,
          errors: r.errors,
          itemsPerPage: r.items / Math.max(1, latency.count),
          clientOver100ms,
          service,
        });
        say.info(
          `${kind.kind} (${kind.query}): p50 ${fmtMs(latency.p50)} / p99 ${fmtMs(latency.p99)} / max ${fmtMs(latency.max)} ms over ${latency.count} requests, ${(r.items / Math.max(1, latency.count)).toFixed(0)} items/page; over 100 ms: client ${clientOver100ms}, service ${service.over100ms}; service CPU ${service.cpuMsPerRequest.toFixed(2)} ms/request, GC ${service.gcCount} (${service.gcMs.toFixed(0)} ms, ${service.gcOver10ms} ≥ 10 ms; ${service.gcMajorCount} full, ${service.gcMajorMs.toFixed(0)} ms), event-loop lag max ${service.eventLoopLagMaxMs.toFixed(0)} ms, RSS ${fmtInt(service.rssBytes / 1e6)} MB (heap in use ${fmtInt(service.heapUsedBytes / 1e6)} MB) ${ctx.tag}`,
        );
      }
      const listCores = listCpu();
      const rssList = rssListEnd();
      say.info(`list and filter: cores used ${fmtCores(ctx, listCores)}`);
      const kindsMeasured: ListKindResult[] = [];
      for (const [i, m] of measured.entries()) {
        kindsMeasured.push({ ...m, plan: await explainList(databaseUrl, list[i]!.params()) });
      }

      // --- The lifecycle sweep, as an admin runs it.
      const [dueRow] = (await sqlAs(databaseUrl, DUE_SQL)).rows as Record<string, string>[];
      const due = Object.fromEntries(Object.entries(dueRow!).map(([k, v]) => [k, Number(v)]));
      const heldBefore = await heldApps(databaseUrl);
      const auditBefore = await lifecycleAudit(databaseUrl);
      say.info(
        `due for the sweep: ${Object.entries(due)
          .map(([k, v]) => `${k} ${fmtInt(v)}`)
          .join(', ')}; ${heldBefore} held`,
      );
      await quietBriefly(ctx, 'app-registry lifecycle sweep', QUIET_WAIT_S);
      const rssSweepEnd = ctx.sampler.window('app-registry');
      const sweepCpu = cpuWindow(ctx, { 'app-registry': svc.child });
      const first = await sweepOnce(ctx, svc, databaseUrl, admin);
      const sweepCores = sweepCpu();
      const auditAfter = await lifecycleAudit(databaseUrl);
      const transitions = Object.fromEntries(
        ['idle', 'disabled', 'archived', 'purged'].map((k) => [k, (auditAfter[k] ?? 0) - (auditBefore[k] ?? 0)]),
      );
      const heldAfter = await heldApps(databaseUrl);
      say.info(
        `sweep: ${first.seconds.toFixed(1)} s (job ${first.jobSeconds.toFixed(1)} s), transitions ${Object.entries(
          transitions,
        )
          .map(([k, v]) => `${k} ${fmtInt(v)}`)
          .join(', ')}; held ${heldBefore} → ${heldAfter}; cores used ${fmtCores(ctx, sweepCores)}`,
      );
      const againCpu = cpuWindow(ctx, { 'app-registry': svc.child });
      const again = await sweepOnce(ctx, svc, databaseUrl, admin);
      const againCores = againCpu();
      const auditAgain = await lifecycleAudit(databaseUrl);
      const againTransitions =
        Object.values(auditAgain).reduce((a, b) => a + b, 0) - Object.values(auditAfter).reduce((a, b) => a + b, 0);
      say.info(`sweep again (nothing due): ${again.seconds.toFixed(1)} s, ${againTransitions} transitions`);
      const rssSweep = rssSweepEnd();
      const rssPeak = rssEnd();
      const idleStep = await explainIdleStep(databaseUrl);

      const result: AppRegistryResults = {
        apps,
        byState,
        seed: { seconds: seedS, analyzeSeconds: analyzeS },
        list: {
          connections: CONNECTIONS,
          maxRequestsPerKind: MAX_REQUESTS,
          maxSecondsPerKind: MAX_SECONDS,
          kinds: kindsMeasured,
          cores: listCores,
          serviceMemoryAtStart: { rssBytes: atStart.rssBytes, heapUsedBytes: atStart.heapUsedBytes },
        },
        sweep: {
          due,
          seconds: first.seconds,
          jobSeconds: first.jobSeconds,
          transitions,
          heldBefore,
          heldAfter,
          cores: sweepCores,
          again: {
            seconds: again.seconds,
            jobSeconds: again.jobSeconds,
            transitions: againTransitions,
            cores: againCores,
          },
          plan: idleStep,
        },
        rssPeakBytes: rssPeak,
        rssPeakByPhase: { list: rssList, sweep: rssSweep },
      };
      ctx.results.appRegistry = result;
    } finally {
      await svc?.child.stop();
      ctx.sampler.unwatch('app-registry');
      await opa.stop();
    }
  },
};
