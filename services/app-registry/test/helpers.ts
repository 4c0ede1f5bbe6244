import type { EventEnvelope } from '@micro-oncall/incident-model';
import { topicName } from '@micro-oncall/incident-model';
import type { RunningService } from '@micro-oncall/service-kit';
import {
  createTestDatabase,
  type FakeSlack,
  type LocalIssuer,
  type LocalOpa,
  sqlAs,
  startFakeSlack,
  startLocalIssuer,
  startOpa,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { inject } from 'vitest';
import type { RunView } from '../src/discovery/run.js';
import type { AppView, DecisionSummary } from '../src/model.js';
import { defineAppRegistry } from '../src/service.js';

export type Change = EventEnvelope<'app-registry'>;
export const DAY = 86_400_000;

/** A clock the test moves: the service's lifecycle, exceptions and history follow it. */
export function testClock(start = Date.now()) {
  let now = start;
  return {
    now: () => new Date(now),
    advanceDays(days: number) {
      now += days * DAY;
    },
  };
}

export interface Harness {
  service: RunningService;
  url: string;
  issuer: LocalIssuer;
  opa: LocalOpa | null;
  slack: FakeSlack;
  clock: ReturnType<typeof testClock>;
  databaseUrl: string;
  topic: string;
  tokens: Record<'viewer' | 'responder' | 'responder2' | 'approver' | 'approver2' | 'admin', string>;
  /** Also an approver: the requester who must not approve their own app. */
  requesterApprover: string;
  api(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  json<T>(
    path: string,
    init?: RequestInit & { token?: string },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** POST /apps/v1/lifecycle/sweep and wait until the job has run. */
  sweep(): Promise<void>;
  /** Every event about `appId` on the topic, once there are at least `count`. */
  events(appId: string, count: number): Promise<Change[]>;
  sql<T>(text: string, values?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: { opa?: 'start' | 'none'; opaWatch?: boolean; env?: Record<string, string> } = {},
): Promise<Harness> {
  const { databaseUrl: serverUrl, kafkaBrokers } = inject('stack');
  const namespace = uniqueNamespace('app-registry');
  const clock = testClock();
  const issuer = await startLocalIssuer();
  const slack = await startFakeSlack();
  const opa = opts.opa === 'none' ? null : await startOpa({ watch: opts.opaWatch ?? false, log: () => {} });
  const databaseUrl = await createTestDatabase(serverUrl, 'app_registry');
  const service = defineAppRegistry({ clock: clock.now });
  const running = await service.run(
    service.loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafkaBrokers,
      KAFKA_TOPIC_NAMESPACE: namespace,
      KAFKA_CONSUMER_GROUP: `${namespace}-app-registry`,
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      // Nothing listens on port 9 (discard): "OPA is down".
      OPA_URL: opa?.url ?? 'http://127.0.0.1:9',
      OPA_TIMEOUT_MS: '1000',
      SLACK_WEBHOOK_URL: slack.url,
      PUBLIC_URL: 'https://oncall.example.com',
      // Only the test's own sweeps: a cron tick on 1 January at midnight will not interfere.
      LIFECYCLE_CRON: '0 0 1 1 *',
      ...opts.env,
    }),
    { onFatal: (error) => console.error(`app-registry stopped: ${error.message}`) },
  );
  const token = (sub: string, roles: string[], name: string) => issuer.token({ sub, name, roles });
  const tokens = {
    viewer: await token('vic', ['viewer'], 'Vic Viewer'),
    responder: await token('rita', ['responder'], 'Rita Requester'),
    responder2: await token('ron', ['responder'], 'Ron Responder'),
    approver: await token('april', ['approver'], 'April Approver'),
    approver2: await token('abe', ['approver'], 'Abe Approver'),
    admin: await token('ada', ['admin'], 'Ada Admin'),
  };
  const requesterApprover = await token('rita', ['responder', 'approver'], 'Rita Requester');
  const topic = topicName('app-registry', namespace);

  const api = (path: string, init: RequestInit & { token?: string } = {}) => {
    const { token: bearer, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (bearer !== undefined && bearer !== '') headers.set('authorization', `Bearer ${bearer}`);
    else if (bearer === undefined) headers.set('authorization', `Bearer ${tokens.viewer}`);
    if (typeof rest.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${running.url}${path}`, { ...rest, headers });
  };
  const json = async <T>(path: string, init: RequestInit & { token?: string } = {}) => {
    const res = await api(path, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
  };
  const sql = async <T>(text: string, values: unknown[] = []) => (await sqlAs(databaseUrl, text, values)).rows as T[];

  return {
    service: running,
    url: running.url,
    issuer,
    opa,
    slack,
    clock,
    databaseUrl,
    topic,
    tokens,
    requesterApprover,
    api,
    json,
    sql,
    async sweep() {
      const res = await json<{ jobId: string }>('/apps/v1/lifecycle/sweep', { method: 'POST', token: tokens.admin });
      if (res.status !== 202) throw new Error(`sweep answered ${res.status}: ${JSON.stringify(res.body)}`);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const [job] = await sql<{ state: string; output: unknown }>(
          'select state, output from app_registry_jobs.job where id = $1',
          [res.body.jobId],
        );
        if (job?.state === 'completed') return;
        if (job?.state === 'failed') throw new Error(`the sweep failed: ${JSON.stringify(job.output)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the sweep did not finish within 30 s');
    },
    async events(appId, count) {
      const deadline = Date.now() + 30_000;
      let mine: Change[] = [];
      while (Date.now() < deadline) {
        const seen = await testKafka(kafkaBrokers).read(topic, { count: Number.POSITIVE_INFINITY, timeoutMs: 2500 });
        mine = seen.map((m) => JSON.parse(m.value ?? 'null') as Change).filter((e) => e.subject === appId);
        if (mine.length >= count) return mine;
      }
      throw new Error(
        `expected ${count} events about ${appId} on ${topic}, saw ${mine.length}: ${mine.map((e) => e.type).join(', ')}`,
      );
    },
    async stop() {
      await running.stop();
      await Promise.allSettled([issuer.stop(), slack.stop(), opa?.stop()]);
    },
  };
}

/** An app as a team registers it; override what the test is about. */
export function anApp(name: string, overrides: Record<string, unknown> = {}) {
  return {
    name,
    purpose: `${name}: a test app`,
    owner: { name: 'Rita Requester', contact: 'rita@example.com' },
    ownerSubject: 'rita',
    team: { name: 'finance-tools', contact: '#finance-tools' },
    runtime: 'serverless_function',
    environments: ['production'],
    repository: `https://git.example.com/finance/${name}`,
    endpoints: [{ host: `${name}.apps.example.com` }],
    dataClasses: ['internal'],
    impact: 'experimental',
    exposure: 'internal_network',
    template: 'micro-oncall-service',
    tags: ['finance'],
    costCentre: 'CC-4711',
    ...overrides,
  };
}

/** A business-critical app handling personal data behind an authenticated API: high risk. */
export const highRisk = (name: string) =>
  anApp(name, {
    impact: 'business_critical',
    dataClasses: ['pii', 'internal'],
    exposure: 'authenticated_api',
    runtime: 'container',
    namespace: `${name}-prod`,
    dedicatedNamespace: true,
    idpClientIds: ['0oa-expenses-web'],
  });

export type Registered = { app: AppView; decision: DecisionSummary; token: string };

/** POST /apps/v1/discovery/runs (as admin), then the run once it has finished. */
export async function runDiscovery(h: Pick<Harness, 'json' | 'tokens'>): Promise<RunView> {
  const started = await h.json<RunView>('/apps/v1/discovery/runs', { method: 'POST', token: h.tokens.admin });
  if (started.status !== 202) {
    throw new Error(`POST /apps/v1/discovery/runs answered ${started.status}: ${JSON.stringify(started.body)}`);
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const run = await h.json<RunView>(`/apps/v1/discovery/runs/${started.body.id}`);
    if (run.body.status !== 'running') return run.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`discovery run ${started.body.id} did not finish within 60 s`);
}
