/**
 * DEMO ONLY (npm start): a registry with apps in every state, made through app-registry's API as
 * a team, a pipeline and an approver would (never SQL). Run again on a restart, it adds nothing:
 * registrations of a name that exists answer 409, imports match by name, the purge is skipped
 * when its tombstone is there.
 *
 *   active            lunch-poll, desk-booking (low risk, approved at once); customer-portal (high
 *                     risk, evidence posted, approved by an approver who did not ask)
 *   refused           expense-approvals (high risk, no evidence yet: the reasons say what to post)
 *   pending_approval  payroll-export (evidence in, waiting for an approver)
 *   held              visitor-wifi, registered before the policy engine is up (`registerHeld`);
 *                     the next lifecycle sweep decides it once OPA answers
 *   idle, disabled, archived   imported with their state (an inventory that existed before)
 *   purged            retired-wiki, imported archived and purged by an admin
 */

export interface DemoTokens {
  responder: string;
  approver: string;
  admin: string;
}

const team = (name: string, contact: string) => ({ name, contact });
const base = (name: string, purpose: string, overrides: Record<string, unknown> = {}) => ({
  name,
  purpose: `DEMO: ${purpose}`,
  owner: { name: 'Ada Responder', contact: 'ada@example.com' },
  ownerSubject: 'dev-responder',
  team: team('finance-tools', '#finance-tools'),
  runtime: 'serverless_function',
  environments: ['production'],
  repository: `https://git.example.com/demo/${name}`,
  endpoints: [{ host: `${name}.apps.example.com`, path: '/' }],
  dataClasses: ['internal'],
  impact: 'experimental',
  exposure: 'internal_network',
  template: 'micro-oncall-service',
  tags: ['demo'],
  costCentre: 'CC-DEMO',
  ...overrides,
});
const highRisk = (name: string, purpose: string) =>
  base(name, purpose, {
    impact: 'business_critical',
    dataClasses: ['pii', 'internal'],
    exposure: 'authenticated_api',
    runtime: 'container',
    namespace: `${name}-prod`,
    dedicatedNamespace: true,
    idpClientIds: [`0oa-${name}`],
    sla: 'business_hours',
  });

const SBOM = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  version: 1,
  components: [{ type: 'library', name: 'express', version: '5.1.0', purl: 'pkg:npm/express@5.1.0' }],
};
const CLEAN_SCAN = { version: '2.1.0', runs: [{ tool: { driver: { name: 'gitleaks' } }, results: [] }] };

