import { writeFileSync } from 'node:fs';
import { incidentEventEnvelope, incidentIdFor, normalisePagerDuty, topicName } from '@micro-oncall/incident-model';
import { pagerDutyIncidentEvent } from '@micro-oncall/incident-model/fixtures';
import { type FakeStatuspage, startFakeStatuspage, testKafka } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertPlatformRunning, eventually, getJson } from './helpers.js';
import { type StatusPlatform, startStatusPlatform, statuspageSources } from './lib/status-mapper.js';

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
  let status: StatusPlatform;
  let cloudflare: FakeStatuspage;
  const mapping = () => getJson<MappingAnswer>(`${status.statusMapper.url}/status/v1/mapping`, status.viewer);

  beforeAll(async () => {
    cloudflare = await startFakeStatuspage({
      name: 'Cloudflare',
      components: [{ name: 'CDN Edge' }, { name: 'DNS' }, { name: 'API' }],
    });
    status = await startStatusPlatform('status-catalogue', {
      sources: statuspageSources([{ id: 'cloudflare', provider: 'Cloudflare', page: cloudflare }]),
      mapping: mappingFile('checkout, payments'),
    });
    // status-mapper polls its new page at start-up.
    await eventually('the first poll', async () => ((await mapping()).body.unmapped.length > 0 ? true : undefined));
  });

  afterAll(async () => {
    await status?.stop();
    await cloudflare?.stop();
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
    await testKafka(inject('stack').kafkaBrokers).publish(topicName('incident-events', status.namespace), [
      { key: event!.incidentId, value: JSON.stringify(incidentEventEnvelope(event!, { source: '/test' })) },
    ]);
    const id = incidentIdFor('pagerduty', 'PREMAP01');
    const incident = () =>
      getJson<IncidentDetail>(`${status.platform.service('escalation').url}/v1/incidents/${id}`, status.viewer);
    await eventually('the incident in escalation', async () => ((await incident()).status === 200 ? true : undefined));

    // The CDN edge goes down: checkout and payments are affected, search is not (yet).
    cloudflare.setComponentStatus('CDN Edge', 'major_outage');
    await status.statusMapper.requestPoll();
    await eventually('the outage in /status/internal', async () =>
      (await status.statusMapper.serviceStatus('checkout')).status === 'major_outage' ? true : undefined,
    );
    expect((await incident()).body.incident).toMatchObject({ service: 'search', providerConditions: [] });

    // The mapping file is edited: the running status-mapper applies it (MAPPING_RELOAD_INTERVAL_MS,
    // 10 s by default) and tells escalation, whose live incident on search now shows the outage.
    const before = (await mapping()).body.source.hash;
    writeFileSync(status.mappingFile, mappingFile('checkout, payments, search'));
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
