/**
 * Open incidents: escalation with 100,000 open incidents in its store (10,000 with --quick),
 * seeded straight into its tables, then the acknowledge action and the incident list measured
 * in a bounded closed loop (issue 15's targets: acknowledge p99 < 50 ms, list p99 < 100 ms).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createTestDatabase, sqlAs, startFakePagerDuty, uniqueNamespace } from '@micro-oncall/test-kit';
import { say } from '../../scripts/lib/console.js';
import { type BenchContext, running, type Scenario, secretFile } from '../lib/context.js';
import { cpuWindow, fmtCores, quietBriefly } from '../lib/measure.js';
import type { OpenIncidentsLoop } from '../lib/open-incidents-report.js';
import { type ServiceChild, startServiceChild } from '../lib/services.js';
import { fmtInt, fmtLatency, Samples, summarise } from '../lib/stats.js';

const INCIDENTS = 100_000;
const QUICK_INCIDENTS = 10_000;
const CHUNK = 50_000;
/** Closed loop per request kind: this many connections, until either bound. */
const CONNECTIONS = 2;
const MAX_REQUESTS = 200;
const MAX_SECONDS = 10;
const WARM_UP = 5;
const QUIET_WAIT_S = 30;
/** Every third incident is acknowledged, the rest triggered: none resolved. */
const ACKNOWLEDGED_EVERY = 3;
/** Incidents the acknowledge loop may use: triggered ones, each acknowledged once. */
const ACK_CANDIDATES = WARM_UP + MAX_REQUESTS + CONNECTIONS;
const FILTERED_QUERY = 'active=true&severity=critical,high&service=checkout';

/** The fake PagerDuty's API token, made for each run (no credential in the repository). */
const PD_TOKEN = randomBytes(24).toString('hex');
const RESPONDER = { id: 'PBENCH1', email: 'responder@example.com' };

/**
 * One chunk of open incidents as the consumer leaves them: the incidents row (number and
 * change_seq from their sequences) and the history row of its trigger. $1..$2: the range of g,
 * $3: now (incident g last changed g seconds before it).
 */
const SEED_SQL = `
with rows as (
  select g,
    'inc_' || lpad(to_hex(g), 24, '0') as id,
    'PBENCH' || g as provider_id,
    (array['payments-api', 'checkout', 'search', 'unknown-service-' || (g % 50)])[1 + g % 4] as service,
    $3::timestamptz - make_interval(secs => g) as at
  from generate_series($1::int, $2::int) as g
), inserted as (
  insert into escalation.incidents (id, provider, provider_id, dedup_key, title, service, severity,
    provider_severity, urgency, status, labels, links, created_at, updated_at, snapshot_at, status_at,
    acknowledged_at, triggered_at, last_event_kind, change_seq)
  select id, 'pagerduty', provider_id, 'bench-' || g, 'Bench incident ' || g || ': ' || service || ' error rate high',
    service, (array['critical', 'high', 'medium', 'low', 'info'])[1 + g % 5]::escalation.severity,
    'P' || (1 + g % 5), (case when g % 2 = 0 then 'high' else 'low' end)::escalation.urgency,
    (case when g % ${ACKNOWLEDGED_EVERY} = 0 then 'acknowledged' else 'triggered' end)::escalation.incident_status,
    jsonb_build_object('service', service, 'bench', 'open-incidents'), '[]'::jsonb, at, at, at, at,
    case when g % ${ACKNOWLEDGED_EVERY} = 0 then at end, at,
    case when g % ${ACKNOWLEDGED_EVERY} = 0 then 'acknowledged' else 'triggered' end,
    nextval('escalation.incident_change_seq')
  from rows
  returning id
)
insert into escalation.incident_events (event_id, incident_id, kind, provider_event_type, occurred_at, drill, envelope)
select 'pagerduty:bench-' || g, id, 'triggered', 'incident.triggered', at, false,
  jsonb_build_object('id', 'pagerduty:bench-' || g, 'type', 'incident.triggered', 'data', jsonb_build_object('incidentId', id))
from rows`;

async function seed(databaseUrl: string, incidents: number): Promise<{ seedS: number; analyzeS: number }> {
  const t0 = performance.now();
  const now = new Date().toISOString();
  for (let from = 1; from <= incidents; from += CHUNK) {
    await sqlAs(databaseUrl, SEED_SQL, [from, Math.min(incidents, from + CHUNK - 1), now]);
  }
  const seedS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await sqlAs(databaseUrl, 'vacuum analyze escalation.incidents, escalation.incident_events');
  return { seedS, analyzeS: (performance.now() - t1) / 1000 };
}