async function call(url: string, token: string, method: string, body?: unknown, type = 'application/json') {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Registers `app`; returns its id and pipeline token, or null when the name is already registered. */
async function register(url: string, tokens: DemoTokens, app: Record<string, unknown>) {
  const res = await call(`${url}/apps/v1/apps`, tokens.responder, 'POST', app);
  if (res.status === 409) return null;
  if (res.status !== 201) throw new Error(`demo app ${String(app.name)}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: (res.body.app as { id: string }).id, token: res.body.token as string };
}

async function postEvidence(url: string, id: string, token: string, body: unknown) {
  const res = await call(`${url}/apps/v1/apps/${id}/evidence`, token, 'POST', body);
  if (res.status !== 201) throw new Error(`demo evidence for ${id}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** DEMO ONLY: one app registered while the policy engine is not running yet: it is held for review. */
export async function registerHeldDemoApp(url: string, tokens: DemoTokens): Promise<void> {
  await register(
    url,
    tokens,
    base('visitor-wifi', 'Guest wi-fi vouchers at reception (registered while OPA was down: held)'),
  );
}

/** DEMO ONLY: the rest of the registry. Returns the number of apps it registered or imported. */
export async function seedDemoApps(url: string, tokens: DemoTokens): Promise<number> {
  let made = 0;
  for (const app of [
    base('lunch-poll', 'Where shall we have lunch today'),
    base('desk-booking', 'Book a desk for the day', { runtime: 'low_code', team: team('facilities', '#facilities') }),
    highRisk('expense-approvals', 'Approve expenses before payroll (refused: no SSO, scans or SBOM yet)'),
  ]) {
    if (await register(url, tokens, app)) made += 1;
  }
  // Evidence from the pipeline: waiting for an approver.
  const payroll = await register(url, tokens, highRisk('payroll-export', 'Monthly payroll file to the bank'));
  if (payroll) {
    made += 1;
    await postEvidence(url, payroll.id, payroll.token, { kind: 'sbom', document: SBOM });
    await postEvidence(url, payroll.id, payroll.token, { kind: 'secret_scan', document: CLEAN_SCAN });
    await postEvidence(url, payroll.id, payroll.token, { kind: 'sso', clientId: '0oa-payroll-export' });
  }
  // The same, then approved by an approver who did not ask for it: active.
  const portal = await register(url, tokens, highRisk('customer-portal', 'Customers see their invoices'));
  if (portal) {
    made += 1;
    await postEvidence(url, portal.id, portal.token, { kind: 'sbom', document: SBOM });
    await postEvidence(url, portal.id, portal.token, { kind: 'secret_scan', document: CLEAN_SCAN });
    await postEvidence(url, portal.id, portal.token, { kind: 'sso', clientId: '0oa-customer-portal' });
    await call(`${url}/apps/v1/apps/${portal.id}/approve`, tokens.approver, 'POST', {
      comment: 'DEMO: reviewed with the team',
    });
  }

  // An inventory that existed before the registry: imported with its lifecycle state.
  const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
  const existing = [
    {
      ...base('old-survey', 'Staff survey 2025', { team: team('people-ops', '#people-ops') }),
      state: 'idle',
      lastActivityAt: daysAgo(40),
    },
    {
      ...base('holiday-planner', 'Team holiday calendar', { team: team('people-ops', '#people-ops') }),
      state: 'disabled',
      lastActivityAt: daysAgo(70),
    },
    { ...base('legacy-reports', 'Quarterly reports nobody reads'), state: 'archived', lastActivityAt: daysAgo(120) },
  ];
  const imported = await call(
    `${url}/apps/v1/import?file=demo-inventory.yaml`,
    tokens.responder,
    'POST',
    JSON.stringify({ apps: existing }),
    'application/yaml',
  );
  if (imported.status !== 200) throw new Error(`demo import: ${imported.status} ${JSON.stringify(imported.body)}`);
  made += Number(imported.body.created ?? 0);

  // Purged: imported archived, then purged by an admin (once: its tombstone stays).
  const tombstone = await call(`${url}/apps/v1/apps?state=purged&q=retired-wiki`, tokens.responder, 'GET');
  if ((tombstone.body.items as unknown[] | undefined)?.length === 0) {
    const wiki = await call(
      `${url}/apps/v1/import?file=demo-retired.yaml`,
      tokens.responder,
      'POST',
      JSON.stringify({
        apps: [{ ...base('retired-wiki', 'The old team wiki'), state: 'archived', lastActivityAt: daysAgo(200) }],
      }),
      'application/yaml',
    );
    const id = (wiki.body.apps as Record<string, string> | undefined)?.['retired-wiki'];
    if (id) await call(`${url}/apps/v1/apps/${id}/purge`, tokens.admin, 'POST');
    made += 1;
  }
  return made;
}

/**
 * DEMO ONLY: a discovery run over the demo sources (services/app-registry/demo/discovery), as an
 * admin would ask for it, waited for. A restart reads nothing twice (the cursors); a run that is
 * already going (409) is left to finish.
 */
export async function runDemoDiscovery(url: string, tokens: DemoTokens): Promise<string> {
  const started = await call(`${url}/apps/v1/discovery/runs`, tokens.admin, 'POST');
  if (started.status === 409) return 'a discovery run was already going';
  if (started.status !== 202) throw new Error(`demo discovery: ${started.status} ${JSON.stringify(started.body)}`);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const run = await call(`${url}/apps/v1/discovery/runs/${String(started.body.id)}`, tokens.admin, 'GET');
    if (run.body.status !== 'running') {
      const totals = run.body.totals as Record<string, number>;
      return `discovery ${String(run.body.status)}: ${totals.newCandidates} new candidates, ${totals.flagged} flagged`;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return 'discovery still running';
}
