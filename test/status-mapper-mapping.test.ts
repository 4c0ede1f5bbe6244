import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { incidentEventEnvelope, incidentIdFor, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import {
  createTestDatabase,
  type FakeStatuspage,
  type LocalIssuer,
  startFakeStatuspage,
  startLocalIssuer,
  testKafka,
  uniqueNamespace,
} from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Platform, startPlatform } from '../scripts/lib/platform.js';
import { assertPlatformRunning, CATALOGUE_FILE, eventually, failOnServiceStop, getJson } from './helpers.js';

interface MappingAnswer {
  source: { hash: string };
  unmapped: { name: string }[];
  unknownServices: { service: string; rules: string[] }[] | null;
  catalogue: { available: boolean; services?: number; reason?: string };
}
interface IncidentDetail {
  incident: { service: string; providerConditions: { component: string; status: string }[] };
}

const mappingFile = (cdnServices: string) => `mappings:
  cdn:
    page: cloudflare
    component: CDN Edge
    services: [${cdnServices}]
  dns:
    page: cloudflare
    component: DNS
    services: [dns-resolver, search]
`;

/*
 * status-mapper and escalation together, started as `npm start` starts them (the platform hands
 * status-mapper escalation's URL as ESCALATION_URL), with escalation's example catalogue
 * (checkout, payments-api with the alias payments, search).
 */
describe('status-mapper and escalation: the mapping', () => {
  let platform: Platform;
  let issuer: LocalIssuer;
  let cloudflare: FakeStatuspage;
  let viewer: string;
  let responder: string;
  let mappingPath: string;
  let namespace: string;
  const statusMapper = (path: string) => `${platform.service('status-mapper').url}${path}`;
  const mapping = () => getJson<MappingAnswer>(statusMapper('/status/v1/mapping'), viewer);

  beforeAll(async () => {
    const stack = inject('stack');
    issuer = await startLocalIssuer();
    viewer = await issuer.token({ sub: 'viewer-1', roles: ['viewer'] });
    responder = await issuer.token({ sub: 'responder-1', roles: ['responder'] });
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge' }, { name: 'DNS' }, { name: 'API' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'mo-status-catalogue-'));
    writeFileSync(
      join(dir, 'sources.yml'),
      `pages:\n  - id: cloudflare\n    provider: Cloudflare\n    url: ${cloudflare.summaryUrl}\n    intervalSeconds: 3600\n`,
    );
    mappingPath = join(dir, 'mapping.yml');
    writeFileSync(mappingPath, mappingFile('checkout, payments'));
    namespace = uniqueNamespace('status-catalogue');
    platform = await startPlatform({
      databaseUrl: await createTestDatabase(stack.databaseUrl, 'status_catalogue'),
      kafkaBrokers: stack.kafkaBrokers,
      namespace,
      oidc: { issuer: issuer.issuer, audience: issuer.audience },
      secretFiles: {},
      files: {
        'service-catalogue': CATALOGUE_FILE,
        'status-sources': join(dir, 'sources.yml'),
        'status-mapping': mappingPath,
      },
      only: ['escalation', 'status-mapper'],
      logLevel: 'error',
      nodeEnv: 'test',
      onFatal: failOnServiceStop,
    });
    // status-mapper polls its new page at start-up.
    await eventually('the first poll', async () => ((await mapping()).body.unmapped.length > 0 ? true : undefined));
  });

  afterAll(async () => {
    await platform?.stop();
    await Promise.allSettled([issuer?.stop(), cloudflare?.stop()]);
    assertPlatformRunning();
  });

  it("lists the unmapped component and the mapped service escalation's catalogue does not know (an alias counts as known)", async () => {
    const { status, body } = await mapping();
    expect(status).toBe(200);
    expect(body.catalogue).toMatchObject({ available: true, services: 3 });
    expect(body.unknownServices).toEqual([{ service: 'dns-resolver', rules: ['dns'] }]);
    expect(body.unmapped.map((c) => c.name)).toEqual(['API']);
  });

  it('moves a provider outage onto a live incident of a service the edited mapping adds, without a restart', async () => {
    // A live incident on search, as webhook-ingest would publish it.
    const [event] = (() => {
      const result = normalisePagerDuty(pagerDutyIncidentEvent({ incidentId: 'PREMAP01', serviceName: 'Search' }), {
        receivedAt: new Date().toISOString(),
      });
      if (result.outcome !== 'events') throw new Error('fixture did not normalise');
      return result.events;
    })();
    await testKafka(inject('stack').kafkaBrokers).publish(topicName('incident-events', namespace), [
      { key: event!.incidentId, value: JSON.stringify(incidentEventEnvelope(event!, { source: '/test' })) },
    ]);
    const id = incidentIdFor('pagerduty', 'PREMAP01');
    const incident = () => getJson<IncidentDetail>(`${platform.service('escalation').url}/v1/incidents/${id}`, viewer);
    await eventually('the incident in escalation', async () => ((await incident()).status === 200 ? true : undefined));

    // The CDN edge goes down: checkout and payments are affected, search is not (yet).
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    const polled = await fetch(statusMapper('/status/v1/sources/poll'), {
      method: 'POST',
      headers: { authorization: `Bearer ${responder}` },
    });
    expect(polled.status).toBe(202);
    await eventually('the outage in /status/internal', async () => {
      const { body } = await getJson<{ services: { service: string; status: string }[] }>(
        statusMapper('/status/internal'),
        viewer,
      );
      return body.services.find((s) => s.service === 'checkout')?.status === 'major_outage' ? true : undefined;
    });
    expect((await incident()).body.incident).toMatchObject({ service: 'search', providerConditions: [] });

    // The mapping file is edited: the running status-mapper applies it (MAPPING_RELOAD_INTERVAL_MS,
    // 10 s by default) and tells escalation, whose live incident on search now shows the outage.
    const before = (await mapping()).body.source.hash;
    writeFileSync(mappingPath, mappingFile('checkout, payments, search'));
    const conditions = await eventually(
      'the outage on the search incident',
      async () => {
        const { body } = await incident();
        return body.incident.providerConditions.length > 0 ? body.incident.providerConditions : undefined;
      },
      30_000,
    );
    expect(conditions).toEqual([expect.objectContaining({ component: 'CDN Edge', status: 'major_outage' })]);
    expect((await mapping()).body.source.hash).not.toBe(before);
  });
});