/** A bounded closed loop of `send` (answers 200 expected): `CONNECTIONS` in flight, a new one as soon as one is answered. */
async function closedLoop(
  ctx: BenchContext,
  escalation: ServiceChild,
  request: string,
  send: () => Promise<Response>,
): Promise<OpenIncidentsLoop> {
  const samples = new Samples();
  let errors = 0;
  let firstError: string | undefined;
  const once = async () => {
    const t0 = performance.now();
    const res = await send();
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) {
      errors += 1;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
    }
    return ms;
  };
  for (let i = 0; i < WARM_UP; i += 1) await once();
  const cpu = cpuWindow(ctx, { escalation: escalation.child });
  const start = performance.now();
  const deadline = start + MAX_SECONDS * 1000;
  let issued = 0;
  const worker = async () => {
    while (issued < MAX_REQUESTS && performance.now() < deadline) {
      issued += 1;
      samples.push(await once());
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const values = samples.values();
  return {
    request,
    latency: summarise(values),
    requests: values.length,
    errors,
    seconds: (performance.now() - start) / 1000,
    cores: cpu(),
    ...(firstError ? { firstError } : {}),
  };
}

export const openIncidents: Scenario = {
  usesPayloads: false,
  title: (ctx) =>
    `open incidents: acknowledge and incident list with ${fmtInt(ctx.quick ? QUICK_INCIDENTS : INCIDENTS)} open incidents ${ctx.tag}`,
  async run(ctx: BenchContext) {
    const { issuer } = running(ctx);
    const count = ctx.quick ? QUICK_INCIDENTS : INCIDENTS;
    const databaseUrl = await createTestDatabase(ctx.postgresServerUrl, 'bench_open_incidents');
    const providerIds = Array.from({ length: ACK_CANDIDATES }, (_, i) => i + 1)
      .filter((g) => g % ACKNOWLEDGED_EVERY !== 0)
      .map((g) => ({ id: `inc_${g.toString(16).padStart(24, '0')}`, providerId: `PBENCH${g}` }));
    // Enough triggered incidents for every acknowledge (two of three are triggered).
    for (let g = ACK_CANDIDATES + 1; providerIds.length < ACK_CANDIDATES; g += 1) {
      if (g % ACKNOWLEDGED_EVERY !== 0)
        providerIds.push({ id: `inc_${g.toString(16).padStart(24, '0')}`, providerId: `PBENCH${g}` });
    }
    const pagerduty = await startFakePagerDuty({
      token: PD_TOKEN,
      users: [RESPONDER],
      incidents: providerIds.map((p) => p.providerId),
    });
    ctx.cleanups.push(() => pagerduty.stop());
    const escalation = await startServiceChild(ctx, {
      service: 'escalation',
      name: 'escalation-open-incidents',
      namespace: uniqueNamespace('bench-open'),
      env: {
        DATABASE_URL: databaseUrl,
        PAGERDUTY_API_URL: pagerduty.url,
        PAGERDUTY_API_TOKEN_FILE: secretFile(ctx, 'pagerduty-api-token', PD_TOKEN),
        PAGERDUTY_FROM_EMAIL: RESPONDER.email,
      },
    });
    const { seedS, analyzeS } = await seed(databaseUrl, count);
    say.info(
      `${fmtInt(count)} open incidents seeded in ${seedS.toFixed(1)} s, VACUUM ANALYZE ${analyzeS.toFixed(1)} s`,
    );

    const responder = await issuer.token(
      { sub: 'bench-responder', email: RESPONDER.email, name: 'Bench Responder', roles: ['responder'] },
      { expiresIn: '2h' },
    );
    const viewer = ctx.viewerToken;
    const get = (query: string) => () =>
      fetch(`${escalation.url}/v1/incidents${query ? `?${query}` : ''}`, {
        headers: { authorization: `Bearer ${viewer}` },
        signal: AbortSignal.timeout(30_000),
      });
    let next = 0;
    const acknowledge = () => {
      const target = providerIds[next++];
      if (!target) throw new Error('open incidents: ran out of triggered incidents to acknowledge');
      return fetch(`${escalation.url}/v1/incidents/${target.id}/actions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${responder}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({ action: 'acknowledge' }),
        signal: AbortSignal.timeout(30_000),
      });
    };

    const measure = async (label: string, request: string, send: () => Promise<Response>) => {
      await quietBriefly(ctx, label, QUIET_WAIT_S);
      const loop = await closedLoop(ctx, escalation, request, send);
      say.info(
        `${label}: ${fmtLatency(loop.latency)} over ${fmtInt(loop.requests)} requests in ${loop.seconds.toFixed(1)} s${loop.errors ? `, ${loop.errors} errors (first: ${loop.firstError})` : ''} ${ctx.tag}`,
      );
      say.info(`  cores used: ${fmtCores(ctx, loop.cores)}`);
      if (loop.errors > 0) throw new Error(`${label}: ${loop.errors} requests failed; first: ${loop.firstError}`);
      return loop;
    };
    const ack = await measure('acknowledge', 'POST /v1/incidents/:id/actions', acknowledge);
    const firstPage = await measure('incident list, first page', 'GET /v1/incidents', get(''));
    const filtered = await measure(
      'incident list, filtered',
      `GET /v1/incidents?${FILTERED_QUERY}`,
      get(FILTERED_QUERY),
    );
    const acknowledgedAtProvider = providerIds
      .slice(0, next)
      .filter((p) => pagerduty.incident(p.providerId)?.status === 'acknowledged').length;
    if (acknowledgedAtProvider !== next) {
      throw new Error(
        `acknowledge: ${next} answered 200 but the fake PagerDuty has ${acknowledgedAtProvider} acknowledged`,
      );
    }
    ctx.results.openIncidents = {
      incidents: count,
      seedS,
      analyzeS,
      connections: CONNECTIONS,
      maxRequests: MAX_REQUESTS,
      maxSeconds: MAX_SECONDS,
      acknowledge: ack,
      list: { firstPage, filtered },
    };
    await escalation.child.stop();
  },
};
