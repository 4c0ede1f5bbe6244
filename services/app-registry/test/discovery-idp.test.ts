import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FakeGraph, startFakeGraph } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CandidateView } from '../src/discovery/candidates.js';
import type { RunView } from '../src/discovery/run.js';
import type { AppView } from '../src/model.js';
import { anApp, DAY, type Harness, type Registered, runDiscovery, startHarness } from './helpers.js';

/*
 * An identity provider as a discovery source: the Entra ID fake (Microsoft Graph and its token
 * endpoint) configured as the service would be in production, beside a folder source.
 */

/** A time as Graph writes it (whole seconds). */
const graphTime = (at: Date) => new Date(Math.floor(at.getTime() / 1000) * 1000);

function gatewayLine(host: string, at: Date, requestId: string) {
  return JSON.stringify({
    requestId,
    ip: '10.0.0.7',
    requestTimeEpoch: String(at.getTime()),
    httpMethod: 'GET',
    path: '/',
    status: '200',
    protocol: 'HTTP/1.1',
    domainName: host,
  });
}

describe('app-registry discovery from identity providers', () => {
  let h: Harness;
  let graph: FakeGraph;
  let dir: string;
  let ledger: AppView;
  const LEDGER_CLIENT = '6f1c2a7e-0d44-4d0e-9a8b-1a2b3c4d5e6f';
  const gatewayLog = () => path.join(dir, 'gateway', 'access.log');

  const discover = () => runDiscovery(h);
  const source = (run: RunView, name: string) => {
    const found = run.sources.find((s) => s.source === name);
    if (!found) throw new Error(`no source ${name} in the run: ${run.sources.map((s) => s.source).join(', ')}`);
    return found;
  };
  const candidates = async () =>
    (await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates?limit=200')).body.items;
  const byLabel = async (label: string) => (await candidates()).find((c) => c.label === label);

  beforeAll(async () => {
    graph = await startFakeGraph();
    dir = await mkdtemp(path.join(tmpdir(), 'discovery-idp-'));
    await mkdir(path.join(dir, 'gateway'), { recursive: true });
    await writeFile(gatewayLog(), '');
    h = await startHarness({
      env: {
        DISCOVERY_DIR: dir,
        DISCOVERY_ENTRA_TENANT_ID: graph.tenantId,
        DISCOVERY_ENTRA_CLIENT_ID: graph.clientId,
        DISCOVERY_ENTRA_CLIENT_SECRET: graph.clientSecret,
        DISCOVERY_ENTRA_GRAPH_URL: graph.url,
        DISCOVERY_ENTRA_AUTHORITY_URL: graph.url,
      },
    });
    const registered = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(anApp('ledger', { idpClientIds: [LEDGER_CLIENT] })),
      token: h.tokens.responder,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    ledger = registered.body.app;
  });
  afterAll(async () => {
    await h?.stop();
    await graph?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an Entra ID fake's new app registration appears as a candidate with its evidence; a registered client id is matched instead", async () => {
    h.clock.advanceDays(2);
    const registeredAt = graphTime(new Date(h.clock.now().getTime() - DAY));
    graph.addApplication({
      displayName: 'Shadow CRM',
      appId: '0b7d3f5e-1111-4c1a-8e7f-222233334444',
      createdDateTime: registeredAt.toISOString(),
      owners: [{ userPrincipalName: 'ana@contoso.test' }],
      redirectUris: ['https://crm.contoso.test/signin'],
    });
    graph.addApplication({
      displayName: 'Ledger (web)',
      appId: LEDGER_CLIENT,
      createdDateTime: registeredAt.toISOString(),
      owners: [{ userPrincipalName: 'rita@contoso.test' }],
    });

    const run = await discover();
    expect(run.status, JSON.stringify(run.sources)).toBe('succeeded');
    expect(source(run, 'idp:entra')).toMatchObject({
      linesRead: 2,
      sightings: 2,
      appsMatched: 1,
      newCandidates: 1,
      errors: 0,
      failed: null,
    });

    const crm = await byLabel('Shadow CRM');
    expect(crm).toMatchObject({
      kind: 'idp-client',
      key: 'client:0b7d3f5e-1111-4c1a-8e7f-222233334444',
      state: 'open',
      sources: ['idp:entra'],
      sightings: 1,
      firstSeenAt: registeredAt.toISOString(),
      creators: [{ who: 'ana@contoso.test', count: 1, action: 'registration' }],
    });
    expect(crm!.evidence).toEqual([
      expect.objectContaining({
        source: 'idp:entra',
        format: 'entra',
        action: 'registration',
        file: 'entra:/v1.0/applications',
        line: 1,
      }),
    ]);
    expect(crm!.evidence[0]!.text).toContain('https://crm.contoso.test/signin');

    // The registered app is matched by its client id: no candidate, its last activity moves.
    expect(await byLabel('Ledger (web)')).toBeUndefined();
    expect((await h.json<AppView>(`/apps/v1/apps/${ledger.id}`)).body.lifecycle.lastActivityAt).toBe(
      registeredAt.toISOString(),
    );
  });

  it('a second registration in the fake: the next run reports only the new one, nothing twice', async () => {
    graph.addApplication({
      displayName: 'Expense bot',
      createdDateTime: graphTime(h.clock.now()).toISOString(),
      owners: [{ userPrincipalName: 'bo@contoso.test' }],
    });
    const run = await discover();
    expect(source(run, 'idp:entra')).toMatchObject({ linesRead: 1, sightings: 1, newCandidates: 1, failed: null });
    expect(await byLabel('Expense bot')).toMatchObject({ kind: 'idp-client', sightings: 1 });
    expect((await byLabel('Shadow CRM'))!.sightings).toBe(1);

    const again = await discover();
    expect(source(again, 'idp:entra')).toMatchObject({ linesRead: 0, sightings: 0, newCandidates: 0, failed: null });
    expect((await byLabel('Expense bot'))!.sightings).toBe(1);
  });

  it('a provider that refuses the credential is reported failed, and a file source in the same run completes', async () => {
    graph.addApplication({ displayName: 'Late registration', owners: [{ userPrincipalName: 'cy@contoso.test' }] });
    await appendFile(gatewayLog(), `${gatewayLine('orphan.contoso.test', h.clock.now(), 'g1')}\n`);
    // Both Graph collections answer 401 once (the access token itself is still cached).
    graph.failNext({ status: 401, times: 2 });

    const run = await discover();
    expect(run.status).toBe('partial');
    const entra = source(run, 'idp:entra');
    expect(entra.failed).toMatch(/Microsoft Graph GET \/v1.0\/applications page 1: .*401.*refused the credential/);
    expect(entra).toMatchObject({ sightings: 0, newCandidates: 0 });
    expect(entra.errorList.map((e) => e.file)).toEqual(['entra:/v1.0/applications', 'entra:/v1.0/servicePrincipals']);
    // Never a credential in a report.
    expect(JSON.stringify(run)).not.toContain(graph.clientSecret);
    expect(JSON.stringify(run)).not.toContain(graph.token);
    expect(source(run, 'gateway')).toMatchObject({ linesRead: 1, sightings: 1, newCandidates: 1, failed: null });
    expect(await byLabel('orphan.contoso.test')).toMatchObject({ kind: 'endpoint', sources: ['gateway'] });
    expect(await byLabel('Late registration')).toBeUndefined();

    // The provider back: what the failed run missed appears, what earlier runs reported does not again.
    const recovered = await discover();
    expect(recovered.status).toBe('succeeded');
    expect(source(recovered, 'idp:entra')).toMatchObject({ sightings: 1, newCandidates: 1, failed: null });
    expect(await byLabel('Late registration')).toMatchObject({ sightings: 1 });
    expect((await byLabel('Shadow CRM'))!.sightings).toBe(1);
  });
});
